"""ClientProtocol: the client side of AMI, without I/O.

Theory of operation. The caller owns a socket and this object:

1. ``receive_data(chunk)`` returns what the bytes completed, in order:
   :class:`Greeting` once; then, if credentials were given, the protocol logs
   in by itself (the plain or MD5 login of :func:`~amilab.protocol.login.setup_flow`,
   then the event filters) and reports :class:`LoggedIn` or
   :class:`LoginFailed`; :class:`Completed` when a pending action has its
   whole answer; bare :class:`Message` objects for events, which the caller
   dispatches to handlers; and :class:`Stray` for responses (and late list
   items) that belong to no pending action, which the caller logs and never
   dispatches.
2. After every call the caller writes :meth:`data_to_send` to the socket:
   the login actions are the protocol's own.
3. ``send(action)`` assigns a unique ``ActionID``, records the action as
   pending and returns the bytes to write. It is refused before ``READY``
   by the state table (:mod:`amilab.protocol.state`).
4. ``receive_eof()`` (or ``fail_all``) ends the stream and returns the actions
   that will never complete, so the caller can fail them.

Routing: a ``Response`` goes to the pending action with its ActionID. If it
says ``EventList: start`` (any case: FAXSessions sends ``Start``), the action
then collects the events carrying its ActionID until the one with
``EventList: Complete``/``Cancelled``, or until a second ``Response`` with its
ActionID, which ends the list early: Asterisk 22's ShowDialPlan sends
``Response: Error`` after the items when the extension is missing
(tests/fixtures/asterisk22/showdialplan_missing_extension.ami). Any other
message is an event, even one carrying the ActionID of a finished action:
Asterisk 22 sends ``OriginateResponse``, ``UserEvent`` and ``FAXStats``
(whose response has no EventList, faxstats.ami) that way, and they must reach
handlers, not vanish.

Servers before AMI 2.7.0 (Asterisk 13.2, commit 4b363688d4 "Make AMI actions
that generate event lists consistent") started some lists without
``EventList``, saying only "... will follow" (``Status``: "Channel status
will follow", ended by ``StatusComplete``). For them alone, that wording
starts a list; "<Name> event will follow" (res_fax's FAXStats and FAXSession)
announces a single event, which completes the action. From AMI 2.7.0 on, the
wording means nothing: only ``EventList: start`` starts a list.

Abandoned actions: an action that timed out or was cancelled is forgotten,
and its late answer is reported as a :class:`Stray`. Generated ActionIDs never
repeat, but a caller may choose the same ActionID again; until the abandoned
action's answer has arrived, that ActionID is refused, so the late answer can
never be taken for the new action's.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from amilab.errors import AMIError
from amilab.protocol.buffer import DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_SIZE, ReceiveBuffer
from amilab.protocol.login import Credentials, LoginFlow, setup_flow
from amilab.protocol.message import Message
from amilab.protocol.result import ActionResult, is_list_end
from amilab.protocol.serialize import Action
from amilab.protocol.state import ConnState, transition

__all__ = [
    "ClientProtocol",
    "Completed",
    "Greeting",
    "LoggedIn",
    "LoginFailed",
    "Output",
    "Stray",
]

#: ActionIDs of abandoned actions whose late answer is still due (caller-chosen
#: ones, and any whose list was arriving), remembered until it has ended; beyond
#: this the oldest are forgotten, to bound memory.
MAX_ABANDONED_IDS = 1024
#: The first AMI version whose list actions all say ``EventList: start``
#: (Asterisk 13.2.0, main/manager.c commit 4b363688d4). Older servers started
#: some lists with "... will follow" alone.
EVENTLIST_AMI_VERSION = (2, 7, 0)

# What an action still expects (``_Pending.mode`` and ``_abandoned`` values).
_RESPONSE = 0  # its Response
_LIST = 1  # events up to the list end (or a second Response)
_ONE_EVENT = 2  # one event (pre-2.7.0 "<Name> event will follow")
_DONE = 3  # nothing: the Response was the whole answer


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
class Stray:
    """A message that answers no pending action; log it, do not dispatch it.

    ``reason`` is :attr:`UNKNOWN` (a response whose ActionID no pending action
    has: a duplicate answer, or one to an ActionID this protocol never sent) or
    :attr:`ABANDONED` (the late answer, or late list item, of an action that
    timed out or was cancelled). :attr:`ClientProtocol.stray_responses` counts
    the responses among them.
    """

    message: Message
    reason: str

    UNKNOWN: ClassVar[str] = "no pending action has this ActionID"
    ABANDONED: ClassVar[str] = "late answer to an action that timed out or was cancelled"


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """The protocol's own login (and filters) succeeded: the connection is READY."""

    result: ActionResult  # the answer to Login


