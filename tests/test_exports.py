"""The public surface: amilab.__all__, its lazy names, and a light import."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import amilab

ROOT = Path(__file__).resolve().parents[1]
LAZY_NAMES = {
    "ActionResult",
    "AMIClient",
    "Session",
    "connect",
    "to_frame",
    "EventRecorder",
    "replay",
    "load_capture",
    "load_frame",
    "EventMonitor",
    "open_dataset",
}
EAGER_NAMES = sorted(set(amilab.__all__) - LAZY_NAMES)


def test_all_has_no_duplicates_and_lists_lazy_names() -> None:
    """__all__ names each public name once and includes every lazy name."""
    assert len(amilab.__all__) == len(set(amilab.__all__))
    assert set(amilab.__all__) >= LAZY_NAMES


def test_lazy_table_names_exactly_the_lazy_names() -> None:
    """The lazy-import table covers exactly the names whose modules load on demand."""
    assert set(amilab._LAZY) == LAZY_NAMES


@pytest.mark.parametrize("name", EAGER_NAMES)
def test_eager_names_resolve(name: str) -> None:
    """Each eager public name is an attribute of the package after a plain import."""
    assert name in vars(amilab)
    assert getattr(amilab, name) is not None


@pytest.mark.parametrize("name", sorted(LAZY_NAMES))
def test_every_lazy_name_resolves(name: str) -> None:
    """Each lazy name imports its module and resolves (fails until that module exists)."""
    value = getattr(amilab, name)
    assert value is getattr(amilab, name)
    assert getattr(value, "__name__", name) == name


def test_unknown_attribute_raises() -> None:
    """A name that is not public raises AttributeError, not ImportError."""
    with pytest.raises(AttributeError, match="no_such_name"):
        amilab.no_such_name  # noqa: B018


def test_dir_is_the_public_surface() -> None:
    """dir(amilab) lists exactly __all__."""
    assert dir(amilab) == sorted(amilab.__all__)


def test_version_matches_pyproject() -> None:
    """__version__ equals the version in pyproject.toml."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert amilab.__version__ == meta["project"]["version"]


def test_import_is_light() -> None:
    """Importing amilab (and touching its eager names) loads no pandas, IPython or ipywidgets."""
    code = (
        "import sys, amilab\n"
        f"[getattr(amilab, n) for n in {EAGER_NAMES!r}]\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = set(proc.stdout.split())
    assert "amilab" in loaded
    heavy = sorted(
        m for m in loaded if m.split(".")[0] in {"pandas", "IPython", "ipywidgets", "numpy"}
    )
    assert heavy == []
