"""Smoke test: benchmarks/capture.py still runs end to end (no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS = ("recorder", "capture handler", "segment -> parquet", "capture total", "socket -> parquet")


@pytest.mark.timeout(120)
def test_capture_benchmark_quick_prints_every_row_and_goal() -> None:
    """`capture.py --quick` exits 0 with a positive rate per row and both goal lines."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "capture.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    rates = dict(re.findall(r"^(\S.*?)\s+([\d,]+)\s+[\d.]+x$", proc.stdout, re.MULTILINE))
    assert set(rates) == set(ROWS), proc.stdout
    assert all(int(rate.replace(",", "")) > 0 for rate in rates.values())
    goals = re.findall(r"^\s+(.+?)\s+[\d.]+x\s+goal", proc.stdout, re.MULTILINE)
    assert goals == ["capture handler / recorder", "handler peak memory 4N / N"]
