"""StateReplay.at(t): the model over a capture answers what was up at a moment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from amilab.state import StateReplay, state_at
from tests.state.compare import from_lists
from tests.state.test_recorded import FIXTURE, _checkpoints


def test_at_each_checkpoint_the_replay_shows_what_asterisk_listed() -> None:
    """The capture starts idle, so at every checkpoint's time the channels equal the list."""
    replay = StateReplay(FIXTURE)
    for at, listed, _ in _checkpoints():
        snap = replay.at(at)
        want = from_lists(listed)["channels"]
        assert set(snap.channels.index) == set(want)
        bridges = {uid: b for uid, (_, _, b) in want.items()}
        got = snap.channels["bridge"].astype(object).where(snap.channels["bridge"].notna(), None)
        assert got.to_dict() == bridges


def test_at_goes_back_in_time_and_takes_datetimes_and_iso_text() -> None:
    """A later then an earlier time both answer; a datetime and ISO text mean the same instant."""
    points = _checkpoints()
    busy, idle = points[2][0], points[0][0]
    replay = StateReplay(FIXTURE)
    assert len(replay.at(busy).channels) >= 10
    assert len(replay.at(idle).channels) == 0
    when = datetime.fromtimestamp(busy, UTC)
    assert len(replay.at(when).channels) == len(state_at(FIXTURE, when.isoformat()).channels)


def test_bad_time_text_says_what_to_give() -> None:
    """A time that is not ISO text raises ValueError naming the expected form."""
    with pytest.raises(ValueError, match="give an ISO time like"):
        StateReplay(FIXTURE).at("half past two")
