"""LiveState's seeding rule, resync triggers and on_change, with a scripted client.

The scripted client answers list actions with the real lists of
tests/fixtures/state/state_calls.ami's third checkpoint (fourteen
channels up) and delivers events from the same recording *while* a list is
being answered, as a live connection may.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from amilab import Message
from amilab.client import ConnectionEvent
from amilab.results import ActionResult
from amilab.state import Changes, LiveState
from tests.state.compare import differences, from_lists, from_model
from tests.state.test_recorded import _checkpoints

POINTS = _checkpoints()


def _lists(items: list[Message]) -> dict[str, ActionResult]:
    """The checkpoint's messages grouped back into one result per list action."""
    by_id: dict[str, list[Message]] = {}
    for m in items:
        by_id.setdefault(m.action_id or "", []).append(m)
    names = ("CoreShowChannels", "BridgeList", "QueueStatus", "ConfbridgeListRooms")
    return {n: ActionResult(msgs) for n, msgs in zip(names, by_id.values(), strict=True)}


class Scripted:
    """on/on_connection/action like AMIClient; ``during[name]`` events arrive mid-list."""

    def __init__(self, lists: dict[str, ActionResult]) -> None:
        self.lists = lists
        self.during: dict[str, list[Message]] = {}
        self.callbacks: list[Callable[[Message], Any]] = []
        self.link: list[Callable[[Any], Any]] = []
        self.sent: list[str] = []

    def on(self, pattern: str, callback: Callable[[Message], Any]) -> Any:
        self.callbacks.append(callback)
        return self

    def cancel(self) -> None:
        self.callbacks.clear()

    def on_connection(self, callback: Callable[[Any], Any]) -> Callable[[], None]:
        self.link.append(callback)
        return lambda: None

    def emit(self, msg: Message) -> None:
        for cb in self.callbacks:
            cb(msg)

    async def action(self, name: str, /, **_: Any) -> ActionResult:
        self.sent.append(name)
        for msg in self.during.pop(name, []):
            self.emit(msg)
        await asyncio.sleep(0)
        if name in self.lists:
            return self.lists[name]
        return ActionResult([Message(b"Response: Error\r\nMessage: Invalid/unknown command")])


def _event(text: str) -> Message:
    return Message(text.replace("\n", "\r\n").encode())


NEW = _event(
    "Event: Newchannel\nChannel: PJSIP/100-00000001\nChannelState: 4\nChannelStateDesc: Ring\n"
    "CallerIDNum: 100\nContext: amilab-state\nExten: wait\nPriority: 1\n"
    "Uniqueid: late.1\nLinkedid: late.1"
)


def _hangup(uid: str, channel: str) -> Message:
    return _event(f"Event: Hangup\nChannel: {channel}\nUniqueid: {uid}\nCause: 16")


async def test_events_during_seed_are_neither_lost_nor_doubled() -> None:
    """Born mid-seed: kept; hung up mid-seed: gone; listed and repeated: not doubled."""
    listed = POINTS[2][1]
    client = Scripted(_lists(listed))
    channels = [m for m in listed if m.name == "CoreShowChannel"]
    dead = channels[0]
    again = _event(NEW.raw.decode().replace("late.1", channels[1].get("Uniqueid")))
    client.during["CoreShowChannels"] = [NEW, again]
    client.during["QueueStatus"] = [_hangup(dead.get("Uniqueid"), dead.get("Channel"))]
    state = await LiveState(client, settle=0.01).start()
    rows = state.model.tables["channels"]
    assert "late.1" in rows
    assert dead.get("Uniqueid") not in rows
    assert len(rows) == len(channels)  # +1 born, -1 hung up, the repeated one once
    assert state.resyncs[0].buffered == 3
    state.stop()


async def test_events_before_the_lists_are_dropped() -> None:
    """An event received before seeding began is older than the lists: it is not applied."""
    client = Scripted(_lists(POINTS[2][1]))
    state = LiveState(client, settle=0.01)
    state._subscription = client.on("*", state._on_event)
    state._buffer = []  # what start() would have buffered before the first list is sent
    client.emit(NEW)
    await state.resync("initial seed")
    assert "late.1" not in state.model.tables["channels"]
    diff = differences(from_model(state.model), from_lists(POINTS[2][1]))
    assert [d for d in diff if not d.startswith("conferences")] == []


