"""Shared fixtures: the real Asterisk 22 sandbox and its credentials."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = ROOT / "tests" / "asterisk" / "sandbox.sh"


@dataclass(frozen=True)
class AsteriskSandbox:
    host: str
    port: int
    tls_port: int
    tls_cert: Path | None
    admin: tuple[str, str] = ("admin", "amilab-admin")
    readonly: tuple[str, str] = ("readonly", "amilab-readonly")

    def restart(self) -> None:
        subprocess.run(
            ["bash", str(SANDBOX), "restart"], check=True, capture_output=True, timeout=180
        )


def _status() -> dict[str, str] | None:
    proc = subprocess.run(
        ["bash", str(SANDBOX), "status"], capture_output=True, text=True, timeout=30
    )
    if proc.returncode != 0:
        return None
    fields = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def skip_or_fail(reason: str) -> None:
    """Skip with a one-line reason; under CI (CI=true) a missing prerequisite is a failure."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run this test, but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def asterisk() -> AsteriskSandbox:
    """The running Asterisk 22 sandbox. Skips without root; fails if root but not started."""
    if os.geteuid() != 0:
        skip_or_fail("real Asterisk tests need root (chroot sandbox); run as root to include them")
    status = _status()
    if status is None:
        pytest.fail(
            "the Asterisk sandbox is not running: start it with "
            "`bash tests/asterisk/sandbox.sh start` (the README's test command does)"
        )
    host, _, port = status.get("ami", "127.0.0.1:15038").rpartition(":")
    _, _, tls_port = status.get("ami-tls", "127.0.0.1:15039").rpartition(":")
    cert = status.get("tls-cert")
    return AsteriskSandbox(host, int(port), int(tls_port), Path(cert) if cert else None)