@dataclass(frozen=True, slots=True)
class LoginFailed:
    """The login or a filter was refused; the connection is in ERROR and must be closed."""

    error: AMIError  # AuthenticationError, or ActionError for a refused filter


Output = Message | Completed | Greeting | LoggedIn | LoginFailed | Stray

#: Actions a caller may send itself before READY when the protocol was given no
#: credentials (a raw test client, a tool that logs in its own way).
_LOGIN_ACTIONS = frozenset({"login", "challenge"})


class _Pending:
    __slots__ = ("chosen", "internal", "login", "mode", "result")

    def __init__(
        self, result: ActionResult, chosen: bool, internal: bool = False, login: bool = False
    ) -> None:
        self.result = result
        self.mode = _RESPONSE
        self.chosen = chosen  # the caller gave the ActionID
        self.internal = internal  # one of the protocol's own login actions
        self.login = login  # a Login the caller sent itself: its answer moves the state


def _after_response(response: Message, legacy: bool) -> int:
    """What an action expects once ``response`` arrived: ``_LIST``, ``_ONE_EVENT`` or ``_DONE``."""
    # Most responses (a Ping's, an Originate's) have no EventList line: do not
    # parse all their headers to find none.
    if not legacy and b"eventlist" not in response.raw.lower():
        return _DONE
    marker = response.get("EventList")
    if marker is not None:
        return _LIST if marker.lower() == "start" else _DONE
    if not legacy:
        # Asterisk 22's FAXStats says "FAXStats event will follow" with no
        # EventList and sends one FAXStats event (faxstats.ami): not a list.
        return _DONE
    text = (response.get("Message") or "").lower()
    if text.endswith("event will follow"):
        return _ONE_EVENT
    return _LIST if text.endswith("will follow") else _DONE


