"""The code-quality promises of the README and STYLE: ruff clean, mypy --strict on amilab/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("args", [("ruff", "check", "."), ("ruff", "format", "--check", ".")])
def test_ruff_clean(args):
    """ruff lint and format report nothing on the repository."""
    proc = run(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_on_the_library():
    """mypy --strict (configured in pyproject.toml) finds no error in amilab/."""
    proc = run("mypy", "amilab")
    assert proc.returncode == 0, proc.stdout + proc.stderr
