"""One server's capture in memory: flushes, rotation, lost events, gaps and downtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_helpers import T0, raw_event, write_segment

import amilab
from amilab.client import ConnectionEvent
from amilab.dataset import capture as capture_module
from amilab.dataset.capture import FAULT_ENV, Capture, Limits, ServerCapture, ServerSpec
from amilab.dataset.gaps import Gap, ServerState, read_gaps, write_gap
from amilab.dataset.segments import FLUSH_BYTES, convert_segment
from amilab.protocol import Message
from amilab.protocol.login import Secret


def events(n: int) -> list[Message]:
    return [Message(raw_event("Newexten", Channel=f"PJSIP/{i}")) for i in range(n)]


def test_events_reach_the_segment_only_at_flush(tmp_path: Path) -> None:
    """on_event only queues; flush appends; nothing is held after it."""
    server = ServerCapture(tmp_path, "pbx1", Limits())
    for msg in events(3):
        server.on_event(msg)
    assert server.segment is None
    server.flush()
    assert server.segment is not None and server.written == 3
    assert ServerState.load(tmp_path, "pbx1") == ServerState(server.last_ns, True)


def test_a_burst_flushes_before_the_second_is_up(tmp_path: Path) -> None:
    """Pending events never exceed FLUSH_BYTES: memory stays bounded at any rate."""
    server = ServerCapture(tmp_path, "pbx1", Limits())
    big = Message(raw_event("UserEvent", Data="x" * 10_000))
    for _ in range(FLUSH_BYTES // 10_000 + 10):
        server.on_event(big)
    assert server.written > 0
    assert server._pending_bytes < FLUSH_BYTES


def test_rotation_by_size_and_age(tmp_path: Path) -> None:
    """A segment closes at rotate_bytes, or rotate_seconds after its first event."""
    by_size = ServerCapture(tmp_path, "a", Limits(rotate_bytes=10, rotate_seconds=1e9))
    by_age = ServerCapture(tmp_path, "b", Limits(rotate_bytes=1 << 30, rotate_seconds=2))
    for server in (by_size, by_age):
        server.on_event(events(1)[0])
        server.flush()
    assert by_age.segment is not None
    first = by_age.segment.first_ns
    by_size.rotate_if_due(first)
    by_age.rotate_if_due(first + 1_000_000_000)
    assert len(by_size.take_closed()) == 1 and by_age.take_closed() == []
    by_age.rotate_if_due(first + 2_000_000_000)
    assert len(by_age.take_closed()) == 1


def test_disk_full_counts_events_as_lost_then_writes_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """ENOSPC (the documented hook): events counted lost with why, one log line, a gap row."""
    fault = tmp_path / "full"
    monkeypatch.setenv(FAULT_ENV, str(fault))
    server = ServerCapture(tmp_path / "data", "pbx1", Limits())
    server.on_event(events(1)[0])
    server.flush()
    fault.touch()
    for _ in range(3):  # three seconds of a full disk
        for msg in events(4):
            server.on_event(msg)
        server.flush()
    fault.unlink()
    server.on_event(events(1)[0])
    server.flush()
    assert server.received == 14 and server.written == 2
    assert server.lost == {
        "ENOSPC: No space left on device (simulated through $" + FAULT_ENV + ")": 12
    }
    assert len([r for r in caplog.records if "cannot write events" in r.message]) == 1
    gaps = read_gaps(tmp_path / "data")
    assert list(gaps["why"]) == [
        "12 events lost: ENOSPC: No space left on device (simulated through $" + FAULT_ENV + ")"
    ]
    assert "12 lost" in server.summary()


def test_events_after_a_failed_write_go_to_a_new_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed write closes the segment (it may end in half a block); both convert cleanly."""
    fault = tmp_path / "full"
    monkeypatch.setenv(FAULT_ENV, str(fault))
    server = ServerCapture(tmp_path, "pbx1", Limits())
    server.on_event(events(1)[0])
    server.flush()
    fault.touch()
    server.on_event(events(1)[0])
    server.flush()
    fault.unlink()
    server.on_event(events(1)[0])
    server.stop()
    closed = server.take_closed()
    assert len(closed) == 2
    assert sum(convert_segment(tmp_path, "pbx1", p).events for p in closed) == 2


def test_reconnect_becomes_a_gap(tmp_path: Path) -> None:
    """disconnected -> reconnected: one gap row from the drop to the return, with the reason."""
    server = ServerCapture(tmp_path, "pbx1", Limits())
    server.on_connection(ConnectionEvent("disconnected", T0 / 1e9, "connection reset"))
    server.on_connection(ConnectionEvent("reconnected", T0 / 1e9 + 3, gap=3.0))
    gaps = read_gaps(tmp_path)
    assert list(gaps["server"]) == ["pbx1"]
    assert list(gaps["why"]) == ["reconnect: link down (connection reset)"]
    assert (gaps["to"] - gaps["from"]).dt.total_seconds().tolist() == [3.0]


