"""amilab.recorder: bounded capture, policies, stats, thread safety, save/load, replay."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from amilab.errors import ProtocolError
from amilab.frames import STRING_DTYPE
from amilab.protocol import Message
from amilab.recorder import (
    CAPTURE_GREETING,
    CLASH_PREFIX,
    NO_TIME,
    RECORDER_COLUMNS,
    REPLAY_CHUNK,
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
    assert rec.spill_path.name.startswith("amilab-spill-")
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
    with pytest.raises(ValueError, match="speed must be positive"):
        list(replay(rec, speed=0))


# -- header names that clash with the recorder's columns -------------------------
FIXTURES = Path(__file__).parent / "fixtures" / "asterisk22"


def clash_event() -> bytes:
    """The real UserEvent of userevent_clash.ami (its headers Event, received_at, event)."""
    raws = [raw for _, raw in load_capture(FIXTURES / "userevent_clash.ami").snapshot()]
    (raw,) = [r for r in raws if r.startswith(b"Event: UserEvent")]
    return raw


def test_asterisk_passes_clashing_userevent_headers_through():
    """Asterisk 22 sends the action's Event/received_at/event headers after Event: UserEvent."""
    msg = Message(clash_event())
    assert msg.name == "UserEvent"
    assert msg.getall("Event") == ["UserEvent", "header-event", "lower-event"]
    assert msg["received_at"] == "header-time"


def test_clashing_headers_keep_their_values_under_the_prefix():
    """received_at and event stay the recorder's; the headers move to header:<name>."""
    rec = EventRecorder()
    rec.record(Message(clash_event()), 1_700_000_000_000_000_000)
    rec.record(event(2), 1_700_000_000_000_000_001)
    df = rec.df
    assert list(df.columns[:2]) == ["received_at", "event"]
    assert df["received_at"].astype("int64").tolist() == [
        1_700_000_000_000_000_000 + i for i in (0, 1)
    ]
    assert df["event"].tolist() == ["UserEvent", "Newstate"] and df["event"].dtype == STRING_DTYPE
    assert df["header:Event"].tolist() == [("header-event", "lower-event"), pd.NA]
    assert df["header:received_at"].tolist() == ["header-time", pd.NA]
    assert CLASH_PREFIX == "header:" and set(RECORDER_COLUMNS) == {"received_at", "event"}


@pytest.mark.parametrize("suffix", [".parquet", ".ami"])
def test_clashing_headers_survive_save_and_load(tmp_path, suffix):
    """Saving a capture with clashing headers works, and loading gives their values back."""
    rec = EventRecorder()
    rec.record(Message(clash_event()), 10)
    rec.record(Message(b"Event: UserEvent\r\nEvent: one\r\nRECEIVED_AT: 2"), 20)
    loaded = load_frame(rec.save(tmp_path / f"cap{suffix}"))
    pd.testing.assert_frame_equal(loaded, rec.df)
    assert loaded["header:Event"].tolist() == [("header-event", "lower-event"), "one"]
    # names merge case-insensitively, as in to_frame: RECEIVED_AT joins received_at
    assert loaded["header:received_at"].tolist() == ["header-time", "2"]


def test_event_header_spelled_in_lower_case_first():
    """A first block spelling the header 'event' still fills the event column."""
    rec = EventRecorder()
    rec.record(Message(b"Response: Success\r\nevent: x"), 1)
    rec.record(Message(b"Event: Hangup"), 2)
    df = rec.df
    assert df["event"].tolist() == ["x", "Hangup"]
    assert [c for c in df.columns if c.lower() == "event"] == ["event"]


def test_record_refuses_a_time_a_frame_cannot_hold():
    """A receive time outside int64 ns is refused at once, so df keeps working."""
    rec = EventRecorder()
    with pytest.raises(ValueError, match="outside int64 ns"):
        rec.record(event(1), 1 << 63)
    rec.record(event(2), (1 << 63) - 1)
    rec.record(event(3), NO_TIME)
    assert rec.df["received_at"].isna().tolist() == [False, True]


