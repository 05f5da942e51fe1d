"""EventMonitor widget state without a kernel: fed by a fake source, refreshed by hand."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from amilab.notebook.monitor import DEFAULT_COLUMNS, RATE_WINDOW_TICKS, EventMonitor
from amilab.protocol import Message


class FakeSub:
    def __init__(self, source: FakeSource, callback: Callable[[Message], Any]) -> None:
        self.source, self.callback = source, callback

    def cancel(self) -> None:
        if self in self.source.subs:
            self.source.subs.remove(self)


class FakeSource:
    """Stands in for a Session: ``on()`` subscribes; ``emit()`` plays the I/O thread."""

    def __init__(self) -> None:
        self.subs: list[FakeSub] = []
        self.connected = True
        self.patterns_seen: list[tuple[str, ...]] = []

    def on(self, patterns: tuple[str, ...], callback: Callable[[Message], Any]) -> FakeSub:
        self.patterns_seen.append(patterns)
        sub = FakeSub(self, callback)
        self.subs.append(sub)
        return sub

    def emit(self, name: str, **headers: str) -> Message:
        pairs = [("Event", name), *((k.replace("_", "-"), v) for k, v in headers.items())]
        msg = Message.from_pairs(pairs)
        for sub in list(self.subs):
            sub.callback(msg)
        return msg


class FakeRecorder:
    """The EventRecorder surface the monitor uses: record, clear, stats, df."""

    def __init__(self) -> None:
        self.events: list[Message] = []
        self.dropped = 0

    def record(self, msg: Message) -> None:
        self.events.append(msg)

    def clear(self) -> None:
        self.events.clear()

    @property
    def stats(self) -> dict[str, int]:
        return {"recorded": len(self.events), "dropped": self.dropped}

    @property
    def df(self) -> list[Message]:
        return list(self.events)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


@pytest.fixture
def recorder() -> FakeRecorder:
    return FakeRecorder()


def make(source: FakeSource, recorder: FakeRecorder, **kw: Any) -> EventMonitor:
    return EventMonitor(source, recorder=recorder, **kw)  # type: ignore[arg-type]


def table_rows(mon: EventMonitor) -> list[list[str]]:
    """The recent-events table body as lists of cell HTML."""
    body = re.search(r'<table class="amilab-events".*?<tbody>(.*?)</tbody>', mon.view.value, re.S)
    assert body is not None
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body[1])]


def counters(mon: EventMonitor) -> dict[str, int]:
    rows = re.findall(
        r'<tr data-event="([^"]*)"><td>[^<]*</td><td class="n">([\d,]+)</td>', mon.view.value
    )
    return {name: int(n.replace(",", "")) for name, n in rows}


def status(mon: EventMonitor) -> dict[str, str]:
    tag = re.search(r'<div class="amilab-status"([^>]*)>', mon.view.value)
    assert tag is not None
    return dict(re.findall(r'data-(\w+)="([^"]*)"', tag[1]))


def test_counters_count_each_event_type(source: FakeSource, recorder: FakeRecorder) -> None:
    """Counters show how many events of each type arrived, after a refresh."""
    mon = make(source, recorder)
    for _ in range(3):
        source.emit("Newchannel")
    source.emit("Hangup")
    mon.refresh()
    assert counters(mon) == {"Newchannel": 3, "Hangup": 1}


def test_io_side_never_touches_the_widget(source: FakeSource, recorder: FakeRecorder) -> None:
    """Events only fill buffers; the view changes at the next refresh, not before."""
    mon = make(source, recorder)
    before = mon.view.value
    worker = threading.Thread(target=lambda: [source.emit("Hangup") for _ in range(100)])
    worker.start()
    worker.join()
    assert mon.view.value == before
    mon.refresh()
    assert counters(mon) == {"Hangup": 100}


def test_concurrent_feed_and_refresh_lose_nothing(
    source: FakeSource, recorder: FakeRecorder
) -> None:
    """Refreshing while another thread floods raises nothing and loses no count."""
    mon = make(source, recorder, rows=5)
    worker = threading.Thread(target=lambda: [source.emit(f"E{i % 3}") for i in range(60_000)])
    worker.start()
    while worker.is_alive():
        mon.refresh()
    worker.join()
    mon.refresh()
    assert counters(mon) == {"E0": 20_000, "E1": 20_000, "E2": 20_000}
    assert status(mon)["received"] == "60000"


def test_table_shows_newest_rows_first_with_key_fields(
    source: FakeSource, recorder: FakeRecorder
) -> None:
    """The table lists the newest `rows` events first, with time, event and key fields."""
    mon = make(source, recorder, rows=3)
    for i in range(5):
        source.emit("Hangup", Channel=f"PJSIP/100{i}-1", Uniqueid=f"u{i}", Cause_txt="Normal")
    mon.refresh()
    rows = table_rows(mon)
    assert [r[2] for r in rows] == ["PJSIP/1004-1", "PJSIP/1003-1", "PJSIP/1002-1"]
    assert rows[0][1] == "Hangup" and rows[0][3] == "u4" and rows[0][5] == "Normal"
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", rows[0][0])
    assert len(rows[0]) == 2 + len(DEFAULT_COLUMNS)


def test_absent_fields_render_empty(source: FakeSource, recorder: FakeRecorder) -> None:
    """An event without a key field gets an empty cell, not 'None'."""
    mon = make(source, recorder)
    source.emit("FullyBooted")
    mon.refresh()
    assert table_rows(mon)[0][2:] == [""] * len(DEFAULT_COLUMNS)


def test_event_values_and_names_are_escaped(source: FakeSource, recorder: FakeRecorder) -> None:
    """Untrusted event data is HTML-escaped everywhere it is shown."""
    mon = make(source, recorder)
    source.emit("<img src=x onerror=alert(1)>", Channel="<script>alert(1)</script>", Uniqueid='"x')
    mon.refresh()
    html = mon.view.value
    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'data-event="&lt;img src=x onerror=alert(1)&gt;"' in html
    assert "&quot;x" in html


def test_long_values_are_cut(source: FakeSource, recorder: FakeRecorder) -> None:
    """A huge header value is truncated in the table so one event cannot bloat a refresh."""
    mon = make(source, recorder)
    source.emit("UserEvent", Channel="A" * 100_000)
    mon.refresh()
    assert len(mon.view.value) < 10_000
    assert table_rows(mon)[0][2].endswith("…")


def test_status_line_reports_link_and_recorder(source: FakeSource, recorder: FakeRecorder) -> None:
    """The status line shows connected, state, received, recorded and dropped."""
    mon = make(source, recorder)
    for _ in range(4):
        source.emit("Newexten")
    recorder.dropped = 2
    mon.refresh()
    st = status(mon)
    assert (st["state"], st["received"], st["recorded"], st["dropped"]) == (
        "running",
        "4",
        "4",
        "2",
    )
    assert "● connected" in mon.view.value
    source.connected = False
    mon.refresh()
    assert "○ disconnected" in mon.view.value


def test_pause_stops_counting_recording_and_unsubscribes(
    source: FakeSource, recorder: FakeRecorder
) -> None:
    """Pause unsubscribes: later events are neither counted, shown nor recorded."""
    mon = make(source, recorder)
    source.emit("Hangup")
    mon.pause_button.click()
    assert source.subs == [] and mon.paused
    source.emit("Hangup")
    mon.refresh()
    assert counters(mon) == {"Hangup": 1}
    assert len(recorder.events) == 1
    assert status(mon)["state"] == "paused"
    assert mon.pause_button.disabled and not mon.start_button.disabled


def test_start_resumes(source: FakeSource, recorder: FakeRecorder) -> None:
    """Start after Pause subscribes again and counting resumes from where it was."""
    mon = make(source, recorder)
    source.emit("Hangup")
    mon.pause()
    mon.start_button.click()
    assert len(source.subs) == 1
    source.emit("Hangup")
    mon.refresh()
    assert counters(mon) == {"Hangup": 2} and len(recorder.events) == 2
    assert status(mon)["state"] == "running"


def test_start_false_begins_paused(source: FakeSource, recorder: FakeRecorder) -> None:
    """start=False builds the monitor paused, without subscribing."""
    mon = make(source, recorder, start=False)
    assert source.subs == [] and mon.state == "paused"
    mon.start()
    assert len(source.subs) == 1


def test_clear_empties_table_counters_and_recorder(
    source: FakeSource, recorder: FakeRecorder
) -> None:
    """Clear empties the table, the counters and the recorder at once."""
    mon = make(source, recorder)
    for _ in range(5):
        source.emit("Newstate", Channel="PJSIP/1")
    mon.refresh()
    mon.clear_button.click()
    assert table_rows(mon) == [] and counters(mon) == {} and recorder.events == []
    assert status(mon)["received"] == "0" and float(status(mon)["rate"]) >= 0
    source.emit("Hangup")
    mon.refresh()
    assert counters(mon) == {"Hangup": 1}


def test_filter_narrows_table_and_counters_from_next_refresh(
    source: FakeSource, recorder: FakeRecorder
) -> None:
    """Filter globs (case-insensitive, several) apply to table and counters at the next refresh."""
    mon = make(source, recorder)
    for name in ("Newchannel", "Newstate", "Hangup", "VarSet", "VarSet"):
        source.emit(name)
    mon.refresh()
    mon.filter_box.value = "new*, HANGUP"
    assert counters(mon)["VarSet"] == 2
    mon.refresh()
    assert counters(mon) == {"Newchannel": 1, "Newstate": 1, "Hangup": 1}
    assert [r[1] for r in table_rows(mon)] == ["Hangup", "Newstate", "Newchannel"]
    assert len(recorder.events) == 5
    mon.filter_box.value = "  "
    mon.refresh()
    assert counters(mon)["VarSet"] == 2


def test_patterns_go_to_the_subscription(source: FakeSource, recorder: FakeRecorder) -> None:
    """The patterns argument is what the monitor subscribes to."""
    make(source, recorder, patterns=["Hangup", "Dial*"])
    make(source, recorder, patterns="Cdr")
    assert source.patterns_seen == [("Hangup", "Dial*"), ("Cdr",)]


def test_top_types_and_rows_bound_the_render(source: FakeSource, recorder: FakeRecorder) -> None:
    """Only the top-K types and last N rows are rendered, however many events arrived."""
    mon = make(source, recorder, rows=10, top=3)
    for i in range(10_000):
        source.emit(f"Type{i % 7}")
    source.emit("Type0")
    mon.refresh()
    assert list(counters(mon)) == ["Type0", "Type1", "Type2"]
    assert "4 more types" in mon.view.value
    assert len(table_rows(mon)) == 10


def test_one_hold_sync_per_refresh(source: FakeSource, recorder: FakeRecorder) -> None:
    """Each refresh enters hold_sync once, and the view only changes inside it."""
    mon = make(source, recorder)
    holds = 0
    real = mon.view.hold_sync

    def counting() -> Any:
        nonlocal holds
        holds += 1
        return real()

    outside: list[bool] = []
    mon.view.hold_sync = counting  # type: ignore[method-assign]
    mon.view.observe(lambda _: outside.append(not mon.view._holding_sync), "value")
    for tick in range(5):
        for _ in range(1000):
            source.emit("Newexten", Channel=f"c{tick}")
        mon.refresh()
    assert holds == 5
    assert outside and not any(outside)


def test_rate_from_counter_deltas_with_injected_clock(
    source: FakeSource, recorder: FakeRecorder
) -> None:
    """Events/s is counter delta over clock delta across the tick window (10,000/s exact)."""
    clock = Clock()
    mon = make(source, recorder, clock=clock)
    for _ in range(RATE_WINDOW_TICKS + 2):
        clock.now += 0.25
        for _ in range(2500):
            source.emit("Newexten")
        mon.refresh()
    assert status(mon)["rate"] == "10000.0"
    assert "10,000.0 events/s" in mon.view.value


def test_rate_follows_a_change_within_the_window(
    source: FakeSource, recorder: FakeRecorder
) -> None:
    """After a full window at a new rate, the old rate no longer shows; paused shows 0."""
    clock = Clock()
    mon = make(source, recorder, clock=clock)
    for per_tick in (500,) * 10 + (25,) * RATE_WINDOW_TICKS:
        clock.now += 0.25
        for _ in range(per_tick):
            source.emit("Newexten")
        mon.refresh()
    assert status(mon)["rate"] == "100.0"
    mon.pause()
    assert status(mon)["rate"] == "0.0"


def test_rate_survives_a_busy_gap(source: FakeSource, recorder: FakeRecorder) -> None:
    """A long gap between refreshes (busy cell) still yields the true mean rate."""
    clock = Clock()
    mon = make(source, recorder, clock=clock)
    clock.now += 10.0
    for _ in range(3000):
        source.emit("Newexten")
    mon.refresh()
    assert status(mon)["rate"] == "300.0"


def test_close_unsubscribes_and_disables(source: FakeSource, recorder: FakeRecorder) -> None:
    """close() detaches from the source, shows 'closed', disables controls; start then fails."""
    mon = make(source, recorder)
    mon.close()
    mon.close()
    assert source.subs == [] and status(mon)["state"] == "closed"
    assert mon.start_button.disabled and mon.filter_box.disabled
    with pytest.raises(RuntimeError, match="closed"):
        mon.start()


def test_no_timer_without_a_running_loop(source: FakeSource, recorder: FakeRecorder) -> None:
    """Outside a kernel no timer starts; start_timer() without a loop says what to do."""
    mon = make(source, recorder)
    assert not mon.timer_running
    with pytest.raises(RuntimeError, match="refresh"):
        mon.start_timer()


async def test_timer_runs_on_the_running_loop(source: FakeSource, recorder: FakeRecorder) -> None:
    """Built inside a running loop, the monitor refreshes on that loop's thread until closed."""
    threads: set[int] = set()
    mon = make(source, recorder, refresh=0.01)
    mon.view.observe(lambda _: threads.add(threading.get_ident()), "value")
    assert mon.timer_running
    source.emit("Hangup")
    while "Hangup" not in counters(mon):
        await asyncio.sleep(0.01)
    mon.close()
    count = mon.refreshes
    await asyncio.sleep(0.05)
    assert mon.refreshes == count and not mon.timer_running
    assert threads == {threading.get_ident()}


