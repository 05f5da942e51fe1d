"""The virtual clock keeps exact time: integer nanoseconds, however many small steps."""

from __future__ import annotations

from amilab.sim import VirtualClock
from amilab.sim.model.clock import VIRTUAL_EPOCH


def test_many_small_steps_add_up_exactly():
    """A thousand 1 ms steps are exactly one second (float seconds since 1970 drifted 72 µs)."""
    clock = VirtualClock()
    for _ in range(1000):
        clock.run_for(0.001)
    assert clock.now_ns() == round(VIRTUAL_EPOCH) * 1_000_000_000 + 1_000_000_000
    assert clock.now() == VIRTUAL_EPOCH + 1.0


def test_callbacks_run_at_exact_times():
    """A callback scheduled 0.1 s ahead, ten times over, fires at exact tenths."""
    clock = VirtualClock()
    start = clock.now_ns()
    seen: list[int] = []

    def tick() -> None:
        seen.append(clock.now_ns() - start)
        if len(seen) < 10:
            clock.call_later(0.1, tick)

    clock.call_later(0.1, tick)
    clock.run_for(5)
    assert seen == [n * 100_000_000 for n in range(1, 11)]


def test_cancelled_callbacks_do_not_run_and_time_still_advances():
    """A cancelled callback is skipped; run_for ends at start + seconds exactly."""
    clock = VirtualClock(start=10.0)
    ran: list[str] = []
    clock.call_later(1.0, lambda: ran.append("a")).cancel()
    clock.call_later(2.0, lambda: ran.append("b"))
    assert clock.pending == 1
    assert clock.run_for(3.0) == 1
    assert ran == ["b"] and clock.now_ns() == 13_000_000_000 and clock.now() == 13.0
