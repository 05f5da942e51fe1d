"""The shipped catalog: lookups, required flags against real Asterisk 22, integer fields."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from amilab import catalog
from amilab.frames import INTEGER_PATTERN

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22"
PROBES = json.loads((FIXTURES / "required_params.json").read_text())


def _blocks() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every block of every recorded transcript: (file name, header pairs)."""
    out = []
    for path in sorted(FIXTURES.glob("*.ami")):
        text = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
        for block in text.split("\n\n"):
            pairs = []
            for line in block.split("\n"):
                key, sep, value = line.partition(": ")
                if sep:
                    pairs.append((key, value))
            if pairs:
                out.append((path.name, pairs))
    return out


def test_lookups_are_case_insensitive():
    """Actions and events are found in any case, with Asterisk's spelling kept."""
    cat = catalog.load()
    assert cat.action("originate").name == "Originate"
    assert cat.event("NEWCHANNEL").name == "Newchannel"
    assert cat.action("NoSuchAction") is None and cat.event("NoSuchEvent") is None
    assert len(cat.action_names()) == 154 and len(cat.event_names()) == 181


def test_action_facts_match_recorded_asterisk():
    """Originate's headers are the ones real Asterisk 22 prints for manager show command."""
    from amilab.notebook.completion import parse_syntax

    text = (FIXTURES / "command_manager_show_command_originate.ami").read_text()
    output = "\n".join(
        line.partition(": ")[2] for line in text.splitlines() if line.startswith("Output: ")
    )
    originate = catalog.load().action("Originate")
    assert tuple(p.name for p in originate.params) == parse_syntax(output)
    assert originate.required == ("Channel",)
    assert originate.privilege == ("all", "originate")


def test_list_actions_name_their_events():
    """CoreShowChannels answers with CoreShowChannel events and a complete event."""
    doc = catalog.load().action("CoreShowChannels")
    assert doc.list_events == ("CoreShowChannel",)
    assert doc.list_complete == "CoreShowChannelsComplete"


def test_events_have_expanded_snapshots_and_classes():
    """DialBegin carries the Dest channel snapshot; its class is 'call'."""
    dial = catalog.load().event("DialBegin")
    assert "DestChannelStateDesc" in dial.fields and "DestLinkedid" in dial.fields
    assert "Up" in dial.enums["DestChannelStateDesc"]
    assert dial.classes == ("call",)


@pytest.mark.parametrize("probe", PROBES["probes"], ids=lambda p: f"{p['action']}-{p['missing']}")
def test_required_flags_follow_real_asterisk(probe):
    """Each probed flag in the catalog is what Asterisk 22 did without the header."""
    reply = dict(probe["reply"] or ())
    assert probe["refused"] == (reply.get("Response") == "Error")
    param = catalog.load().action(probe["action"]).param(probe["missing"])
    assert param.required_in_docs
    assert param.enforced is probe["refused"]
    assert param.required is probe["refused"]


def test_documentation_errors_are_recorded():
    """Headers the docs call required but Asterisk 22 accepts missing (recorded)."""
    cat = catalog.load()
    relaxed = sorted(
        f"{name}.{p.name}"
        for name in cat.action_names()
        for p in cat.action(name).params
        if p.required_in_docs and not p.required
    )
    assert relaxed == [
        "ExtensionState.Context",
        "Setvar.Value",
        "UserEvent.UserEvent",
        "WaitEvent.Timeout",
    ]


def test_missing_lists_required_headers():
    """missing() names required headers not given (any case), skipping relaxed ones."""
    cat = catalog.load()
    assert cat.action("Redirect").missing(["channel", "Exten"]) == ["Context", "Priority"]
    assert cat.action("Setvar").missing(["Variable"]) == []


def test_integer_fields_hold_integers_in_recordings():
    """Every recorded value of a field the catalog calls an integer is one.

    Per event for the documented ones (CoreShowChannel's Duration is HH:MM:SS,
    and is not an integer there), everywhere for those from recordings.
    """
    cat = catalog.load()
    recorded = {k for k, v in cat.integer_reasons.items() if v == "recorded"}
    pattern = re.compile(INTEGER_PATTERN)
    checked = bad = 0
    for name, pairs in _blocks():
        event = cat.event(pairs[0][1]) if pairs[0][0] == "Event" else None
        ints = {f.lower() for f in event.integers} if event else set()
        for key, value in pairs:
            if key.lower() in ints or key.lower() in recorded:
                checked += 1
                if not pattern.fullmatch(value):
                    bad += 1
                    print(f"{name}: {key}: {value!r}")
    assert checked > 500 and bad == 0


def test_identifiers_are_never_integers():
    """Exten, CallerIDNum, Uniqueid, Linkedid, Timestamp stay text whatever the docs say."""
    for never in ("exten", "calleridnum", "uniqueid", "linkedid", "timestamp", "actionid"):
        assert never not in catalog.load().integer_fields


def test_import_needs_neither_pandas_nor_ipython():
    """The catalog loads in a bare interpreter without pulling pandas or IPython in."""
    code = (
        "import sys; from amilab.catalog import load; c = load(); "
        "assert c.action('Ping'); "
        "print(sorted(m for m in ('pandas', 'IPython', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_frames_known_numeric_comes_from_the_catalog():
    """to_frame(numeric="known") converts the catalog's integer fields of a real recording."""
    from amilab.frames import KNOWN_NUMERIC_FIELDS, to_frame
    from amilab.protocol import Message

    assert catalog.load().integer_fields == KNOWN_NUMERIC_FIELDS
    events = [
        Message(("\r\n".join(f"{k}: {v}" for k, v in pairs)).encode())
        for name, pairs in _blocks()
        if name == "queuestatus.ami" and pairs[0] == ("Event", "QueueMember")
    ]
    df = to_frame(events, numeric="known")
    assert len(df) >= 1
    for column in ("Penalty", "CallsTaken", "LastCall", "InCall", "Paused"):
        assert str(df[column].dtype) == "Int64", column
    # Status is 0..8 here but text in other events (PeerStatus), so it stays text.
    for column in ("Status", "Location", "Queue"):
        assert str(df[column].dtype) == "string", column
