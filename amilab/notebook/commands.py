"""``%ami`` lines and ``%%ami`` cells -> pure command objects (no IPython needed).

The magic is thin: it parses its input here into one frozen dataclass, then
executes it. Keeping the parsing pure lets every syntax rule be tested
without a shell, and lets the magic's ``%ami?`` help come from the same
parser that enforces it.

Line grammar (words are split with shell quoting rules; backslashes are kept
literally, because AMI filters are regexes)::

    %ami SUBCOMMAND ...              lowercase words listed in SUBCOMMANDS
    %ami ACTION [Key=Value ...]      anything else is an AMI action name

AMI action names are case-insensitive on the server, so the lowercase
sub-commands shadow nothing: ``%ami status`` shows the notebook's connection,
``%ami Status`` runs the AMI ``Status`` action.

``{name}`` expansion is applied per word *after* splitting (so an expanded
value with spaces stays one value), by a callable the magic passes in.
"""

from __future__ import annotations

import argparse
import re
import shlex
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from amilab.catalog import Catalog
from amilab.protocol.message import SECRET_HEADERS

__all__ = [
    "HELP",
    "SUBCOMMANDS",
    "Command",
    "CommandError",
    "Connect",
    "Dashboard",
    "Disconnect",
    "Events",
    "Help",
    "Last",
    "ListActions",
    "MissingHeaders",
    "Monitor",
    "Plot",
    "RunAction",
    "RunCommand",
    "Script",
    "SimFaults",
    "SimStart",
    "State",
    "Status",
    "Trace",
    "check_required",
    "expand_fields",
    "parse_body",
    "parse_cell",
    "parse_line",
]

Expand: TypeAlias = Callable[[str], str]
AuthChoice: TypeAlias = Literal["md5", "plain", "auto"]

SUBCOMMANDS = (
    "actions",
    "command",
    "connect",
    "dashboard",
    "disconnect",
    "events",
    "help",
    "last",
    "monitor",
    "plot",
    "sim",
    "state",
    "status",
    "trace",
)
#: ``%ami state TABLE``: the live model's tables (amilab.state), ``channels`` by default.
STATE_TABLES = (
    "channels",
    "bridges",
    "endpoints",
    "queues",
    "queue_members",
    "queue_callers",
    "conferences",
    "parked_calls",
)
#: ``%ami plot KIND``: the pictures of amilab.analysis.plots.
PLOT_KINDS = ("ladder", "timeline")
#: ``%ami trace`` modes; ``show`` when none is given.
TRACE_MODES = ("on", "off", "show", "clear")
#: ``%ami sim faults KIND``: the simulator's faults reachable from the magic.
SIM_FAULTS = ("drop", "half-open", "restart", "clear")
#: Characters allowed in an action name: Asterisk's are ASCII words
#: (``PJSIPShowEndpoints``, ``DBGet``); some third-party modules use ``-``.
_ACTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*\Z")
_PROFILE = re.compile(r"@[\w.-]+\Z")
_COMMENT_PREFIXES = ("#", ";")


class CommandError(ValueError):
    """A ``%ami`` line or cell that cannot be parsed; the message says how to fix it."""


class MissingHeaders(ValueError):
    """An action lacks a header Asterisk requires; nothing was sent."""


# -- command objects -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Connect:
    """``%ami connect``: log the notebook's session in (settings resolved later)."""

    host: str | None = None
    port: int | None = None
    profile: str | None = None
    user: str | None = None
    tls: bool | None = None
    cafile: str | None = None
    auth: AuthChoice | None = None
    events: str | None = None
    secret_env: str | None = None
    secret: str | None = field(default=None, repr=False)
    #: Refuse actions that may write, for this connection (``--read-only``).
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class SimStart:
    """``%ami sim`` / ``%ami connect --sim``: start the embedded simulator and log in."""

    events: str | None = None
    traffic: float | None = None
    #: Which Asterisk to imitate (``--asterisk 22``); None: the notebook's default profile.
    asterisk: str | None = None
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class SimFaults:
    """``%ami sim faults drop|half-open [S]|restart|clear``: break the magic's simulator."""

    kind: str
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Trace:
    """``%ami trace [on|off|show|clear]``: the notebook session's wire trace."""

    mode: str = "show"


@dataclass(frozen=True, slots=True)
class Disconnect:
    """``%ami disconnect``: log off, close the socket, stop a simulator we started."""


