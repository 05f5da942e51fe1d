"""The few CLI commands the ``Command`` action understands, in Asterisk 22's output format.

Output lines become ``Output:`` headers (see tests/fixtures/asterisk22/command_*.ami).
An unknown command answers ``Response: Error`` with Asterisk's own
``No such command '...' (type 'core show help ...' for other possible commands)``.
"""

from __future__ import annotations

from collections.abc import Callable

from amilab.sim.ami.registry import ActionContext

__all__ = ["format_duration", "run_cli"]

CliResult = tuple[bool, list[str]]
_UNITS = (("year", 31_536_000), ("week", 604_800), ("day", 86_400), ("hour", 3600), ("minute", 60))

#: Argument lists for ``manager show command``: (name, required, description).
ACTION_ARGS: dict[str, list[tuple[str, bool, str]]] = {
    "Originate": [
        ("Channel", True, "The channel to call, e.g. PJSIP/100 or Local/100@amilab."),
        ("Exten", False, "Extension to run once answered (with Context and Priority)."),
        ("Context", False, "Context to run once answered (with Exten and Priority)."),
        ("Priority", False, "Priority to run once answered (with Exten and Context)."),
        ("Application", False, "Application to run once answered."),
        ("Data", False, "Arguments of the Application."),
        ("Timeout", False, "How long to ring, in milliseconds."),
        ("CallerID", False, "Caller ID of the new channel."),
        ("Variable", False, "NAME=value channel variable; may be repeated."),
        ("Account", False, "Account code."),
        ("EarlyMedia", False, "Connect on early media ('true')."),
        ("Async", False, "'true' answers at once and reports with OriginateResponse."),
        ("Codecs", False, "Codecs to offer, comma separated."),
        ("ChannelId", False, "Uniqueid to give the channel."),
        ("OtherChannelId", False, "Uniqueid to give the second Local channel."),
        ("PreDialGoSub", False, "Context,Extension,Priority to run before dialing."),
    ],
    "Hangup": [
        ("Channel", True, "Channel name, or /regex/ for several."),
        ("Cause", False, "Q.850 hangup cause number."),
    ],
    "Getvar": [
        ("Channel", False, "Channel to read from; none reads a global."),
        ("Variable", True, "Variable or function name."),
    ],
    "Setvar": [
        ("Channel", False, "Channel to set on; none sets a global."),
        ("Variable", True, "Variable or function name."),
        ("Value", True, "New value."),
    ],
    "Command": [("Command", True, "The CLI command to run.")],
    "Login": [
        ("Username", True, "manager.conf user."),
        ("Secret", False, "Plain-text secret."),
        ("AuthType", False, "'md5' after a Challenge."),
        ("Key", False, "md5(challenge + secret) for AuthType md5."),
        ("Events", False, "Initial event mask."),
    ],
}


def format_duration(seconds: int) -> str:
    """``1 minute, 2 seconds``: Asterisk's ``print_uptimestr`` wording."""
    parts = []
    for unit, size in _UNITS:
        if seconds >= size:
            n, seconds = divmod(seconds, size)
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    if seconds or not parts:
        parts.append(f"{seconds} second{'s' if seconds != 1 else ''}")
    return ", ".join(parts)


def run_cli(ctx: ActionContext, command: str) -> CliResult:
    """Run one CLI command; return (known, output lines)."""
    words = command.split()
    lowered = [w.lower() for w in words]
    for prefix, handler, _ in _COMMANDS:
        if lowered[: len(prefix)] == list(prefix):
            return True, handler(ctx, words[len(prefix) :])
    # Asterisk names the longest known prefix (find_best); dropping the last two words
    # reproduces the recorded case ('no such cli command' -> 'no such').
    hint = " ".join(words[: max(1, len(words) - 2)])
    return False, [
        f"No such command '{command}' (type 'core show help {hint}' for other possible commands)"
    ]


def _uptime(ctx: ActionContext, args: list[str]) -> list[str]:
    pbx = ctx.pbx
    if args[:1] == ["seconds"]:
        return [f"System uptime: {pbx.uptime}", f"Last reload: {pbx.since_reload}"]
    return [
        f"System uptime: {format_duration(pbx.uptime)}",
        f"Last reload: {format_duration(pbx.since_reload)}",
    ]


def _version(ctx: ActionContext, args: list[str]) -> list[str]:
    return [f"Asterisk {ctx.pbx.version} built by amilab (simulated PBX)"]


def _channels(ctx: ActionContext, args: list[str]) -> list[str]:
    pbx = ctx.pbx
    lines = [f"{'Channel':<64} {'Location':<32} {'State':<7} {'Application(Data)':<30}"]
    for ch in sorted(pbx.channels.values(), key=lambda c: c.created):
        where = f"{ch.exten}@{ch.context}:{ch.priority}"
        app = f"{ch.application}({ch.data})" if ch.application else "(None)"
        state = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}.get(ch.state, "Unknown")
        lines.append(f"{ch.name:<64} {where:<32} {state:<7} {app:<30}")
    n, calls = len(pbx.channels), pbx.active_calls()
    lines.append(f"{n} active channel{'s' if n != 1 else ''}")
    pct = 100.0 * calls / pbx.max_calls if pbx.max_calls else 0.0
    plural = "s" if calls != 1 else ""
    lines.append(f"{calls} of {pbx.max_calls} max active call{plural} ({pct:5.2f}% of capacity)")
    done = pbx.processed_calls
    lines.append(f"{done} call{'s' if done != 1 else ''} processed")
    return lines


