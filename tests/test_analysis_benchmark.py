"""Smoke tests: ``benchmarks/analysis.py`` runs end to end (no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "analysis.py"
ROW = re.compile(r"^(calls|queue_calls|queue_stats)\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x ")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )


@pytest.mark.timeout(120)
def test_quick_run_times_every_function() -> None:
    """`--quick` exits 0 (with --check too: too few events to judge), a row per function."""
    proc = _run("--quick", "--check")
    assert proc.returncode == 0, proc.stderr
    rows = {m[1]: m for m in map(ROW.match, proc.stdout.splitlines()) if m}
    assert set(rows) == {"calls", "queue_calls", "queue_stats"}, proc.stdout
    for match in rows.values():
        assert int(match[2].replace(",", "")) > 0
        assert float(match[3]) <= float(match[4])  # best <= median
    assert "not judged" in proc.stdout
    assert re.search(r"^[\d,]+ events \(", proc.stdout, re.M), proc.stdout


@pytest.mark.timeout(60)
def test_bad_arguments_exit_2_with_the_reason() -> None:
    """No capture to time is an error (exit 2), told on stderr, not a slow run."""
    proc = _run("--minutes", "0")
    assert proc.returncode == 2, proc.stdout
    assert "simulate: ValueError" in proc.stderr