# -- strict .ami loading -------------------------------------------------------
def write_capture(tmp_path, *blocks: bytes) -> Path:
    path = tmp_path / "cap.ami"
    path.write_bytes(CAPTURE_GREETING + b"".join(blocks))
    return path


@pytest.mark.parametrize("value", [b"99999999999999999999", b"9223372036854775808", b"12x", b"-5"])
def test_bad_time_header_names_file_and_line(tmp_path, value):
    """An out-of-range or malformed time is an error at file:line, not a broken frame."""
    path = write_capture(
        tmp_path,
        b"Event: A\r\nX-Amilab-Received-At: 1\r\n\r\n",
        b"Event: B\r\nChannel: x\r\nX-Amilab-Received-At: " + value + b"\r\n\r\n",
        b"Event: C\r\n\r\n",
    )
    with pytest.raises(
        ProtocolError, match=rf"cap\.ami:7: X-Amilab-Received-At: '{value.decode()}'"
    ):
        load_capture(path)
    replayed = replay(path)
    assert next(replayed)["Event"] == "A"
    with pytest.raises(ProtocolError, match=r"cap\.ami:7:"):
        next(replayed)


def test_largest_time_loads(tmp_path):
    """The int64 maximum is a valid time; the check is not off by one."""
    path = write_capture(tmp_path, b"Event: A\r\nX-Amilab-Received-At: 9223372036854775807\r\n\r\n")
    assert load_capture(path).snapshot() == [((1 << 63) - 1, b"Event: A")]


def test_follows_block_without_marker_at_the_end_is_reported(tmp_path):
    """A Follows block missing --END COMMAND-- is an error at its line, not silent loss."""
    path = write_capture(
        tmp_path,
        b"Event: A\r\n\r\n",
        b"Response: Follows\r\nPrivilege: Command\r\noutput\r\n\r\n",
        b"Event: B\r\n\r\nEvent: C\r\n\r\n",
    )
    with pytest.raises(ProtocolError, match=r"cap\.ami:4: 'Response: Follows' block has no"):
        load_capture(path)


def test_follows_block_without_marker_before_another_is_reported(tmp_path):
    """Blocks between a marker-less Follows block and a later marker are not swallowed."""
    path = write_capture(
        tmp_path,
        b"Response: Follows\r\nPrivilege: Command\r\nfirst\r\n\r\n",
        b"Event: Swallowed\r\n\r\n",
        b"Response: Follows\r\nPrivilege: Command\r\nsecond\n--END COMMAND--\r\n\r\n",
    )
    with pytest.raises(ProtocolError, match=r"cap\.ami:2: .* before the block at line 6"):
        load_capture(path)


def test_follows_block_keeps_its_time_through_save_and_load(tmp_path):
    """A Follows block's time header (framed apart after the marker) goes back to it."""
    rec = EventRecorder()
    follows = b"Response: Follows\r\nPrivilege: Command\r\nline one\n--END COMMAND--"
    rec.record(Message(follows), 7)
    rec.record(event(1), 8)
    rec.record(Message(follows), NO_TIME)
    rec.record(event(2), 9)
    path = rec.save(tmp_path / "cap.ami")
    assert load_capture(path).snapshot() == rec.snapshot()
    assert [ns for ns, _ in replay_timed(path)] == [7, 8, NO_TIME, 9]


def test_own_time_like_last_header_survives_without_a_time(tmp_path):
    """A timeless block whose last header is spelled like the time header keeps it."""
    rec = EventRecorder()
    raw = b"Event: UserEvent\r\nX-Amilab-Received-At: 5"
    rec.record(Message(raw), NO_TIME)
    rec.record(Message(raw), 6)
    assert load_capture(rec.save(tmp_path / "cap.ami")).snapshot() == [(NO_TIME, raw), (6, raw)]


def test_real_transcripts_load_with_every_block(tmp_path):
    """Every recorded Asterisk 22 transcript loads strictly, one block per framed message."""
    from amilab.protocol.buffer import ReceiveBuffer

    for path in sorted(FIXTURES.glob("*.ami")):
        buffer = ReceiveBuffer(expect_greeting=True)
        framed = buffer.feed(path.read_bytes()) + buffer.feed(b"\r\n\r\n")
        assert [raw for _, raw in load_capture(path).snapshot()] == [m.raw for m in framed]