_PJSIP_HEADER = [
    "",
    " Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>",
    "    I/OAuth:  <AuthId/UserName...........................................................>",
    "        Aor:  <Aor............................................>  <MaxContact>",
    "      Contact:  <Aor/ContactUri..........................> <Hash....> <Status> <RTT(ms)..>",
    "  Transport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress..................>",
    "   Identify:  <Identify/Endpoint.........................................................>",
    "        Match:  <criteria.........................>",
    "    Channel:  <ChannelId......................................>  <State.....>  <Time.....>",
    "        Exten: <DialedExten...........>  CLCID: <ConnectedLineCID.......>",
    "=" * 90,
]


def _pjsip_endpoints(ctx: ActionContext, args: list[str]) -> list[str]:
    lines = list(_PJSIP_HEADER)
    eps = sorted(ctx.pbx.endpoints.values(), key=lambda e: e.name)
    for ep in eps:
        state = ep.device_state if ep.registered else "Unavailable"
        lines += [
            "",
            f" Endpoint:  {ep.name + '/' + ep.name:<52} {state:<13} {ep.active_channels} of inf",
            f"     InAuth:  {ep.name}/{ep.name}",
            f"        Aor:  {ep.name:<50} 1",
        ]
        if ep.registered:
            lines.append(f"      Contact:  {ep.contact:<42} 0123abcd Avail         1.000")
        lines.append("  Transport:  transport-udp             udp      0      0  127.0.0.1:5060")
    lines += ["", "", f"Objects found: {len(eps)}", ""]
    return lines


def _manager_show_command(ctx: ActionContext, args: list[str]) -> list[str]:
    out: list[str] = []
    for name in args:
        spec = ctx.actions.get(name.lower())
        if spec is None:
            continue
        params = ACTION_ARGS.get(spec.name, [])
        out += ["", f"  -= Info about Manager Command '{spec.name}' =- ", "", "[Synopsis]"]
        out += [f"{spec.synopsis} ", "", "[Provided By]", "builtin", "", "[Since]", "0.2.0", ""]
        out += ["[Description]", f"{spec.synopsis} (simulated by amilab)", "", "[Syntax]"]
        out += [f"Action: {spec.name}", "[ActionID:] <value>"]
        out += [f"{p}: <value>" if req else f"[{p}:] <value>" for p, req, _ in params]
        out += [
            "",
            "[Arguments]",
            "",
            "ActionID",
            "    ActionID for this transaction. Will be returned.",
            "",
        ]
        for p, _, text in params:
            out += [p, f"    {text}", ""]
        out += ["[Privilege]", spec.priv_text, "", "[See Also]", "None", ""]
        out += ["[List Responses]", "None", "", "[End List Responses]", ""]
        out += ["[Final Response]", "None", "", "[End Final Response]", ""]
    return out


def _database_show(ctx: ActionContext, args: list[str]) -> list[str]:
    db = ctx.pbx.astdb
    lines = [f"{key:<50}: {value}" for key, value in sorted(db.items())]
    return [*lines, f"{len(db)} results found."]


def _queue_show(ctx: ActionContext, args: list[str]) -> list[str]:
    lines = []
    for q in ctx.pbx.queues.values():
        lines.append(
            f"{q.name} has {len(q.callers)} calls (max unlimited) in '{q.strategy}' strategy "
            f"({q.holdtime}s holdtime, {q.talktime}s talktime), W:{q.weight}, C:{q.completed}, "
            f"A:{q.abandoned}, SL:0.0%, SL2:0.0% within 0s"
        )
        lines.append("   Members: " if q.members else "   No Members")
        for m in q.members:
            status = "In use" if m.in_call else "Not in use"
            lines.append(f"      {m.name} ({m.interface}) with penalty {m.penalty} ({status})")
        lines += ["   No Callers" if not q.callers else "   Callers: ", ""]
    return lines


def _settings(ctx: ActionContext, args: list[str]) -> list[str]:
    pbx = ctx.pbx
    rows = [
        ("Version", pbx.version),
        ("Maximum calls", f"{pbx.max_calls} (Current {len(pbx.channels)})"),
        ("System name", pbx.system_name),
        ("Entity ID", "00:00:00:00:00:00"),
        ("Default language", "en"),
        ("Language prefix", "Enabled"),
        ("Simulated by", "amilab"),
    ]
    return ["", "PBX Core settings", "-----------------", *[f"  {k + ':':<29}{v}" for k, v in rows]]


def _help(ctx: ActionContext, args: list[str]) -> list[str]:
    return [f"{' '.join(words):<30} -- {doc}" for words, _, doc in _COMMANDS]


def _reload(ctx: ActionContext, args: list[str]) -> list[str]:
    ctx.pbx.reload()
    return []


_COMMANDS: list[tuple[tuple[str, ...], Callable[[ActionContext, list[str]], list[str]], str]] = [
    (("core", "show", "channels"), _channels, "Display information on channels"),
    (("core", "show", "help"), _help, "Display help list, or specific help on a command"),
    (("core", "show", "settings"), _settings, "Show some core settings"),
    (("core", "show", "uptime"), _uptime, "Show uptime information"),
    (("core", "show", "version"), _version, "Display version info"),
    (("core", "reload"), _reload, "Global reload"),
    (("database", "show"), _database_show, "Shows database contents"),
    (("manager", "show", "command"), _manager_show_command, "Show a manager interface command"),
    (("pjsip", "show", "endpoints"), _pjsip_endpoints, "List PJSIP Endpoints"),
    (("queue", "show"), _queue_show, "Show status of a specified queue"),
    (("reload",), _reload, "Reload configuration for a module"),
]
