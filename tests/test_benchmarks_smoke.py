"""Smoke tests: the benchmarks still run end to end (no timing is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOOD = ROOT / "benchmarks" / "flood.py"
ACTIONS = ROOT / "benchmarks" / "actions.py"
CLIENTS = ("floor", "amilab", "amilab+pending", "amilab+recorder", "panoramisk")
GOAL_LINE = re.compile(r"\s+(.+?)\s+([\d.]+)x .*goal ([<>]=) ([\d.]+)x\s+(met|MISSED)$")


def _goals(stdout: str) -> dict[str, tuple[float, str]]:
    found = {}
    for line in stdout.splitlines():
        match = GOAL_LINE.match(line)
        if match:
            found[match[1]] = (float(match[2]), match[5])
    return found


@pytest.mark.timeout(120)
def test_flood_quick_runs_and_reports_every_client() -> None:
    """`flood.py --quick` exits 0 and prints a row per client (panoramisk 1.00x) and both goals."""
    pytest.importorskip("panoramisk", reason="benchmark extra: pip install panoramisk")
    proc = subprocess.run(
        [sys.executable, str(FLOOD), "--quick"],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {}
    for line in proc.stdout.splitlines():
        match = re.match(r"(\S+)\s+([\d,]+)\s+([\d,]+)\s+(\S+)", line)
        if match:
            rows[match[1]] = match
    assert set(rows) == set(CLIENTS), proc.stdout
    for match in rows.values():
        assert int(match[2].replace(",", "")) > 0
    assert rows["panoramisk"][4] == "1.00x"
    goals = _goals(proc.stdout)
    assert set(goals) == {"amilab / panoramisk", "amilab with an action pending / idle"}, (
        proc.stdout
    )
    assert all(ratio > 0 for ratio, _ in goals.values())


@pytest.mark.asterisk
@pytest.mark.timeout(120)
def test_actions_quick_reports_rows_and_goals(asterisk) -> None:
    """`actions.py --quick` against the sandbox exits 0 and prints every row and all three goals."""
    pytest.importorskip("panoramisk", reason="benchmark extra: pip install panoramisk")
    env = os.environ | {
        "AMILAB_ASTERISK_HOST": asterisk.host,
        "AMILAB_ASTERISK_PORT": str(asterisk.port),
    }
    proc = subprocess.run(
        [sys.executable, str(ACTIONS), "--quick"],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for row in (
        "raw asyncio streams",
        "amilab AMIClient.ping()",
        'amilab Session.action("Ping")',
        "amilab AMIClient.action",
        "panoramisk send_action",
    ):
        pattern = rf"^{re.escape(row)}\s+[\d,.]+\s+[\d,.]+\s+[\d.]+x\b"
        assert re.search(pattern, proc.stdout, re.M), row
    assert len(_goals(proc.stdout)) == 3, proc.stdout


@pytest.mark.timeout(60)
def test_actions_unreachable_server_exits_2_with_a_hint() -> None:
    """An AMI port nobody listens on gives exit 2 and says how to start the sandbox."""
    pytest.importorskip("panoramisk", reason="benchmark extra: pip install panoramisk")
    proc = subprocess.run(
        [sys.executable, str(ACTIONS), "--quick", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "sandbox.sh start" in proc.stderr
