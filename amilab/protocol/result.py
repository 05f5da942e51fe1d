"""ActionResult: what one action produced, as the list of its messages."""

from __future__ import annotations

from typing import Any

from amilab.protocol.message import Message

__all__ = ["ActionResult"]

_OK = frozenset({"success", "follows", "goodbye"})


def _is_ok(response: Message) -> bool:
    # The name is read from the first line's bytes (``Response: Success``) and
    # cached; no need to parse every header of each answer on the action path.
    if response.raw.startswith(b"Response: "):
        return (response.name or "").lower() in _OK
    return (response.get("Response") or "").lower() in _OK


def is_list_end(msg: Message) -> bool:
    """True for the event that closes a list.

    That is ``EventList: Complete``/``Cancelled``, or, from servers that
    predate the ``EventList`` header, an event named ``...Complete``
    (e.g. ``StatusComplete``).
    """
    raw = msg.raw
    if _has_line(raw, b"EventList: Complete") or _has_line(raw, b"EventList: Cancelled"):
        return True
    # List items carry no EventList line: skip parsing every header of each item
    # just to find none (a third of a list action's cost, benchmarks/actions.py).
    if b"eventlist" in raw.lower():
        marker = msg.get("EventList")
        if marker is not None:
            return marker.lower() in ("complete", "cancelled")
    return msg.kind == "event" and (msg.name or "").endswith("Complete")


def _has_line(raw: bytes, line: bytes) -> bool:
    """True if ``line`` is a whole line of ``raw``, not text inside a header value.

    A value is free text from outside (a caller's name can read
    ``EventList: Complete``); a line start cannot be, values hold no newline.
    """
    start = raw.find(line)
    while start >= 0:
        end = start + len(line)
        if (start == 0 or raw[start - 1] == 10) and raw[end : end + 1] in (b"", b"\r", b"\n"):
            return True
        start = raw.find(line, start + 1)
    return False


class ActionResult(list[Message]):
    """The response first, then the list's events, the ``...Complete`` event last.

    A plain ``list`` of :class:`Message` (the shape DAMI and panoramisk users
    know) with properties for the common questions. A list that the server
    broke off ends with a second response instead of a ``...Complete`` event:
    Asterisk 22's ShowDialPlan for a missing extension sends
    ``EventList: start``, some items, then ``Response: Error``
    (tests/fixtures/asterisk22/showdialplan_missing_extension.ami). That
    response is :attr:`error`; it makes :attr:`ok` false and gives
    :attr:`message`, and :attr:`events` still holds the items received.

    The protocol stays free of pandas: the client hands out
    :class:`amilab.results.ActionResult`, this class plus ``.df`` and
    ``to_frame()`` from :mod:`amilab.frames`.
    """

    def __init__(self, messages: list[Message] | None = None, *, action: Any = None) -> None:
        super().__init__(messages or [])
        self.action = action
        self.complete = False

    @property
    def response(self) -> Message:
        """The ``Response:`` message."""
        if not self:
            raise ValueError("this result holds no response yet")
        return self[0]

    @property
    def ok(self) -> bool:
        """True unless the server answered ``Response: Error`` (or nothing), first or last."""
        if not self or not _is_ok(self[0]):
            return False
        closing = self.closing_response
        return closing is None or _is_ok(closing)

    @property
    def closing_response(self) -> Message | None:
        """A second response that ended the list, if the server broke the list off."""
        if len(self) > 1 and self[-1].kind == "response":
            return self[-1]
        return None

    @property
    def error(self) -> Message | None:
        """The ``Response: Error`` that broke the list off, if any."""
        closing = self.closing_response
        return closing if closing is not None and not _is_ok(closing) else None

    @property
    def message(self) -> str | None:
        """The ``Message`` text, e.g. the server's error explanation.

        From the closing response when the server broke the list off, else
        from the first response.
        """
        if not self:
            return None
        closing = self.closing_response
        return (closing if closing is not None else self[0]).get("Message")

    @property
    def events(self) -> list[Message]:
        """The list items, without the closing ``...Complete`` event or response."""
        items = self[1:]
        if items and (items[-1].kind == "response" or is_list_end(items[-1])):
            items = items[:-1]
        return items

    @property
    def list_end(self) -> Message | None:
        """The closing ``...Complete`` event, if this was a list action."""
        if len(self) > 1 and is_list_end(self[-1]):
            return self[-1]
        return None

    @property
    def output(self) -> str:
        """Command output as text: the ``Output`` lines joined with newlines."""
        return "\n".join(self.response.getall("Output")) if self else ""

    def __repr__(self) -> str:
        name = getattr(self.action, "name", None) or "?"
        status = (self.error or self[0]).get("Response", "?") if self else "pending"
        extra = f", {len(self.events)} events" if len(self) > 1 else ""
        return f"<ActionResult {name}: {status}{extra}>"
