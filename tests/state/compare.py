"""What the model says vs what Asterisk lists: the shapes both sides reduce to.

Only facts both sides state exactly are compared: channel name, state and
bridge per Uniqueid (``CoreShowChannel``); the set of bridges
(``BridgeListItem``); per queue member paused, in-call and device status;
per queue caller the position; per conference the parties
(``ConfbridgeListRooms``). Dialplan location is not compared: CoreShowChannel
shows the ``;1`` side of a Local channel with an empty ``Exten`` that no
event ever carried (tests/fixtures/asterisk22/state_calls.ami).
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


def differences(model: View, listed: View) -> list[str]:
    """Human-readable differences, empty when the views agree."""
    out = []
    for table, want in listed.items():
        have = model[table]
        for key in sorted(want.keys() | have.keys(), key=str):
            if want.get(key, "<absent>") != have.get(key, "<absent>"):
                out.append(
                    f"{table}[{key}]: model {have.get(key, '<absent>')}, "
                    f"Asterisk {want.get(key, '<absent>')}"
                )
    return out
