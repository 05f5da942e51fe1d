"""Replay recorded events to the simulator's clients.

Accepts an iterable of :class:`~amilab.protocol.Message` or ``(timestamp,
Message)`` pairs, or a path, which is read with ``amilab.recorder.replay``
(the recorder needs only the protocol package, like the simulator). With
``speed`` (1.0 = as recorded) the original gaps are kept, scaled; without it
events go out as fast as possible.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection, Iterable
from typing import Any, Protocol

from amilab.protocol import Message, ServerProtocol
from amilab.recorder import replay as load

__all__ = ["replay"]


class _Listener(Protocol):
    def deliver(self, name: str, category: str, data: bytes) -> None: ...


class _Server(Protocol):
    @property
    def connections(self) -> Collection[_Listener]: ...


def _items(source: Any) -> Iterable[Any]:
    if isinstance(source, str | os.PathLike):
        return load(source)
    return source  # type: ignore[no-any-return]


def _category(msg: Message) -> str:
    privilege = msg.get("Privilege") or "system"
    return privilege.split(",", 1)[0].strip().lower() or "system"


async def replay(server: _Server, source: Any, speed: float | None = None) -> int:
    """Emit every event of ``source`` to the connected clients; return how many."""
    count = 0
    last: float | None = None
    for item in _items(source):
        ts, msg = item if isinstance(item, tuple) else (None, item)
        if not isinstance(msg, Message) or msg.kind != "event":
            continue
        if speed and ts is not None:
            if last is not None and ts > last:
                await asyncio.sleep((ts - last) / speed)
            last = ts
        data = ServerProtocol.event(msg.name or "", msg.items()[1:])
        for conn in list(server.connections):
            conn.deliver(msg.name or "", _category(msg), data)
        count += 1
    return count