@dataclass(frozen=True, slots=True)
class Status:
    """``%ami status``: one line about the notebook's connection."""


@dataclass(frozen=True, slots=True)
class Help:
    """``%ami help [ACTION | event NAME]``: the catalog's facts, the server's text, or usage."""

    action: str | None = None
    event: bool = False


@dataclass(frozen=True, slots=True)
class ListActions:
    """``%ami actions``: the server's ``ListCommands`` as a table."""

    out: str | None = None


@dataclass(frozen=True, slots=True)
class Last:
    """``%ami last``: the full :class:`ActionResult` of the last action."""

    out: str | None = None


@dataclass(frozen=True, slots=True)
class RunAction:
    """Send one AMI action; its result is shown as a DataFrame."""

    name: str
    headers: tuple[tuple[str, str], ...] = ()
    out: str | None = None
    timeout: float | None = None
    raw: bool = False
    numeric: bool | None = None
    #: Send even when a required header is missing (``--force``).
    force: bool = False
    #: Show the bytes that would be sent and send nothing (``--dry-run``).
    dry_run: bool = False

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={'***' if k.lower() in SECRET_HEADERS else v!r}" for k, v in self.headers
        )
        return f"RunAction({self.name!r}{', ' if shown else ''}{shown}, out={self.out!r})"


@dataclass(frozen=True, slots=True)
class Script:
    """A ``%%ami`` cell: several actions, sent in order, stopping at the first error."""

    actions: tuple[RunAction, ...]
    out: str | None = None
    raw: bool = False
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class RunCommand:
    """CLI commands (``Action: Command``) whose output is printed as text."""

    commands: tuple[str, ...]
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Events:
    """``%ami events``: collect matching events for a while into a DataFrame."""

    patterns: tuple[str, ...] = ()
    seconds: float | None = None
    limit: int | None = None
    quiet: bool = False
    out: str | None = None
    numeric: bool | None = None


@dataclass(frozen=True, slots=True)
class Monitor:
    """``%ami monitor``: the live EventMonitor widget."""

    patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class State:
    """``%ami state [TABLE]``: a table of the live PBX model (tracking starts if needed)."""

    table: str = "channels"


@dataclass(frozen=True, slots=True)
class Plot:
    """``%ami plot ladder LINKEDID`` / ``%ami plot timeline``: a call-flow Figure
    (amilab.analysis.plots) over the notebook's last recording."""

    kind: Literal["ladder", "timeline"]
    linkedid: str | None = None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """``%ami dashboard``: the live state widget (calls, queues, endpoints)."""


Command: TypeAlias = (
    Connect
    | SimStart
    | SimFaults
    | Trace
    | Disconnect
    | Status
    | Help
    | ListActions
    | Last
    | RunAction
    | Script
    | RunCommand
    | Events
    | Monitor
    | State
    | Dashboard
    | Plot
)