# -- Parquet metadata ----------------------------------------------------------
def rewrite_metadata(path: Path, value: bytes) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    pq.write_table(
        table.replace_schema_metadata({**table.schema.metadata, b"amilab.multi": value}), path
    )


def multi_capture(tmp_path) -> tuple[EventRecorder, Path]:
    rec = EventRecorder()
    rec.record(Message(b"Event: TestEvent\r\nState: a\r\nState: b\r\nChannel: abc"), 10)
    rec.record(Message(b"Event: TestEvent\r\nState: c\r\nChannel: de"), 20)
    return rec, rec.save(tmp_path / "cap.parquet")


def test_metadata_naming_a_string_column_does_not_split_it(tmp_path):
    """A hand-edited amilab.multi naming string columns leaves them strings."""
    rec, path = multi_capture(tmp_path)
    rewrite_metadata(path, b'["event", "Channel", "State"]')
    df = load_frame(path)
    pd.testing.assert_frame_equal(df, rec.df)
    assert df["Channel"].tolist() == ["abc", "de"]


def test_metadata_naming_a_missing_column_is_ignored(tmp_path):
    """A name with no column behind it is ignored; the real list column still loads."""
    rec, path = multi_capture(tmp_path)
    rewrite_metadata(path, b'["NoSuchColumn", "State"]')
    pd.testing.assert_frame_equal(load_frame(path), rec.df)


@pytest.mark.parametrize("value", [b'{"State": 1}', b"not json", b'["State", 3]'])
def test_malformed_metadata_is_refused(tmp_path, value):
    """amilab.multi that is not a JSON list of names is a clear error naming the file."""
    _, path = multi_capture(tmp_path)
    rewrite_metadata(path, value)
    with pytest.raises(
        ValueError, match=r"cap\.parquet: its amilab.multi metadata must be a JSON list"
    ):
        load_frame(path)


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_error_line_is_exact_across_chunks(tmp_path, eol):
    """Line numbers stay exact over many chunks, repeated blocks and LF-only files."""
    good = b"Event: Same" + eol + b"Seq: 1" + eol + eol  # 3 lines, the same bytes each time
    count = 3 * REPLAY_CHUNK // len(good)
    bad = b"Event: Bad" + eol + b"X-Amilab-Received-At: soon" + eol + eol
    path = tmp_path / "cap.ami"
    path.write_bytes(b"Asterisk Call Manager/x" + eol + good * count + bad + good)
    with pytest.raises(ProtocolError, match=rf"cap\.ami:{2 + 3 * count + 1}: "):
        load_capture(path)


# -- details pinned after mutation testing (mutmut on amilab/recorder.py) ------
def test_constructor_checks_say_what_is_wrong():
    """Bad policy or caps are refused with a message; the smallest caps (1) are allowed."""
    with pytest.raises(ValueError, match="policy must be one of"):
        EventRecorder(policy="later")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_events and max_bytes must be positive"):
        EventRecorder(max_events=0)
    with pytest.raises(ValueError, match="max_events and max_bytes must be positive"):
        EventRecorder(max_bytes=0)
    assert EventRecorder(max_events=1, max_bytes=1).max_bytes == 1


def test_default_pattern_is_every_event():
    """EventRecorder(source) subscribes to '*'."""
    source = FakeSource()
    EventRecorder(source)
    assert source.handlers[0][0] == "*"


