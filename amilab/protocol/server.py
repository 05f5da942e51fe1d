"""ServerProtocol: the server side of AMI, without I/O (used by the simulator).

The caller writes :meth:`greeting` on accept, feeds received bytes to
:meth:`receive_data` to get the client's actions as :class:`Message`\\ s, and
writes what :meth:`response` and :meth:`event` return. Header order follows
Asterisk 22's ``astman_send_response_full``: ``Response``, ``ActionID``,
``EventList``, ``Message``, then any further headers.
"""

from __future__ import annotations

from typing import Any

from amilab.protocol.buffer import DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_SIZE, ReceiveBuffer
from amilab.protocol.message import Message
from amilab.protocol.serialize import HeaderInput, encode_pairs, normalize_headers

__all__ = ["AMI_VERSION", "ServerProtocol"]

#: The AMI protocol version Asterisk 22 announces in its greeting.
AMI_VERSION = "11.0.0"


class ServerProtocol:
    """Sans-IO AMI server framing: greeting out, actions in, responses and events out."""

    def __init__(
        self,
        *,
        version: str = AMI_VERSION,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        self.version = version
        self.buffer = ReceiveBuffer(
            expect_greeting=False, max_message_size=max_message_size, max_headers=max_headers
        )

    def greeting(self) -> bytes:
        """The first line a client receives (one CRLF, not a blank line)."""
        return f"Asterisk Call Manager/{self.version}\r\n".encode()

    def receive_data(self, data: bytes) -> list[Message]:
        """Feed received bytes; return the complete actions they hold."""
        return self.buffer.feed(data)

    @staticmethod
    def response(
        action: Message | None,
        status: str = "Success",
        message: str | None = None,
        headers: HeaderInput | None = None,
        *,
        event_list: str | None = None,
    ) -> bytes:
        """A ``Response:`` block answering ``action`` (its ActionID echoed back)."""
        head: list[tuple[str, Any]] = [("Response", status)]
        action_id = action.action_id if action is not None else None
        if action_id:
            head.append(("ActionID", action_id))
        if event_list is not None:
            head.append(("EventList", event_list))
        if message is not None:
            head.append(("Message", message))
        # Each pair validated once (the headers were checked a second time before).
        return encode_pairs(normalize_headers(head) + normalize_headers(headers))

    @staticmethod
    def event(
        name: str, headers: HeaderInput | None = None, *, action_id: str | None = None
    ) -> bytes:
        """An ``Event:`` block; ``action_id`` (for list items) goes right after the name."""
        # Each pair is validated once: the name and ActionID here, the headers as
        # they are flattened (they were checked a second time over the whole list).
        head: list[tuple[str, Any]] = [("Event", name)]
        if action_id:
            head.append(("ActionID", action_id))
        return encode_pairs(normalize_headers(head) + normalize_headers(headers))
