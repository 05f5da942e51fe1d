"""amilab.sim.simulate: seeded traffic fast-forwarded on a virtual clock into an EventRecorder."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import amilab.sim
from amilab import analysis
from amilab.protocol import Message
from amilab.sim import PBX, SimulationOverflow, VirtualClock, simulate
from amilab.sim.model.clock import VIRTUAL_EPOCH
from amilab.sim.simulate import DEFAULT_MIX, FastPBX
from amilab.sim.traffic import FATES

NS = 1_000_000_000


def sha256_of_capture(recorder: amilab.EventRecorder, path: Path) -> str:
    return hashlib.sha256(recorder.save(path).read_bytes()).hexdigest()


def names(recorder: amilab.EventRecorder) -> Counter[str]:
    return Counter(m.name or "" for m in recorder.messages())


def headers(recorder: amilab.EventRecorder, event: str, key: str) -> Counter[str]:
    return Counter(m.get(key) or "" for m in recorder.messages() if m.name == event)


def test_same_seed_same_capture_file(tmp_path):
    """Two runs with one seed save byte-identical .ami files (times, Uniqueids, bridge ids)."""
    first = simulate(minutes=10, calls_per_minute=30, seed=7)
    second = simulate(minutes=10, calls_per_minute=30, seed=7)
    assert len(first) > 5_000
    assert sha256_of_capture(first, tmp_path / "a.ami") == sha256_of_capture(
        second, tmp_path / "b.ami"
    )


def test_other_seed_other_capture(tmp_path):
    """Another seed gives another capture."""
    one = sha256_of_capture(simulate(minutes=5, seed=7), tmp_path / "a.ami")
    two = sha256_of_capture(simulate(minutes=5, seed=8), tmp_path / "b.ami")
    assert one != two


def test_fast_encoding_gives_the_protocol_packages_bytes():
    """FastPBX's events are byte for byte those ServerProtocol.event makes, every call kind."""
    streams = []
    for cls in (PBX, FastPBX):
        pbx = cls(clock=VirtualClock(), seed=3, parking_lots=[amilab.sim.ParkingLot()])
        out: list[bytes] = []
        pbx.listeners.append(lambda name, cat, data, out=out: out.append(data))
        pbx.traffic.start(rate=1.0, seed=3, mix=dict.fromkeys(FATES, 1.0))
        pbx.clock.run_for(600)
        pbx.traffic.stop()
        pbx.clock.run_for(600)
        streams.append(out)
    assert len(streams[0]) > 10_000
    assert streams[0] == streams[1]


@pytest.mark.parametrize("bad", ["Al\r\nAction: Command", "Al\nice", "Al\rice", "Al\0ice"])
def test_a_line_break_in_a_value_is_refused_not_encoded(bad):
    """A caller ID name with CR, LF or NUL raises the protocol package's ValueError."""
    with pytest.raises(ValueError, match="header injection"):
        simulate(minutes=1, calls_per_minute=60, endpoints={"100": bad, "101": "Bob"})


def test_receive_times_are_the_virtual_clock():
    """Times start at the virtual epoch, never go back, and span the simulated minutes."""
    times = [ns for ns, _ in simulate(minutes=10, calls_per_minute=30).snapshot()]
    assert times == sorted(times)
    assert VIRTUAL_EPOCH * NS <= times[0] < (VIRTUAL_EPOCH + 30) * NS
    assert (VIRTUAL_EPOCH + 590) * NS < times[-1] < (VIRTUAL_EPOCH + 600 + 600) * NS


def test_calls_per_minute_is_honoured():
    """About minutes x calls_per_minute calls (Poisson: within 4 sigma), each one complete."""
    calls = analysis.calls(simulate(minutes=60, calls_per_minute=30, seed=11).df)
    assert 1800 - 170 < len(calls) < 1800 + 170
    assert calls["end"].notna().all()


def test_every_channel_ends_and_every_call_bridge_is_destroyed():
    """After the drain nothing is left up: a Hangup per Newchannel, a destroy per create.

    The parking lot's holding bridge stays, as res_parking's does
    (park_giveup.ami reuses the bridge park_blindtransfer.ami created).
    """
    capture = simulate(minutes=10, calls_per_minute=40, seed=5)
    counts = names(capture)
    assert counts["Newchannel"] == counts["Hangup"] > 0
    types = headers(capture, "BridgeCreate", "BridgeType")
    assert types["parking"] == 1
    assert counts["BridgeCreate"] - 1 == counts["BridgeDestroy"] > 0


def test_a_single_kind_mix_gives_only_that_kind():
    """mix={'busy': 1}: every call is refused busy, cause 17, and nothing is answered."""
    capture = simulate(minutes=10, calls_per_minute=30, mix={"busy": 1})
    calls = analysis.calls(capture.df)
    assert len(calls) > 200
    assert set(calls["cause"].astype(str)) == {"17"}
    assert set(headers(capture, "DialEnd", "DialStatus")) == {"BUSY"}
    assert names(capture)["BridgeEnter"] == 0


def test_mix_weights_set_the_shares():
    """mix={'answer': 3, 'noanswer': 1}: about a quarter of the calls ring out (cause 19)."""
    calls = analysis.calls(
        simulate(minutes=60, calls_per_minute=30, mix={"answer": 3, "noanswer": 1}).df
    )
    causes = calls["cause"].astype(str).value_counts(normalize=True)
    assert set(causes.index) == {"16", "19"}
    assert 0.2 < causes["19"] < 0.3


