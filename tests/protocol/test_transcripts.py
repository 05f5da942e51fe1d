"""Real Asterisk 22 transcripts (tests/fixtures/asterisk22) framed and correlated."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from amilab.protocol.buffer import ReceiveBuffer
from amilab.protocol.client import ClientProtocol, Completed
from amilab.protocol.serialize import Action

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22"
TRANSCRIPTS = sorted(FIXTURES.glob("*.ami"))
SCENARIOS_FILE = FIXTURES / "scenarios.json"
SCENARIOS = json.loads(SCENARIOS_FILE.read_text())["scenarios"] if SCENARIOS_FILE.exists() else {}


def test_transcripts_present() -> None:
    """The recorded Asterisk 22 transcripts and their scenario index are there."""
    assert TRANSCRIPTS
    assert {s["file"] for s in SCENARIOS.values()} <= {p.name for p in TRANSCRIPTS}


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript_whole_equals_random_chunks(path: Path) -> None:
    """Each transcript frames the same whole and in seeded random chunks, cleanly decoded."""
    data = path.read_bytes()
    whole = ReceiveBuffer()
    expected = [(m.raw, m.headers) for m in whole.feed(data)]
    assert whole.greeting is not None and whole.greeting.startswith("Asterisk Call Manager/")
    assert expected and whole.decode_errors == 0 and whole.ended_cleanly
    rng = random.Random(f"{path.name}-22")
    for _ in range(3):
        chunked = ReceiveBuffer()
        got, pos = [], 0
        while pos < len(data):
            size = rng.randint(1, 300)
            got.extend((m.raw, m.headers) for m in chunked.feed(data[pos : pos + size]))
            pos += size
        assert got == expected
        assert chunked.decode_errors == 0


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_transcript_correlation(name: str) -> None:
    """Every recorded action completes in ClientProtocol exactly when it did live."""
    scenario = SCENARIOS[name]
    proto = ClientProtocol(raw=True)  # the scenarios include actions sent before login
    for step in scenario["steps"]:
        (_, action_name), *headers = step["action"]
        proto.send(Action(action_name, [tuple(h) for h in headers]))
    out = proto.receive_data((FIXTURES / scenario["file"]).read_bytes())
    done = {c.action_id for c in out if isinstance(c, Completed)}
    assert done == {s["action_id"] for s in scenario["steps"] if s["complete"]}
    assert proto.stray_responses == 0
