"""Hangup causes match what real Asterisk 22 recorded (values, not only shapes)."""

from __future__ import annotations

import time
from pathlib import Path

import amilab
import amilab.sim
from amilab.protocol import ReceiveBuffer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk22"
HANGUPS = ("Hangup", "HangupRequest", "SoftHangupRequest")


def recorded_causes(name: str) -> set[tuple[str, str]]:
    messages = ReceiveBuffer().feed((FIXTURES / f"{name}.ami").read_bytes())
    return {(m.name, m["Cause"]) for m in messages if m.name in HANGUPS}


def test_normal_clearing_everywhere_like_asterisk():
    """A dialplan Hangup() and the AMI Hangup action give Cause 16 on every hangup event."""
    real = recorded_causes("originate_async_call") | recorded_causes("hangup")
    assert {cause for _, cause in real} == {"16"}
    pbx = amilab.sim.start()
    try:
        with amilab.connect(pbx, ping_interval=None) as s:
            got: list[tuple[str, str]] = []
            s.on(list(HANGUPS), lambda m: got.append((m.name, m["Cause"])))
            s.action(
                "Originate",
                Channel="Local/200@amilab",
                Context="amilab",
                Exten="100",
                Priority=1,
                Async=True,
            )
            s.action(
                "Originate",
                Channel="Local/102@amilab",
                Context="amilab",
                Exten="100",
                Priority=1,
                Async=True,
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                "102" in c for c in s.action("CoreShowChannels").df.get("Channel", [])
            ):
                time.sleep(0.05)
            channel = next(c for c in s.action("CoreShowChannels").df["Channel"] if "102" in c)
            s.action("Hangup", Channel=channel)
            while time.monotonic() < deadline and len(s.action("CoreShowChannels").events):
                time.sleep(0.05)
    finally:
        pbx.stop()
    assert {name for name, _ in got} == {name for name, _ in real}
    assert {cause for _, cause in got} == {"16"}