@pytest.mark.parametrize(
    ("kind", "present", "absent"),
    [
        ("queue", {"QueueCallerJoin", "AgentConnect", "AgentComplete"}, {"QueueCallerAbandon"}),
        ("queue_abandon", {"QueueCallerJoin", "QueueCallerAbandon"}, {"AgentConnect"}),
        ("queue_timeout", {"QueueCallerJoin", "QueueCallerLeave"}, {"AgentConnect"}),
        ("transfer", {"BlindTransfer", "DialBegin"}, {"ParkedCall", "ConfbridgeJoin"}),
        ("park", {"BlindTransfer", "ParkedCall", "UnParkedCall"}, {"ConfbridgeJoin"}),
        ("conference", {"ConfbridgeStart", "ConfbridgeJoin", "ConfbridgeLeave"}, {"DialBegin"}),
    ],
)
def test_each_kind_shows_its_events(kind, present, absent):
    """Each call kind alone produces its own events and none of another kind's."""
    counts = names(simulate(minutes=20, calls_per_minute=10, seed=2, mix={kind: 1}))
    assert all(counts[name] > 0 for name in present), {n: counts[n] for n in present}
    assert not any(counts[name] for name in absent), {n: counts[n] for n in absent}


def test_queue_timeouts_leave_without_an_agent():
    """A timed-out queue caller leaves after Queue()'s 10 s and no member connects."""
    capture = simulate(minutes=20, calls_per_minute=10, seed=2, mix={"queue_timeout": 1})
    counts = names(capture)
    assert counts["QueueCallerLeave"] == counts["QueueCallerJoin"] > 0
    assert counts["AgentCalled"] > 0 and counts["AgentConnect"] == 0


def test_parked_calls_are_picked_up_given_up_or_timed_out():
    """Over enough parked calls all three ends of a park happen, each once per ParkedCall."""
    counts = names(simulate(minutes=60, calls_per_minute=10, seed=4, mix={"park": 1}))
    ends = counts["UnParkedCall"] + counts["ParkedCallGiveUp"] + counts["ParkedCallTimeOut"]
    assert counts["ParkedCall"] == ends > 100
    assert min(counts["UnParkedCall"], counts["ParkedCallGiveUp"], counts["ParkedCallTimeOut"])


def test_conference_joins_and_leaves_pair_up():
    """Every ConfbridgeJoin has its ConfbridgeLeave; each started conference ends."""
    capture = simulate(minutes=30, calls_per_minute=4, seed=6, mix={"conference": 1})
    counts = names(capture)
    assert counts["ConfbridgeJoin"] == counts["ConfbridgeLeave"] > 50
    assert counts["ConfbridgeStart"] == counts["ConfbridgeEnd"] > 0
    assert set(headers(capture, "ConfbridgeJoin", "BridgeTechnology")) == {"softmix"}


def test_the_default_mix_covers_every_kind():
    """DEFAULT_MIX names every call kind the traffic generator knows."""
    assert set(DEFAULT_MIX) == set(FATES)
    assert abs(sum(DEFAULT_MIX.values()) - 1.0) < 1e-9


def test_analysis_calls_over_the_default_run():
    """analysis.calls gives one row per call with answers, talk times and the three causes."""
    calls = analysis.calls(simulate(minutes=30, calls_per_minute=30, seed=7).df)
    assert list(calls.columns) == analysis.CALL_COLUMNS
    assert {"16", "17", "19"} <= set(calls["cause"].astype(str))
    talk = calls["talk_time"].dropna()  # float seconds
    assert len(talk) > len(calls) / 2 and (talk >= 0).all()


def test_events_mask_leaves_classes_out():
    """events='call,agent' drops the dialplan class (VarSet, Newexten) and keeps the rest."""
    counts = names(simulate(minutes=5, events="call,agent"))
    assert counts["VarSet"] == 0 and counts["Newexten"] == 0
    assert counts["Newchannel"] > 0 and counts["QueueCallerJoin"] > 0


def test_events_are_whole_ami_blocks():
    """Each recorded event parses back to its Event header with a Privilege of its class."""
    first = simulate(minutes=1).messages()[0]
    again = Message(first.raw)
    assert again.name == "Newchannel" and again["Privilege"] == "call,all"


def test_too_many_events_raise_with_what_to_do():
    """A run larger than max_events raises SimulationOverflow naming the limit and the fixes."""
    with pytest.raises(SimulationOverflow, match=r"max_events=1,000 .* fewer minutes"):
        simulate(minutes=30, calls_per_minute=30, max_events=1_000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"minutes": 0}, "must both be > 0"),
        ({"calls_per_minute": -1}, "must both be > 0"),
        ({"mix": {"answered": 1}}, r"unknown call kind\(s\) \['answered'\]"),
        ({"mix": {"busy": -1}}, "give a weight >= 0"),
        ({"mix": {"busy": 0}}, "every weight in mix is 0"),
        ({"endpoints": ["100"]}, r"at least 2 endpoints .* got \['100'\]"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    """Bad arguments raise ValueError naming the argument and the accepted values."""
    with pytest.raises(ValueError, match=message):
        simulate(**kwargs)


def test_benchmark_quick_run_reports_the_goal():
    """`benchmarks/simulate.py --quick` exits 0 with both rows and the 50,000 ev/CPU-s goal line."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "simulate.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )
    assert proc.returncode == 0, proc.stderr
    assert "simulate()  " in proc.stdout and "PBX + ReceiveBuffer by hand" in proc.stdout
    goal = re.search(r"per CPU-s\s+([\d.]+)x .*goal >= 1.0x\s+(met|MISSED)$", proc.stdout, re.M)
    assert goal is not None and float(goal[1]) > 0, proc.stdout
