"""amilab.recorder: bounded capture, policies, stats, thread safety, save/load, replay."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pandas as pd
import pytest

from amilab.frames import STRING_DTYPE
from amilab.protocol import Message
from amilab.recorder import (
    CAPTURE_GREETING,
    EventRecorder,
    load_capture,
    load_frame,
    replay,
    replay_into,
    replay_timed,
)


def event(i: int, name: str = "Newstate", extra: str = "") -> Message:
    text = f"Event: {name}\r\nChannel: PJSIP/100-{i:08x}\r\nSeq: {i}\r\nAccountCode: {extra}"
    return Message(text.encode())


class FakeSource:
    """The client's handler API in miniature: on(pattern, callback) -> subscription."""

    def __init__(self) -> None:
        self.handlers: list[tuple[object, Callable[[Message], object]]] = []

    def on(self, pattern: object, callback: Callable[[Message], object]) -> FakeSubscription:
        entry = (pattern, callback)
        self.handlers.append(entry)
        return FakeSubscription(self, entry)

    def emit(self, msg: Message) -> None:
        for _, callback in list(self.handlers):
            callback(msg)


class FakeSubscription:
    def __init__(self, source: FakeSource, entry: tuple[object, Callable[[Message], object]]):
        self.source, self.entry = source, entry

    def cancel(self) -> None:
        self.source.handlers.remove(self.entry)


def test_attach_records_from_source_and_detach_stops():
    """The recorder subscribes with its patterns, records, and detaching unsubscribes."""
    source = FakeSource()
    with EventRecorder(source, ["Newstate", "Hangup"]) as rec:
        assert source.handlers[0][0] == ["Newstate", "Hangup"]
        source.emit(event(1))
    source.emit(event(2))
    assert len(rec) == 1
    assert source.handlers == []


def test_stores_raw_bytes_and_times_not_messages():
    """What is kept per event is (int ns, raw bytes): nothing GC-tracked."""
    import gc

    rec = EventRecorder()
    rec.record(event(1), 123)
    ((ns, raw),) = rec.snapshot()
    assert ns == 123 and raw == event(1).raw
    assert not gc.is_tracked(raw) and not gc.is_tracked(ns)


def test_predicate_filters():
    """A predicate returning False keeps the event out and counts nothing."""
    rec = EventRecorder(predicate=lambda m: m.get("Seq") != "2")
    for i in range(4):
        rec.record(event(i))
    assert [m["Seq"] for m in rec.messages()] == ["0", "1", "3"]
    assert rec.stats.recorded == 3


def test_drop_oldest_keeps_newest_and_counts():
    """drop-oldest keeps the newest max_events and counts every dropped one."""
    rec = EventRecorder(max_events=3)
    for i in range(10):
        rec.record(event(i), i)
    assert [m["Seq"] for m in rec.messages()] == ["7", "8", "9"]
    assert (rec.stats.recorded, rec.stats.dropped, rec.stats.retained) == (10, 7, 3)


def test_max_bytes_bounds_memory():
    """max_bytes caps the raw bytes held; the oldest go first."""
    size = len(event(0).raw)
    rec = EventRecorder(max_bytes=size * 2 + 1)
    for i in range(5):
        rec.record(event(i))
    assert rec.stats.bytes <= size * 2 + 1
    assert [m["Seq"] for m in rec.messages()] == ["3", "4"]
    assert rec.stats.dropped == 3


def test_stop_policy_refuses_and_counts():
    """stop keeps the first events, refuses later ones and counts them as dropped."""
    rec = EventRecorder(max_events=2, policy="stop")
    for i in range(5):
        rec.record(event(i))
    s = rec.stats
    assert [m["Seq"] for m in rec.messages()] == ["0", "1"]
    assert (s.recorded, s.dropped, s.stopped) == (2, 3, True)
    assert "stopped" in repr(rec)


def test_spill_writes_oldest_and_reads_back(tmp_path):
    """spill moves the oldest to the spill file; include_spilled reads them back in order."""
    path = tmp_path / "spill.ami"
    rec = EventRecorder(max_events=10, policy="spill", spill_path=path)
    for i in range(25):
        rec.record(event(i), 1_000 + i)
    s = rec.stats
    assert s.spilled > 0 and s.spilled + s.retained == 25 and s.dropped == 0
    assert rec.spill_path == path and path.read_bytes().startswith(CAPTURE_GREETING)
    assert len(rec.to_frame()) == s.retained
    full = rec.to_frame(include_spilled=True)
    assert full["Seq"].tolist() == [str(i) for i in range(25)]
    assert full["received_at"].astype("int64").tolist() == [1_000 + i for i in range(25)]


def test_spill_to_temp_file_when_no_path():
    """Without spill_path a temporary .ami file is created and exposed."""
    rec = EventRecorder(max_events=1, policy="spill")
    rec.record(event(0))
    rec.record(event(1))
    assert rec.spill_path is not None and rec.spill_path.suffix == ".ami"
    assert rec.stats.spilled == 1
    rec.spill_path.unlink()


def test_stats_and_repr():
    """stats counts bytes, first/last times and a recent rate; repr is one line."""
    import time

    rec = EventRecorder()
    now = time.time_ns()
    for i in range(10):
        rec.record(event(i), now - 2_000_000_000)
    s = rec.stats
    assert s.bytes == sum(len(event(i).raw) for i in range(10))
    assert s.first_at is not None and s.first_at == s.last_at
    assert s.events_per_second == pytest.approx(10 / 5)
    assert "\n" not in repr(rec) and "10 events" in repr(rec)


