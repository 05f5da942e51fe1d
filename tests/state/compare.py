"""What the model says vs what Asterisk lists: the shapes both sides reduce to.

Only facts both sides state exactly are compared: channel name, state and
bridge per Uniqueid (``CoreShowChannel``); the set of bridges
(``BridgeListItem``); per queue member paused, in-call and device status;
per queue caller the position; per conference the parties
(``ConfbridgeListRooms``). Dialplan location is not compared: CoreShowChannel
shows the ``;1`` side of a Local channel with an empty ``Exten`` that no
event ever carried (tests/fixtures/state/state_calls.ami).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from amilab import Message
from amilab.state import StateModel

View = dict[str, dict[Any, Any]]

LIST_ITEMS = {
    "CoreShowChannel",
    "BridgeListItem",
    "QueueParams",
    "QueueMember",
    "QueueEntry",
    "ConfbridgeListRooms",
}


def _bool(value: str | None) -> bool:
    return (value or "").lower() not in ("", "0", "no", "false")


def from_lists(items: Iterable[Message]) -> View:
    """The view of fresh list items (CoreShowChannels, BridgeList, QueueStatus, ...)."""
    view: View = {k: {} for k in ("channels", "bridges", "members", "callers", "conferences")}
    for m in items:
        name = m.name
        if name == "CoreShowChannel":
            view["channels"][m.get("Uniqueid")] = (
                m.get("Channel"),
                int(m.get("ChannelState", "-1")),
                m.get("BridgeId") or None,
            )
        elif name == "BridgeListItem":
            view["bridges"][m.get("BridgeUniqueid")] = m.get("BridgeType")
        elif name == "QueueMember":
            view["members"][(m.get("Queue"), m.get("Location"))] = (
                _bool(m.get("Paused")),
                _bool(m.get("InCall")),
                int(m.get("Status", "-1")),
            )
        elif name == "QueueEntry":
            view["callers"][(m.get("Queue"), m.get("Uniqueid"))] = int(m.get("Position", "-1"))
        elif name == "ConfbridgeListRooms":
            view["conferences"][m.get("Conference")] = int(m.get("Parties", "-1"))
    return view


def from_model(model: StateModel) -> View:
    """The same view of the model's tables."""
    t = model.tables
    return {
        "channels": {
            uid: (r["channel"], r["state"], r["bridge"]) for uid, r in t["channels"].items()
        },
        "bridges": {bid: r["type"] for bid, r in t["bridges"].items()},
        "members": {
            key: (bool(r["paused"]), bool(r["in_call"]), r["status"])
            for key, r in t["queue_members"].items()
        },
        "callers": {key: r["position"] for key, r in t["queue_callers"].items()},
        "conferences": {name: r["parties"] for name, r in t["conferences"].items()},
    }


class InFlight:
    """Keys touched by events received while a list is in flight (``client.on("*", it)``).

    Under traffic there is no quiet instant: a list is taken at one moment and
    the events about changes after it are still arriving when it completes.
    Rows those events touch are not compared at that checkpoint; every other
    row must agree exactly.
    """

    def __init__(self) -> None:
        self.keys: set[Any] = set()

    def __call__(self, msg: Message) -> None:
        for header in ("Uniqueid", "DestUniqueid"):
            uid = msg.get(header)
            if uid:
                self.keys.add(uid)
                queue = msg.get("Queue")
                if queue:
                    self.keys.add((queue, uid))
        queue, member = msg.get("Queue"), msg.get("Interface")
        if queue and member:
            self.keys.add((queue, member))


def differences(model: View, listed: View, skip: set[Any] | None = None) -> list[str]:
    """Human-readable differences, empty when the views agree (``skip``: keys not compared)."""
    out = []
    for table, want in listed.items():
        have = model[table]
        for key in sorted(want.keys() | have.keys(), key=str):
            if skip and key in skip:
                continue
            if want.get(key, "<absent>") != have.get(key, "<absent>"):
                out.append(
                    f"{table}[{key}]: model {have.get(key, '<absent>')}, "
                    f"Asterisk {want.get(key, '<absent>')}"
                )
    return out
