"""Helpers the action handlers share: EventList framing, ActionID, durations."""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol

__all__ = ["aid", "event_list", "hms", "not_simulated", "require"]


def event_list(
    msg: Message,
    message: str,
    items: list[bytes],
    complete: str,
    extra: list[tuple[str, str]] | None = None,
) -> bytes:
    """An EventList: start response, the items, then ``<complete>`` with ListItems."""
    head = ServerProtocol.response(msg, "Success", message, event_list="start")
    tail_pairs = [("EventList", "Complete"), ("ListItems", str(len(items))), *(extra or [])]
    tail = ServerProtocol.event(complete, tail_pairs, action_id=msg.action_id)
    return head + b"".join(items) + tail


def aid(msg: Message) -> list[tuple[str, str]]:
    """``ActionID`` as a header pair, or nothing if the action had none."""
    return [("ActionID", msg.action_id)] if msg.action_id else []


def hms(seconds: float) -> str:
    """``01:02:03``: CoreShowChannel's ``Duration``."""
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def require(msg: Message, header: str, text: str) -> bytes | None:
    """An error reply with ``text`` when ``header`` is missing or empty, else None.

    Each module checks its headers in its own order and with its own text; the
    callers keep Asterisk 22's order (tests/fixtures/asterisk22/breadth.json).
    """
    return None if msg.get(header) else ServerProtocol.response(msg, "Error", text)


def not_simulated(msg: Message, what: str) -> bytes:
    """The honest answer to a request the simulator knows but does not carry out.

    Used where Asterisk 22 would act on a live channel in a way the model has
    no place for yet; the README's simulator limits list every such case.
    """
    return ServerProtocol.response(msg, "Error", f"{what} is not simulated by amilab")
