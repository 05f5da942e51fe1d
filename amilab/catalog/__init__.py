"""What AMI is: every action and event Asterisk documents, as facts.

The data file ``ami.json`` beside this module is generated from Asterisk's
own XML documentation by :mod:`amilab.catalog.generate` (which says where
every fact comes from) and checked against it in CI. It holds names, flags,
enumerations, privilege and event classes; no prose, which stays with the
server (``manager show command X``).

Stdlib only: the notebook's help, completion and validation read it, and so
does :mod:`amilab.frames` (``numeric="known"``). Names are matched
case-insensitively, as Asterisk does for actions and headers.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = [
    "ActionDoc",
    "Catalog",
    "EventDoc",
    "Param",
    "action_help",
    "event_help",
    "load",
]

#: The data layout this reader understands (generate.FORMAT when it was written).
SUPPORTED_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Param:
    """One header of an action.

    ``required_in_docs`` is Asterisk's XML flag; ``enforced`` is what a
    recorded Asterisk 22 did when the header was missing (True: refused,
    False: accepted anyway, None: not probed).
    """

    name: str
    required_in_docs: bool = False
    enforced: bool | None = None
    enum: tuple[str, ...] = ()
    multiple: bool = False

    @property
    def required(self) -> bool:
        """Required for validation: documented so, unless Asterisk was seen to accept it missing."""
        return self.required_in_docs and self.enforced is not False


@dataclass(frozen=True, slots=True)
class ActionDoc:
    """One manager action: its headers, privilege and the events it answers with."""

    name: str
    params: tuple[Param, ...]
    #: Write classes from a recorded ListCommands; None if the sandbox did not load it.
    privilege: tuple[str, ...] | None
    list_events: tuple[str, ...] = ()
    list_complete: str | None = None
    see_also_events: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        low = name.lower()
        return next((p for p in self.params if p.name.lower() == low), None)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.required)

    def missing(self, given: Iterable[str]) -> list[str]:
        """Required headers not among ``given`` (names, any case)."""
        have = {g.lower() for g in given}
        return [name for name in self.required if name.lower() not in have]


@dataclass(frozen=True, slots=True)
class EventDoc:
    """One manager event: its fields, their documented values, its class."""

    name: str
    classes: tuple[str, ...]
    fields: tuple[str, ...]
    enums: Mapping[str, tuple[str, ...]]
    integers: tuple[str, ...] = ()


class Catalog:
    """Lookups over the generated data; get the shared one with :func:`load`."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        if data.get("format") != SUPPORTED_FORMAT:
            raise ValueError(
                f"catalog data format {data.get('format')!r} is not {SUPPORTED_FORMAT}: "
                "regenerate it with python -m amilab.catalog.generate"
            )
        self.source: Mapping[str, Any] = data["source"]
        self._actions = {k.lower(): _action(k, v) for k, v in data["actions"].items()}
        self._events = {k.lower(): _event(k, v) for k, v in data["events"].items()}
        #: Lower-cased field names that are integers (reason in ``integer_reasons``).
        self.integer_reasons: Mapping[str, str] = dict(data["integer_fields"])
        self.integer_fields = frozenset(self.integer_reasons)

    def action(self, name: str) -> ActionDoc | None:
        return self._actions.get(name.lower())

    def event(self, name: str) -> EventDoc | None:
        return self._events.get(name.lower())

    def action_names(self) -> list[str]:
        return sorted(a.name for a in self._actions.values())

    def event_names(self) -> list[str]:
        return sorted(e.name for e in self._events.values())

    def enum_values(self, name: str) -> tuple[str, ...]:
        """Documented values of event field ``name`` in any event (e.g. ChannelStateDesc)."""
        low = name.lower()
        found: set[str] = set()
        for event in self._events.values():
            for key, values in event.enums.items():
                if key.lower() == low:
                    found.update(values)
        return tuple(sorted(found))


def _action(name: str, raw: Mapping[str, Any]) -> ActionDoc:
    params = tuple(
        Param(
            p["name"],
            bool(p.get("required")),
            p.get("enforced"),
            tuple(p.get("enum", ())),
            bool(p.get("multiple")),
        )
        for p in raw["params"]
    )
    priv = raw.get("privilege")
    return ActionDoc(
        name,
        params,
        None if priv is None else tuple(priv),
        tuple(raw.get("list_events", ())),
        raw.get("list_complete"),
        tuple(raw.get("see_also_events", ())),
    )


def _event(name: str, raw: Mapping[str, Any]) -> EventDoc:
    enums = {k: tuple(v) for k, v in raw.get("enums", {}).items()}
    return EventDoc(
        name,
        tuple(raw["classes"]),
        tuple(raw["fields"]),
        enums,
        tuple(raw.get("integers", ())),
    )


@functools.cache
def load() -> Catalog:
    """The catalog shipped with amilab (read once)."""
    text = resources.files(__name__).joinpath("ami.json").read_text(encoding="utf-8")
    return Catalog(json.loads(text))


# -- help text -------------------------------------------------------------------
def action_help(doc: ActionDoc) -> str:
    """Offline help: syntax, required headers, privilege, events (facts only)."""
    lines = [f"Action: {doc.name}"]
    for p in doc.params:
        mark = "" if p.required else "["
        end = "" if p.required else "]"
        values = f"  one of: {', '.join(p.enum)}" if p.enum else ""
        lines.append(f"  {mark}{p.name}:{end} <value>{values}")
    if doc.required:
        lines.append(f"Required: {', '.join(doc.required)}")
    for p in doc.params:
        if p.required_in_docs and p.enforced is False:
            lines.append(
                f"Note: {p.name} is documented as required, but Asterisk 22 accepts the "
                "action without it (recorded), so it is not checked."
            )
    priv = "unknown (not loaded on the recorded server)"
    if doc.privilege is not None:
        priv = ", ".join(doc.privilege) or "none"
    lines.append(f"Privilege: {priv}")
    if doc.list_events:
        complete = f", then {doc.list_complete}" if doc.list_complete else ""
        lines.append(f"Answers with: {', '.join(doc.list_events)} events{complete}")
    if doc.see_also_events:
        lines.append(f"Related events: {', '.join(doc.see_also_events)}")
    return "\n".join(lines)


def event_help(doc: EventDoc) -> str:
    """Offline help for an event: class, fields, documented values."""
    lines = [f"Event: {doc.name}", f"Class: {', '.join(doc.classes) or 'unknown'}"]
    for name in doc.fields:
        values = doc.enums.get(name)
        extra = f"  one of: {', '.join(values)}" if values else ""
        kind = "  (integer)" if name in doc.integers else ""
        lines.append(f"  {name}{kind}{extra}")
    return "\n".join(lines)