def _ami_version(greeting: str) -> tuple[int, ...] | None:
    """The AMI version of a greeting line as numbers, e.g. ``(11, 0, 0)``; None if unreadable."""
    parts = []
    for part in greeting.rpartition("/")[2].strip().split("."):
        digits = part[: len(part) - len(part.lstrip("0123456789"))]
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or None


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
        # Abandoned ActionID -> what its late answer still owes (_RESPONSE, _LIST, _ONE_EVENT).
        self._abandoned: dict[str, int] = {}
        # ActionIDs (pending or abandoned) whose answer is still collecting events:
        # only while it is non-empty can an event belong to an action, so an event
        # flood with only Pings pending takes the fast path (benchmarks/flood.py).
        self._collecting: set[str] = set()
        # Until a greeting says otherwise, "... will follow" may start a list.
        self._legacy_lists = True
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
        """Forget a pending action (timed out or cancelled); late answers become strays.

        A caller-chosen ActionID is remembered until its late answer ends, so it
        cannot be reused too early; so is any ActionID whose list was arriving,
        so its remaining items are strays, not events. A generated ActionID
        cancelled before its response is not remembered (it never repeats, and
        remembering it would put every later event on the slow path until an
        answer that may never come); if its late response starts a list, the
        list is taken as strays from then on (see :meth:`_expect_rest`).
        """
        entry = self.pending.pop(action_id, None)
        if entry is not None and (entry.chosen or entry.mode != _RESPONSE):
            self._remember(action_id, entry.mode)
        else:
            self._collecting.discard(action_id)

    # -- receiving ---------------------------------------------------------
    def receive_data(self, data: bytes) -> list[Output]:
        """Feed received bytes; return greetings, completions, events and strays, in order.

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
            # An unreadable version counts as old: every Asterisk that sends
            # EventList greets with a numeric version (11.0.0 for Asterisk 22).
            numbers = _ami_version(buffer.greeting)
            self._legacy_lists = numbers is None or numbers < EVENTLIST_AMI_VERSION
            out.append(Greeting(buffer.greeting, version))
            self._start_login(out)
        collecting = self._collecting  # mutated in place, never rebound
        if not collecting:
            # The event-flood path, with or without actions pending: an event can
            # only belong to an action whose answer is collecting events (a list,
            # or a pre-2.7.0 single event), and none is. Only a chunk holding a
            # message that is not an event (a response) is routed one by one.
            for msg in messages:
                if not msg.raw.startswith(b"Event: "):
                    break
            else:
                if out:
                    out.extend(messages)
                    return out
                return messages  # type: ignore[return-value]
        for msg in messages:
            if not collecting and msg.raw.startswith(b"Event: "):
                out.append(msg)
            else:
                self._route(msg, out)
        return out

    def _route(self, msg: Message, out: list[Output]) -> None:
        action_id = msg.action_id
        if action_id is None:
            # Most traffic: events carry no ActionID (kept inline, it is per event).
            if msg.kind == "response":
                self._unclaimed(action_id, msg, out)
            else:
                out.append(msg)
            return
        entry = self.pending.get(action_id)
        if entry is None:
            self._unclaimed(action_id, msg, out)
            return
        is_response = msg.kind == "response"
        if entry.mode == _RESPONSE:
            if not is_response:
                out.append(msg)  # e.g. a UserEvent overtaking its own response
                return
            entry.result.append(msg)
            entry.mode = _after_response(msg, self._legacy_lists)
            if entry.mode != _DONE:
                self._collecting.add(action_id)
            if entry.mode == _DONE:
                self._complete(action_id, out)
            return
        # Collecting: every event with the ActionID belongs to the action; a
        # second response ends a list early (ShowDialPlan's Response: Error).
        if not is_response and msg.kind != "event":
            out.append(msg)
            return
        entry.result.append(msg)
        if is_response or entry.mode == _ONE_EVENT or is_list_end(msg):
            self._complete(action_id, out)

    def _unclaimed(
        self,
        action_id: str | None,
        msg: Message,
        out: list[Output],
    ) -> None:
        """A message no pending action claims: an event, or a stray."""
        is_response = msg.kind == "response"
        if action_id is not None and action_id in self._abandoned:
            if self._settle(action_id, msg, is_response):
                if is_response:
                    self.stray_responses += 1
                out.append(Stray(msg, Stray.ABANDONED))
                return
        elif is_response:
            self.stray_responses += 1
            own = action_id is not None and action_id.startswith(self._prefix)
            # A generated ActionID that is not pending belongs to an action
            # cancelled before its answer (generated IDs never repeat).
            out.append(Stray(msg, Stray.ABANDONED if own else Stray.UNKNOWN))
            if action_id is not None:
                self._expect_rest(action_id, msg)
            return
        out.append(msg)

    def _expect_rest(self, action_id: str, response: Message) -> None:
        """After a stray response that starts a list, take its items as strays too.

        Without this, the items and the list end of a list action cancelled
        before its response would reach event handlers as if the PBX had
        sent them unasked.
        """
        owed = _after_response(response, self._legacy_lists)
        if owed != _DONE:
            self._remember(action_id, owed)

    def _remember(self, action_id: str, owed: int) -> None:
        """Note what an abandoned action's late answer still owes, keeping the newest only."""
        self._abandoned[action_id] = owed
        if owed in (_LIST, _ONE_EVENT):
            self._collecting.add(action_id)
        else:
            self._collecting.discard(action_id)
        if len(self._abandoned) > MAX_ABANDONED_IDS:
            oldest = next(iter(self._abandoned))
            del self._abandoned[oldest]
            self._collecting.discard(oldest)

    def _settle(self, action_id: str, msg: Message, is_response: bool) -> bool:
        """Advance an abandoned action's late answer; True if ``msg`` is part of it.

        The ActionID is freed once the late answer (and any list) has ended.
        """
        owed = self._abandoned[action_id]
        if owed == _RESPONSE:
            if not is_response:
                return False  # an event before the late response (UserEvent)
            owed = _after_response(msg, self._legacy_lists)
        elif is_response or owed == _ONE_EVENT or is_list_end(msg):
            owed = _DONE
        if owed == _DONE:
            del self._abandoned[action_id]
            self._collecting.discard(action_id)
        else:
            self._abandoned[action_id] = owed
            self._collecting.add(action_id)
        return True

    def _complete(self, action_id: str, out: list[Output]) -> None:
        entry = self.pending.pop(action_id)
        self._collecting.discard(action_id)
        entry.result.complete = True
        if entry.internal:
            self._advance(entry.result, out)
            return
        if entry.login and self.state in (ConnState.CONNECTED, ConnState.AUTHENTICATING):
            # A Login the caller sent itself (no credentials given, or a raw client
            # that sent it before or right after the greeting): its answer moves the state.
            if self.state is ConnState.CONNECTED:
                self._move("login")
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
        self._collecting.intersection_update(self._abandoned)
        self._outgoing.clear()
        return ids
