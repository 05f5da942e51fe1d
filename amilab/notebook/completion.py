"""Tab completion for ``%ami``: action names, header names, sub-commands, profiles.

What the server supports is the best source, so :class:`ActionCatalog`
asks it: action names from ``ListCommands`` and each action's headers from
the ``[Syntax]`` section of ``manager show command ACTION`` (Asterisk 22 and
the simulator print the same layout), each fetched once per connection and
cached. Before a connection, or when the server does not answer in time, a
small static table of common actions stands in.

:func:`complete` is pure: given the line up to the cursor and IPython's
current token, it returns the replacements for that token. The IPython
matcher that calls it lives in :mod:`amilab.notebook.magics`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amilab.notebook.commands import SUBCOMMANDS

if TYPE_CHECKING:
    from amilab.protocol import Message
    from amilab.session import Session

__all__ = [
    "COMMON_HEADERS",
    "ActionCatalog",
    "ActionInfo",
    "complete",
    "parse_listcommands",
    "parse_syntax",
]

#: Seconds a completion may wait for the server; a slow TAB is worse than a short list.
COMPLETION_TIMEOUT = 2.0
#: Headers of common actions, from Asterisk 22's ``manager show command`` output;
#: used until the server's own documentation has been fetched.
COMMON_HEADERS: dict[str, tuple[str, ...]] = {
    "Originate": (
        "Channel",
        "Exten",
        "Context",
        "Priority",
        "Application",
        "Data",
        "Timeout",
        "CallerID",
        "Variable",
        "Account",
        "EarlyMedia",
        "Async",
        "Codecs",
        "ChannelId",
        "OtherChannelId",
        "PreDialGoSub",
    ),
    "Hangup": ("Channel", "Cause"),
    "Redirect": (
        "Channel",
        "ExtraChannel",
        "Exten",
        "ExtraExten",
        "Context",
        "ExtraContext",
        "Priority",
        "ExtraPriority",
    ),
    "Getvar": ("Channel", "Variable"),
    "Setvar": ("Channel", "Variable", "Value"),
    "Command": ("Command",),
    "Events": ("EventMask",),
    "Filter": ("Operation", "Filter"),
    "UserEvent": ("UserEvent",),
    "PJSIPShowEndpoint": ("Endpoint",),
    "QueueAdd": ("Queue", "Interface", "Penalty", "Paused", "MemberName", "StateInterface"),
    "QueueRemove": ("Queue", "Interface"),
    "QueueStatus": ("Queue", "Member"),
    "QueueSummary": ("Queue",),
    "DBGet": ("Family", "Key"),
    "DBPut": ("Family", "Key", "Val"),
    "DBDel": ("Family", "Key"),
    "CoreShowChannels": (),
    "CoreSettings": (),
    "CoreStatus": (),
    "ListCommands": (),
    "PJSIPShowEndpoints": (),
    "Ping": (),
    "Status": ("Channel", "Variables", "AllVariables"),
}
#: Headers every action accepts, offered last.
_ALWAYS = ("ActionID",)
#: Headers that may be given more than once, so they stay offered after use.
_REPEATABLE = frozenset({"variable", "chanvariable"})
_PRIV = re.compile(r"^(?P<synopsis>.*?)\s*\(Priv: (?P<priv>[^)]*)\)\s*$")
_SECTION = re.compile(r"^\[[A-Za-z ]+\]$")
_SYNTAX_LINE = re.compile(r"^\[?(?P<key>[A-Za-z][\w-]*):\]?")
_MAGIC = re.compile(r"^\s*%{1,2}ami\b(?P<rest>.*)$")
_ACTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_NOT_ACTIONS = frozenset({"response", "actionid", "message", "eventlist"})


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
    """Action names and headers known for one connection; :meth:`reset` on reconnect."""

    actions: dict[str, ActionInfo] | None = None
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def reset(self) -> None:
        self.actions = None
        self.headers.clear()

    def learn_actions(self, rows: Iterable[ActionInfo]) -> None:
        self.actions = {row.name: row for row in rows}

    def action_names(self, session: Session | None) -> list[str]:
        """The server's action names (fetched once), or the static ones."""
        if self.actions is None and session is not None and session.connected:
            try:
                result = session.action("ListCommands", timeout=COMPLETION_TIMEOUT)
            except Exception:  # a completion must never raise into the editor
                return sorted(COMMON_HEADERS)
            self.learn_actions(parse_listcommands(result.response))
        return sorted(self.actions) if self.actions else sorted(COMMON_HEADERS)

    def canonical(self, name: str) -> str:
        """``originate`` -> ``Originate`` (AMI names are case-insensitive)."""
        known: list[str] = [*(self.actions or ()), *COMMON_HEADERS]
        return next((k for k in known if k.lower() == name.lower()), name)

    def learn_syntax(self, action: str, output: str) -> tuple[str, ...]:
        names = parse_syntax(output)
        if names:
            self.headers[action.lower()] = names
        return names

    def header_names(self, action: str, session: Session | None) -> tuple[str, ...]:
        """Headers of ``action``: from the server's syntax (cached), else the static table."""
        key = action.lower()
        askable = _ACTION_NAME.match(action) is not None
        if key not in self.headers and askable and session is not None and session.connected:
            try:
                text = session.command(f"manager show command {action}", timeout=COMPLETION_TIMEOUT)
            except Exception:  # a completion must never raise into the editor
                text = ""
            if not self.learn_syntax(action, text):
                self.headers[key] = COMMON_HEADERS.get(self.canonical(action), ())
        names = self.headers.get(key, COMMON_HEADERS.get(self.canonical(action), ()))
        return (*[n for n in names if n not in _ALWAYS], *_ALWAYS)


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
    if head == "help" and len(before) == 1:
        return _relative(_prefixed(catalog.action_names(session), word), word, token)
    if head == "connect" and word.startswith("@"):
        return _relative(_prefixed([f"@{p}" for p in profiles()], word), word, token)
    if head in SUBCOMMANDS or "=" in word:
        return []
    used = {w.partition("=")[0].lower() for w in before[1:]}
    names = [
        f"{h}="
        for h in catalog.header_names(head, session)
        if h.lower() not in used or h.lower() in _REPEATABLE
    ]
    return _relative(_prefixed(names, word), word, token)
