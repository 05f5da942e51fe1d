"""Smoke test: the flood benchmark still runs end to end (no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOOD = ROOT / "benchmarks" / "flood.py"
CLIENTS = ("floor", "amilab", "amilab+recorder", "panoramisk")


@pytest.mark.timeout(120)
def test_flood_quick_runs_and_reports_every_client() -> None:
    """`flood.py --quick` exits 0 and prints one events/s row per client, panoramisk as 1.00x."""
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
