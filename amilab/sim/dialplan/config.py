"""``extensions.conf`` text -> the dialplan as data (:data:`amilab.sim.model.Dialplan`).

Understands what a teaching dialplan uses: ``[context]`` sections, ``exten =>
name,priority,App(data)`` and ``same => n,App(data)`` lines, numbered or ``n``
priorities, ``;`` comments, and a ``[globals]`` section of ``NAME = value``
(``[general]`` is skipped). Priorities must follow each other (1, 2, 3 or n):
the simulator runs them by position, so a gap is an error rather than a
silently different call. Syntax: Asterisk's config_extensions.c conventions,
as in the sandbox's ``tests/asterisk/etc/extensions.conf``.
"""

from __future__ import annotations

import re

from amilab.sim.model import Dialplan

__all__ = ["DialplanSyntaxError", "parse_extensions"]

_EXTEN = re.compile(r"^(exten|same)\s*=>?\s*(.*)$", re.IGNORECASE)
_APP = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")
#: Sections that hold settings, not extensions.
SETTINGS_SECTIONS = frozenset({"general"})


class DialplanSyntaxError(ValueError):
    """A line of the ``extensions.conf`` text the simulator cannot run."""

    def __init__(self, lineno: int, line: str, problem: str) -> None:
        super().__init__(f"extensions.conf line {lineno}: {problem}: {line.strip()!r}")


def parse_extensions(text: str) -> tuple[Dialplan, dict[str, str]]:
    """Parse ``extensions.conf`` text; return (dialplan, globals)."""
    dialplan: Dialplan = {}
    globals_: dict[str, str] = {}
    context: str | None = None
    last: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            context, last = line[1:-1].strip(), None
            if context not in SETTINGS_SECTIONS and context != "globals":
                dialplan.setdefault(context, {})
            continue
        if context is None:
            raise DialplanSyntaxError(
                lineno, raw, "a line before any [context]; start with a [context] line"
            )
        if context in SETTINGS_SECTIONS:
            continue
        if context == "globals":
            name, sep, value = line.partition("=")
            if not sep:
                raise DialplanSyntaxError(lineno, raw, "a global needs NAME = value")
            globals_[name.strip()] = value.strip()
            continue
        last = _exten_line(dialplan[context], last, lineno, raw, line)
    return dialplan, globals_


def _exten_line(
    extens: dict[str, list[tuple[str, str]]], last: str | None, lineno: int, raw: str, line: str
) -> str:
    """Add one ``exten =>``/``same =>`` line to ``extens``; return its extension."""
    match = _EXTEN.match(line)
    if match is None:
        raise DialplanSyntaxError(
            lineno,
            raw,
            "expected 'exten =>' or 'same =>' (include, switch and macros are not simulated)",
        )
    kind, rest = match.group(1).lower(), match.group(2)
    if kind == "exten":
        exten, _, rest = rest.partition(",")
        exten = exten.strip()
    elif last is None:
        raise DialplanSyntaxError(
            lineno, raw, "'same =>' with no extension before it; begin with 'exten => name,1,App()'"
        )
    else:
        exten = last
    priority, _, app_text = rest.partition(",")
    steps = extens.setdefault(exten, [])
    priority = priority.strip()
    if priority.lower() != "n" and priority != str(len(steps) + 1):
        raise DialplanSyntaxError(
            lineno,
            raw,
            f"priority {priority} is not {len(steps) + 1}; number them 1, 2, 3 or write n",
        )
    app = _APP.match(app_text)
    if app is None:
        raise DialplanSyntaxError(lineno, raw, "expected Application(data), e.g. Wait(2)")
    steps.append((app.group(1), app.group(2) or ""))
    return exten
