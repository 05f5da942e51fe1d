"""Wire trace: a bounded record of the raw bytes sent and received, secrets masked.

Used to teach and debug the protocol: ``session.trace.enable()``, run an
action, ``print(session.trace)``. ``Secret`` and ``Key`` values are masked
before anything is stored, so a trace can be shown in a notebook safely.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass

__all__ = ["TraceEntry", "WireTrace", "mask_secrets"]

#: Trace entries kept; a trace is for reading, not for capturing floods.
DEFAULT_TRACE_ENTRIES = 2000
_SECRET_LINE = re.compile(rb"(?im)^((?:secret|key|password)[ \t]*:[ \t]*)[^\r\n]*")


def mask_secrets(data: bytes) -> bytes:
    """Replace the values of ``Secret``/``Key``/``Password`` header lines with ``***``."""
    return _SECRET_LINE.sub(rb"\1***", data)


@dataclass(frozen=True, slots=True)
class TraceEntry:
    at: float  # time.time() when the bytes crossed the socket
    direction: str  # "sent" or "received"
    data: bytes

    def __str__(self) -> str:
        arrow = ">>" if self.direction == "sent" else "<<"
        text = self.data.decode("utf-8", "replace").replace("\r\n", "\n")
        return "\n".join(f"{arrow} {line}" for line in text.rstrip("\n").split("\n"))


class WireTrace:
    """Thread-safe bounded trace; disabled until :meth:`enable` is called."""

    def __init__(self, maxlen: int = DEFAULT_TRACE_ENTRIES) -> None:
        self.enabled = False
        self._entries: deque[TraceEntry] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def enable(self) -> WireTrace:
        self.enabled = True
        return self

    def disable(self) -> None:
        self.enabled = False

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def record(self, direction: str, data: bytes) -> None:
        if self.enabled:
            entry = TraceEntry(time.time(), direction, mask_secrets(data))
            with self._lock:
                self._entries.append(entry)

    @property
    def entries(self) -> list[TraceEntry]:
        with self._lock:
            return list(self._entries)

    def text(self) -> str:
        """The whole trace as ``>>`` (sent) and ``<<`` (received) lines."""
        return "\n".join(str(e) for e in self.entries)

    __str__ = text

    def __repr__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"<WireTrace {state}, {len(self._entries)} entries>"

    def _repr_pretty_(self, p: object, cycle: bool) -> None:
        p.text(self.text() or repr(self))  # type: ignore[attr-defined]
