"""ClientProtocol: the client side of AMI, without I/O.

Theory of operation. The caller owns a socket and this object:

1. ``send(action)`` assigns a unique ``ActionID``, records the action as
   pending and returns the bytes to write.
2. ``receive_data(chunk)`` returns what the bytes completed, in order:
   :class:`Greeting` once, :class:`Completed` when a pending action has its
   whole answer, and bare :class:`Message` objects for events, which the
   caller dispatches to handlers.
3. ``receive_eof()`` (or ``fail_all``) ends the stream and returns the actions
   that will never complete, so the caller can fail them.

Routing: a ``Response`` goes to the pending action with its ActionID. If it
says ``EventList: start`` (or, on old servers, "... will follow") the action
then collects the events carrying its ActionID until the one with
``EventList: Complete``/``Cancelled``. Any other message is an event, even one
carrying the ActionID of a finished action: Asterisk 22 sends
``OriginateResponse`` and the ``UserEvent`` event that way, and they must reach
handlers, not vanish.

Abandoned actions: an action that timed out or was cancelled is forgotten,
and its late answer is counted as a stray. Generated ActionIDs never repeat,
but a caller may choose the same ActionID again; until the abandoned action's
answer has arrived, that ActionID is refused, so the late answer can never be
taken for the new action's.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

from amilab.protocol.buffer import DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_SIZE, ReceiveBuffer
from amilab.protocol.message import Message
from amilab.protocol.result import ActionResult, is_list_end
from amilab.protocol.serialize import Action
from amilab.protocol.state import ConnState, transition

__all__ = ["ClientProtocol", "Completed", "Greeting"]

#: Caller-chosen ActionIDs of abandoned actions remembered until their late
#: answer arrives; beyond this the oldest are forgotten, to bound memory.
MAX_ABANDONED_IDS = 1024


@dataclass(frozen=True, slots=True)
class Greeting:
    """The server's first line; ``version`` is the AMI version (e.g. ``11.0.0``)."""

    line: str
    version: str


@dataclass(frozen=True, slots=True)
class Completed:
    """A pending action received its whole answer."""

    action_id: str
    result: ActionResult


class _Pending:
    __slots__ = ("chosen", "listing", "result")

    def __init__(self, action: Action, chosen: bool) -> None:
        self.result = ActionResult(action=action)
        self.listing = False
        self.chosen = chosen  # the caller gave the ActionID


def _starts_list(response: Message) -> bool:
    marker = response.get("EventList")
    if marker is not None:
        return marker.lower() == "start"
    # Before EventList existed, list actions said e.g. "Channel status will follow".
    return (response.get("Message") or "").lower().endswith("will follow")


