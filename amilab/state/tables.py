"""The pure live-PBX model: tables of rows, changed by Asterisk 22 events in order.

Theory of operation. :class:`StateModel` holds eight tables (``channels``,
``bridges``, ``endpoints``, ``queues``, ``queue_members``, ``queue_callers``,
``conferences``, ``parked_calls``), each a ``dict`` of key -> row ``dict``.
:meth:`StateModel.apply` takes one event and changes rows; :meth:`StateModel.seed`
replaces tables with the items of a list action (``CoreShowChannels``, ...).
It does no I/O and keeps no clock: the caller passes ``now`` (seconds since
the epoch), so the live tracker and a replay of a capture run the same code.

Why the model can be exact: every channel event of Asterisk 22 carries the
channel's whole snapshot (``ChannelState``, caller and connected line,
``Context``/``Exten``/``Priority``, ``Linkedid``; main/manager_channels.c
``ast_manager_build_channel_state_string``), and every queue-member event
carries the member's whole state (apps/app_queue.c ``queue_member_blob_create``).
So applying an event that is older than a seed is harmless as long as the
newer events follow it in order: each row ends at the state of the last
event received. That is what makes seeding safe (see amilab/state/tracker.py).

Strict and tolerant: while a seed settles (table not in :attr:`StateModel.strict`)
an event naming an unknown channel or bridge is applied as an upsert (a
channel event carries enough to create the row) and a ``Hangup`` or
``BridgeDestroy`` of an unknown key is ignored: the seed already saw the end.
Once strict, the same event is a contradiction: the model missed something,
records why in :attr:`StateModel.contradiction`, and the tracker re-seeds.

Hot path: :meth:`apply` reads only the event's name (cached on the
:class:`~amilab.protocol.Message`) for events it ignores (``VarSet``,
``DeviceStateChange`` of non-endpoints, ...), and parses the raw block once,
with :func:`fields`, for the events it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from amilab.protocol.message import Message

__all__ = [
    "COLUMNS",
    "DEVICE_STATES",
    "TABLES",
    "StateModel",
    "fields",
]

Row = dict[str, Any]
Fields = dict[str, str]

#: Columns of each table, key column first. The channel columns follow the
#: issue: channel, state, caller/connected line, dialplan location,
#: application, linkedid, bridge, created, answered.
COLUMNS: dict[str, tuple[str, ...]] = {
    "channels": (
        "uniqueid",
        "channel",
        "state",
        "state_desc",
        "caller_num",
        "caller_name",
        "connected_num",
        "connected_name",
        "context",
        "exten",
        "priority",
        "application",
        "app_data",
        "linkedid",
        "bridge",
        "created",
        "answered",
    ),
    "bridges": ("bridge", "type", "technology", "creator", "name", "channels"),
    "endpoints": ("endpoint", "device_state", "contacts", "reachable", "active_channels"),
    "queues": ("queue", "strategy", "calls", "holdtime", "talktime", "completed", "abandoned"),
    "queue_members": (
        "queue",
        "interface",
        "name",
        "state_interface",
        "membership",
        "penalty",
        "calls_taken",
        "last_call",
        "in_call",
        "status",
        "paused",
        "paused_reason",
    ),
    "queue_callers": ("queue", "uniqueid", "channel", "position", "caller_num", "joined"),
    "conferences": ("conference", "parties", "locked", "muted"),
    "parked_calls": ("uniqueid", "channel", "space", "lot", "timeout", "parked_at"),
}
TABLES = tuple(COLUMNS)

#: Device states as ``DeviceStateChange`` spells them (main/devicestate.c
#: ``ast_devstate_str``) -> as ``PJSIPShowEndpoints`` spells them
#: (``ast_devstate2str``): the endpoints table keeps the list's spelling.
DEVICE_STATES = {
    "UNKNOWN": "Unknown",
    "NOT_INUSE": "Not in use",
    "INUSE": "In use",
    "BUSY": "Busy",
    "INVALID": "Invalid",
    "UNAVAILABLE": "Unavailable",
    "RINGING": "Ringing",
    "RINGINUSE": "Ring+Inuse",
    "ONHOLD": "On Hold",
}

#: ``ChannelState`` of an answered channel (include/asterisk/channelstate.h AST_STATE_UP).
STATE_UP = 6

#: Uniqueids of hung-up channels remembered, so that an event arriving after a
#: channel's Hangup is dropped instead of resurrecting the row or counting as a
#: contradiction: real Asterisk 22 sends a NewConnectedLine for a Local ``;1``
#: channel right after its Hangup (tests/fixtures/asterisk22/queue_call.ami,
#: Local/400@amilab-00000016;1). 10,000 covers minutes of a busy PBX's hangups.
MAX_TOMBSTONES = 10_000

#: Event header -> channel column, for the snapshot every channel event carries.
_CHANNEL_HEADERS = (
    ("Channel", "channel"),
    ("ChannelStateDesc", "state_desc"),
    ("CallerIDNum", "caller_num"),
    ("CallerIDName", "caller_name"),
    ("ConnectedLineNum", "connected_num"),
    ("ConnectedLineName", "connected_name"),
    ("Context", "context"),
    ("Exten", "exten"),
    ("Linkedid", "linkedid"),
)


def fields(msg: Message) -> Fields:
    """The event's headers as a dict (a repeated key keeps its last value).

    Twice as fast as :attr:`Message.headers` on a channel event: one decode,
    one split, one ``partition`` per line. Asterisk writes ``Key: value``;
    a line without ``": "`` falls back to the first colon.
    """
    out: Fields = {}
    for line in msg.raw.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")
        out[key] = value
    return out


def _int(value: str | None) -> int | None:
    if value is None or not value.lstrip("-").isdigit():
        return None
    return int(value)


def _bool(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.lower() not in ("0", "false", "no")


def _duration(value: str | None) -> float:
    """``HH:MM:SS`` of ``CoreShowChannel``'s ``Duration`` in seconds (0 when unreadable)."""
    if not value:
        return 0.0
    total = 0
    for part in value.split(":"):
        if not part.isdigit():
            return 0.0
        total = total * 60 + int(part)
    return float(total)