def test_stats_times_are_utc_and_none_without_a_time():
    """first_at/last_at are UTC datetimes; a timeless event gives None, not 1677."""
    from datetime import UTC, datetime

    rec = EventRecorder()
    rec.record(event(0), NO_TIME)
    rec.record(event(1), 1_700_000_000_000_000_000)
    s = rec.stats
    assert s.first_at is None
    assert s.last_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_rate_counts_the_last_whole_seconds(monkeypatch):
    """events_per_second averages the RATE_WINDOW_S whole seconds before the current one."""
    import amilab.recorder as recorder

    now = 1_700_000_000 * 1_000_000_000
    monkeypatch.setattr(recorder.time, "time_ns", lambda: now)
    rec = EventRecorder()
    for back in range(7, 0, -1):  # one event per second, 7 s ago to 1 s ago
        rec.record(event(back), now - back * 1_000_000_000)
    for i in range(10):  # ten within one second, 1 ms apart
        rec.record(event(i), now - 1_000_000_000 + i * 1_000_000)
    rec.record(event(99), now)  # the current second is not counted
    assert rec.stats.events_per_second == pytest.approx((4 + 11) / 5)


def test_byte_cap_is_inclusive_and_counts_every_dropped_event(tmp_path):
    """Exactly max_bytes is kept; one big event evicts as many old ones as needed."""
    small = event(0)
    spill = EventRecorder(max_bytes=3 * len(small.raw), policy="spill", spill_path=tmp_path / "s")
    rec = EventRecorder(max_bytes=3 * len(small.raw))
    for i in range(3):
        rec.record(event(i), i)
        spill.record(event(i), i)
    assert (len(rec), rec.stats.dropped) == (3, 0)
    assert (len(spill), spill.stats.spilled) == (3, 0)
    rec.record(event(3), 3)
    assert [ns for ns, _ in rec.snapshot()] == [1, 2, 3]
    big = Message(b"Event: Big\r\nData: " + b"x" * (2 * len(small.raw)))
    rec.record(big, 3)
    assert [ns for ns, _ in rec.snapshot()] == [3]
    assert rec.stats.dropped == 1 + 3 and rec.stats.bytes == len(big.raw)


def test_evictions_keep_times_with_their_events():
    """Dropping (oldest) or refusing (stop) keeps each time paired with its event."""
    oldest = EventRecorder(max_events=2)
    stop = EventRecorder(max_events=2, policy="stop")
    for i in range(4):
        oldest.record(event(i), 100 + i)
        stop.record(event(i), 100 + i)
    assert oldest.snapshot() == [(102, event(2).raw), (103, event(3).raw)]
    assert stop.snapshot() == [(100, event(0).raw), (101, event(1).raw)]


def test_spill_evicts_to_the_low_water_mark(tmp_path):
    """A spill moves the oldest out until the events and bytes held are under 90% of the caps."""
    rec = EventRecorder(max_events=10, policy="spill", spill_path=tmp_path / "s.ami")
    for i in range(11):
        rec.record(event(i), i)
    assert (len(rec), rec.stats.spilled) == (9, 2)
    assert rec.stats.bytes == sum(len(raw) for _, raw in rec.snapshot())
    size = len(event(1).raw)
    assert int(10 * size * 0.9) == 9 * size  # so 9 events sit exactly on the low-water mark
    by_bytes = EventRecorder(max_bytes=10 * size, policy="spill", spill_path=tmp_path / "b.ami")
    for i in range(11):
        by_bytes.record(event(1), i)
    assert (len(by_bytes), by_bytes.stats.bytes) == (9, 9 * size)


def test_spill_reads_back_whole_blocks_and_defaults_exclude_it(tmp_path):
    """Spilled events come back byte for byte; snapshot/messages/df hold memory only by default."""
    rec = EventRecorder(max_events=4, policy="spill", spill_path=tmp_path / "s.ami")
    events = [(1_000 + i, event(i).raw) for i in range(10)]
    for ns, raw in events:
        rec.record(Message(raw), ns)
    assert rec.snapshot(include_spilled=True) == events
    assert rec.snapshot() == events[-len(rec) :] and len(rec.messages()) == len(rec)
    assert [m.raw for m in rec.messages(include_spilled=True)] == [raw for _, raw in events]
    assert [m.raw for m in replay(rec)] == [raw for _, raw in events]
    assert rec.to_frame(include_spilled=True)["event"].tolist() == ["Newstate"] * 10