# -- the argument parser ----------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CommandError` instead of printing and exiting."""

    def error(self, message: str) -> Any:
        raise CommandError(message)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _build_parser() -> _Parser:
    p = _Parser(
        prog="%ami",
        add_help=False,
        allow_abbrev=False,
        usage="%(prog)s [SUBCOMMAND | ACTION] [ARGS ...] [OPTIONS]",
    )
    S = argparse.SUPPRESS
    p.add_argument("words", nargs="*", help=S)
    results = p.add_argument_group("results (actions, cells, actions, last, events)")
    results.add_argument(
        "-o", "--out", metavar="NAME", default=S, help="store the result in variable NAME"
    )
    results.add_argument(
        "--timeout", type=_positive, metavar="S", default=S, help="seconds to wait for the answer"
    )
    results.add_argument(
        "--raw", action="store_true", default=S, help="return the ActionResult, not a DataFrame"
    )
    results.add_argument(
        "--numeric",
        action="store_true",
        default=S,
        help="convert numeric columns (when exact); see AmiMagics.numeric",
    )
    results.add_argument(
        "--expand", action="store_true", default=S, help="%%%%ami only: expand {name} in the body"
    )
    results.add_argument(
        "--force",
        action="store_true",
        default=S,
        help="send even if a required header is missing (see %%ami help ACTION)",
    )
    results.add_argument(
        "--dry-run",
        action="store_true",
        default=S,
        help="show the bytes that would be sent (secrets masked); send nothing",
    )
    events = p.add_argument_group("events")
    events.add_argument(
        "--for",
        dest="seconds",
        type=_positive,
        metavar="S",
        default=S,
        help="collect for S seconds",
    )
    events.add_argument(
        "--max", dest="limit", type=_count, metavar="N", default=S, help="stop after N events"
    )
    events.add_argument(
        "-q", "--quiet", action="store_true", default=S, help="do not print events as they come"
    )
    conn = p.add_argument_group("connect")
    conn.add_argument("--user", metavar="U", default=S, help="AMI username")
    conn.add_argument("--tls", action="store_true", default=S, help="use TLS (port 5039)")
    conn.add_argument(
        "--cafile",
        metavar="PEM",
        default=S,
        help="CA file to verify the TLS server (implies --tls)",
    )
    conn.add_argument(
        "--md5", dest="auth", action="store_const", const="md5", default=S, help="MD5 login"
    )
    conn.add_argument(
        "--plain", dest="auth", action="store_const", const="plain", default=S, help="plain login"
    )
    conn.add_argument(
        "--events", metavar="MASK", default=S, help="login event mask: on, off, call,system ..."
    )
    conn.add_argument(
        "--secret-env", metavar="VAR", default=S, help="read the secret from $VAR (AMI_SECRET)"
    )
    conn.add_argument(
        "--secret",
        metavar="S",
        default=S,
        help="the secret itself (discouraged: it stays in the notebook's history)",
    )
    conn.add_argument(
        "--sim", action="store_true", default=S, help="start the embedded simulator, log in"
    )
    conn.add_argument(
        "--traffic",
        type=_positive,
        metavar="RATE",
        default=S,
        help="with sim: generate RATE calls per second",
    )
    conn.add_argument(
        "--asterisk",
        metavar="VERSION",
        default=S,
        help="with sim: imitate Asterisk 20 (chan_sip + PJSIP, the default) or 22 (PJSIP only)",
    )
    conn.add_argument(
        "--read-only",
        action="store_true",
        default=S,
        help="refuse, locally, actions that may write (see AmiMagics.read_only)",
    )
    return p


_PARSER = _build_parser()
#: Which options each form accepts; anything else is refused by name.
_ALLOWED: dict[str, frozenset[str]] = {
    "connect": frozenset(
        {
            "user",
            "tls",
            "cafile",
            "auth",
            "events",
            "secret_env",
            "secret",
            "sim",
            "traffic",
            "asterisk",
            "read_only",
        }
    ),
    "sim": frozenset({"events", "traffic", "asterisk", "read_only"}),
    "action": frozenset({"out", "timeout", "raw", "numeric", "force", "dry_run"}),
    "cell": frozenset({"out", "timeout", "raw", "numeric", "expand", "force", "dry_run"}),
    "command": frozenset({"timeout", "expand"}),
    "events": frozenset({"seconds", "limit", "quiet", "out", "numeric"}),
    "actions": frozenset({"out"}),
    "last": frozenset({"out"}),
}