class StateModel:
    """Tables of the live PBX, changed by :meth:`apply` (events) and :meth:`seed` (lists)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, Row]] = {name: {} for name in TABLES}
        #: Tables whose seed has settled: an event contradicting them means a gap.
        self.strict: frozenset[str] = frozenset()
        self.contradiction: str | None = None
        #: ``(table, kind, key)`` for each change, kind ``added``/``updated``/``removed``;
        #: the tracker drains it to tell ``on_change`` callbacks.
        self.changes: list[tuple[str, str, Any]] = []
        self.applied = 0
        self._gone: dict[str, None] = {}
        self._handlers: dict[str, Callable[[Fields, float], None]] = {
            "Newchannel": self._newchannel,
            "Newstate": self._channel_update,
            "NewCallerid": self._channel_update,
            "NewConnectedLine": self._channel_update,
            "NewAccountCode": self._channel_update,
            "Newexten": self._newexten,
            "Rename": self._rename,
            "Hangup": self._hangup,
            "BridgeCreate": self._bridge_create,
            "BridgeDestroy": self._bridge_destroy,
            "BridgeEnter": self._bridge_enter,
            "BridgeLeave": self._bridge_leave,
            "BridgeMerge": self._bridge_merge,
            "DeviceStateChange": self._device_state,
            "ContactStatus": self._contact_status,
            "PeerStatus": self._peer_status,
            "QueueMemberAdded": self._member_update,
            "QueueMemberStatus": self._member_update,
            "QueueMemberPause": self._member_update,
            "QueueMemberPenalty": self._member_update,
            "QueueMemberRinginuse": self._member_update,
            "QueueMemberRemoved": self._member_removed,
            "AgentConnect": self._agent_connect,
            "AgentComplete": self._agent_complete,
            "QueueCallerJoin": self._caller_join,
            "QueueCallerLeave": self._caller_leave,
            "ConfbridgeStart": self._conf_start,
            "ConfbridgeEnd": self._conf_end,
            "ConfbridgeJoin": self._conf_join,
            "ConfbridgeLeave": self._conf_leave,
            "ConfbridgeLock": self._conf_lock,
            "ConfbridgeUnlock": self._conf_lock,
            "ParkedCall": self._parked,
            "ParkedCallSwap": self._parked,
            "UnParkedCall": self._unparked,
            "ParkedCallTimeOut": self._unparked,
            "ParkedCallGiveUp": self._unparked,
        }

    # -- events -------------------------------------------------------------
    def handles(self, name: str | None) -> bool:
        """True if :meth:`apply` changes anything for events called ``name``."""
        return name in self._handlers

    def apply(self, msg: Message, now: float) -> None:
        """Apply one event received at ``now``; events the model does not use cost a dict lookup."""
        handler = self._handlers.get(msg.name)  # type: ignore[arg-type]
        if handler is None:
            return
        self.applied += 1
        handler(fields(msg), now)

    def _contradict(self, why: str) -> None:
        if self.contradiction is None:
            self.contradiction = why

    def _put(self, table: str, key: Any, row: Row) -> None:
        rows = self.tables[table]
        kind = "updated" if key in rows else "added"
        rows[key] = row
        self.changes.append((table, kind, key))

    def _update(self, table: str, key: Any, values: Mapping[str, Any]) -> None:
        self.tables[table][key].update(values)
        self.changes.append((table, "updated", key))

    def _drop(self, table: str, key: Any) -> bool:
        if self.tables[table].pop(key, None) is None:
            return False
        self.changes.append((table, "removed", key))
        return True

    # channels
    @staticmethod
    def _channel_values(f: Fields) -> Row:
        row: Row = {col: f.get(h) for h, col in _CHANNEL_HEADERS}
        row["state"] = _int(f.get("ChannelState"))
        row["priority"] = _int(f.get("Priority"))
        return row

    def _new_channel_row(self, uid: str, f: Fields, now: float) -> Row:
        row = dict.fromkeys(COLUMNS["channels"])
        row.update(self._channel_values(f))
        row["uniqueid"] = uid
        row["created"] = now
        if row["state"] == STATE_UP:
            row["answered"] = now
        return row

    def _newchannel(self, f: Fields, now: float) -> None:
        uid = f.get("Uniqueid", "")
        if uid in self.tables["channels"]:
            self._channel_update(f, now)
            return
        self._put("channels", uid, self._new_channel_row(uid, f, now))

    def _channel_row(self, f: Fields, now: float, event: str) -> Row | None:
        """The row of the event's channel; an unknown one is upserted (tolerant) or contradicts."""
        uid = f.get("Uniqueid", "")
        row = self.tables["channels"].get(uid)
        if row is not None:
            return row
        if uid in self._gone:
            return None
        if "channels" in self.strict:
            self._contradict(f"{event} for unknown channel {uid} ({f.get('Channel')})")
            return None
        if "ChannelState" not in f:
            return None
        self._put("channels", uid, self._new_channel_row(uid, f, now))
        return self.tables["channels"][uid]

    def _channel_update(self, f: Fields, now: float) -> None:
        row = self._channel_row(f, now, f.get("Event", "event"))
        if row is None:
            return
        values = self._channel_values(f)
        if values["state"] == STATE_UP and row["answered"] is None:
            values["answered"] = now
        self._update("channels", row["uniqueid"], values)

    def _newexten(self, f: Fields, now: float) -> None:
        row = self._channel_row(f, now, "Newexten")
        if row is None:
            return
        values = self._channel_values(f)
        values["application"] = f.get("Application")
        values["app_data"] = f.get("AppData")
        self._update("channels", row["uniqueid"], values)

    def _rename(self, f: Fields, now: float) -> None:
        row = self._channel_row(f, now, "Rename")
        if row is not None:
            self._update("channels", row["uniqueid"], {"channel": f.get("Newname")})

    def _hangup(self, f: Fields, now: float) -> None:
        uid = f.get("Uniqueid", "")
        gone = self._gone
        gone[uid] = None
        if len(gone) > MAX_TOMBSTONES:
            del gone[next(iter(gone))]
        if not self._drop("channels", uid) and "channels" in self.strict:
            self._contradict(f"Hangup for unknown channel {uid} ({f.get('Channel')})")

    # bridges
    @staticmethod
    def _bridge_values(f: Fields) -> Row:
        return {
            "bridge": f.get("BridgeUniqueid"),
            "type": f.get("BridgeType"),
            "technology": f.get("BridgeTechnology"),
            "creator": f.get("BridgeCreator"),
            "name": f.get("BridgeName"),
        }

    def _bridge_create(self, f: Fields, now: float) -> None:
        self._put("bridges", f.get("BridgeUniqueid", ""), self._bridge_values(f))

    def _bridge_known(self, f: Fields, event: str) -> str | None:
        bid = f.get("BridgeUniqueid", "")
        if bid in self.tables["bridges"]:
            return bid
        if "bridges" in self.strict:
            self._contradict(f"{event} for unknown bridge {bid}")
            return None
        self._put("bridges", bid, self._bridge_values(f))
        return bid

    def _bridge_destroy(self, f: Fields, now: float) -> None:
        bid = f.get("BridgeUniqueid", "")
        if not self._drop("bridges", bid) and "bridges" in self.strict:
            self._contradict(f"BridgeDestroy for unknown bridge {bid}")

    def _bridge_enter(self, f: Fields, now: float) -> None:
        bid = self._bridge_known(f, "BridgeEnter")
        row = self._channel_row(f, now, "BridgeEnter")
        if bid is not None and row is not None:
            values = self._channel_values(f)
            values["bridge"] = bid
            self._update("channels", row["uniqueid"], values)

    def _bridge_leave(self, f: Fields, now: float) -> None:
        row = self._channel_row(f, now, "BridgeLeave")
        if row is not None:
            values = self._channel_values(f)
            values["bridge"] = None
            self._update("channels", row["uniqueid"], values)

    def _bridge_merge(self, f: Fields, now: float) -> None:
        """``BridgeMerge``: the From bridge's channels now sit in the To bridge."""
        source, target = f.get("FromBridgeUniqueid"), f.get("ToBridgeUniqueid")
        for uid, row in self.tables["channels"].items():
            if row["bridge"] == source:
                self._update("channels", uid, {"bridge": target})

    # endpoints
    def _device_state(self, f: Fields, now: float) -> None:
        device = f.get("Device", "")
        if device.startswith("PJSIP/"):
            name = device[6:]
        elif device.startswith("SIP/"):
            name = device  # chan_sip peers are keyed SIP/<peer> beside PJSIP's bare names
        else:
            return
        state = f.get("State", "")
        if name in self.tables["endpoints"]:
            self._update("endpoints", name, {"device_state": DEVICE_STATES.get(state, state)})

    def _contact_status(self, f: Fields, now: float) -> None:
        name = f.get("EndpointName", "")
        row = self.tables["endpoints"].get(name)
        if row is None:
            return
        contacts = dict(row["_contacts"])
        uri, status = f.get("URI", ""), f.get("ContactStatus", "")
        if status == "Removed":
            contacts.pop(uri, None)
        else:
            contacts[uri] = status
        self._update("endpoints", name, _endpoint_contacts(contacts))

    def _peer_status(self, f: Fields, now: float) -> None:
        """chan_sip's ``PeerStatus`` (channels/chan_sip.c): Reachable, Lagged, Unreachable, ..."""
        name = f.get("Peer", "")
        row = self.tables["endpoints"].get(name)
        if row is None or not name.startswith("SIP/"):
            return
        status = f.get("PeerStatus", "")
        update: Row = {"reachable": status in SIP_REACHABLE_STATUSES}
        if f.get("Address"):
            update["contacts"] = f.get("Address", "")
        self._update("endpoints", name, update)

    # queues
    def _member_update(self, f: Fields, now: float) -> None:
        key = (f.get("Queue", ""), f.get("Interface") or f.get("Location", ""))
        self._put("queue_members", key, _member_row(key, f))

    def _member_removed(self, f: Fields, now: float) -> None:
        key = (f.get("Queue", ""), f.get("Interface") or f.get("Location", ""))
        self._drop("queue_members", key)

    def _agent_connect(self, f: Fields, now: float) -> None:
        """The member answered: app_queue.c sets its ``in_call`` here without a
        QueueMemberStatus (seen on the sandbox: QueueStatus lists ``InCall: 1``
        while the last QueueMemberStatus said 0)."""
        self._member_in_call(f, True)

    def _agent_complete(self, f: Fields, now: float) -> None:
        self._member_in_call(f, False)

    def _member_in_call(self, f: Fields, in_call: bool) -> None:
        key = (f.get("Queue", ""), f.get("Interface", ""))
        if key in self.tables["queue_members"]:
            self._update("queue_members", key, {"in_call": in_call})

    def _caller_join(self, f: Fields, now: float) -> None:
        queue, uid = f.get("Queue", ""), f.get("Uniqueid", "")
        row = {
            "queue": queue,
            "uniqueid": uid,
            "channel": f.get("Channel"),
            "position": _int(f.get("Position")),
            "caller_num": f.get("CallerIDNum"),
            "joined": now,
        }
        self._put("queue_callers", (queue, uid), row)
        self._queue_calls(queue, _int(f.get("Count")))

    def _caller_leave(self, f: Fields, now: float) -> None:
        """The caller leaves; app_queue.c renumbers those behind it without an event."""
        queue, uid = f.get("Queue", ""), f.get("Uniqueid", "")
        gone = self.tables["queue_callers"].get((queue, uid))
        self._drop("queue_callers", (queue, uid))
        if gone is not None and gone["position"] is not None:
            for key, row in self.tables["queue_callers"].items():
                if (
                    key[0] == queue
                    and row["position"] is not None
                    and row["position"] > gone["position"]
                ):
                    self._update("queue_callers", key, {"position": row["position"] - 1})
        self._queue_calls(queue, _int(f.get("Count")))

    def _queue_calls(self, queue: str, count: int | None) -> None:
        if queue in self.tables["queues"] and count is not None:
            self._update("queues", queue, {"calls": count})

    # conferences
    def _conf_start(self, f: Fields, now: float) -> None:
        name = f.get("Conference", "")
        self._put(
            "conferences", name, {"conference": name, "parties": 0, "locked": False, "muted": False}
        )

    def _conf_end(self, f: Fields, now: float) -> None:
        self._drop("conferences", f.get("Conference", ""))

    def _conf_parties(self, f: Fields, delta: int) -> None:
        name = f.get("Conference", "")
        row = self.tables["conferences"].get(name)
        if row is None:
            self._put(
                "conferences",
                name,
                {"conference": name, "parties": max(delta, 0), "locked": False, "muted": False},
            )
            return
        self._update("conferences", name, {"parties": max(row["parties"] + delta, 0)})

    def _conf_join(self, f: Fields, now: float) -> None:
        self._conf_parties(f, 1)

    def _conf_leave(self, f: Fields, now: float) -> None:
        self._conf_parties(f, -1)

    def _conf_lock(self, f: Fields, now: float) -> None:
        name = f.get("Conference", "")
        if name in self.tables["conferences"]:
            self._update("conferences", name, {"locked": f.get("Event") == "ConfbridgeLock"})

    # parking
    def _parked(self, f: Fields, now: float) -> None:
        uid = f.get("ParkeeUniqueid", "")
        duration = _int(f.get("ParkingDuration")) or 0
        row = {
            "uniqueid": uid,
            "channel": f.get("ParkeeChannel"),
            "space": f.get("ParkingSpace"),
            "lot": f.get("Parkinglot"),
            "timeout": _int(f.get("ParkingTimeout")),
            "parked_at": now - duration,
        }
        self._put("parked_calls", uid, row)

    def _unparked(self, f: Fields, now: float) -> None:
        self._drop("parked_calls", f.get("ParkeeUniqueid", ""))

    # -- seeding -----------------------------------------------------------
    def seed(self, table: str, items: Iterable[Message], now: float) -> None:
        """Replace ``table`` with the items of its list action, listed at ``now``.

        ``queues`` takes ``QueueStatus``'s items and fills ``queues``,
        ``queue_members`` and ``queue_callers`` together; ``channels`` takes
        ``CoreShowChannels``; ``bridges`` ``BridgeList``; ``endpoints``
        ``PJSIPShowEndpoints`` then ``PJSIPShowContacts`` items;
        ``conferences`` ``ConfbridgeListRooms``; ``parked_calls`` ``ParkedCalls``.
        """
        seeders: dict[
            str, tuple[tuple[str, ...], Callable[[Fields, float], tuple[str, Any, Row] | None]]
        ] = {
            "channels": (("channels",), _seed_channel),
            "bridges": (("bridges",), _seed_bridge),
            "endpoints": (("endpoints",), _seed_endpoint),
            "queues": (("queues", "queue_members", "queue_callers"), _seed_queue),
            "conferences": (("conferences",), _seed_conference),
            "parked_calls": (("parked_calls",), _seed_parked),
        }
        if table not in seeders:
            raise ValueError(f"no list action seeds {table!r}: pick one of {sorted(seeders)}")
        targets, build = seeders[table]
        fresh: dict[str, dict[Any, Row]] = {t: {} for t in targets}
        contacts: dict[str, dict[str, str]] = {}
        for msg in items:
            f = fields(msg)
            if f.get("Event") == "ContactList":
                contacts.setdefault(f.get("Endpoint", ""), {})[f.get("Uri", "")] = f.get(
                    "Status", ""
                )
                continue
            built = build(f, now)
            if built is not None:
                fresh[built[0]][built[1]] = built[2]
        for name, row in fresh.get("endpoints", {}).items():
            if not name.startswith("SIP/"):  # chan_sip peers carry their own address
                row.update(_endpoint_contacts(contacts.get(name, {})))
        for t in targets:
            self._replace(t, fresh[t])

    def _replace(self, table: str, fresh: dict[Any, Row]) -> None:
        old = self.tables[table]
        for key in old.keys() - fresh.keys():
            self.changes.append((table, "removed", key))
        for key, row in fresh.items():
            if key not in old:
                self.changes.append((table, "added", key))
            elif old[key] != row:
                self.changes.append((table, "updated", key))
        self.tables[table] = fresh

    # -- snapshots ---------------------------------------------------------
    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """A copy of ``table`` as tuples in :data:`COLUMNS` order (bridges get their channels)."""
        cols = COLUMNS[table]
        if table == "bridges":
            members: dict[Any, list[str]] = {}
            for uid, row in self.tables["channels"].items():
                if row["bridge"] is not None:
                    members.setdefault(row["bridge"], []).append(uid)
            return [
                (*(row[c] for c in cols[:-1]), tuple(sorted(members.get(key, ()))))
                for key, row in self.tables[table].items()
            ]
        return [tuple(row[c] for c in cols) for row in self.tables[table].values()]


