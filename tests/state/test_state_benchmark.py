"""Smoke test: benchmarks/state.py runs end to end and reports both goals (no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_state_benchmark_quick_reports_rows_and_goals() -> None:
    """`state.py --quick` exits 0 (its own checks passed) and prints four rows and two goals."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "state.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    for row in ("floor (read name)", "apply (StateModel.apply)", "frame 1,000 channels"):
        assert re.search(re.escape(row) + r"\s+[\d,.]+ ", proc.stdout), proc.stdout
    assert len(re.findall(r"goal .*(met|MISSED)$", proc.stdout, re.M)) == 2
