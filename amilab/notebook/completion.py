"""Tab completion for ``%ami`` lines and ``%%ami`` cell bodies.

Knowledge comes in two layers. The base is the offline AMI catalog
(:mod:`amilab.catalog`, generated from Asterisk's XML documentation): every
action name, every action's headers, documented values. When connected,
:class:`ActionCatalog` adds what only the server knows, each fetched once per
connection and cached: its action names (``ListCommands``; what runs there,
including third-party actions, so they replace the catalog's list), extra
headers from the ``[Syntax]`` section of ``manager show command ACTION``, and
live values (channel names for ``Channel=``, endpoints, queues, contexts),
fetched with a short timeout and kept for :data:`LIVE_VALUES_TTL` seconds.

:func:`complete` (a line) and :func:`complete_cell` (a cell body) are pure:
given the text up to the cursor and IPython's current token, they return the
replacements for that token. The IPython matcher that calls them lives in
:mod:`amilab.notebook.magics`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amilab.catalog import load as load_catalog
from amilab.notebook.commands import SIM_FAULTS, SUBCOMMANDS, TRACE_MODES

if TYPE_CHECKING:
    from amilab.protocol import Message
    from amilab.session import Session

__all__ = [
    "LIVE_VALUES",
    "ActionCatalog",
    "ActionInfo",
    "complete",
    "complete_cell",
    "parse_listcommands",
    "parse_syntax",
]

#: Seconds a completion may wait for the server; a slow TAB is worse than a short list.
COMPLETION_TIMEOUT = 2.0
#: Seconds live values stay cached: channels come and go, but a burst of TABs
#: on one line should not ask the server each time.
LIVE_VALUES_TTL = 3.0
#: Headers whose values the server can list: (list action, field of its items).
#: Event and field names as recorded from Asterisk 22 (coreshowchannels_call.ami,
#: pjsipshowendpoints.ami, queuesummary.ami; ShowDialPlan's ListDialplan events).
LIVE_VALUES: dict[str, tuple[str, str]] = {
    "channel": ("CoreShowChannels", "Channel"),
    "channel1": ("CoreShowChannels", "Channel"),
    "channel2": ("CoreShowChannels", "Channel"),
    "extrachannel": ("CoreShowChannels", "Channel"),
    "endpoint": ("PJSIPShowEndpoints", "ObjectName"),
    "queue": ("QueueSummary", "Queue"),
    "context": ("ShowDialPlan", "Context"),
    "extracontext": ("ShowDialPlan", "Context"),
}
#: Headers every action accepts, offered last.
_ALWAYS = ("ActionID",)
#: Headers that may be given more than once, so they stay offered after use.
_REPEATABLE = frozenset({"variable", "chanvariable"})
#: After ``%ami help``: the word that asks for an event's documentation.
_HELP_EVENT = "event"
_PRIV = re.compile(r"^(?P<synopsis>.*?)\s*\(Priv: (?P<priv>[^)]*)\)\s*$")
_SECTION = re.compile(r"^\[[A-Za-z ]+\]$")
_SYNTAX_LINE = re.compile(r"^\[?(?P<key>[A-Za-z][\w-]*):\]?")
_MAGIC = re.compile(r"^\s*%{1,2}ami\b(?P<rest>.*)$")
_CELL_MAGIC = re.compile(r"^\s*%%ami\b(?P<rest>.*)$")
_ACTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_NOT_ACTIONS = frozenset({"response", "actionid", "message", "eventlist"})
_COMMENT_PREFIXES = ("#", ";")


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """One row of ``ListCommands``: name, one-line synopsis, required privilege."""

    name: str
    synopsis: str
    privilege: str


def parse_listcommands(response: Message) -> list[ActionInfo]:
    """``Name: Synopsis  (Priv: a,b)`` headers of a ListCommands response -> rows."""
    rows = []
    for key, value in response.headers:
        if key.lower() in _NOT_ACTIONS or not key:
            continue
        match = _PRIV.match(value)
        synopsis, priv = (match["synopsis"], match["priv"]) if match else (value.strip(), "")
        rows.append(ActionInfo(key, synopsis, priv))
    return rows


def parse_syntax(output: str) -> tuple[str, ...]:
    """Header names from the ``[Syntax]`` section of ``manager show command X``."""
    names: list[str] = []
    inside = False
    for raw in output.splitlines():
        line = raw.strip()
        if _SECTION.match(line):
            inside = line == "[Syntax]"
            continue
        if not inside:
            continue
        match = _SYNTAX_LINE.match(line)
        if match and match["key"].lower() != "action" and match["key"] not in names:
            names.append(match["key"])
    return tuple(names)


@dataclass
class ActionCatalog:
    """What the connected server adds to the offline catalog; :meth:`reset` on reconnect."""

    actions: dict[str, ActionInfo] | None = None
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    values: dict[str, tuple[float, list[str]]] = field(default_factory=dict)

    def reset(self) -> None:
        self.actions = None
        self.headers.clear()
        self.values.clear()

    def learn_actions(self, rows: Iterable[ActionInfo]) -> None:
        self.actions = {row.name: row for row in rows}

    def action_names(self, session: Session | None) -> list[str]:
        """The server's action names (fetched once), else the catalog's."""
        if self.actions is None and session is not None and session.connected:
            try:
                result = session.action("ListCommands", timeout=COMPLETION_TIMEOUT)
            except Exception:  # a completion must never raise into the editor
                return load_catalog().action_names()
            self.learn_actions(parse_listcommands(result.response))
        return sorted(self.actions) if self.actions else load_catalog().action_names()

    def canonical(self, name: str) -> str:
        """``originate`` -> ``Originate`` (AMI names are case-insensitive)."""
        doc = load_catalog().action(name)
        if doc is not None:
            return doc.name
        return next((k for k in self.actions or () if k.lower() == name.lower()), name)

    def learn_syntax(self, action: str, output: str) -> tuple[str, ...]:
        names = parse_syntax(output)
        if names:
            self.headers[action.lower()] = names
        return names

    def header_names(self, action: str, session: Session | None) -> tuple[str, ...]:
        """Headers of ``action``: the catalog's, then any more the server documents."""
        key = action.lower()
        askable = _ACTION_NAME.match(action) is not None
        if key not in self.headers and askable and session is not None and session.connected:
            try:
                text = session.command(f"manager show command {action}", timeout=COMPLETION_TIMEOUT)
            except Exception:  # a completion must never raise into the editor
                text = ""
            if not self.learn_syntax(action, text):
                self.headers[key] = ()
        doc = load_catalog().action(action)
        names = [p.name for p in doc.params] if doc else []
        known = {n.lower() for n in names}
        names += [n for n in self.headers.get(key, ()) if n.lower() not in known]
        return (*[n for n in names if n not in _ALWAYS], *_ALWAYS)

    def header_values(self, action: str, header: str, session: Session | None) -> list[str]:
        """Documented values of ``header`` for ``action``, then live ones from the server."""
        doc = load_catalog().action(action)
        param = doc.param(header) if doc else None
        found = list(param.enum) if param else []
        return [*found, *self._live_values(header.lower(), session)]

    def _live_values(self, header: str, session: Session | None) -> list[str]:
        source = LIVE_VALUES.get(header)
        if source is None or session is None or not session.connected:
            return []
        cached = self.values.get(header)
        if cached is not None and time.monotonic() - cached[0] < LIVE_VALUES_TTL:
            return cached[1]
        action, item = source
        try:
            result = session.action(action, timeout=COMPLETION_TIMEOUT)
        except Exception:  # a completion must never raise into the editor
            return []
        got = sorted({v for msg in result.events if (v := msg.get(item))})
        self.values[header] = (time.monotonic(), got)
        return got


