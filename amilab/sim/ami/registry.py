"""The action registry and what a handler gets and gives back.

A handler is ``(ctx, msg) -> Reply`` (or an awaitable of one): ``ctx`` is the
:class:`ActionContext` (the PBX model, this connection's :class:`AMISession`,
the users, the action table of the running profile); the :data:`Reply` is
what to send, in order: bytes go to this connection, a callable runs at its
place in the sequence (it changes the model, whose events reach every
session). So "the response, then the events" is written as
``[response, lambda: hangup(...)]``, never as a send inside the handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from amilab.protocol import Message
from amilab.sim.ami.session import AMISession
from amilab.sim.ami.users import User
from amilab.sim.model import PBXModel

__all__ = [
    "ACTIONS",
    "ActionContext",
    "ActionSpec",
    "Handler",
    "Reply",
    "Step",
    "action",
    "steps",
]

#: One thing to do for a reply: bytes to send, or a change to run at that point.
Step = bytes | Callable[[], object]
Reply = bytes | Sequence[Step] | None


@dataclass(frozen=True)
class ActionContext:
    """What an action handler may use: the model, its session, the users, the actions."""

    pbx: PBXModel
    session: AMISession
    users: Mapping[str, User]
    #: The AMI version this server announces (``CoreSettings`` ``AMIversion``).
    ami_version: str
    #: The actions of the running profile, by lower-case name (``ListCommands``).
    actions: Mapping[str, ActionSpec]


Handler = Callable[[ActionContext, Message], Reply | Awaitable[Reply]]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    handler: Handler
    privilege: tuple[str, ...]
    synopsis: str

    @property
    def priv_text(self) -> str:
        return ",".join((*self.privilege, "all")) if self.privilege else "<none>"


#: Every action of Asterisk 22 the simulator answers, by lower-case name.
ACTIONS: dict[str, ActionSpec] = {}


def action(
    name: str, privilege: str = "", synopsis: str = "", *, table: dict[str, ActionSpec] = ACTIONS
) -> Callable[[Handler], Handler]:
    """Register a handler under ``name`` with its write classes (``"call,system"``)."""

    def register(fn: Handler) -> Handler:
        classes = tuple(c for c in privilege.split(",") if c)
        table[name.lower()] = ActionSpec(name, fn, classes, synopsis)
        return fn

    return register


def steps(reply: Reply) -> list[Step]:
    """A reply as a list of steps (None: nothing to send)."""
    if reply is None:
        return []
    if isinstance(reply, bytes):
        return [reply] if reply else []
    return list(reply)
