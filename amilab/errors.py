"""The amilab exception tree.

Every error amilab raises on purpose is an :class:`AMIError`. Where an error
resembles a built-in one it subclasses that too, so ``except TimeoutError``
and ``except ConnectionError`` work as expected::

    AMIError
    +-- ProtocolError (ValueError)        malformed or oversized bytes from the peer
    +-- AuthenticationError               wrong username/secret, or login refused
    +-- ActionError                       the server answered ``Response: Error``
    +-- ActionTimeout (TimeoutError)      no complete answer within ``timeout``
    +-- ConnectionLost (ConnectionError)  the link dropped, or the peer stopped answering
    +-- NotConnected (ConnectionError)    an action was sent with no live connection
    +-- LoopThreadError (RuntimeError)    a blocking call was made from the I/O thread itself

``ValueError`` (not an AMIError) is raised for bad input to an action before
anything is sent, e.g. a header-injection attempt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amilab.protocol.result import ActionResult

__all__ = [
    "AMIError",
    "ActionError",
    "ActionTimeout",
    "AuthenticationError",
    "ConnectionLost",
    "LoopThreadError",
    "NotConnected",
    "ProtocolError",
]


class AMIError(Exception):
    """Base class of every error amilab raises on purpose."""


class ProtocolError(AMIError, ValueError):
    """The peer sent bytes that are not valid AMI, or exceeded a size limit."""


class AuthenticationError(AMIError):
    """Login failed: wrong username or secret, or the server refused it."""


class ActionError(AMIError):
    """The server answered an action with ``Response: Error``.

    ``.result`` holds the full :class:`ActionResult`; ``str()`` shows the
    server's own ``Message``.
    """

    def __init__(self, message: str, result: ActionResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class ActionTimeout(AMIError, TimeoutError):
    """No complete answer arrived within the action's ``timeout``."""


class ConnectionLost(AMIError, ConnectionError):
    """The connection dropped or the peer stopped answering pings."""


class NotConnected(AMIError, ConnectionError):
    """An action was attempted while there is no live, logged-in connection."""


class LoopThreadError(AMIError, RuntimeError):
    """A blocking Session call was made from the Session's own I/O thread."""