def _prefixed(candidates: Iterable[str], word: str) -> list[str]:
    """Case-sensitive prefix matches, else case-insensitive ones (AMI ignores case)."""
    pool = list(dict.fromkeys(candidates))
    exact = [c for c in pool if c.startswith(word)]
    if exact:
        return exact
    low = word.lower()
    return [c for c in pool if c.lower().startswith(low)]


def _relative(matches: Sequence[str], word: str, token: str) -> list[str]:
    """Cut each match to replace only IPython's token (which stops at ``@``, ``=``, ...)."""
    cut = len(word) - len(token)
    if cut < 0 or not word.endswith(token):
        return list(matches)
    return [m[cut:] for m in matches]


def complete(
    line: str,
    token: str,
    catalog: ActionCatalog,
    session: Session | None,
    profiles: Callable[[], Iterable[str]] = lambda: (),
) -> list[str] | None:
    """Completions for the token at the end of ``line``; ``None`` when not a ``%ami`` line."""
    match = _MAGIC.match(line)
    if match is None:
        return None
    rest = match["rest"]
    if rest and not rest[0].isspace():
        return None
    words = rest.split()
    if rest.endswith((" ", "\t")) or not words:
        words.append("")
    *before, word = words
    if word.startswith("-"):
        return []
    if not before:
        names = [*SUBCOMMANDS, *catalog.action_names(session)]
        return _relative(_prefixed(names, word), word, token)
    head = before[0]
    if head == "help":
        return _relative(_help_words(before[1:], word, catalog, session), word, token)
    if head == "connect" and word.startswith("@"):
        return _relative(_prefixed([f"@{p}" for p in profiles()], word), word, token)
    if head in SUBCOMMANDS:
        return _relative(_prefixed(_subcommand_words(before), word), word, token)
    if "=" in word:
        key = word.partition("=")[0]
        values = catalog.header_values(head, key, session)
        return _relative(_prefixed([f"{key}={v}" for v in values], word), word, token)
    used = {w.partition("=")[0].lower() for w in before[1:]}
    names = [f"{h}=" for h in _unused(catalog.header_names(head, session), used)]
    return _relative(_prefixed(names, word), word, token)