class ClientProtocol:
    """Sans-IO AMI client state: framing, ActionIDs, correlation, lifecycle."""

    def __init__(
        self,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        id_prefix: str | None = None,
    ) -> None:
        self.buffer = ReceiveBuffer(max_message_size=max_message_size, max_headers=max_headers)
        self.state = ConnState.GREETING
        self.pending: dict[str, _Pending] = {}
        self.stray_responses = 0
        # Abandoned caller-chosen ActionID -> True once its late list has started.
        self._abandoned: dict[str, bool] = {}
        self._prefix = id_prefix or f"amilab-{os.getpid()}-{os.urandom(3).hex()}-"
        self._ids = itertools.count(1)

    def next_action_id(self) -> str:
        return f"{self._prefix}{next(self._ids)}"

    def _move(self, event: str) -> None:
        self.state = transition(self.state, event)

    # -- lifecycle ---------------------------------------------------------
    def start_login(self) -> None:
        """Record that the login flow began (after the greeting)."""
        self._move("login")

    def login_finished(self, ok: bool) -> None:
        """Record the login outcome; actions may be sent once it is ``True``."""
        self._move("login_ok" if ok else "login_failed")

    # -- sending -----------------------------------------------------------
    def send(self, action: Action) -> tuple[str, bytes]:
        """Register ``action`` as pending; return its ActionID and the bytes to write.

        A caller-given ActionID is kept if unused; a duplicate of a pending
        one raises ``ValueError`` (its answers could not be told apart).
        """
        if self.state in (ConnState.CLOSED, ConnState.ERROR):
            transition(self.state, "send")  # raises, naming the state
        action_id = action.action_id
        chosen = action_id is not None
        if action_id is None:
            action_id = self.next_action_id()
            action = action.with_action_id(action_id)
        elif action_id in self.pending:
            raise ValueError(f"ActionID {action_id!r} is already in use by a pending action")
        elif action_id in self._abandoned:
            raise ValueError(
                f"ActionID {action_id!r} belongs to an action that timed out or was "
                "cancelled and whose answer may still arrive; choose another ActionID"
            )
        self.pending[action_id] = _Pending(action, chosen)
        return action_id, action.to_bytes()

    def cancel(self, action_id: str) -> None:
        """Forget a pending action (timed out or cancelled); late answers become strays."""
        entry = self.pending.pop(action_id, None)
        if entry is not None and entry.chosen:
            self._abandoned[action_id] = entry.listing
            if len(self._abandoned) > MAX_ABANDONED_IDS:
                del self._abandoned[next(iter(self._abandoned))]

    # -- receiving ---------------------------------------------------------
    def receive_data(self, data: bytes) -> list[Message | Completed | Greeting]:
        """Feed received bytes; return greetings, completions and events, in order.

        Raises :class:`~amilab.errors.ProtocolError` on malformed or oversized
        input; the caller closes the connection and calls :meth:`fail_all`.
        """
        buffer = self.buffer
        had_greeting = buffer.greeting is not None
        try:
            messages = buffer.feed(data)
        except Exception:
            if self.state not in (ConnState.CLOSED, ConnState.ERROR):
                self._move("protocol_error")
            raise
        out: list[Message | Completed | Greeting] = []
        if not had_greeting and buffer.greeting is not None:
            self._move("greeting")
            version = buffer.greeting.rpartition("/")[2]
            out.append(Greeting(buffer.greeting, version))
        if not self.pending and not self._abandoned:
            # Nothing to correlate, but a response here is still a stray (e.g. a
            # late answer to a cancelled action) and must be counted.
            for msg in messages:
                if not msg.raw.startswith(b"Event: ") and msg.kind == "response":
                    self.stray_responses += 1
            if out:
                out.extend(messages)
                return out
            return messages  # type: ignore[return-value]
        for msg in messages:
            self._route(msg, out)
        return out

    def _route(self, msg: Message, out: list[Message | Completed | Greeting]) -> None:
        action_id = msg.action_id
        entry = self.pending.get(action_id) if action_id is not None else None
        if entry is None:
            if msg.kind == "response":
                self.stray_responses += 1
            if action_id in self._abandoned:
                self._settle(action_id, msg)
            out.append(msg)
            return
        result = entry.result
        if not result:
            if msg.kind != "response":
                out.append(msg)  # e.g. a UserEvent overtaking its own response
                return
            result.append(msg)
            entry.listing = _starts_list(msg)
            if not entry.listing:
                self._complete(action_id, out)  # type: ignore[arg-type]
            return
        if not entry.listing or msg.kind != "event":
            out.append(msg)
            return
        result.append(msg)
        if is_list_end(msg):
            self._complete(action_id, out)  # type: ignore[arg-type]

    def _settle(self, action_id: str, msg: Message) -> None:
        """Free an abandoned ActionID once its late answer (and any list) has ended."""
        if msg.kind == "response":
            if _starts_list(msg):
                self._abandoned[action_id] = True
            else:
                del self._abandoned[action_id]
        elif self._abandoned[action_id] and is_list_end(msg):
            del self._abandoned[action_id]

    def _complete(self, action_id: str, out: list[Message | Completed | Greeting]) -> None:
        entry = self.pending.pop(action_id)
        entry.result.complete = True
        out.append(Completed(action_id, entry.result))

    def receive_eof(self) -> list[str]:
        """The peer closed. Returns the ActionIDs that can never complete."""
        self._move("close")
        return self.fail_all()

    def fail_all(self) -> list[str]:
        """Drop every pending action and return their ActionIDs."""
        ids = list(self.pending)
        self.pending.clear()
        return ids
