"""ClientProtocol: the client side of AMI, without I/O.

Theory of operation. The caller owns a socket and this object:

1. ``receive_data(chunk)`` returns what the bytes completed, in order:
   :class:`Greeting` once; then, if credentials were given, the protocol logs
   in by itself (the plain or MD5 login of :func:`~amilab.protocol.login.setup_flow`,
   then the event filters) and reports :class:`LoggedIn` or
   :class:`LoginFailed`; :class:`Completed` when a pending action has its
   whole answer; bare :class:`Message` objects for events, which the caller
   dispatches to handlers.
2. After every call the caller writes :meth:`data_to_send` to the socket:
   the login actions are the protocol's own.
3. ``send(action)`` assigns a unique ``ActionID``, records the action as
   pending and returns the bytes to write. It is refused before ``READY``
   by the state table (:mod:`amilab.protocol.state`).
4. ``receive_eof()`` (or ``fail_all``) ends the stream and returns the actions
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
from collections.abc import Iterable
from dataclasses import dataclass

from amilab.errors import AMIError
from amilab.protocol.buffer import DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_SIZE, ReceiveBuffer
from amilab.protocol.login import Credentials, LoginFlow, setup_flow
from amilab.protocol.message import Message
from amilab.protocol.result import ActionResult, is_list_end
from amilab.protocol.serialize import Action
from amilab.protocol.state import ConnState, transition

__all__ = ["ClientProtocol", "Completed", "Greeting", "LoggedIn", "LoginFailed", "Output"]

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


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """The protocol's own login (and filters) succeeded: the connection is READY."""

    result: ActionResult  # the answer to Login


@dataclass(frozen=True, slots=True)
class LoginFailed:
    """The login or a filter was refused; the connection is in ERROR and must be closed."""

    error: AMIError  # AuthenticationError, or ActionError for a refused filter


Output = Message | Completed | Greeting | LoggedIn | LoginFailed


#: Actions a caller may send itself before READY when the protocol was given no
#: credentials (a raw test client, a tool that logs in its own way).
_LOGIN_ACTIONS = frozenset({"login", "challenge"})


