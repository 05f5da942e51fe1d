"""SessionState: the blocking side of :class:`LiveState`, for a :class:`amilab.Session`.

Every read hops onto the session's I/O thread (``io.call``), copies the rows
there, between two events, and builds the DataFrame back in the caller's
thread: a frame is whole, never half-updated, and pandas work stays off the
loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from amilab.state.snapshot import Changes, Snapshot
from amilab.state.tracker import LiveState, Resync, track

if TYPE_CHECKING:
    import pandas as pd

    from amilab.iothread import IOThread

__all__ = ["SessionState", "track_session"]


class SessionState:
    """``session.state``: frames and resync history of a :class:`LiveState` on another thread."""

    def __init__(self, live: LiveState, io: IOThread) -> None:
        self.live = live
        self.io = io

    def snapshot(self) -> Snapshot:
        """Every table, copied on the I/O thread at one moment."""
        return self.io.call(self.live.snapshot)

    def frame(self, table: str) -> pd.DataFrame:
        """One table as a DataFrame."""
        return self.io.call(self.live.snapshot).frame(table)

    @property
    def channels(self) -> pd.DataFrame:
        return self.frame("channels")

    @property
    def bridges(self) -> pd.DataFrame:
        return self.frame("bridges")

    @property
    def endpoints(self) -> pd.DataFrame:
        return self.frame("endpoints")

    @property
    def queues(self) -> pd.DataFrame:
        return self.frame("queues")

    @property
    def queue_members(self) -> pd.DataFrame:
        return self.frame("queue_members")

    @property
    def queue_callers(self) -> pd.DataFrame:
        return self.frame("queue_callers")

    @property
    def conferences(self) -> pd.DataFrame:
        return self.frame("conferences")

    @property
    def parked_calls(self) -> pd.DataFrame:
        return self.frame("parked_calls")

    @property
    def synced_at(self) -> float | None:
        return self.live.synced_at

    @property
    def resyncs(self) -> list[Resync]:
        return self.io.call(lambda: list(self.live.resyncs))

    def statement(self) -> str:
        return self.io.call(self.live.statement)

    def resync(self, reason: str = "asked by the user") -> None:
        """Re-seed now and wait for it."""
        self.io.run(self.live.resync(reason))

    def on_change(self, callback: Callable[[Changes], Any]) -> Callable[[], None]:
        """``callback(Changes)`` runs on the I/O thread: keep it short (append to a buffer)."""
        return self.io.call(self.live.on_change, callback)

    def stop(self) -> None:
        self.io.call(self.live.stop)

    def __repr__(self) -> str:
        return self.io.call(self.live.__repr__)


def track_session(session: Any, **options: Any) -> SessionState:
    """Track ``session``'s PBX (an :class:`amilab.Session`); returns once seeded."""
    live = session.io.run(track(session.client, **options))
    return SessionState(live, session.io)