@pytest.mark.parametrize(
    ("running", "why"),
    [(True, "capture not running (crashed or killed)"), (False, "capture not running (stopped)")],
)
def test_downtime_runs_from_the_last_event_to_the_first_after_restart(
    tmp_path: Path, running: bool, why: str
) -> None:
    """After a crash or a stop, the first event closes a gap that began at the last one recorded."""
    server = ServerCapture(tmp_path, "pbx1", Limits())
    server.resume(ServerState(T0, running), recovered_last_ns=T0 + 5_000)
    assert read_gaps(tmp_path).empty
    server.on_event(events(1)[0])
    server.on_event(events(1)[0])
    gaps = read_gaps(tmp_path)
    assert list(gaps["why"]) == [why]
    assert gaps["from"][0].value == (T0 + 5_000) // 1000 * 1000
    assert gaps["to"][0].value // 1000 == server._pending_span[0] // 1000  # type: ignore[index]


def test_no_gap_on_a_first_run(tmp_path: Path) -> None:
    """A dataset with no previous state has no downtime to report."""
    server = ServerCapture(tmp_path, "pbx1", Limits())
    server.resume(None, None)
    server.on_event(events(1)[0])
    assert read_gaps(tmp_path).empty


def test_unwritten_gaps_wait_for_the_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gap that cannot be written stays queued and is written at the next chance."""
    fault = tmp_path / "full"
    monkeypatch.setenv(FAULT_ENV, str(fault))
    fault.touch()
    server = ServerCapture(tmp_path, "pbx1", Limits())
    server.add_gap(Gap("pbx1", T0, T0 + 1, "test"))
    assert read_gaps(tmp_path).empty
    fault.unlink()
    server.write_gaps()
    assert list(read_gaps(tmp_path)["why"]) == ["test"]


def test_gaps_table_is_plain_parquet(tmp_path: Path) -> None:
    """Gap rows read back with their UTC times, oldest first."""
    write_gap(tmp_path, Gap("b", T0 + 10_000, T0 + 20_000, "later"))
    write_gap(tmp_path, Gap("a", T0, T0 + 1_000, "first"))
    gaps = read_gaps(tmp_path)
    assert list(gaps["why"]) == ["first", "later"]
    assert str(gaps["from"].dtype) == "datetime64[us, UTC]"


def test_describe_names_the_errno() -> None:
    """A reason names the errno and its text, for a log line a person can act on."""
    assert capture_module.describe(PermissionError(13, "Permission denied")) == (
        "EACCES: Permission denied"
    )


def test_a_block_given_with_its_blank_line_is_stored_without_it(tmp_path: Path) -> None:
    """A Message whose raw keeps the blank line (a replayed corpus) still makes one whole block."""
    server = ServerCapture(tmp_path, "pbx1", Limits())
    server.on_event(Message(raw_event("A", N="1") + b"\r\n\r\n"))
    server.stop()
    (segment,) = server.take_closed()
    result = convert_segment(tmp_path, "pbx1", segment)
    assert result.events == 1
    assert amilab.open_dataset(tmp_path).df()["raw"].tolist() == [raw_event("A", N="1")]


def test_a_server_spec_never_shows_its_secret() -> None:
    """repr of a ServerSpec (in a log or a traceback) hides the secret."""
    spec = ServerSpec("pbx1", "127.0.0.1", 5038, "admin", Secret("hunter2-secret"))
    assert "hunter2" not in repr(spec) and "hunter2" not in str(spec)


def test_a_failed_conversion_is_logged_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A segment that cannot become Parquet yet stays on disk, one line however often retried."""
    fault = tmp_path / "full"
    monkeypatch.setenv(FAULT_ENV, str(fault))
    root = tmp_path / "data"
    segment = write_segment(root, "pbx1", [(T0, raw_event("A"))])
    capture = Capture(root, [])
    fault.touch()
    for _ in range(3):
        assert capture._convert("pbx1", segment) is None
    assert segment.exists()
    assert len([r for r in caplog.records if "cannot turn" in r.message]) == 1
    fault.unlink()
    assert capture._convert("pbx1", segment) == T0
    assert not segment.exists()


def test_one_bad_segment_does_not_stop_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A hand-damaged segment (a block with no receive time) is kept; the others convert."""
    write_segment(tmp_path, "good", [(T0, raw_event("A"))])
    bad = tmp_path / "_segments" / "server=bad" / f"seg-{T0}.ami"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(amilab.recorder.CAPTURE_GREETING + raw_event("B") + b"\r\n\r\n")
    assert Capture(tmp_path, [])._recover() == {"good": T0}
    assert bad.exists()
    assert len([r for r in caplog.records if "cannot turn" in r.message]) == 1
