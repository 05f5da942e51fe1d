"""Breadth parity: per action, the simulator's reply shape against Asterisk 22's.

The probes and Asterisk's replies are in ``tests/fixtures/asterisk22/breadth.json``
(``tests/asterisk/record_breadth.py``); :mod:`breadth` replays them. The
committed report ``tests/sim/BREADTH.md`` says which actions match; these
tests keep it true both ways: a listed action that stops matching fails, and
so does an unlisted one that starts to (regenerate the report).
"""

from __future__ import annotations

import asyncio
import functools

import breadth
import pytest

ALL = breadth.actions()
LISTED = set(breadth.reported_matching())
#: Replies that list live calls, bridges, parked calls or device states: the
#: SHARED sandbox may carry other tests' calls while this runs, so they are
#: compared offline only, against the recording of an idle sandbox.
CALL_STATE = {
    "BridgeList",
    "CoreShowChannels",
    "DeviceStateList",
    "ParkedCalls",
    "QueueStatus",
    "QueueSummary",
    "Status",
}


def test_every_listed_action_is_probed():
    """The report names only actions the sandbox lists, and each has a recorded probe."""
    probed = {p["action"] for p in breadth.probes()}
    assert set(ALL) >= LISTED
    assert set(ALL) <= probed


@functools.cache
def simulated() -> dict[str, list[str]]:
    """One run of every probe against a fresh simulator, shared by the tests below.

    One run, not one per action: the live probes share calls (as recorded), and
    each call takes the simulator's ring time to come up.
    """
    return asyncio.run(breadth.against_simulator())


@pytest.mark.parametrize("name", ALL)
def test_action_reply_shape_as_reported(name):
    """Each action answers its recorded probes with 22's shape iff the report says it does."""
    problems = simulated()[name]
    if name in LISTED:
        assert not problems, f"{name} no longer matches Asterisk 22:\n  " + "\n  ".join(problems)
    else:
        assert problems, f"{name} now matches: run tests/sim/breadth.py to update BREADTH.md"


def test_report_count_is_current():
    """The report's headline count is what the simulator reaches now."""
    assert breadth.render_report(simulated()) == breadth.REPORT.read_text()


def test_a_changed_reply_is_noticed():
    """The comparison sees a changed error text, a missing header and a reordered one."""
    ok, aid, text = "Response: Error\r\n", "ActionID: probe\r\n", "Message: No such channel\r\n"
    real = breadth.parse(ok + aid + text + "\r\n")
    same = breadth.parse(ok + aid + text + "\r\n")
    other = breadth.parse(ok + aid + "Message: No channel\r\n\r\n")
    swapped = breadth.parse(ok + text + aid + "\r\n")
    assert breadth.compare(real, same) is None
    assert breadth.compare(real, other) is not None
    assert breadth.compare(real, swapped) is not None
    assert breadth.compare(real, real[:0]) is not None


@functools.cache
def live(host: str, port: int, secret: str) -> dict[str, list[str]]:
    """One run of the probes against a live sandbox, shared by the live tests."""
    only = LISTED - CALL_STATE
    return asyncio.run(breadth.run_all(host, port, secret, breadth.LIVE_SETTLE, only))


@pytest.mark.asterisk
@pytest.mark.parametrize("name", sorted(LISTED - CALL_STATE))
def test_listed_action_matches_live_asterisk(name, asterisk):
    """Live: the same probes against the sandbox give the recorded shapes (state permitting)."""
    problems = live(asterisk.host, asterisk.port, asterisk.admin[1])[name]
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)
