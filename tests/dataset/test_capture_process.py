"""``amilab capture`` as a real subprocess against two simulators (Asterisk 20 and 22 profiles).

Each simulator is also watched by a witness session that records every event it
sends; the dataset is compared with the witness, event by event (raw bytes).
"""

from __future__ import annotations

import bisect
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from dataset_helpers import CaptureProcess

import amilab
import amilab.sim
from amilab.dataset.capture import FAULT_ENV
from amilab.recorder import EventRecorder
from amilab.session import Session, connect

#: Generated calls per second per simulator: a few hundred events/s each.
TRAFFIC = 10.0
#: Receive times of one event on two connections differ by scheduling only.
CLOCK_SLACK_NS = 250_000_000
#: One event sent to two sessions is received by both within this (same machine).
MATCH_SLACK_NS = 100_000_000
SECOND_NS = 1_000_000_000
#: Sent to each session at its own login (manager.c's FullyBooted, with that
#: session's Uptime), so the witness's and the capture's differ by design.
PER_SESSION = (b"Event: FullyBooted\r\n",)


class Witnessed:
    """A simulator and a session recording every event it sends."""

    def __init__(self, sim: amilab.sim.SimulatedPBX, name: str) -> None:
        self.sim, self.name = sim, name
        self.session: Session = connect(sim)
        self.recorder = EventRecorder(self.session)

    @property
    def address(self) -> str:
        return f"{self.name}={self.sim.host}:{self.sim.port}"

    def events(self) -> list[tuple[int, bytes]]:
        return [
            (ns, raw) for ns, raw in self.recorder.snapshot() if not raw.startswith(PER_SESSION)
        ]

    def close(self) -> None:
        self.recorder.detach()
        self.session.close()


@pytest.fixture
def pbxs() -> Iterator[list[Witnessed]]:
    with (
        amilab.sim.start(traffic=TRAFFIC, seed=20, asterisk="20") as sim20,
        amilab.sim.start(traffic=TRAFFIC, seed=22, asterisk="22") as sim22,
    ):
        witnessed = [Witnessed(sim20, "pbx20"), Witnessed(sim22, "pbx22")]
        yield witnessed
        for w in witnessed:
            w.close()


def captured(root: Path, server: str) -> list[tuple[int, bytes]]:
    """(received_at in ns, raw) of every event of ``server``, read whole with DuckDB."""
    rows = duckdb.sql(
        f"SELECT epoch_ns(received_at), raw FROM read_parquet('{root}/*/*/*.parquet', "
        f"hive_partitioning = true, union_by_name = true) WHERE server = '{server}' "
        "ORDER BY received_at"
    ).fetchall()
    return [(ns, bytes(raw)) for ns, raw in rows if not bytes(raw).startswith(PER_SESSION)]


def missing(witness: list[tuple[int, bytes]], got: list[tuple[int, bytes]]) -> list[int]:
    """Witness times of the events sent while the capture ran that are not in the dataset.

    An event matches the captured one with the same bytes received nearest in
    time, within MATCH_SLACK_NS: identical blocks recur (DeviceStateChange), so
    bytes alone would pair a lost copy with a later captured one.
    """
    start, end = got[0][0] + CLOCK_SLACK_NS, got[-1][0] - CLOCK_SLACK_NS
    times: dict[bytes, list[int]] = {}
    for ns, raw in got:
        times.setdefault(raw, []).append(ns)
    lost = []
    for ns, raw in witness:
        if not start <= ns <= end:
            continue
        candidates = times.get(raw, [])
        index = bisect.bisect_left(candidates, ns)
        near = [i for i in (index - 1, index) if 0 <= i < len(candidates)]
        best = min(near, key=lambda i: abs(candidates[i] - ns), default=None)
        if best is not None and abs(candidates[best] - ns) <= MATCH_SLACK_NS:
            del candidates[best]
        else:
            lost.append(ns)
    return lost


def assert_only_sent_events(witness: list[tuple[int, bytes]], got: list[tuple[int, bytes]]) -> None:
    """Every captured event was sent by the simulator (nothing invented, nothing doubled)."""
    extra = Counter(raw for _, raw in got) - Counter(raw for _, raw in witness)
    assert not extra, f"{sum(extra.values())} captured events were never sent"