def test_clear_resets():
    """clear() forgets events and counters and resumes a stopped recorder."""
    rec = EventRecorder(max_events=1, policy="stop")
    rec.record(event(0))
    rec.record(event(1))
    rec.clear()
    rec.record(event(2))
    assert (len(rec), rec.stats.dropped, rec.stats.stopped) == (1, 0, False)


def test_frame_shape():
    """received_at (UTC ns) and event lead; the other headers follow as strings."""
    rec = EventRecorder()
    rec.record(event(1, extra=""), 5)
    rec.record(Message(b"Response: Success\r\nMessage: ok"), 6)
    df = rec.df
    assert list(df.columns[:2]) == ["received_at", "event"]
    assert str(df["received_at"].dtype) == "datetime64[ns, UTC]"
    assert df["event"].tolist() == ["Newstate", pd.NA]
    assert df["event"].dtype == STRING_DTYPE
    assert "Event" not in df.columns and df.loc[0, "AccountCode"] == ""


def test_empty_recorder_frame():
    """An empty recorder gives an empty frame with the leading columns."""
    df = EventRecorder().df
    assert list(df.columns) == ["received_at", "event"] and len(df) == 0


def test_thread_safety_totals_add_up():
    """A writer thread records while the main thread snapshots; nothing is lost or torn."""
    rec = EventRecorder(max_events=500)
    total = 20_000
    msgs = [event(i) for i in range(total)]

    def writer():
        for m in msgs:
            rec.record(m)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        snap = rec.snapshot()
        assert len(snap) <= 500
        s = rec.stats
        assert s.recorded == s.retained + s.dropped
    thread.join()
    s = rec.stats
    assert s.recorded == total and s.dropped + s.retained == total
    assert [m["Seq"] for m in rec.messages()] == [str(i) for i in range(total - 500, total)]


def test_ami_round_trip(tmp_path):
    """save(.ami) then load_capture gives equal frames, times included."""
    rec = EventRecorder()
    rec.record(event(1), 1_700_000_000_000_000_001)
    rec.record(Message(b"Event: TestEvent\r\nState: a\r\nState: b\r\nEmpty: "), 1_700_000_000_5)
    path = rec.save(tmp_path / "cap.ami")
    loaded = load_capture(path)
    pd.testing.assert_frame_equal(loaded.df, rec.df)
    assert loaded.snapshot() == rec.snapshot()
    assert not loaded.attached


def test_parquet_round_trip(tmp_path):
    """save(.parquet) then load_frame gives an equal frame, tuple cells and Int64 included."""
    rec = EventRecorder()
    rec.record(event(1), 10)
    rec.record(Message(b"Event: TestEvent\r\nState: a\r\nState: b\r\nSeq: 7"), 20)
    rec.record(Message(b"Event: TestEvent\r\nState: c"), 30)
    path = rec.save(tmp_path / "cap.parquet")
    pd.testing.assert_frame_equal(load_frame(path), rec.df)
    with pytest.raises(ValueError, match="load_frame"):
        load_capture(path)


def test_save_refuses_unknown_suffix(tmp_path):
    """Only .ami and .parquet are written."""
    with pytest.raises(ValueError):
        EventRecorder().save(tmp_path / "cap.csv")


def test_load_real_transcript_without_times():
    """A raw Asterisk transcript loads; blocks have NaT times."""
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "asterisk22" / "originate_sync.ami"
    if not path.exists():
        pytest.skip("fixture not recorded")
    df = load_frame(path)
    assert df["received_at"].isna().all()
    assert (df["event"] == "Hangup").sum() == 2


def test_replay_yields_same_messages_in_order(tmp_path):
    """replay gives the recorded messages, in order, from a recorder or a file."""
    rec = EventRecorder()
    msgs = [event(i) for i in range(50)]
    for i, m in enumerate(msgs):
        rec.record(m, 1_000 + i)
    path = rec.save(tmp_path / "cap.ami")
    assert [m.raw for m in replay(rec)] == [m.raw for m in msgs]
    assert [m.raw for m in replay(path)] == [m.raw for m in msgs]
    assert [ns for ns, _ in replay_timed(path)] == [1_000 + i for i in range(50)]


def test_replay_into_drives_a_recorder():
    """replay_into calls the sink per message, so a replay can feed another recorder."""
    rec = EventRecorder()
    for i in range(5):
        rec.record(event(i))
    copy = EventRecorder()
    assert replay_into(rec, copy.record) == 5
    assert copy.messages() == rec.messages()


def test_replay_speed_keeps_spacing(monkeypatch):
    """speed scales the original spacing into sleeps."""
    import amilab.recorder as recorder

    sleeps: list[float] = []
    monkeypatch.setattr(recorder.time, "sleep", sleeps.append)
    monkeypatch.setattr(recorder.time, "monotonic", lambda: 0.0)
    rec = EventRecorder()
    rec.record(event(0), 0)
    rec.record(event(1), 2_000_000_000)
    list(replay(rec, speed=2.0))
    assert sleeps == [pytest.approx(1.0)]
    with pytest.raises(ValueError):
        list(replay(rec, speed=0))
