"""Helpers for the dataset tests: event blocks, segments on disk, a capture subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from amilab.dataset.segments import SEGMENTS_DIR, block
from amilab.recorder import CAPTURE_GREETING

ROOT = Path(__file__).resolve().parents[2]
DAY_NS = 86_400 * 1_000_000_000
#: 2026-12-05T10:00:00Z, a fixed receive time for unit tests.
T0 = 1_796_464_800 * 1_000_000_000


def raw_event(name: str, **headers: str | tuple[str, ...]) -> bytes:
    """One AMI event block (no blank line), headers in the given order."""
    lines = [f"Event: {name}"]
    for key, value in headers.items():
        values = value if isinstance(value, tuple) else (value,)
        lines.extend(f"{key.replace('_', '-')}: {v}" for v in values)
    return "\r\n".join(lines).encode()


def write_segment(root: Path, server: str, events: list[tuple[int, bytes]]) -> Path:
    """A segment file as the capture leaves it, holding ``events``."""
    directory = root / SEGMENTS_DIR / f"server={server}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"seg-{events[0][0]}.ami"
    path.write_bytes(CAPTURE_GREETING + b"".join(block(ns, raw) for ns, raw in events))
    return path


class CaptureProcess:
    """``python -m amilab capture`` as a subprocess; its stderr is collected line by line."""

    def __init__(self, to: Path, *servers: str, env: dict[str, str] | None = None) -> None:
        self.args = [sys.executable, "-m", "amilab", "capture", "--to", str(to), *servers]
        full_env = dict(os.environ, PYTHONPATH=str(ROOT), AMI_SECRET="amilab", AMI_USER="admin")
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            self.args, env=full_env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, count: int = 1, timeout: float = 20.0) -> None:
        """Wait until ``count`` stderr lines contain ``text``."""
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                time.sleep(0.2)
                raise AssertionError(f"no {count}x {text!r} on stderr; got:\n" + self.log)
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)

    def matching(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


def multiset(raws: list[bytes]) -> Counter[bytes]:
    return Counter(raws)