# -- seed row builders (one list item -> (table, key, row)) ---------------------
def _seed_channel(f: Fields, now: float) -> tuple[str, Any, Row] | None:
    if f.get("Event") != "CoreShowChannel":
        return None
    uid = f.get("Uniqueid", "")
    row = dict.fromkeys(COLUMNS["channels"])
    row.update(StateModel._channel_values(f))
    row["uniqueid"] = uid
    row["application"] = f.get("Application")
    row["app_data"] = f.get("ApplicationData")
    row["bridge"] = f.get("BridgeId") or None
    row["created"] = now - _duration(f.get("Duration"))
    # CoreShowChannel does not say when the channel was answered.
    return "channels", uid, row


def _seed_bridge(f: Fields, now: float) -> tuple[str, Any, Row] | None:
    if f.get("Event") != "BridgeListItem":
        return None
    return "bridges", f.get("BridgeUniqueid", ""), StateModel._bridge_values(f)


def _endpoint_contacts(contacts: Mapping[str, str]) -> Row:
    return {
        "_contacts": dict(contacts),
        "contacts": ",".join(sorted(contacts)),
        "reachable": any(s in ("Reachable", "NonQualified", "Created") for s in contacts.values())
        if contacts
        else False,
    }


#: chan_sip ``PeerStatus`` values of a peer that answers (channels/chan_sip.c
#: ``register_verify``/``handle_response_peerpoke``): registered, or qualified OK or lagged.
SIP_REACHABLE_STATUSES = frozenset({"Registered", "Reachable", "Lagged"})


