"""LiveState: the model kept true around an AMIClient: seeding, events, resync.

Theory of operation (everything here runs on the client's event loop):

1. :meth:`LiveState.start` subscribes to every event first, then seeds.
2. Seeding (:meth:`LiveState.resync`) opens a fresh buffer, *then* sends the
   list actions one after the other (``CoreShowChannels``, ``BridgeList``,
   ``QueueStatus``, ``PJSIPShowEndpoints``/``PJSIPShowContacts``,
   ``ConfbridgeListRooms``, ``ParkedCalls``). Every event received while the
   lists run goes into the buffer, not the model.
3. The seed replaces the tables, then the buffered events are applied in
   order. The rule: events received *before* the first list action was sent
   are dropped (Asterisk generated them before the list was taken, so the
   list already shows their effect); every event received *after* is
   applied, even if the list already shows it. That is safe because each
   Asterisk 22 channel or queue-member event carries the whole state of its
   object (see amilab/state/tables.py): applying an older event followed by
   the newer ones ends each row at the newest state, and an event can be
   older than a list it follows, because manager.c writes a session's
   queued events only between actions and stasis delivers them with a lag.
   Nothing is lost (the subscription predates the buffer) and nothing is
   double-counted (rows are upserted, not incremented).
4. The seed settles for :data:`SEED_SETTLE` seconds: an event naming an
   unknown channel or bridge is then an upsert or a no-op (the list saw the
   end already). After that the model is strict: such an event means a gap,
   and the tracker re-seeds, recording why in :attr:`LiveState.resyncs`.
5. A reconnect re-seeds too (events sent while the link was down are gone).

A user whose write class does not allow a list action (Asterisk checks an
action's authority against the user's *write* permission, main/manager.c
``process_message``; the sandbox's ``readonly`` user gets "Permission denied"
for ``CoreShowChannels``) cannot seed that table: it is then followed from
events only, never strict, and :meth:`LiveState.statement` says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from amilab.protocol.message import Message
from amilab.state.snapshot import Changes, Snapshot, take
from amilab.state.tables import TABLES, StateModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LIST_ACTIONS",
    "RESYNC_MIN_INTERVAL",
    "SEED_SETTLE",
    "LiveState",
    "Resync",
    "track",
]

log = logging.getLogger("amilab.state")

#: Seconds after a seed during which an unknown channel or bridge is not a
#: contradiction: stasis hands events to manager.c on its own thread, so an
#: event generated before a list can arrive after it. On the sandbox the lag
#: is milliseconds; one second leaves a wide margin on a loaded PBX.
SEED_SETTLE = 1.0
#: Least seconds between two resyncs: a PBX that keeps contradicting the model
#: (or a model bug) must not turn into a flood of list actions.
RESYNC_MIN_INTERVAL = 2.0
#: Seconds before a failed resync is tried again (a seed can fail when the
#: link drops mid-seed; the reconnect also asks for one, and they coalesce).
RESYNC_RETRY_DELAY = 1.0
#: Seconds each list action may take (a 1,000-channel CoreShowChannels is ~1 MB).
LIST_TIMEOUT = 30.0

#: Seed name -> the list actions that fill it, in the order they are sent.
LIST_ACTIONS: dict[str, tuple[str, ...]] = {
    "channels": ("CoreShowChannels",),
    "bridges": ("BridgeList",),
    "queues": ("QueueStatus",),
    # SIPpeers: chan_sip's peers where chan_sip is loaded (Asterisk 20 and older);
    # on 21+ it is an unknown command, which leaves them out (OPTIONAL_LISTS).
    "endpoints": ("PJSIPShowEndpoints", "PJSIPShowContacts", "SIPpeers"),
    "conferences": ("ConfbridgeListRooms",),
    "parked_calls": ("ParkedCalls",),
}
#: List actions a server may not have at all (the channel driver is not loaded):
#: "Invalid/unknown command" then means an empty list, not a failed seed.
OPTIONAL_LISTS = frozenset({"SIPpeers"})
#: Seed name -> the tables it fills.
_SEED_TABLES = {
    "channels": ("channels",),
    "bridges": ("bridges",),
    "queues": ("queues", "queue_members", "queue_callers"),
    "endpoints": ("endpoints",),
    "conferences": ("conferences",),
    "parked_calls": ("parked_calls",),
}
#: Read classes each table's events need, as the events' ``Privilege`` header
#: shows in tests/fixtures/state/state_calls.ami and tests/fixtures/asterisk22
#: (channel, bridge, ConfBridge and DeviceStateChange events: call; queue and
#: Agent* events: agent). ContactStatus (system) and the parking events (call)
#: were not seen on the sandbox, which has no registered contacts or parked calls.
EVENT_CLASSES = {
    "channels": "call",
    "bridges": "call",
    "queues": "agent",
    "endpoints": "system (ContactStatus), call (DeviceStateChange)",
    "conferences": "call",
    "parked_calls": "call",
}


class EventSource(Protocol):
    """What the tracker needs of :class:`amilab.AMIClient`."""

    def on(self, pattern: str | Iterable[str], callback: Callable[[Message], Any]) -> Any: ...

    def on_connection(self, callback: Callable[[Any], Any]) -> Callable[[], None]: ...

    async def action(
        self, action: str, /, *, timeout: float | None = None, check: bool = True
    ) -> Any: ...


@dataclass(frozen=True)
class Resync:
    """One seed: when it finished, why it ran, how long it took, events buffered meanwhile."""

    at: float
    reason: str
    seconds: float
    buffered: int
    applied: int

    def __repr__(self) -> str:
        when = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds")
        return f"<Resync at {when}: {self.reason} ({self.seconds:.3f} s, {self.buffered} buffered)>"


class LiveState:
    """The live model of one client's PBX; see the module docstring for how it stays true."""

    def __init__(
        self,
        client: EventSource,
        *,
        settle: float = SEED_SETTLE,
        min_interval: float = RESYNC_MIN_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.model = StateModel()
        self.settle = settle
        self.min_interval = min_interval
        self.clock = clock
        self.synced_at: float | None = None
        self.resyncs: list[Resync] = []
        #: Seed name -> "seeded", or why it could not be (events only then).
        self.coverage: dict[str, str] = {}
        self._buffer: list[tuple[float, Message]] | None = None
        self._callbacks: list[Callable[[Changes], Any]] = []
        self._flush_pending = False
        self._resync_task: asyncio.Task[None] | None = None
        self._resync_again: str | None = None
        self._settle_handle: asyncio.TimerHandle | None = None
        self._subscription: Any = None
        self._unhook: Callable[[], None] | None = None
        self.errors: list[str] = []

    # -- lifecycle ----------------------------------------------------------
    async def start(self) -> LiveState:
        """Subscribe to every event, hook reconnects, and seed; returns once seeded."""
        self._subscription = self.client.on("*", self._on_event)
        self._unhook = self.client.on_connection(self._on_link)
        await self.resync("initial seed")
        return self

    def stop(self) -> None:
        """Unsubscribe; the tables keep their last state."""
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
        if self._unhook is not None:
            self._unhook()
            self._unhook = None
        if self._settle_handle is not None:
            self._settle_handle.cancel()
        if self._resync_task is not None:
            self._resync_task.cancel()

    # -- events -------------------------------------------------------------
    def _on_event(self, msg: Message) -> None:
        if self._buffer is not None:
            self._buffer.append((self.clock(), msg))
            return
        model = self.model
        model.apply(msg, self.clock())
        if model.changes and not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)
        if model.contradiction is not None:
            why, model.contradiction = model.contradiction, None
            self.request_resync(f"contradiction: {why}")

    def _flush(self, resync: bool = False) -> None:
        self._flush_pending = False
        changes, self.model.changes = self.model.changes, []
        if not self._callbacks or not changes:
            return
        batch = Changes.collect(changes, resync=resync)
        for callback in list(self._callbacks):
            try:
                callback(batch)
            except Exception as exc:  # a broken callback must not stop the model
                self.errors.append(f"on_change callback {callback!r} raised {exc!r}")
                log.exception("state on_change callback failed")

    def on_change(self, callback: Callable[[Changes], Any]) -> Callable[[], None]:
        """Call ``callback(Changes)`` on the loop after each batch of changes.

        Returns a function that unsubscribes the callback.
        """
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def _on_link(self, event: Any) -> None:
        if event.kind == "reconnected":
            gap = f" after {event.gap:.1f} s down" if event.gap is not None else ""
            self.request_resync(f"reconnected{gap}")

    # -- seeding --------------------------------------------------------------
    def request_resync(self, reason: str) -> None:
        """Re-seed soon (at most once per :attr:`min_interval`); coalesces with one in progress."""
        if self._resync_task is not None and not self._resync_task.done():
            self._resync_again = self._resync_again or reason
            return
        self._resync_task = asyncio.get_running_loop().create_task(self._paced_resync(reason))

    async def _paced_resync(self, reason: str) -> None:
        while True:
            if self.resyncs:
                wait = self.resyncs[-1].at + self.min_interval - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            try:
                await self.resync(reason)
            except Exception as exc:
                # A list timed out or the link dropped mid-seed: the events buffered
                # meanwhile are gone with the failed seed, so the model cannot be
                # trusted until a seed succeeds. Try again after a pause.
                self.errors.append(f"resync ({reason}) failed: {exc!r}")
                log.warning("state resync failed: %r", exc)
                await asyncio.sleep(max(self.min_interval, RESYNC_RETRY_DELAY))
                self._resync_again = self._resync_again or f"retry: {reason}"
            if self._resync_again is None:
                return
            reason, self._resync_again = self._resync_again, None

    async def resync(self, reason: str) -> None:
        """Seed every table from its list actions, then apply the events that arrived meanwhile."""
        started = self.clock()
        if self._settle_handle is not None:
            self._settle_handle.cancel()
        self.model.strict = frozenset()
        buffer: list[tuple[float, Message]] = []
        self._buffer = buffer
        try:
            for seed, actions in LIST_ACTIONS.items():
                items = await self._list(seed, actions)
                if items is not None:
                    self.model.seed(seed, items, self.clock())
        finally:
            self._buffer = None
        for received, msg in buffer:
            self.model.apply(msg, received)
        self.model.contradiction = None
        done = self.clock()
        self.synced_at = done
        self.resyncs.append(Resync(done, reason, done - started, len(buffer), self.model.applied))
        self._flush(resync=True)
        seeded = frozenset(
            t
            for seed, tables in _SEED_TABLES.items()
            if self.coverage.get(seed) == "seeded"
            for t in tables
        )
        loop = asyncio.get_running_loop()
        self._settle_handle = loop.call_later(self.settle, self._harden, seeded)

    def _harden(self, tables: frozenset[str]) -> None:
        self.model.strict = tables

    async def _list(self, seed: str, actions: tuple[str, ...]) -> list[Message] | None:
        """The items of ``seed``'s list actions, or None (and :attr:`coverage` says why)."""
        items: list[Message] = []
        for name in actions:
            result = await self.client.action(name, timeout=LIST_TIMEOUT, check=False)
            if result.ok:
                items.extend(result.events)
                continue
            message = result.message or "Error"
            if name in OPTIONAL_LISTS and "unknown command" in message.lower():
                continue  # no chan_sip on Asterisk 21+ (tests/fixtures/asterisk22/sippeers.ami)
            if message.startswith("No "):
                # "No active conferences." (app_confbridge.c), "No Contacts found"
                # (res_pjsip_contact... ): an empty list answered as an error.
                continue
            self.coverage[seed] = f"{name}: {message}"
            return None
        self.coverage[seed] = "seeded"
        return items

    # -- reading ---------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every table copied now (call on the client's loop; :class:`SessionState` does)."""
        return take(self.model, self.clock())

    def frame(self, table: str) -> pd.DataFrame:
        """One table as a DataFrame (on the loop)."""
        return Snapshot(self.clock(), {table: self.model.rows(table)}).frame(table)

    def statement(self) -> str:
        """What is tracked and how: seeded and kept strict, or followed from events only."""
        lines = []
        for seed, tables in _SEED_TABLES.items():
            how = self.coverage.get(seed, "not seeded yet")
            names = ", ".join(tables)
            if how == "seeded":
                lines.append(
                    f"{names}: seeded from {'/'.join(LIST_ACTIONS[seed])}, kept current from events"
                )
            else:
                lines.append(
                    f"{names}: NOT seeded ({how}); followed from "
                    f"{EVENT_CLASSES[seed]} events only, "
                    "so anything already up when tracking started, or during a gap, is missing"
                )
        return "\n".join(lines)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{t}={len(self.model.tables[t])}" for t in TABLES)
        return f"<LiveState {sizes}; resyncs={len(self.resyncs)}>"


async def track(client: EventSource, **options: Any) -> LiveState:
    """Start tracking ``client``'s PBX (on the client's loop); returns once the first seed is in."""
    return await LiveState(client, **options).start()