def test_spill_into_an_existing_empty_file_and_after_clear(tmp_path):
    """An empty spill file gets the greeting once; clear() empties it and spilling starts anew."""
    path = tmp_path / "s.ami"
    path.write_bytes(b"")
    rec = EventRecorder(max_events=2, policy="spill", spill_path=path)
    for i in range(6):
        rec.record(event(i), i)
    assert path.read_bytes().startswith(CAPTURE_GREETING)
    assert path.read_bytes().count(CAPTURE_GREETING) == 1
    rec.clear()
    assert path.read_bytes() == b""
    for i in range(3):
        rec.record(event(i), i)
    assert rec.snapshot(include_spilled=True) == [(i, event(i).raw) for i in range(3)]


@pytest.mark.parametrize("suffix", [".ami", ".parquet"])
def test_save_includes_spilled_events(tmp_path, suffix):
    """save() writes the spilled events too, in order."""
    rec = EventRecorder(max_events=3, policy="spill", spill_path=tmp_path / "s.ami")
    for i in range(8):
        rec.record(event(i), i)
    df = load_frame(rec.save(tmp_path / f"cap{suffix}"))
    assert df["Seq"].tolist() == [str(i) for i in range(8)]


def test_save_names_the_suffixes_it_knows(tmp_path):
    """The unknown-suffix error says which suffixes work."""
    with pytest.raises(ValueError, match=r"\.ami or \.parquet.*'cap\.csv'"):
        EventRecorder().save(tmp_path / "cap.csv")


def test_to_frame_numeric_reaches_the_frame():
    """to_frame(numeric=...) converts as amilab.frames.to_frame does."""
    rec = EventRecorder()
    rec.record(event(1), 1)
    assert rec.to_frame(numeric=True)["Seq"].dtype == "Int64"
    assert rec.to_frame()["Seq"].dtype == STRING_DTYPE


def test_frame_without_any_event_header():
    """With no Event header anywhere, event is an all-NA string column."""
    rec = EventRecorder()
    rec.record(Message(b"Response: Success\r\nPing: Pong"), 1)
    df = rec.df
    assert df["event"].dtype == STRING_DTYPE and df["event"].isna().all()


def test_repr_shows_state_and_size():
    """repr says stopped/attached/detached and the MiB held."""
    source = FakeSource()
    rec = EventRecorder(source)
    rec.record(Message(b"Event: Big\r\nData: " + b"x" * (3 << 20)))
    assert "attached" in repr(rec) and "(3.0 MiB)" in repr(rec)
    assert repr(rec).startswith("<EventRecorder attached:")
    rec.detach()
    assert repr(rec).startswith("<EventRecorder detached:")
    stopped = EventRecorder(max_events=1, policy="stop")
    stopped.record(event(0))
    stopped.record(event(1))
    assert repr(stopped).startswith("<EventRecorder stopped:")


def test_time_header_that_is_not_the_last_line_is_a_header(tmp_path):
    """Only the last line is the time; a time-like header inside a block stays a header."""
    path = write_capture(tmp_path, b"Event: A\r\nX-Amilab-Received-At: 5\r\nFoo: bar\r\n\r\n")
    ((ns, raw),) = load_capture(path).snapshot()
    assert (ns, raw) == (NO_TIME, b"Event: A\r\nX-Amilab-Received-At: 5\r\nFoo: bar")


def test_three_line_timeless_block_keeps_its_last_time_like_header(tmp_path):
    """The 'none' marker is added whenever the last line looks like a time header."""
    raw = b"Event: UserEvent\r\nFoo: x\r\nX-Amilab-Received-At: 5"
    rec = EventRecorder()
    rec.record(Message(raw), NO_TIME)
    assert load_capture(rec.save(tmp_path / "cap.ami")).snapshot() == [(NO_TIME, raw)]


def test_time_value_with_a_stray_carriage_return(tmp_path):
    """A CRLF block inside an LF-framed file still gives its time."""
    path = tmp_path / "cap.ami"
    path.write_bytes(b"Asterisk Call Manager/x\nEvent: A\r\nX-Amilab-Received-At: 7\r\n\n")
    assert load_capture(path).snapshot() == [(7, b"Event: A")]


