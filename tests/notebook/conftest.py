"""A real IPython shell with ``%load_ext amilab``, and a simulator with a known secret."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: A secret that must never show up in any output (see test_secret_never_shown).
SECRET = "Zq7-unique-secret-4711"
USER = "alice"


def open_sockets() -> int:
    """How many sockets this process holds (Linux /proc)."""
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def amilab_threads() -> list[str]:
    """Names of live threads started by amilab (I/O loops, simulators)."""
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("amilab"))


@pytest.fixture
def ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The test IPython shell with amilab loaded; no AMI_* variables, no config file."""
    from IPython.testing.globalipapp import get_ipython

    for var in ("AMI_HOST", "AMI_PORT", "AMI_USER", "AMI_SECRET"):
        monkeypatch.delenv(var, raising=False)
    shell = get_ipython()
    shell.run_line_magic("load_ext", "amilab")
    shell.run_line_magic("config", f"AmiMagics.config_file = {str(tmp_path / 'none.ini')!r}")
    yield shell
    if "amilab" in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", "amilab")
    for name in ("_ami", "df", "r", "chan", "acts", "ev"):
        shell.user_ns.pop(name, None)
    # %config also writes the shell's config, which the next load would read back.
    shell.config.pop("AmiMagics", None)


@pytest.fixture
def magics(ip: Any) -> Any:
    """The registered AmiMagics instance."""
    return ip.magics_manager.registry["AmiMagics"]


@pytest.fixture
def sim() -> Iterator[Any]:
    """A simulator whose only user is alice with :data:`SECRET`."""
    import amilab.sim

    pbx = amilab.sim.start(users={USER: {"secret": SECRET, "read": "all", "write": "all"}})
    yield pbx
    pbx.stop()