class _Pending:
    __slots__ = ("chosen", "internal", "listing", "login", "result")

    def __init__(
        self, result: ActionResult, chosen: bool, internal: bool = False, login: bool = False
    ) -> None:
        self.result = result
        self.listing = False
        self.chosen = chosen  # the caller gave the ActionID
        self.internal = internal  # one of the protocol's own login actions
        self.login = login  # a Login the caller sent itself: its answer moves the state


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
        credentials: Credentials | None = None,
        *,
        filters: Iterable[str] = (),
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        id_prefix: str | None = None,
        result_type: type[ActionResult] = ActionResult,
        raw: bool = False,
    ) -> None:
        """``credentials``: log in after the greeting (without them the caller
        may send ``Challenge``/``Login`` itself; nothing else before READY).
        ``filters``: event filters added right after login.
        ``result_type``: the :class:`ActionResult` subclass to build (the client
        layer passes one with DataFrame helpers; the protocol stays pandas-free).
        ``raw``: a diagnostic client that may send any action while the
        connection is open, e.g. to record how a server answers an action
        before login (``tests/fixtures/asterisk22/action_before_login.ami``).
        """
        self.buffer = ReceiveBuffer(max_message_size=max_message_size, max_headers=max_headers)
        self.state = ConnState.GREETING
        self.pending: dict[str, _Pending] = {}
        self._credentials = credentials
        self._filters = tuple(filters)
        self._flow: LoginFlow | None = None
        self._outgoing: list[bytes] = []
        self._result_type = result_type
        self._raw = raw
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
    @property
    def ready(self) -> bool:
        """True once logged in: ordinary actions may be sent."""
        return self.state is ConnState.READY

    def _start_login(self, out: list[Output]) -> None:
        """After the greeting: begin the login flow and queue its first action."""
        if self._credentials is None:
            return
        self._move("login")
        self._flow = setup_flow(self._credentials, self._filters)
        self._advance(None, out)

    def _advance(self, result: ActionResult | None, out: list[Output]) -> None:
        """Feed the flow the answer to its last action; queue its next, or finish."""
        flow = self._flow
        assert flow is not None
        try:
            action = next(flow) if result is None else flow.send(result)
        except StopIteration as done:
            self._flow = None
            self._move("login_ok")
            out.append(LoggedIn(done.value))
            return
        except AMIError as exc:
            self._flow = None
            self._move("login_failed")
            self.fail_all()
            out.append(LoginFailed(exc))
            return
        self._register(action, internal=True)

    def data_to_send(self) -> bytes:
        """Bytes the protocol itself wants written (its login actions); empties the queue."""
        if not self._outgoing:
            return b""
        data = b"".join(self._outgoing)
        self._outgoing.clear()
        return data

    # -- sending -----------------------------------------------------------
    def send(self, action: Action) -> tuple[str, bytes]:
        """Register ``action`` as pending; return its ActionID and the bytes to write.

        Refused (:class:`~amilab.errors.ProtocolError` naming the state) unless
        the connection is READY. Without credentials, the caller may log in
        itself: ``Challenge`` and ``Login`` are accepted after the greeting, and
        the Login's answer moves the state to READY or ERROR. A caller-given
        ActionID is kept if unused; a duplicate of a pending one raises
        ``ValueError`` (its answers could not be told apart).
        """
        if self.state is ConnState.READY:
            return self._register(action)
        name = action.name.lower()
        if self._raw and self.state not in (ConnState.CLOSED, ConnState.ERROR):
            return self._register(action, login=name == "login")
        if self._credentials is None and name in _LOGIN_ACTIONS:
            if self.state is ConnState.CONNECTED:
                self._move("login")
            if self.state is ConnState.AUTHENTICATING:
                return self._register(action, login=name == "login")
        transition(self.state, "send")  # raises, naming the state
        raise AssertionError("unreachable: 'send' is legal only in READY")

    def _register(
        self, action: Action, *, internal: bool = False, login: bool = False
    ) -> tuple[str, bytes]:
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
        data = action.to_bytes()
        self.pending[action_id] = _Pending(
            self._result_type(action=action), chosen, internal, login
        )
        if internal:
            self._outgoing.append(data)
        return action_id, data

    def cancel(self, action_id: str) -> None:
        """Forget a pending action (timed out or cancelled); late answers become strays."""
        entry = self.pending.pop(action_id, None)
        if entry is not None and entry.chosen:
            self._abandoned[action_id] = entry.listing
            if len(self._abandoned) > MAX_ABANDONED_IDS:
                del self._abandoned[next(iter(self._abandoned))]

    # -- receiving ---------------------------------------------------------
    def receive_data(self, data: bytes) -> list[Output]:
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
        out: list[Output] = []
        if not had_greeting and buffer.greeting is not None:
            self._move("greeting")
            version = buffer.greeting.rpartition("/")[2]
            out.append(Greeting(buffer.greeting, version))
            self._start_login(out)
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

    def _route(self, msg: Message, out: list[Output]) -> None:
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

    def _complete(self, action_id: str, out: list[Output]) -> None:
        entry = self.pending.pop(action_id)
        entry.result.complete = True
        if entry.internal:
            self._advance(entry.result, out)
            return
        if entry.login and self.state is ConnState.AUTHENTICATING:
            self._move("login_ok" if entry.result.ok else "login_failed")
        out.append(Completed(action_id, entry.result))

    def receive_eof(self) -> list[str]:
        """The peer closed. Returns the ActionIDs that can never complete."""
        self._move("close")
        self._flow = None
        return self.fail_all()

    def fail_all(self) -> list[str]:
        """Drop every pending action and return the caller's ActionIDs (not the login's)."""
        ids = [aid for aid, entry in self.pending.items() if not entry.internal]
        self.pending.clear()
        self._outgoing.clear()
        return ids