@pytest.mark.parametrize(
    ("value", "ns"),
    [(b"0", 0), (b"9223372036854775807", (1 << 63) - 1), (b"none", NO_TIME), (b"7", 7)],
)
def test_time_values_accepted(value, ns):
    """The time header's value range, ends included."""
    from amilab.recorder import _time_value

    assert _time_value(value) == ns


def test_timeless_blocks_around_time_only_blocks(tmp_path):
    """A lone time-header block after an ordinary block stays a block of its own; a one-line
    block or a multi-line block starting with the time header after a Follows block is no time.
    """
    follows = b"Response: Follows\r\nPrivilege: Command\r\nout\n--END COMMAND--\r\n"
    path = write_capture(
        tmp_path,
        b"Event: A\r\n\r\n",
        b"X-Amilab-Received-At: 5\r\n\r\n",
        follows,
        b"Event: Ping\r\n\r\n",
        follows,
        b"X-Amilab-Received-At: 6\r\nFoo: x\r\n\r\n",
    )
    assert [ns for ns, _ in load_capture(path).snapshot()] == [NO_TIME] * 6
    raws = [raw for _, raw in load_capture(path).snapshot()]
    assert raws[1] == b"X-Amilab-Received-At: 5" and raws[3] == b"Event: Ping"
    assert raws[5] == b"X-Amilab-Received-At: 6\r\nFoo: x"


def test_swallowed_blocks_are_reported_from_the_first_in_lf_files(tmp_path):
    """In an LF-only file too, the first swallowed block is named."""
    path = tmp_path / "cap.ami"
    path.write_bytes(
        b"Asterisk Call Manager/x\n"
        b"Response: Follows\nPrivilege: Command\nfirst\n\n"
        b"Event: One\n\nEvent: Two\n\n"
        b"Response: Follows\nsecond\n--END COMMAND--\n\n"
    )
    with pytest.raises(ProtocolError, match=r"cap\.ami:2: .* before the block at line 6"):
        load_capture(path)


def test_follows_error_line_skips_blank_lines_before_it(tmp_path):
    """The reported line is the Follows block's own, after any blank lines."""
    path = write_capture(tmp_path, b"Event: A\r\n\r\n\r\n\r\n", b"Response: Follows\r\nno end\r\n")
    with pytest.raises(ProtocolError, match=r"cap\.ami:6: 'Response: Follows'"):
        load_capture(path)


def test_error_line_of_a_block_repeated_earlier(tmp_path):
    """An error in a block whose bytes appeared earlier names the later line."""
    follows = b"Response: Follows\r\nout\n--END COMMAND--\r\n"
    path = write_capture(
        tmp_path,
        b"X-Amilab-Received-At: bad\r\n\r\n",  # line 2: a one-line block, no time: fine
        follows,  # lines 4-6
        b"X-Amilab-Received-At: bad\r\n\r\n",  # line 7: the Follows block's time: bad
    )
    with pytest.raises(ProtocolError, match=r"cap\.ami:7: "):
        load_capture(path)


def test_framing_errors_name_the_file_and_line(tmp_path):
    """A file that is not a capture, or an oversized block, fails at file:line."""
    path = tmp_path / "cap.ami"
    path.write_bytes(b"Event: A\r\n\r\n")
    with pytest.raises(ProtocolError, match=r"cap\.ami:1: expected an AMI greeting"):
        load_capture(path)
    path.write_bytes(CAPTURE_GREETING + b"Event: A\r\n\r\nEvent: B\r\nData: " + b"x" * (2 << 20))
    with pytest.raises(ProtocolError, match=r"cap\.ami:4: message exceeds max_message_size"):
        load_capture(path)


def write_parquet(path: Path, columns: dict[str, object], multi: bytes | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns)
    if multi is not None:
        table = table.replace_schema_metadata({b"amilab.multi": multi})
    pq.write_table(table, path)