HELP = f"""Talk to an Asterisk Manager Interface (AMI) server from the notebook.

Forms:
  %ami connect [HOST[:PORT] | @NAME] [--user U] [--tls] [--cafile PEM] [--md5|--plain]
               [--events MASK] [--secret-env VAR]    log in (secret from $AMI_SECRET,
               [--read-only]                         the config file, or a prompt);
                                                     --read-only refuses writes
  %ami sim [--traffic RATE] [--asterisk 20|22]      start the built-in simulator, log in
                                                     (20: chan_sip + PJSIP, the default;
                                                     22: PJSIP only, as real Asterisk 22)
  %ami ACTION [Key=Value ...] [-o NAME]              any action -> DataFrame (list items,
                                                     or the response when there are none);
                                                     --dry-run shows the bytes, sends nothing
  %ami command CLI COMMAND ...                       print a CLI command's output
  %ami help ACTION | %ami help event NAME            syntax, required headers, privilege,
                                                     events (offline, from the catalog),
                                                     plus the server's text when connected
  %ami actions                                       the server's actions (ListCommands)
  %ami events [PATTERN ...] [--for S] [--max N]      collect events -> DataFrame
  %ami monitor [PATTERN ...]                         live event monitor widget
  %ami state [channels|bridges|queues|...]           the live PBX model's table (tracks
                                                     the PBX from the first use on)
  %ami dashboard                                     live calls, queues and endpoints widget
  %ami plot ladder LINKEDID | %ami plot timeline     one call's sequence diagram, or all
                                                     calls as phase bars, over the last
                                                     %ami monitor's recording
  %ami last                                          the last ActionResult (also in _ami)
  %ami trace [on|off|show|clear]                     the session's wire trace (secrets masked)
  %ami sim faults drop|half-open [S]|restart|clear   break the magic's simulator on purpose
  %ami status | %ami disconnect

  %%ami [ACTION] [-o NAME] [--expand]                cell: AMI's own "Key: Value" lines;
                                                     blank lines separate actions, each
                                                     needs "Action: X" unless ACTION is
                                                     given; returns the DataFrame of a
                                                     single action, or all results
                                                     concatenated with an "action" column
  %%ami command                                      cell: one CLI command per line

Lowercase words are sub-commands; anything else is an AMI action name
(``%ami status`` is the connection, ``%ami Status`` the AMI action).
An action missing a header Asterisk requires is not sent (one-line error
naming it); --force sends it anyway. In read-only mode (%ami connect
--read-only, or %config AmiMagics.read_only = True) actions that may write
are refused before anything is sent.
Repeated keys send repeated headers (Variable=A=1 Variable=B=2). Values follow
shell quoting ('a b' or "a b"); backslashes are literal. {{name}} on a line is
replaced by the Python variable's value (attributes and [index] allowed);
write {{{{ and }}}} for literal braces; Asterisk's ${{...}} is left alone. In a cell
body {{name}} is expanded only with --expand. Errors print one line and fail
the cell; set %config AmiMagics.short_errors = False for tracebacks.
Settings: %config AmiMagics (timeout, autolimit, numeric, default_host, ...).

{_PARSER.format_help()}"""


# -- {name} expansion -------------------------------------------------------------
def _field_end(text: str, start: int) -> int:
    """Index of the ``}`` closing the brace at ``start`` (nesting counted), or -1."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def expand_fields(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace ``{name}`` (``str.format`` field syntax) with values from ``namespace``.

    ``{{`` and ``}}`` give literal braces; Asterisk's own ``${...}`` and an
    unmatched brace are left as they are. Unlike IPython's expansion, a
    missing name is an error instead of silently leaving the whole line
    unexpanded, and ``$name`` is not special (AMI values use ``$`` a lot).
    """
    if "{" not in text and "}" not in text:
        return text
    formatter = string.Formatter()
    out: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in ("{{", "}}"):
            out.append(pair[0])
            i += 2
            continue
        if pair == "${" or text[i] == "{":
            at = i + 1 if pair == "${" else i
            end = _field_end(text, at)
            if end < 0:
                out.append(text[i:])
                break
            if pair == "${":
                out.append(text[i : end + 1])
            else:
                out.append(_format_field(formatter, text[at + 1 : end], namespace))
            i = end + 1
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _format_field(formatter: string.Formatter, spec: str, namespace: Mapping[str, Any]) -> str:
    field_name, _, format_spec = spec.partition(":")
    field_name, _, conversion = field_name.partition("!")
    if not field_name.strip():
        raise CommandError("empty {} on the line: write {{}} for literal braces")
    try:
        value, _ = formatter.get_field(field_name, (), namespace)
    except KeyError as exc:
        raise CommandError(
            f"name {exc.args[0]!r} is not defined (in {{{spec}}}); write {{{{ }}}} for braces"
        ) from None
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise CommandError(f"cannot expand {{{spec}}}: {exc}") from None
    if conversion:
        value = formatter.convert_field(value, conversion)
    return str(formatter.format_field(value, format_spec))


