"""The seeded traffic generator: reproducible on a virtual clock, with the right causes."""

from __future__ import annotations

import pytest

from amilab.sim import PBX, VirtualClock


def run(seed: int, seconds: float = 60.0, rate: float = 20.0) -> list[bytes]:
    pbx = PBX(clock=VirtualClock(), seed=seed)
    out: list[bytes] = []
    pbx.listeners.append(lambda name, cat, data: out.append(data))
    pbx.traffic.start(rate=rate, seed=seed)
    pbx.clock.run_for(seconds)
    pbx.traffic.stop()
    pbx.clock.run_for(120)  # let the calls in progress finish
    assert not pbx.channels and not pbx.bridges
    return out


def test_same_seed_same_events_byte_for_byte():
    """A 60 s run at 20 calls/s gives identical events (Uniqueids included) for one seed."""
    first, second = run(1), run(1)
    assert len(first) > 10_000
    assert first == second


def test_other_seed_other_events():
    """A different seed gives a different event stream."""
    assert run(1, seconds=5) != run(2, seconds=5)


def test_rate_is_calls_per_second():
    """About rate x seconds calls are placed (Poisson; generous bounds)."""
    pbx = PBX(clock=VirtualClock(), seed=7)
    pbx.traffic.start(rate=20.0, seed=7)
    pbx.clock.run_for(60)
    assert 1000 < pbx.traffic.calls < 1400


def test_fates_produce_causes_16_17_19_and_queue_calls():
    """Generated calls end normally (16), busy (17) or unanswered (19); some enter the queue."""
    events = b"".join(run(3, seconds=20))
    for cause in (b"Cause: 16\r\n", b"Cause: 17\r\n", b"Cause: 19\r\n"):
        assert cause in events
    assert b"Event: QueueCallerJoin\r\n" in events
    assert b"DialStatus: BUSY\r\n" in events and b"DialStatus: NOANSWER\r\n" in events


def test_rate_must_be_positive():
    """A non-positive rate is refused."""
    with pytest.raises(ValueError):
        PBX(clock=VirtualClock()).traffic.start(rate=0)
