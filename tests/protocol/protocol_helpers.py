"""Protocol test helpers: a ClientProtocol taken through its own login by hand."""

from __future__ import annotations

from typing import Any

from amilab.protocol.client import ClientProtocol, Greeting, LoggedIn
from amilab.protocol.login import Credentials
from amilab.protocol.message import Message

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
CREDENTIALS = Credentials("admin", "test-secret", auth="plain")


def reply_to(sent: bytes, *extra: tuple[str, str], status: str = "Success") -> bytes:
    """A response block answering the action in ``sent`` (same ActionID)."""
    aid = Message(sent.rstrip(b"\r\n")).action_id
    head = [("Response", status), ("ActionID", aid or "")]
    return "".join(f"{k}: {v}\r\n" for k, v in [*head, *extra]).encode() + b"\r\n"


def logged_in_client(**options: Any) -> ClientProtocol:
    """A ClientProtocol that saw the greeting and had its own plain Login accepted."""
    proto = ClientProtocol(CREDENTIALS, **options)
    out = proto.receive_data(GREETING)
    assert out == [Greeting("Asterisk Call Manager/11.0.0", "11.0.0")]
    login = proto.data_to_send()
    assert login.startswith(b"Action: Login\r\n")
    (done,) = proto.receive_data(reply_to(login, ("Message", "Authentication accepted")))
    assert isinstance(done, LoggedIn) and proto.ready
    return proto