def _seed_sip_peer(f: Fields) -> tuple[str, Any, Row]:
    """A chan_sip ``PeerEntry`` (``SIPpeers``): keyed ``SIP/<peer>``; reachable when its
    ``Status`` is ``OK (N ms)`` or ``LAGGED (N ms)`` (chan_sip.c ``peer_status``)."""
    name = "SIP/" + f.get("ObjectName", "")
    address = f.get("IPaddress", "")
    known = address not in ("", "-none-", "(null)")
    status = f.get("Status", "")
    row: Row = {
        "endpoint": name,
        "device_state": None,
        "active_channels": None,
        "_contacts": {},
        "contacts": f"{address}:{f.get('IPport', '')}" if known else "",
        "reachable": status.startswith(("OK", "LAGGED")),
    }
    return "endpoints", name, row


def _seed_endpoint(f: Fields, now: float) -> tuple[str, Any, Row] | None:
    if f.get("Event") == "PeerEntry":
        return _seed_sip_peer(f)
    if f.get("Event") != "EndpointList":
        return None
    name = f.get("ObjectName", "")
    row: Row = {
        "endpoint": name,
        "device_state": f.get("DeviceState"),
        "active_channels": _int(f.get("ActiveChannels")),
    }
    row.update(_endpoint_contacts({}))
    return "endpoints", name, row