async def test_contradiction_and_reconnect_resync_with_reasons() -> None:
    """An unknown Uniqueid after the seed settled, and a reconnect, each re-seed and say why."""
    client = Scripted(_lists(POINTS[2][1]))
    state = await LiveState(client, settle=0.01, min_interval=0.0).start()
    await asyncio.sleep(0.05)  # settled: strict from here
    client.emit(_event("Event: Newstate\nChannel: X/1\nChannelState: 6\nUniqueid: nowhere.9"))
    await asyncio.sleep(0.05)
    assert len(state.resyncs) == 2
    assert state.resyncs[1].reason.startswith("contradiction: Newstate for unknown channel nowhere")
    for cb in client.link:
        cb(ConnectionEvent("reconnected", 0.0, gap=1.5))
    await asyncio.sleep(0.05)
    assert state.resyncs[2].reason == "reconnected after 1.5 s down"
    assert state.synced_at == state.resyncs[2].at
    assert client.sent.count("CoreShowChannels") == 3
    state.stop()


async def test_during_settle_an_unknown_channel_is_no_contradiction() -> None:
    """Right after the seed an event for an unlisted channel is an upsert, not a resync."""
    client = Scripted(_lists(POINTS[2][1]))
    state = await LiveState(client, settle=10.0).start()
    client.emit(_event("Event: Newstate\nChannel: X/1\nChannelState: 6\nUniqueid: fresh.9"))
    await asyncio.sleep(0.01)
    assert len(state.resyncs) == 1 and "fresh.9" in state.model.tables["channels"]
    state.stop()


async def test_on_change_reports_added_updated_removed() -> None:
    """on_change gets one batch per loop turn with the keys added, updated and removed."""
    client = Scripted(_lists(POINTS[2][1]))
    state = await LiveState(client, settle=10.0).start()
    seen: list[Changes] = []
    state.on_change(seen.append)
    client.emit(NEW)
    client.emit(_event(NEW.raw.decode().replace("Newchannel", "Newstate").replace(": 4", ": 6")))
    await asyncio.sleep(0)
    client.emit(_hangup("late.1", "PJSIP/100-00000001"))
    await asyncio.sleep(0)
    assert seen[0].added == {"channels": ["late.1"]} and not seen[0].updated
    assert seen[1].removed == {"channels": ["late.1"]}
    assert state.model.tables["channels"].get("late.1") is None
    state.stop()


async def test_unknown_list_action_is_stated() -> None:
    """A list the server does not know (the simulator has no BridgeList) is not seeded: said so."""
    lists = _lists(POINTS[2][1])
    del lists["BridgeList"]
    state = await LiveState(Scripted(lists), settle=0.01).start()
    assert state.coverage["bridges"] == "BridgeList: Invalid/unknown command"
    assert "bridges: NOT seeded (BridgeList: Invalid/unknown command)" in state.statement()
    state.stop()


async def test_failed_resync_is_retried_and_reported() -> None:
    """A list that fails mid-seed (link dropped) is reported in errors and the seed retried."""
    client = Scripted(_lists(POINTS[2][1]))
    state = await LiveState(client, settle=10.0, min_interval=0.0).start()
    real = client.action
    failures = [ConnectionError("link lost mid-seed")]

    async def flaky(name: str, /, **kw: Any) -> ActionResult:
        if name == "BridgeList" and failures:
            raise failures.pop()
        return await real(name, **kw)

    client.action = flaky  # type: ignore[method-assign]
    state.request_resync("asked by the test")
    for _ in range(100):
        if len(state.resyncs) == 2:
            break
        await asyncio.sleep(0.05)
    assert (
        "resync (asked by the test) failed: ConnectionError('link lost mid-seed')"
        in (state.errors[0])
    )
    assert state.resyncs[1].reason == "retry: asked by the test"
    state.stop()