def test_timer_on_a_given_loop_in_another_thread(
    source: FakeSource, recorder: FakeRecorder
) -> None:
    """start_timer(loop) drives refreshes on that loop's thread; stop_timer ends them."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    try:
        mon = make(source, recorder, refresh=0.01)
        ticked = threading.Event()
        mon.view.observe(lambda _: ticked.set() if "Hangup" in mon.view.value else None, "value")
        mon.start_timer(loop)
        source.emit("Hangup")
        assert ticked.wait(5)
        mon.stop_timer()
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(5)
        count = mon.refreshes
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(5)
        assert mon.refreshes == count
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()


def test_refresh_error_does_not_stop_the_timer(
    source: FakeSource, recorder: FakeRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    """A refresh that raises is logged and the next tick still runs."""
    loop = asyncio.new_event_loop()
    try:
        mon = make(source, recorder, refresh=0.01, loop=loop)
        calls = 0
        real = mon.refresh

        def flaky() -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ValueError("boom")
            real()

        mon.refresh = flaky  # type: ignore[method-assign]
        loop.run_until_complete(asyncio.sleep(0.1))
        mon.stop_timer()
        assert calls >= 2
        assert "refresh failed" in caplog.text
    finally:
        loop.close()


def test_df_and_display_delegate(source: FakeSource, recorder: FakeRecorder) -> None:
    """.df comes from the recorder; display delegates to the VBox widget."""
    mon = make(source, recorder)
    msg = source.emit("Hangup")
    assert mon.df == [msg]
    bundle = mon._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == mon.widget.model_id
    assert "running" in repr(mon)


def test_bad_arguments_are_rejected(source: FakeSource, recorder: FakeRecorder) -> None:
    """rows, top and refresh must be positive."""
    for kw in ({"rows": 0}, {"top": 0}, {"refresh": 0}):
        with pytest.raises(ValueError):
            make(source, recorder, **kw)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def sim_session() -> Any:
    import amilab
    import amilab.sim

    pbx = amilab.sim.start()
    session = amilab.connect(pbx.host, pbx.port, username="admin", secret=amilab.sim.DEFAULT_SECRET)
    try:
        yield pbx, session
    finally:
        session.close()
        pbx.stop()


def test_simulator_session_with_real_recorder(sim_session: Any) -> None:
    """Against the simulator: the I/O thread feeds a real EventRecorder; Pause detaches."""
    from amilab.recorder import EventRecorder

    pbx, session = sim_session
    mon = EventMonitor(session, ["Newchannel", "Hangup", "FloodEvent"])
    assert isinstance(mon.recorder, EventRecorder)
    pbx.faults.flood(500)
    wait_until(lambda: mon.recorder.stats.recorded >= 500)
    pbx.traffic.start(rate=50, seed=1)

    def refreshed() -> dict[str, int]:
        mon.refresh()
        return counters(mon)

    wait_until(lambda: "Newchannel" in refreshed())
    mon.pause()  # runs on the I/O thread, after any event being dispatched
    pbx.traffic.stop()
    st = status(mon)
    assert int(st["recorded"]) == len(mon.df) == int(st["received"]) >= 501
    assert counters(mon)["FloodEvent"] == 500
    assert set(counters(mon)) <= {"Newchannel", "Hangup", "FloodEvent"}
    frozen = mon.recorder.stats.recorded
    pbx.faults.flood(100)
    session.ping()  # the flood was sent before the ping's answer on the same link
    mon.refresh()
    assert mon.recorder.stats.recorded == frozen == int(status(mon)["received"])
    mon.close()
    assert len(session.client._handlers) == 0