def test_two_servers_then_sigterm(tmp_path: Path, pbxs: list[Witnessed]) -> None:
    """Both servers' events, every one, in one dataset; SIGTERM converts everything and exits 0."""
    cap = CaptureProcess(tmp_path, *(w.address for w in pbxs), "--rotate-seconds", "2")
    cap.wait_for("capturing", count=2)
    time.sleep(4)
    assert cap.stop() == 0, cap.log
    assert list((tmp_path / "_segments").rglob("*.ami")) == []
    for w in pbxs:
        got = captured(tmp_path, w.name)
        (summary,) = cap.matching(f"{w.name}: ")[-1:]
        count = len(got) + 1  # and its FullyBooted
        assert f"{count} events received, {count} written, 0 lost" in summary
        assert len(got) > 500
        assert_only_sent_events(w.events(), got)
        assert missing(w.events(), got) == []
        assert len(list((tmp_path / f"server={w.name}").rglob("part-*.parquet"))) >= 2
    assert amilab.open_dataset(tmp_path).gaps().empty


def test_sigkill_loses_at_most_the_last_second(tmp_path: Path, pbxs: list[Witnessed]) -> None:
    """SIGKILL mid-capture, restart: no corrupt file, losses only in the second before the kill,
    and a gap row per server covering them."""
    args = [w.address for w in pbxs]
    first = CaptureProcess(tmp_path, *args, "--rotate-seconds", "60")
    first.wait_for("capturing", count=2)
    time.sleep(2.6)  # not a whole number of flush intervals
    killed_at = time.time_ns()
    first.kill()
    leftovers = list((tmp_path / "_segments").rglob("seg-*.ami"))
    assert len(leftovers) == 2  # one open segment per server, left for recovery
    time.sleep(1)
    second = CaptureProcess(tmp_path, *args, "--rotate-seconds", "2")
    second.wait_for("capturing", count=2)
    assert len(second.matching(" events -> ")) >= 2  # the leftover segments, converted
    time.sleep(2)
    assert second.stop() == 0, second.log
    for path in tmp_path.rglob("*.parquet"):
        pq.read_table(path)  # every file is whole
    gaps = amilab.open_dataset(tmp_path).gaps()
    for w in pbxs:
        got = captured(tmp_path, w.name)
        assert_only_sent_events(w.events(), got)
        restart = min(ns for ns, _ in got if ns > killed_at)
        lost = missing(w.events(), got)
        assert lost, "the restart window lost nothing: the test did not kill mid-capture"
        window = (killed_at - SECOND_NS - CLOCK_SLACK_NS, restart + MATCH_SLACK_NS)
        assert all(window[0] <= ns <= window[1] for ns in lost), (
            [(ns - killed_at) / 1e9 for ns in lost if ns > restart or ns < killed_at - SECOND_NS],
            (restart - killed_at) / 1e9,
        )
        (gap,) = gaps[gaps["server"] == w.name].itertuples()
        assert gap.why == "capture not running (crashed or killed)"
        start, end = gap[2].value, gap[3].value  # "from", "to" in ns
        assert killed_at - SECOND_NS - CLOCK_SLACK_NS <= start <= killed_at
        assert all(start - CLOCK_SLACK_NS <= ns <= end + CLOCK_SLACK_NS for ns in lost)


def test_disk_full_is_counted_and_the_capture_goes_on(
    tmp_path: Path, pbxs: list[Witnessed]
) -> None:
    """ENOSPC (simulated through FAULT_ENV): one line per server, losses counted and in gaps."""
    fault = tmp_path / "disk-full"
    data = tmp_path / "data"
    cap = CaptureProcess(data, *(w.address for w in pbxs), env={FAULT_ENV: str(fault)})
    cap.wait_for("capturing", count=2)
    time.sleep(1.5)
    fault.touch()
    cap.wait_for("cannot write events", count=2)
    time.sleep(1.5)
    fault.unlink()
    cap.wait_for("writing again", count=2)
    time.sleep(1.5)
    assert cap.stop() == 0, cap.log
    gaps = amilab.open_dataset(data).gaps()
    for w in pbxs:
        assert len(cap.matching(f"{w.name}: cannot write events")) == 1
        summary = cap.matching(f"{w.name}: ")[-1]
        found = re.search(r"(\d+) events received, (\d+) written, (\d+) lost", summary)
        assert found is not None, summary
        received, written, lost = (int(n) for n in found.groups())
        assert lost > 0 and received == written + lost, summary
        assert len(captured(data, w.name)) + 1 == written  # and its FullyBooted
        (why,) = gaps[gaps["server"] == w.name]["why"]
        assert why.startswith(f"{lost} events lost: ENOSPC")


