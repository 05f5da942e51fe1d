"""Sans-IO AMI protocol core: bytes in, messages out, bytes to send. Stdlib only."""

from amilab.protocol.buffer import DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_SIZE, ReceiveBuffer
from amilab.protocol.client import ClientProtocol, Completed, Greeting
from amilab.protocol.login import challenge_key, login_flow
from amilab.protocol.message import Message
from amilab.protocol.result import ActionResult
from amilab.protocol.serialize import Action, normalize_headers
from amilab.protocol.server import AMI_VERSION, ServerProtocol
from amilab.protocol.state import ConnState

__all__ = [
    "AMI_VERSION",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "Action",
    "ActionResult",
    "ClientProtocol",
    "Completed",
    "ConnState",
    "Greeting",
    "Message",
    "ReceiveBuffer",
    "ServerProtocol",
    "challenge_key",
    "login_flow",
    "normalize_headers",
]
