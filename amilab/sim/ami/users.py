"""manager.conf users and permission classes.

The class words are manager.c's ``perms[]``; ``read=``/``write=`` take a comma
list or ``all``; an ``Events:`` header also accepts on/off words
(manager.c ``strings_to_mask``: ``on``, ``yes``, ``true``, ``1`` and their
negations, or a class list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["EVENT_CLASSES", "User", "event_mask", "make_users", "parse_classes"]

#: manager.c's permission classes (``perms[]``), the words ``read=``/``write=`` accept.
EVENT_CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)
_ON = frozenset({"on", "yes", "true", "1", "all"})
_OFF = frozenset({"off", "no", "false", "0", ""})


def parse_classes(text: str | None) -> frozenset[str]:
    """``"all"`` / ``"call,system"`` / ``""`` -> a set of class names."""
    words = {w.strip().lower() for w in (text or "").split(",") if w.strip()}
    if "all" in words or "on" in words:
        return EVENT_CLASSES
    return frozenset(words & EVENT_CLASSES)


def event_mask(text: str) -> frozenset[str]:
    """An ``Events:``/``EventMask:`` value -> the classes a session receives."""
    word = text.strip().lower()
    if word in _ON:
        return EVENT_CLASSES
    if word in _OFF:
        return frozenset()
    return parse_classes(text)


@dataclass(frozen=True)
class User:
    """A manager.conf user. The secret is kept out of ``repr``."""

    name: str
    secret: str
    read: frozenset[str]
    write: frozenset[str]

    def __repr__(self) -> str:
        return f"User({self.name!r}, read={sorted(self.read)}, write={sorted(self.write)})"


def make_users(table: Mapping[str, Mapping[str, str]]) -> dict[str, User]:
    """manager.conf as a dict (``{"name": {"secret":..., "read":..., "write":...}}``)."""
    return {
        name.lower(): User(
            name,
            str(spec.get("secret", "")),
            parse_classes(spec.get("read", "all")),
            parse_classes(spec.get("write", "all")),
        )
        for name, spec in table.items()
    }