def test_bad_entries_each_get_one_line(tmp_path: Path, pbxs: list[Witnessed]) -> None:
    """A malformed entry, an unknown @name, a refused login and a dead port: the good one runs."""
    config = tmp_path / "connections.ini"
    good = pbxs[0].sim
    config.write_text(
        f"[good]\nhost = {good.host}\nport = {good.port}\nuser = admin\nsecret = amilab\n"
        f"[wrongpw]\nhost = {good.host}\nport = {good.port}\nuser = admin\nsecret = nope\n"
    )
    config.chmod(0o644)
    entries = ["@good", "bad:entry", "@missing", "@wrongpw", "dead=127.0.0.1:1"]
    cap = CaptureProcess(tmp_path / "data", "--config", str(config), *entries)
    cap.wait_for("good: capturing")
    cap.wait_for("wrongpw: login refused")
    cap.wait_for("dead: cannot connect")
    time.sleep(2.5)
    assert cap.stop() == 0, cap.log
    for text in ("'bad:entry'", "'@missing'", "wrongpw: login refused", "dead: cannot connect"):
        assert len(cap.matching(text)) == 1, cap.log
    assert "nope" not in cap.log  # the wrong secret is never shown
    assert len(cap.matching("chmod 600")) == 1  # the config file is readable by others
    assert len(captured(tmp_path / "data", "good")) > 0


def test_exit_codes(tmp_path: Path, pbxs: list[Witnessed]) -> None:
    """2: an unwritable dataset directory or no usable entry; 1: every server refused the login."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    sim = pbxs[0].sim
    unwritable = CaptureProcess(blocker / "data", f"x={sim.host}:{sim.port}")
    assert unwritable.proc.wait(timeout=30) == 2
    assert len(unwritable.matching("cannot write the dataset")) == 1
    nothing = CaptureProcess(tmp_path / "d1", "bad:entry")
    assert nothing.proc.wait(timeout=30) == 2
    refused = CaptureProcess(
        tmp_path / "d2", f"x={sim.host}:{sim.port}", env={"AMI_SECRET": "wrong"}
    )
    assert refused.proc.wait(timeout=60) == 1
    assert len(refused.matching("login refused")) == 1
    assert "'wrong'" not in refused.log and ": wrong" not in refused.log


def test_sigint_stops_like_sigterm(tmp_path: Path, pbxs: list[Witnessed]) -> None:
    """Ctrl-C in a terminal: the same clean stop."""
    cap = CaptureProcess(tmp_path, pbxs[1].address)
    cap.wait_for("capturing")
    time.sleep(1.5)
    assert cap.stop(signal.SIGINT) == 0, cap.log
    assert len(captured(tmp_path, "pbx22")) > 0


def test_a_dropped_link_becomes_a_gap(tmp_path: Path, pbxs: list[Witnessed]) -> None:
    """The server drops every connection: the capture reconnects and writes a reconnect gap."""
    w = pbxs[1]
    cap = CaptureProcess(tmp_path, w.address)
    cap.wait_for("capturing")
    time.sleep(1.5)
    dropped_at = time.time_ns()
    assert w.sim.faults.drop_all() >= 1
    cap.wait_for("reconnected after")
    time.sleep(1.5)
    assert cap.stop() == 0, cap.log
    assert len(cap.matching("pbx22: disconnected")) == 1
    (gap,) = amilab.open_dataset(tmp_path).gaps().itertuples()
    assert gap.server == "pbx22" and gap.why.startswith("reconnect: link down")
    start, end = gap[2].value, gap[3].value
    assert dropped_at - CLOCK_SLACK_NS <= start < end
    got = captured(tmp_path, w.name)
    assert any(ns > end for ns, _ in got)  # capturing again after the gap
    lost = missing(w.events(), got)
    assert all(start - CLOCK_SLACK_NS <= ns <= end + CLOCK_SLACK_NS for ns in lost)


def test_rotation_limits_must_be_positive(tmp_path: Path) -> None:
    """A zero --rotate-mb is refused at once with exit code 2 and a line saying why."""
    cap = CaptureProcess(tmp_path, "x=127.0.0.1:1", "--rotate-mb", "0")
    assert cap.proc.wait(timeout=30) == 2
    cap.kill()
    assert cap.matching("--rotate-mb and --rotate-seconds must be positive")