def _member_row(key: tuple[str, str], f: Fields) -> Row:
    return {
        "queue": key[0],
        "interface": key[1],
        "name": f.get("MemberName") or f.get("Name"),
        "state_interface": f.get("StateInterface"),
        "membership": f.get("Membership"),
        "penalty": _int(f.get("Penalty")),
        "calls_taken": _int(f.get("CallsTaken")),
        "last_call": _int(f.get("LastCall")),
        "in_call": _bool(f.get("InCall")),
        "status": _int(f.get("Status")),
        "paused": _bool(f.get("Paused")),
        "paused_reason": f.get("PausedReason"),
    }


def _seed_queue(f: Fields, now: float) -> tuple[str, Any, Row] | None:
    event, queue = f.get("Event"), f.get("Queue", "")
    if event == "QueueParams":
        row: Row = {
            "queue": queue,
            "strategy": f.get("Strategy"),
            "calls": _int(f.get("Calls")),
            "holdtime": _int(f.get("Holdtime")),
            "talktime": _int(f.get("TalkTime")),
            "completed": _int(f.get("Completed")),
            "abandoned": _int(f.get("Abandoned")),
        }
        return "queues", queue, row
    if event == "QueueMember":
        key = (queue, f.get("Location", ""))
        return "queue_members", key, _member_row(key, f)
    if event == "QueueEntry":
        uid = f.get("Uniqueid", "")
        row = {
            "queue": queue,
            "uniqueid": uid,
            "channel": f.get("Channel"),
            "position": _int(f.get("Position")),
            "caller_num": f.get("CallerIDNum"),
            "joined": now - (_int(f.get("Wait")) or 0),
        }
        return "queue_callers", (queue, uid), row
    return None


def _seed_conference(f: Fields, now: float) -> tuple[str, Any, Row] | None:
    if f.get("Event") != "ConfbridgeListRooms":
        return None
    name = f.get("Conference", "")
    row: Row = {
        "conference": name,
        "parties": _int(f.get("Parties")),
        "locked": _bool(f.get("Locked")),
        "muted": _bool(f.get("Muted")),
    }
    return "conferences", name, row


def _seed_parked(f: Fields, now: float) -> tuple[str, Any, Row] | None:
    if f.get("Event") != "ParkedCall":
        return None
    uid = f.get("ParkeeUniqueid", "")
    row: Row = {
        "uniqueid": uid,
        "channel": f.get("ParkeeChannel"),
        "space": f.get("ParkingSpace"),
        "lot": f.get("Parkinglot"),
        "timeout": _int(f.get("ParkingTimeout")),
        "parked_at": now - (_int(f.get("ParkingDuration")) or 0),
    }
    return "parked_calls", uid, row