# -- line parsing ----------------------------------------------------------------
def _split(text: str) -> list[str]:
    """Shell-style split with literal backslashes (AMI filters are regexes)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.escape = ""
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise CommandError(f"cannot split the line: {exc} (check the quotes)") from None


def _take_secret(tokens: list[str]) -> tuple[list[str], str | None]:
    """Remove ``--secret S`` before argparse sees it, so no parser message can echo it."""
    rest: list[str] = []
    secret: str | None = None
    it = iter(tokens)
    for tok in it:
        if tok == "--secret":
            secret = next(it, None)
            if secret is None:
                raise CommandError("--secret needs a value (better: --secret-env VAR)")
        elif tok.startswith("--secret="):
            secret = tok.partition("=")[2]
        else:
            rest.append(tok)
    return rest, secret


def _parse_options(tokens: list[str]) -> tuple[list[str], dict[str, Any]]:
    ns = _PARSER.parse_intermixed_args(tokens)
    opts = vars(ns)
    words = opts.pop("words", [])
    return words, opts


def _check_allowed(form: str, opts: dict[str, Any], shown: str) -> None:
    allowed = _ALLOWED.get(form, frozenset())
    for name in opts:
        if name not in allowed:
            flag = {"seconds": "--for", "limit": "--max", "auth": "--md5/--plain"}.get(
                name, "--" + name.replace("_", "-")
            )
            raise CommandError(f"{flag} does not apply to {shown}")


def _out_name(opts: dict[str, Any]) -> str | None:
    name = opts.get("out")
    if name is not None and (not _IDENTIFIER.match(name) or name.startswith("__")):
        raise CommandError(f"-o needs a Python variable name, not {name!r}")
    return name


def _action_name(name: str) -> str:
    if not _ACTION_NAME.match(name):
        raise CommandError(
            f"{name!r} is not an AMI action name (letters, digits, '_' or '-', "
            "starting with a letter); %ami actions lists them"
        )
    return name


def _key_values(action: str, words: Iterable[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(
                f"expected Key=Value after {action}, got {word!r} "
                "(quote values with spaces: Key='a b')"
            )
        pairs.append((key, value))
    return tuple(pairs)


def _host_port(target: str) -> tuple[str | None, int | None]:
    """``host``, ``host:port``, ``:port``, ``[v6]:port`` -> (host, port)."""
    host, port_text = target, ""
    if target.startswith("["):
        inner, _, rest = target[1:].partition("]")
        host, port_text = inner, rest.removeprefix(":")
    elif target.count(":") == 1:
        host, _, port_text = target.partition(":")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise CommandError(f"bad port in {target!r}: expected 1-65535")
        port = int(port_text)
    return host or None, port


def _connect(words: list[str], opts: dict[str, Any], secret: str | None) -> Connect | SimStart:
    if opts.pop("sim", False):
        extra = set(opts) - {"events", "traffic", "asterisk", "read_only"}
        if words or extra or secret is not None:
            raise CommandError("%ami connect --sim takes no address, user or secret")
        return _sim_start(opts)
    for only_sim in ("traffic", "asterisk"):
        if only_sim in opts:
            raise CommandError(f"--{only_sim} needs --sim (it configures the built-in simulator)")
    if len(words) > 1:
        raise CommandError(f"%ami connect takes one address, got {' '.join(words)!r}")
    host = port = profile = None
    if words:
        if words[0].startswith("@"):
            if not _PROFILE.match(words[0]):
                raise CommandError(f"bad profile name {words[0]!r}: use @name")
            profile = words[0][1:]
        else:
            host, port = _host_port(words[0])
    env_var = opts.get("secret_env")
    if env_var is not None and not _IDENTIFIER.match(env_var):
        raise CommandError(f"--secret-env needs a variable name, not {env_var!r}")
    return Connect(
        host=host,
        port=port,
        profile=profile,
        user=opts.get("user"),
        tls=True if opts.get("cafile") else opts.get("tls"),
        cafile=opts.get("cafile"),
        auth=opts.get("auth"),
        events=opts.get("events"),
        secret_env=env_var,
        secret=secret,
        read_only=bool(opts.get("read_only")),
    )


def _sim_start(opts: dict[str, Any]) -> SimStart:
    return SimStart(
        events=opts.get("events"),
        traffic=opts.get("traffic"),
        asterisk=opts.get("asterisk"),
        read_only=bool(opts.get("read_only")),
    )


def _sim_faults(words: list[str], opts: dict[str, Any]) -> SimFaults:
    usage = "usage: %ami sim faults drop | half-open [SECONDS] | restart | clear"
    if words[0] != "faults" or len(words) < 2 or words[1] not in SIM_FAULTS or opts:
        raise CommandError(usage)
    kind, rest = words[1], words[2:]
    if (kind != "half-open" and rest) or len(rest) > 1:
        raise CommandError(usage)
    seconds = None
    if rest:
        try:
            seconds = _positive(rest[0])
        except argparse.ArgumentTypeError as exc:
            raise CommandError(f"half-open: {exc}") from None
    return SimFaults(kind, seconds)


def _no_words(sub: str, words: list[str]) -> None:
    if words:
        raise CommandError(f"%ami {sub} takes no arguments, got {' '.join(words)!r}")


def _plot(words: list[str]) -> Plot:
    usage = "usage: %ami plot ladder LINKEDID | %ami plot timeline"
    if words == ["timeline"]:
        return Plot("timeline")
    if len(words) == 2 and words[0] == "ladder":
        return Plot("ladder", words[1])
    raise CommandError(usage)


def _subcommand(sub: str, words: list[str], opts: dict[str, Any], secret: str | None) -> Command:
    _check_allowed(sub, opts, f"%ami {sub}")
    if sub != "connect" and secret is not None:
        raise CommandError(f"--secret does not apply to %ami {sub}")
    if sub == "connect":
        return _connect(words, opts, secret)
    if sub == "help":
        if words[:1] == ["event"] and len(words) == 2:
            return Help(_action_name(words[1]), event=True)
        if len(words) > 1:
            raise CommandError("%ami help takes one action name, or: event NAME")
        return Help(_action_name(words[0]) if words else None)
    if sub in ("events", "monitor"):
        patterns = tuple(words)
        if sub == "monitor":
            return Monitor(patterns)
        return Events(
            patterns,
            seconds=opts.get("seconds"),
            limit=opts.get("limit"),
            quiet=bool(opts.get("quiet")),
            out=_out_name(opts),
            numeric=opts.get("numeric"),
        )
    if sub == "state":
        if len(words) > 1 or (words and words[0] not in STATE_TABLES):
            raise CommandError(f"usage: %ami state [{'|'.join(STATE_TABLES)}]")
        return State(words[0] if words else "channels")
    if sub == "dashboard":
        _no_words(sub, words)
        return Dashboard()
    if sub == "plot":
        return _plot(words)
    if sub == "trace":
        if len(words) > 1 or (words and words[0] not in TRACE_MODES):
            raise CommandError(f"usage: %ami trace [{'|'.join(TRACE_MODES)}]")
        return Trace(words[0] if words else "show")
    if sub == "sim" and words:
        return _sim_faults(words, opts)
    _no_words(sub, words)
    simple: dict[str, Command] = {
        "sim": _sim_start(opts),
        "disconnect": Disconnect(),
        "status": Status(),
        "actions": ListActions(out=_out_name(opts)),
        "last": Last(out=_out_name(opts)),
    }
    return simple[sub]


def _identity(text: str) -> str:
    return text


def parse_line(line: str, expand: Expand | None = None) -> Command:
    """Parse one ``%ami`` line; ``expand`` maps each word (``{name}`` expansion)."""
    expand = expand or _identity
    head, _, rest = line.strip().partition(" ")
    if head == "command":
        text = expand(rest.strip())
        if not text:
            raise CommandError("usage: %ami command CLI COMMAND (e.g. core show channels)")
        return RunCommand((text,))
    tokens, secret = _take_secret(_split(line))
    words, opts = _parse_options(tokens)
    if not words:
        if opts or secret is not None:
            raise CommandError("options need a sub-command or an action name; see %ami?")
        return Help(None)
    words = [expand(w) for w in words]
    first = words[0]
    if first in SUBCOMMANDS:
        return _subcommand(first, words[1:], opts, secret)
    if secret is not None:
        raise CommandError("--secret belongs to %ami connect; send Secret=... as a header")
    name = _action_name(first)
    _check_allowed("action", opts, name)
    return RunAction(
        name,
        _key_values(name, words[1:]),
        out=_out_name(opts),
        timeout=opts.get("timeout"),
        raw=bool(opts.get("raw")),
        numeric=opts.get("numeric"),
        force=bool(opts.get("force")),
        dry_run=bool(opts.get("dry_run")),
    )


# -- cell parsing ----------------------------------------------------------------
def _blocks(body: str) -> list[list[tuple[int, str]]]:
    """Split a cell body into blank-line separated blocks of (line number, text)."""
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, raw in enumerate(body.splitlines(), start=1):
        text = raw.strip()
        if not text:
            if blocks[-1]:
                blocks.append([])
        elif not text.startswith(_COMMENT_PREFIXES):
            blocks[-1].append((number, text))
    return [b for b in blocks if b]


def _bad_line(number: int, text: str) -> CommandError:
    """The error for a body line without ``Key: Value``, hinting at the likely intent.

    A line that starts with a secret header's name (``Secret=...``) is shown
    without its value.
    """
    key, sep, value = text.partition("=")
    if not sep:
        key, sep, value = text.partition(" ")
    if key.strip().lower() in SECRET_HEADERS:
        text, value = f"{key}{sep}***", "***"
    hint = ""
    if _ACTION_NAME.match(text):
        hint = f" (write 'Action: {text}'; a blank line separates actions)"
    elif sep == "=" and _ACTION_NAME.match(key):
        hint = f" (in a cell, write '{key}: {value}')"
    return CommandError(f"line {number}: expected 'Key: Value', got {text!r}{hint}")


def parse_body(
    body: str, default_action: str | None = None, expand: Expand | None = None
) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """AMI ``Key: Value`` blocks -> ``[(action name, headers), ...]``.

    A block's ``Action:`` line names its action; without one, the action
    given on the magic line is used. ``expand`` maps each value.
    """
    expand = expand or _identity
    actions = []
    for block in _blocks(body):
        name = default_action
        named = False
        headers = []
        for number, text in block:
            key, sep, value = text.partition(":")
            key = key.strip()
            if not sep or not key:
                raise _bad_line(number, text)
            value = expand(value[1:] if value[:1] == " " else value)
            if key.lower() == "action":
                if named:
                    raise CommandError(
                        f"line {number}: a second 'Action:' in one block; "
                        "put a blank line between actions"
                    )
                name, named = _action_name(value.strip()), True
            else:
                headers.append((key, value))
        if name is None:
            raise CommandError(
                f"line {block[0][0]}: this block has no 'Action: Name' line "
                "(or give the action on the magic line: %%ami Originate)"
            )
        actions.append((name, tuple(headers)))
    if not actions:
        raise CommandError("the cell is empty: write 'Key: Value' lines, e.g. 'Action: Ping'")
    return actions


def parse_cell(line: str, body: str, expand: Expand | None = None) -> Command:
    """Parse a ``%%ami`` cell. ``expand`` applies to the body only with ``--expand``."""
    tokens, secret = _take_secret(_split(line))
    if secret is not None:
        raise CommandError("--secret does not apply to a %%ami cell")
    words, opts = _parse_options(tokens)
    body_expand = expand if opts.get("expand") else None
    if words[:1] == ["command"]:
        _check_allowed("command", opts, "%%ami command")
        if len(words) > 1:
            raise CommandError("%%ami command takes the CLI commands in the cell, one per line")
        lines = [t for _, t in (p for b in _blocks(body) for p in b)]
        if not lines:
            raise CommandError("the cell is empty: write one CLI command per line")
        fn = body_expand or _identity
        return RunCommand(tuple(fn(t) for t in lines), timeout=opts.get("timeout"))
    if len(words) > 1:
        raise CommandError("%%ami takes at most one action name on its line; headers go below")
    if words and words[0] in SUBCOMMANDS:
        raise CommandError(f"{words[0]} is a line sub-command: use %ami {words[0]}")
    _check_allowed("cell", opts, "%%ami")
    default = _action_name(words[0]) if words else None
    timeout, numeric, force = opts.get("timeout"), opts.get("numeric"), bool(opts.get("force"))
    actions = tuple(
        RunAction(name, headers, timeout=timeout, numeric=numeric, force=force)
        for name, headers in parse_body(body, default, body_expand)
    )
    return Script(
        actions, out=_out_name(opts), raw=bool(opts.get("raw")), dry_run=bool(opts.get("dry_run"))
    )


# -- validation ------------------------------------------------------------------
def check_required(actions: Sequence[RunAction], catalog: Catalog) -> None:
    """Refuse, before anything is sent, actions missing a header Asterisk requires.

    "Required" is the catalog's: documented so and not seen accepted without
    it by a recorded Asterisk 22 (tests/fixtures/asterisk22/required_params.json).
    Actions the catalog does not know (third-party modules) pass; so does
    an action with ``force``.
    """
    for number, action in enumerate(actions, start=1):
        doc = catalog.action(action.name)
        if action.force or doc is None:
            continue
        missing = doc.missing(k for k, _ in action.headers)
        if missing:
            where = f"action {number} ({doc.name})" if len(actions) > 1 else doc.name
            example = " ".join(f"{m}=..." for m in missing)
            raise MissingHeaders(
                f"{where} needs {', '.join(missing)}; nothing was sent. "
                f"Add {example}, or --force to send anyway (%ami help {doc.name})"
            )
