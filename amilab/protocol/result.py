"""ActionResult: what one action produced, as the list of its messages."""

from __future__ import annotations

from typing import Any

from amilab.protocol.message import Message

__all__ = ["ActionResult"]

_OK = frozenset({"success", "follows", "goodbye"})


def is_list_end(msg: Message) -> bool:
    """True for the event that closes a list.

    That is ``EventList: Complete``/``Cancelled``, or, from servers that
    predate the ``EventList`` header, an event named ``...Complete``
    (e.g. ``StatusComplete``).
    """
    raw = msg.raw
    if _has_line(raw, b"EventList: Complete") or _has_line(raw, b"EventList: Cancelled"):
        return True
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
    know) with properties for the common questions. The protocol stays free of
    pandas: the client hands out :class:`amilab.results.ActionResult`, this
    class plus ``.df`` and ``to_frame()`` from :mod:`amilab.frames`.
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
        """True unless the server answered ``Response: Error`` (or nothing)."""
        return bool(self) and (self[0].get("Response") or "").lower() in _OK

    @property
    def message(self) -> str | None:
        """The response's ``Message`` text, e.g. the server's error explanation."""
        return self.response.get("Message") if self else None

    @property
    def events(self) -> list[Message]:
        """The list items, without the closing ``...Complete`` event."""
        items = self[1:]
        if items and is_list_end(items[-1]):
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
        status = self[0].get("Response", "?") if self else "pending"
        extra = f", {len(self.events)} events" if len(self) > 1 else ""
        return f"<ActionResult {name}: {status}{extra}>"