def test_parquet_without_amilab_metadata_loads_as_stored(tmp_path):
    """A Parquet file written elsewhere (no amilab.multi) loads, strings as STRING_DTYPE."""
    path = tmp_path / "other.parquet"
    write_parquet(path, {"event": ["A", None]}, None)
    df = load_frame(path)
    assert df["event"].dtype == STRING_DTYPE and df["event"].tolist()[0] == "A"


def test_list_columns_anywhere_and_of_large_strings_are_restored(tmp_path):
    """Named list-of-strings columns become str/tuple cells, first column and large_string too."""
    import pyarrow as pa

    path = tmp_path / "lists.parquet"
    large = pa.array([["a", "b"], None], type=pa.list_(pa.large_string()))
    columns = {"State": large, "Output": [["x"], ["y", "z"]], "Var": [["v"], ["w"]]}
    write_parquet(path, columns, b'["State", "Output", "Var"]')
    df = load_frame(path)
    assert df["State"].tolist() == [("a", "b"), pd.NA]
    assert df["Output"].tolist() == ["x", ("y", "z")]
    assert df["Var"].tolist() == ["v", "w"] and df["Var"].dtype == object


def test_replay_keeps_spacing_from_any_start(monkeypatch):
    """Sleeps follow the recorded spacing from the first time, minus time already spent."""
    import amilab.recorder as recorder

    clock = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(recorder.time, "sleep", sleep)
    monkeypatch.setattr(recorder.time, "monotonic", lambda: clock[0])
    rec = EventRecorder()
    for ns in (10, 12, 13):
        rec.record(event(ns), ns * 1_000_000_000)
    assert replay_into(rec, lambda msg: None, speed=2.0) == 3
    assert sleeps == [pytest.approx(1.0), pytest.approx(0.5)]
    sleeps.clear()
    list(replay(rec, speed=0.5))
    assert sleeps == [pytest.approx(4.0), pytest.approx(2.0)]


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_framing_error_line_skips_blank_lines(tmp_path, eol):
    """An oversized block after extra blank lines is reported on its own line."""
    path = tmp_path / "cap.ami"
    big = b"Event: B" + eol + b"Data: " + b"x" * (2 << 20)
    path.write_bytes(b"Asterisk Call Manager/x" + eol + b"Event: A" + eol * 3 + big)
    with pytest.raises(ProtocolError, match=r"cap\.ami:5: message exceeds"):
        load_capture(path)


def test_stop_ends_recording_and_load_frame_reads_parquet_back(tmp_path):
    """rec.stop() detaches (later events are not recorded); amilab.load_frame reads Parquet."""
    import amilab
    from amilab.protocol.message import Message

    class Source:
        def __init__(self) -> None:
            self.callbacks: list = []

        def on(self, patterns, callback):  # type: ignore[no-untyped-def]
            self.callbacks.append(callback)
            source = self

            class Sub:
                def cancel(self) -> None:
                    source.callbacks.remove(callback)

            return Sub()

    source = Source()
    rec = amilab.EventRecorder(source)
    for cb in list(source.callbacks):
        cb(Message(b"Event: A\r\nX: 1"))
    rec.stop()
    assert not rec.attached and source.callbacks == []
    assert len(rec.to_frame()) == 1
    path = rec.save(tmp_path / "c.parquet")
    frame = amilab.load_frame(path)
    assert frame["event"].tolist() == ["A"] and frame["X"].tolist() == ["1"]


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    """Without pyarrow, saving or reading Parquet is one line naming the package; .ami works."""
    import sys

    import amilab
    from amilab.protocol.message import Message

    rec = amilab.EventRecorder()
    rec.record(Message(b"Event: A\r\nX: 1"), 1)
    saved = rec.save(tmp_path / "ok.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"^saving x\.parquet needs pyarrow: pip install pyarrow"):
        rec.save(tmp_path / "x.parquet")
    with pytest.raises(ImportError, match=r"reading ok\.parquet needs pyarrow") as info:
        amilab.load_frame(saved)
    assert "\n" not in str(info.value)
    assert rec.save(tmp_path / "x.ami").exists()