def _subcommand_words(before: list[str]) -> list[str]:
    """The fixed words after ``trace`` and ``sim`` (``%ami sim faults <TAB>``)."""
    match before:
        case ["trace"]:
            return list(TRACE_MODES)
        case ["sim"]:
            return ["faults"]
        case ["sim", "faults"]:
            return list(SIM_FAULTS)
    return []


def _help_words(
    args: list[str], word: str, catalog: ActionCatalog, session: Session | None
) -> list[str]:
    """``%ami help <TAB>``: action names and ``event``; after ``event``, event names."""
    if not args:
        return _prefixed([_HELP_EVENT, *catalog.action_names(session)], word)
    if args == [_HELP_EVENT]:
        return _prefixed(load_catalog().event_names(), word)
    return []


def _unused(headers: Iterable[str], used: set[str]) -> list[str]:
    return [h for h in headers if h.lower() not in used or h.lower() in _REPEATABLE]


# -- cell bodies -------------------------------------------------------------------
def complete_cell(
    lines: Sequence[str],
    cursor_line: int,
    before_cursor: str,
    token: str,
    catalog: ActionCatalog,
    session: Session | None,
) -> list[str] | None:
    """Completions inside a ``%%ami`` body; ``None`` when the cell is not ``%%ami``.

    ``lines`` is the whole cell (line 0 is the magic line), ``before_cursor``
    the cursor's line up to the cursor. The block around the cursor (blank
    lines separate actions) gives the action: its ``Action:`` line, else the
    action named on the magic line.
    """
    match = _CELL_MAGIC.match(lines[0]) if lines and cursor_line > 0 else None
    if match is None:
        return None
    magic_words = [w for w in match["rest"].split() if not w.startswith("-")]
    if magic_words[:1] == ["command"]:
        return []  # CLI commands, not headers
    action, used = _block_state(lines[1:cursor_line], magic_words[:1])
    text = before_cursor.lstrip()
    if text.startswith(_COMMENT_PREFIXES):
        return []
    key, sep, value = text.partition(":")
    if sep:
        value = value.lstrip()
        if key.strip().lower() == "action":
            found = _prefixed(catalog.action_names(session), value)
        elif action is None:
            return []
        else:
            found = _prefixed(catalog.header_values(action, key.strip(), session), value)
        return _relative(found, value, token)
    names = [] if action is not None else ["Action"]
    if action is not None:
        names += _unused(catalog.header_names(action, session), used)
    return _relative(_prefixed([f"{n}: " for n in names], text), text, token)


def _block_state(body: Sequence[str], default: list[str]) -> tuple[str | None, set[str]]:
    """(action, lower-cased header names used) of the block that the last body line ends."""
    block: list[str] = []
    for raw in body:
        text = raw.strip()
        if not text:
            block = []
        elif not text.startswith(_COMMENT_PREFIXES):
            block.append(text)
    action = default[0] if default else None
    used: set[str] = set()
    for text in block:
        key, sep, value = text.partition(":")
        if not sep:
            continue
        if key.strip().lower() == "action":
            action = value.strip() or action
        else:
            used.add(key.strip().lower())
    return action, used
