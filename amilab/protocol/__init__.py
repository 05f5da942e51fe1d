"""Sans-IO AMI protocol core: bytes in, messages out, bytes to send. Stdlib only."""

from amilab.protocol.buffer import DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_SIZE, ReceiveBuffer
from amilab.protocol.client import (
    ClientProtocol,
    Completed,
    Greeting,
    LoggedIn,
    LoginFailed,
    Stray,
)
from amilab.protocol.login import Credentials, Secret, challenge_key, login_flow, setup_flow
from amilab.protocol.message import Message
from amilab.protocol.result import ActionResult
from amilab.protocol.serialize import Action, normalize_headers
from amilab.protocol.server import AMI_VERSION, ServerProtocol
from amilab.protocol.state import ConnState, LinkState

__all__ = [
    "AMI_VERSION",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "Action",
    "ActionResult",
    "ClientProtocol",
    "Completed",
    "ConnState",
    "Credentials",
    "Greeting",
    "LinkState",
    "LoggedIn",
    "LoginFailed",
    "Message",
    "ReceiveBuffer",
    "Secret",
    "ServerProtocol",
    "Stray",
    "challenge_key",
    "login_flow",
    "normalize_headers",
    "setup_flow",
]
