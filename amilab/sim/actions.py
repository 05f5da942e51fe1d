"""AMI action handlers, one function each, registered with their privilege class.

:func:`dispatch` is manager.c's ``process_message`` in miniature: no
``Action`` header -> ``Missing action in request``; not logged in -> only
Login/Challenge/Logoff (anything else gets ``Permission denied``); unknown
name -> ``Invalid/unknown command`` plus a ``RequestBadFormat`` security
event; a write class the user lacks -> ``Permission denied`` plus
``RequestNotAllowed``. Texts and header orders are those of the Asterisk 22
transcripts in ``tests/fixtures/asterisk22`` (see tests/asterisk/FINDINGS.md).
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from amilab.protocol import Message, ServerProtocol, challenge_key
from amilab.sim import calls
from amilab.sim.cli import run_cli
from amilab.sim.pbx import STATE_DESC, UNKNOWN, Channel, QueueMember, snapshot
from amilab.sim.queues import member_fields

if TYPE_CHECKING:
    from amilab.sim.server import Connection

__all__ = ["ACTIONS", "LEGACY_SIP_ACTIONS", "ActionSpec", "dispatch"]

#: manager.c sleeps this long before answering a failed login (observed: 1.0 s).
FAILED_LOGIN_DELAY = 1.0
Reply = bytes | None
Handler = Callable[["Connection", Message], Reply | Awaitable[Reply]]
respond = ServerProtocol.response
event = ServerProtocol.event


@dataclass(frozen=True)
class ActionSpec:
    name: str
    handler: Handler
    privilege: tuple[str, ...]
    synopsis: str

    @property
    def priv_text(self) -> str:
        return ",".join((*self.privilege, "all")) if self.privilege else "<none>"


ACTIONS: dict[str, ActionSpec] = {}
LEGACY_SIP_ACTIONS: dict[str, ActionSpec] = {}


def action(
    name: str, privilege: str = "", synopsis: str = "", *, table: dict[str, ActionSpec] = ACTIONS
) -> Callable[[Handler], Handler]:
    """Register a handler under ``name`` with its write classes (``"call,system"``)."""

    def register(fn: Handler) -> Handler:
        classes = tuple(c for c in privilege.split(",") if c)
        table[name.lower()] = ActionSpec(name, fn, classes, synopsis)
        return fn

    return register


# -- dispatch --------------------------------------------------------------------
async def dispatch(conn: Connection, msg: Message) -> None:
    """Answer one action on ``conn``, security events included."""
    name = msg.get("Action")
    if not name:
        conn.send(respond(msg, "Error", "Missing action in request"))
        _bad_format(conn, "NONE")
        return
    spec = ACTIONS.get(name.lower())
    if spec is None and conn.server.legacy_sip:
        spec = LEGACY_SIP_ACTIONS.get(name.lower())
    if not conn.authenticated and name.lower() not in ("login", "challenge", "logoff"):
        conn.send(respond(msg, "Error", "Permission denied"))
        return
    if spec is None:
        conn.send(
            respond(
                msg,
                "Error",
                f"Invalid/unknown command: {name}. Use Action: ListCommands to show available "
                "commands.",
            )
        )
        _bad_format(conn, name)
        return
    user = conn.user
    if spec.privilege and user is not None and not set(spec.privilege) & user.write:
        conn.send(respond(msg, "Error", "Permission denied"))
        _security(conn, "RequestNotAllowed", "Error", 1, [("RequestType", f"Action: {name}")])
        return
    reply = spec.handler(conn, msg)
    if inspect.isawaitable(reply):
        reply = await reply
    if reply:
        conn.send(reply)


def _ids(conn: Connection, account: bool = True) -> list[tuple[str, str]]:
    pairs = [("AccountID", conn.user.name if conn.user else "")] if account else []
    return [
        *pairs,
        ("SessionID", conn.session_id),
        ("LocalAddress", conn.local_address),
        ("RemoteAddress", conn.remote_address),
    ]


def _security(
    conn: Connection,
    name: str,
    severity: str,
    version: int,
    extra: list[tuple[str, str]],
    *,
    account: str | None = None,
) -> None:
    from amilab.sim.server import event_tv

    ids = _ids(conn)
    if account is not None:
        ids[0] = ("AccountID", account)
    conn.server.security_event(
        name,
        conn,
        [
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", str(version)),
            *ids,
            *extra,
            ("SessionTV", event_tv(conn.started)),
        ],
    )


def _bad_format(conn: Connection, name: str) -> None:
    """RequestBadFormat: AccountID comes last here (observed), unlike the other events."""
    from amilab.sim.server import event_tv

    conn.server.security_event(
        "RequestBadFormat",
        conn,
        [
            ("Severity", "Error"),
            ("Service", "AMI"),
            ("EventVersion", "1"),
            *_ids(conn, account=False),
            ("RequestType", f"Action: {name}"),
            ("SessionTV", event_tv(conn.started)),
            ("AccountID", conn.user.name if conn.user else ""),
        ],
    )


# -- session actions ---------------------------------------------------------------
@action("Login", synopsis="Login Manager.")
async def login(conn: Connection, msg: Message) -> Reply:
    username = msg.get("Username", "")
    user = conn.server.users.get(username.lower())
    if (msg.get("AuthType") or "").lower() == "md5":
        ok = bool(
            user
            and conn.challenge
            and msg.get("Key", "").lower() == challenge_key(conn.challenge, user.secret)
        )
    else:
        ok = user is not None and msg.get("Secret") == user.secret
    if not ok or user is None:
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        conn.send(respond(msg, "Error", "Authentication failed"))
        if user is None:
            _security(conn, "InvalidAccountID", "Error", 1, [], account=username)
        else:
            _security(conn, "InvalidPassword", "Error", 2, [], account=username)
        conn.closing = True
        return None
    conn.user = user
    if msg.get("Events") is not None:
        conn.event_mask = _mask(msg.get("Events", "on"))
    conn.send(respond(msg, "Success", "Authentication accepted"))
    pbx = conn.pbx
    if "system" in user.read and "system" in conn.event_mask:
        conn.send(
            event(
                "FullyBooted",
                [
                    ("Privilege", "system,all"),
                    ("Uptime", str(pbx.uptime)),
                    ("LastReload", str(pbx.since_reload)),
                    ("Status", "Fully Booted"),
                ],
            )
        )
    _security(conn, "SuccessfulAuth", "Informational", 1, [("UsingPassword", "0")])
    return None


def _mask(text: str) -> frozenset[str]:
    from amilab.sim.server import EVENT_CLASSES, parse_classes

    word = text.strip().lower()
    if word in ("on", "yes", "true", "1", "all"):
        return EVENT_CLASSES
    if word in ("off", "no", "false", "0", ""):
        return frozenset()
    return parse_classes(text)


@action("Challenge", synopsis="Generate Challenge for MD5 Auth.")
def challenge(conn: Connection, msg: Message) -> Reply:
    if (msg.get("AuthType") or "").lower() != "md5":
        return respond(msg, "Error", "Must specify AuthType")
    if conn.challenge is None:
        conn.challenge = str(conn.pbx.rng.randrange(100_000_000, 999_999_999))
    reply = respond(msg, "Success", None, [("Challenge", conn.challenge)])
    conn.send(reply)
    _security(conn, "ChallengeSent", "Informational", 1, [("Challenge", conn.challenge)])
    return None


@action("Logoff", synopsis="Logoff Manager.")
def logoff(conn: Connection, msg: Message) -> Reply:
    conn.closing = True
    return respond(msg, "Goodbye", "Thanks for all the fish.")


@action("Ping", synopsis="Keepalive command.")
def ping(conn: Connection, msg: Message) -> Reply:
    return respond(msg, headers=[("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])


@action("Events", synopsis="Control Event Flow.")
def events(conn: Connection, msg: Message) -> Reply:
    conn.event_mask = _mask(msg.get("EventMask", ""))
    return respond(msg, headers=[("Events", "On" if conn.event_mask else "Off")])


@action("Filter", "system", "Dynamically add filters for the current manager session.")
def filter_(conn: Connection, msg: Message) -> Reply:
    operation = (msg.get("Operation") or "Add").lower()
    if operation != "add":
        return respond(msg, "Error", "Unknown operation")
    text = msg.get("Filter", "")
    keep = not text.startswith("!")
    try:
        pattern = re.compile(text if keep else text[1:])
    except re.error:
        return respond(msg, "Error", "Filter Not Added")
    conn.filters.append((keep, pattern))
    return respond(msg, "Success", "Success")


@action("ListCommands", synopsis="List available manager commands.")
def list_commands(conn: Connection, msg: Message) -> Reply:
    table = dict(ACTIONS)
    if conn.server.legacy_sip:
        table.update(LEGACY_SIP_ACTIONS)
    specs = sorted(table.values(), key=lambda s: s.name.lower())
    return respond(msg, headers=[(s.name, f"{s.synopsis}  (Priv: {s.priv_text})") for s in specs])


@action("UserEvent", "user", "Send an arbitrary event.")
def user_event(conn: Connection, msg: Message) -> Reply:
    conn.send(respond(msg, "Success", "Event Sent"))
    body = [(k, v) for k, v in msg.items() if k.lower() not in ("action", "actionid")]
    if msg.action_id:
        body.append(("ActionID", msg.action_id))
    conn.pbx.emit("UserEvent", "user", body)
    return None


@action("Command", "command", "Execute Asterisk CLI Command.")
def command(conn: Connection, msg: Message) -> Reply:
    ok, lines = run_cli(conn, msg.get("Command", ""))
    return respond(
        msg,
        "Success" if ok else "Error",
        "Command output follows",
        [("Output", line) for line in lines],
    )


# -- system ----------------------------------------------------------------------------
@action("CoreSettings", "system,reporting", "Show PBX core settings (version etc).")
def core_settings(conn: Connection, msg: Message) -> Reply:
    pbx = conn.pbx
    return respond(
        msg,
        headers=[
            ("AMIversion", conn.proto.version),
            ("AsteriskVersion", pbx.version),
            ("SystemName", pbx.system_name),
            ("CoreMaxCalls", str(pbx.max_calls)),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", "asterisk"),
            ("CoreRunGroup", "asterisk"),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        ],
    )


@action("CoreStatus", "system,reporting", "Show PBX core status variables.")
def core_status(conn: Connection, msg: Message) -> Reply:
    pbx = conn.pbx
    start, reload = time.localtime(pbx.startup_time), time.localtime(pbx.reload_time)
    return respond(
        msg,
        headers=[
            ("CoreStartupDate", time.strftime("%Y-%m-%d", start)),
            ("CoreStartupTime", time.strftime("%H:%M:%S", start)),
            ("CoreReloadDate", time.strftime("%Y-%m-%d", reload)),
            ("CoreReloadTime", time.strftime("%H:%M:%S", reload)),
            ("CoreCurrentCalls", str(active_calls(conn))),
            ("CoreProcessedCalls", str(pbx.processed_calls)),
        ],
    )


def active_calls(conn: Connection) -> int:
    return len({ch.linkedid for ch in conn.pbx.channels.values()})


@action("Reload", "system,config", "Send a reload event.")
def reload(conn: Connection, msg: Message) -> Reply:
    conn.pbx.reload()
    conn.pbx.emit("Reload", "system", [("Module", "All"), ("Status", "0")])
    return respond(msg, "Success", "Module Reloaded")


# -- lists --------------------------------------------------------------------------------
def _list(
    conn: Connection,
    msg: Message,
    message: str,
    items: list[bytes],
    complete: str,
    extra: list[tuple[str, str]] | None = None,
) -> Reply:
    """An EventList: start response, the items, then ``<complete>`` with ListItems."""
    head = ServerProtocol.response(msg, "Success", message, event_list="start")
    tail_pairs = [("EventList", "Complete"), ("ListItems", str(len(items))), *(extra or [])]
    tail = event(complete, tail_pairs, action_id=msg.action_id)
    return head + b"".join(items) + tail


def _aid(msg: Message) -> list[tuple[str, str]]:
    return [("ActionID", msg.action_id)] if msg.action_id else []


@action("CoreShowChannels", "system,reporting", "List currently active channels.")
def core_show_channels(conn: Connection, msg: Message) -> Reply:
    pbx = conn.pbx
    now = pbx.clock.now()
    items = [
        event(
            "CoreShowChannel",
            [
                *snapshot(ch),
                ("Application", ch.application),
                ("ApplicationData", ch.data),
                ("Duration", _hms(now - ch.created)),
                ("BridgeId", ch.bridge),
            ],
            action_id=msg.action_id,
        )
        for ch in _channels_by_age(conn)
    ]
    return _list(conn, msg, "Channels will follow", items, "CoreShowChannelsComplete")


def _channels_by_age(conn: Connection) -> list[Channel]:
    return sorted(conn.pbx.channels.values(), key=lambda ch: (ch.created, ch.name))


def _hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


@action("Status", "system,call,reporting", "List channel status.")
def status(conn: Connection, msg: Message) -> Reply:
    name = msg.get("Channel")
    if name:
        channel = conn.pbx.find_channel(name)
        if channel is None:
            return respond(msg, "Error", "No such channel")
        chans = [channel]
    else:
        chans = list(reversed(_channels_by_age(conn)))
    now = conn.pbx.clock.now()
    items = [_status_item(ch, now, msg) for ch in chans]
    n = str(len(items))
    return _list(conn, msg, "Channel status will follow", items, "StatusComplete", [("Items", n)])


def _status_item(ch: Channel, now: float, msg: Message) -> bytes:
    return event(
        "Status",
        [
            ("Privilege", "Call"),
            *snapshot(ch),
            ("Type", ch.tech),
            ("DNID", ""),
            ("EffectiveConnectedLineNum", ch.conn_num),
            ("EffectiveConnectedLineName", ch.conn_name),
            ("TimeToHangup", "0"),
            ("BridgeID", ch.bridge),
            ("Application", ch.application),
            ("Data", ch.data),
            ("Nativeformats", "(ulaw)" if ch.tech == "PJSIP" else "(slin)"),
            ("Readformat", "ulaw" if ch.tech == "PJSIP" else "slin"),
            ("Readtrans", ""),
            ("Writeformat", "ulaw" if ch.tech == "PJSIP" else "slin"),
            ("Writetrans", ""),
            ("Callgroup", "0"),
            ("Pickupgroup", "0"),
            ("Seconds", str(int(now - ch.created))),
            *_aid(msg),
        ],
    )


# -- PJSIP ----------------------------------------------------------------------------------
@action("PJSIPShowEndpoints", "system", "Lists PJSIP endpoints.")
def pjsip_show_endpoints(conn: Connection, msg: Message) -> Reply:
    items = [
        event(
            "EndpointList",
            [
                ("ObjectType", "endpoint"),
                ("ObjectName", ep.name),
                ("Transport", ep.transport),
                ("Aor", ep.name),
                ("Auths", ep.name),
                ("OutboundAuths", ""),
                ("Contacts", ep.contact + ("," if ep.contact else "")),
                ("DeviceState", ep.device_state if ep.registered else "Unavailable"),
                ("ActiveChannels", str(ep.active_channels)),
            ],
            action_id=msg.action_id,
        )
        for ep in sorted(conn.pbx.endpoints.values(), key=lambda e: e.name)
    ]
    message = "A listing of Endpoints follows, presented as EndpointList events"
    return _list(conn, msg, message, items, "EndpointListComplete")


@action("PJSIPShowEndpoint", "system", "Detail listing of an endpoint and its objects.")
def pjsip_show_endpoint(conn: Connection, msg: Message) -> Reply:
    from amilab.sim.pjsip import endpoint_detail_events

    name = msg.get("Endpoint", "")
    if not name:
        return respond(msg, "Error", "Endpoint parameter missing.")
    ep = conn.pbx.endpoints.get(name)
    if ep is None:
        return respond(msg, "Error", f"Unable to retrieve endpoint {name}")
    items = endpoint_detail_events(ep, msg.action_id)
    message = "Following are Events for each object associated with the Endpoint"
    return _list(conn, msg, message, items, "EndpointDetailComplete")


# -- calls -------------------------------------------------------------------------------------
@action("Originate", "originate", "Originate a call.")
async def originate(conn: Connection, msg: Message) -> Reply:
    target = msg.get("Channel")
    if not target:
        return respond(msg, "Error", "Channel not specified")
    priority = msg.get("Priority", "1")
    if not priority.isdigit():
        return respond(msg, "Error", "Invalid priority")
    exten, context = msg.get("Exten"), msg.get("Context")
    cid = _parse_callerid(msg.get("CallerID"))
    variables = dict(v.partition("=")[::2] for v in msg.getall("Variable"))
    asynchronous = (msg.get("Async") or "").lower() in ("true", "yes", "1", "on")
    timeout = float(msg.get("Timeout") or 30000) / 1000.0
    is_local = target.lower().startswith("local/")
    waiter: asyncio.Future[tuple[bool, int]] = asyncio.get_running_loop().create_future()

    def done(ok: bool, reason: int, channel: Channel | None) -> None:
        if asynchronous:
            _originate_response(conn, msg, target, context, exten, ok, reason, channel, cid)
        elif not waiter.done():
            waiter.set_result((ok, reason))

    if asynchronous or is_local:
        conn.send(respond(msg, "Success", "Originate successfully queued"))
    chan = calls.originate(
        conn.pbx,
        target,
        application=msg.get("Application"),
        data=msg.get("Data", ""),
        context=context,
        exten=exten,
        priority=int(priority),
        callerid=cid,
        variables=variables,
        timeout=timeout,
        done=done,
        uniqueids=(msg.get("ChannelId"), msg.get("OtherChannelId")),
    )
    del chan
    if asynchronous or is_local:
        return None
    ok, _ = await waiter
    if ok:
        return respond(msg, "Success", "Originate successfully queued")
    return respond(msg, "Error", "Originate failed")


def _parse_callerid(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    m = re.match(r'\s*"?([^"<]*?)"?\s*<([^>]*)>', text)
    if m:
        return m.group(2), m.group(1)
    return text.strip(), ""


def _originate_response(
    conn: Connection,
    msg: Message,
    target: str,
    context: str | None,
    exten: str | None,
    ok: bool,
    reason: int,
    channel: Channel | None,
    cid: tuple[str, str] | None,
) -> None:
    application = msg.get("Application")
    target_fields = (
        [("Application", application), ("Data", msg.get("Data", ""))]
        if application
        else [("Context", context or ""), ("Exten", exten or "")]
    )
    conn.pbx.emit(
        "OriginateResponse",
        "call",
        [
            *_aid(msg),
            ("Response", "Success" if ok else "Failure"),
            ("Channel", channel.name if channel is not None and ok else target),
            *target_fields,
            ("Reason", str(reason)),
            ("Uniqueid", channel.uniqueid if channel is not None and ok else UNKNOWN),
            ("CallerIDNum", cid[0] if cid else UNKNOWN),
            ("CallerIDName", cid[1] if cid else UNKNOWN),
        ],
    )


@action("Hangup", "system,call", "Hangup channel.")
def hangup(conn: Connection, msg: Message) -> Reply:
    name = msg.get("Channel", "")
    cause = int(msg.get("Cause") or 16) if (msg.get("Cause") or "16").isdigit() else 16
    if len(name) > 2 and name.startswith("/") and name.endswith("/"):
        rx = re.compile(name[1:-1])
        victims = [ch for ch in list(conn.pbx.channels.values()) if rx.search(ch.name)]
        for ch in victims:
            calls.hangup(conn.pbx, ch, cause)
        return respond(msg, "Success", None, [("Message", f"{len(victims)} channels hung up.")])
    channel = conn.pbx.find_channel(name) if name else None
    if channel is None:
        return respond(msg, "Error", "No such channel")
    conn.send(respond(msg, "Success", "Channel Hungup"))  # before the events, as 22 does
    calls.hangup(conn.pbx, channel, cause)
    return None


@action("Redirect", "call", "Redirect (transfer) a call.")
def redirect(conn: Connection, msg: Message) -> Reply:
    name = msg.get("Channel", "")
    if not name:
        return respond(msg, "Error", "Channel not specified")
    channel = conn.pbx.find_channel(name)
    if channel is None:
        return respond(msg, "Error", f"Channel does not exist: {name}")
    context = msg.get("Context") or channel.context
    exten = msg.get("Exten") or ""
    if not conn.pbx.extension_exists(context, exten):
        return respond(msg, "Error", "Extension does not exist.")
    priority = msg.get("Priority", "1")
    conn.send(respond(msg, "Success", "Redirect successful"))  # before the events (redirect.ami)
    calls.redirect(conn.pbx, channel, context, exten, int(priority) if priority.isdigit() else 1)
    return None


@action("Getvar", "call,reporting", "Gets a channel variable or function value.")
def getvar(conn: Connection, msg: Message) -> Reply:
    var = msg.get("Variable")
    if not var:
        return respond(msg, "Error", "No variable specified")
    name = msg.get("Channel")
    if name:
        channel = conn.pbx.find_channel(name)
        if channel is None:
            return respond(msg, "Error", "No such channel")
        value = _channel_value(channel, var)
    else:
        value = conn.pbx.globals.get(var, "")
    return respond(msg, headers=[("Variable", var), ("Value", value)])


def _channel_value(channel: Channel, var: str) -> str:
    functions = {
        "CALLERID(NUM)": channel.cid_num,
        "CALLERID(NAME)": channel.cid_name,
        "CHANNEL": channel.name,
        "UNIQUEID": channel.uniqueid,
        "CONTEXT": channel.context,
        "EXTEN": channel.exten,
        "PRIORITY": str(channel.priority),
        "CHANNEL(STATE)": STATE_DESC.get(channel.state, ""),
        "CHANNEL(LINKEDID)": channel.linkedid,
    }
    return functions.get(var.upper(), channel.variables.get(var, ""))


@action("Setvar", "call", "Sets a channel variable or function value.")
def setvar(conn: Connection, msg: Message) -> Reply:
    var = msg.get("Variable")
    if not var:
        return respond(msg, "Error", "No variable specified")
    name = msg.get("Channel")
    channel = None
    if name:
        channel = conn.pbx.find_channel(name)
        if channel is None:
            return respond(msg, "Error", "No such channel")
    conn.send(respond(msg, "Success", "Variable Set"))
    if channel is None:
        conn.pbx.globals[var] = msg.get("Value", "")
        conn.pbx.emit(
            "VarSet",
            "dialplan",
            [
                ("Channel", "none"),
                ("Uniqueid", "none"),
                ("Variable", var),
                ("Value", msg.get("Value", "")),
            ],
        )
    else:
        conn.pbx.set_var(channel, var, msg.get("Value", ""))
    return None


# -- AstDB ------------------------------------------------------------------------------------
def _db_key(msg: Message) -> str:
    return f"/{msg.get('Family', '')}/{msg.get('Key', '')}"


@action("DBPut", "system", "Put DB entry.")
def db_put(conn: Connection, msg: Message) -> Reply:
    if not msg.get("Family"):
        return respond(msg, "Error", "No family specified")
    if not msg.get("Key"):
        return respond(msg, "Error", "No key specified")
    conn.pbx.astdb[_db_key(msg)] = msg.get("Val", "")
    return respond(msg, "Success", "Updated database successfully")


@action("DBGet", "system,reporting", "Get DB Entry.")
def db_get(conn: Connection, msg: Message) -> Reply:
    if not msg.get("Family"):
        return respond(msg, "Error", "No family specified.")
    if not msg.get("Key"):
        return respond(msg, "Error", "No key specified.")
    value = conn.pbx.astdb.get(_db_key(msg))
    if value is None:
        return respond(msg, "Error", "Database entry not found")
    item = event(
        "DBGetResponse",
        [("Family", msg["Family"]), ("Key", msg["Key"]), ("Val", value), *_aid(msg)],
    )
    return _list(conn, msg, "Result will follow", [item], "DBGetComplete")


@action("DBDel", "system", "Delete DB entry.")
def db_del(conn: Connection, msg: Message) -> Reply:
    if conn.pbx.astdb.pop(_db_key(msg), None) is None:
        return respond(msg, "Error", "Database entry could not be deleted")
    return respond(msg, "Success", "Key deleted successfully")


@action("DBDelTree", "system", "Delete DB Tree.")
def db_del_tree(conn: Connection, msg: Message) -> Reply:
    prefix = f"/{msg.get('Family', '')}"
    if msg.get("Key"):
        prefix += f"/{msg['Key']}"
    doomed = [k for k in conn.pbx.astdb if k == prefix or k.startswith(prefix + "/")]
    if not doomed:
        return respond(msg, "Error", "Database entry could not be deleted")
    for key in doomed:
        del conn.pbx.astdb[key]
    return respond(msg, "Success", "Key tree deleted successfully")


# -- queues ------------------------------------------------------------------------------------
@action("QueueStatus", synopsis="Show queue status.")
def queue_status(conn: Connection, msg: Message) -> Reply:
    wanted = msg.get("Queue")
    now = conn.pbx.clock.now()
    items: list[bytes] = []
    for q in conn.pbx.queues.values():
        if wanted and q.name != wanted:
            continue
        perf = "100.0" if q.completed else "0.0"
        items.append(
            event(
                "QueueParams",
                [
                    ("Queue", q.name),
                    ("Max", str(q.max)),
                    ("Strategy", q.strategy),
                    ("Calls", str(len(q.callers))),
                    ("Holdtime", str(q.holdtime)),
                    ("TalkTime", str(q.talktime)),
                    ("Completed", str(q.completed)),
                    ("Abandoned", str(q.abandoned)),
                    ("ServiceLevel", str(q.servicelevel)),
                    ("ServicelevelPerf", perf),
                    ("ServicelevelPerf2", perf),
                    ("Weight", str(q.weight)),
                    *_aid(msg),
                ],
            )
        )
        for m in reversed(q.members):
            items.append(
                event("QueueMember", [*member_fields(q.name, m, "Name", "Location"), *_aid(msg)])
            )
        for pos, ch in enumerate(q.callers, 1):
            items.append(
                event(
                    "QueueEntry",
                    [
                        ("Queue", q.name),
                        ("Position", str(pos)),
                        ("Channel", ch.name),
                        ("Uniqueid", ch.uniqueid),
                        ("CallerIDNum", ch.cid_num),
                        ("CallerIDName", ch.cid_name),
                        ("ConnectedLineNum", ch.conn_num),
                        ("ConnectedLineName", ch.conn_name),
                        ("Wait", str(int(now - ch.created))),
                        ("Priority", "0"),
                        *_aid(msg),
                    ],
                )
            )
    return _list(conn, msg, "Queue status will follow", items, "QueueStatusComplete")


@action("QueueSummary", synopsis="Show queue summary.")
def queue_summary(conn: Connection, msg: Message) -> Reply:
    wanted = msg.get("Queue")
    items = []
    for q in conn.pbx.queues.values():
        if wanted and q.name != wanted:
            continue
        available = [m for m in q.members if not m.paused and not m.in_call]
        items.append(
            event(
                "QueueSummary",
                [
                    ("Queue", q.name),
                    ("LoggedIn", str(len(q.members))),
                    ("Available", str(len(available))),
                    ("Callers", str(len(q.callers))),
                    ("HoldTime", str(q.holdtime)),
                    ("TalkTime", str(q.talktime)),
                    ("LongestHoldTime", "0"),
                    *_aid(msg),
                ],
            )
        )
    return _list(conn, msg, "Queue summary will follow", items, "QueueSummaryComplete")


@action("QueueAdd", "agent", "Add interface to queue.")
def queue_add(conn: Connection, msg: Message) -> Reply:
    queue = conn.pbx.queues.get(msg.get("Queue", ""))
    interface = msg.get("Interface", "")
    if not msg.get("Queue") or not interface:
        return respond(msg, "Error", "'Queue' and 'Interface' not set.")
    if queue is None:
        return respond(msg, "Error", "Unable to add interface to queue: No such queue")
    if queue.member(interface) is not None:
        return respond(msg, "Error", "Unable to add interface: Already there")
    penalty = msg.get("Penalty", "0")
    member = QueueMember(
        interface,
        msg.get("MemberName") or interface,
        penalty=int(penalty) if penalty.isdigit() else 0,
        paused=(msg.get("Paused") or "").lower() in ("true", "yes", "1"),
        membership="dynamic",
        login_time=int(conn.pbx.clock.now()),
    )
    queue.members.append(member)
    conn.send(respond(msg, "Success", "Added interface to queue"))
    conn.pbx.emit("QueueMemberAdded", "agent", member_fields(queue.name, member))
    return None


@action("QueueRemove", "agent", "Remove interface from queue.")
def queue_remove(conn: Connection, msg: Message) -> Reply:
    queue = conn.pbx.queues.get(msg.get("Queue", ""))
    if queue is None:
        return respond(msg, "Error", "Unable to remove interface from queue: No such queue")
    member = queue.member(msg.get("Interface", ""))
    if member is None:
        return respond(msg, "Error", "Unable to remove interface: Not there")
    queue.members.remove(member)
    conn.send(respond(msg, "Success", "Removed interface from queue"))
    conn.pbx.emit("QueueMemberRemoved", "agent", member_fields(queue.name, member))
    return None


@action("QueuePause", "agent", "Makes a queue member temporarily unavailable.")
def queue_pause(conn: Connection, msg: Message) -> Reply:
    interface = msg.get("Interface", "")
    paused = (msg.get("Paused") or "").lower() in ("true", "yes", "1")
    wanted = msg.get("Queue")
    hits = []
    for q in conn.pbx.queues.values():
        member = q.member(interface)
        if member is not None and (not wanted or q.name == wanted):
            hits.append((q, member))
    if not hits:
        return respond(msg, "Error", "Interface not found")
    conn.send(
        respond(
            msg,
            "Success",
            "Interface paused successfully" if paused else "Interface unpaused successfully",
        )
    )
    for q, member in hits:
        member.paused = paused
        member.paused_reason = msg.get("Reason", "") if paused else ""
        member.last_pause = int(conn.pbx.clock.now()) if paused else member.last_pause
        conn.pbx.emit("QueueMemberPause", "agent", member_fields(q.name, member))
    return None


# -- legacy chan_sip (opt-in teaching aid; NOT in real Asterisk 22) --------------------------------
@action("SIPpeers", synopsis="List SIP peers (text format).", table=LEGACY_SIP_ACTIONS)
def sip_peers(conn: Connection, msg: Message) -> Reply:
    from amilab.sim.pjsip import peer_entry

    items = [
        peer_entry(ep, msg.action_id)
        for ep in sorted(conn.pbx.endpoints.values(), key=lambda e: e.name)
    ]
    return _list(conn, msg, "Peer status list will follow", items, "PeerlistComplete")


@action("SIPshowpeer", synopsis="show SIP peer (text format).", table=LEGACY_SIP_ACTIONS)
def sip_show_peer(conn: Connection, msg: Message) -> Reply:
    from amilab.sim.pjsip import show_peer_fields

    peer = msg.get("Peer", "")
    if not peer:
        return respond(msg, "Error", "SIPshowpeer: No peer name specified")
    ep = conn.pbx.endpoints.get(peer)
    if ep is None:
        return respond(msg, "Error", "Peer not found")
    return respond(msg, headers=show_peer_fields(ep))
