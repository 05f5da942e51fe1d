"""The login flow as a generator of actions: plain ``Secret`` or MD5 challenge.

Sans-IO in the style of httpx's ``auth_flow``: the driver sends each yielded
:class:`Action`, then ``.send()``\\ s back its :class:`ActionResult`. The flow
raises :class:`AuthenticationError` on refusal. :class:`ClientProtocol
<amilab.protocol.client.ClientProtocol>` drives :func:`setup_flow` itself after
the greeting (login, then the event filters), so no I/O layer repeats it.

Secrets: the secret travels as a :class:`Secret` from the user's call to the
one line that builds the wire bytes, so no frame between them holds it as a
plain ``str`` (IPython's ``%xmode Verbose``, pytest ``--showlocals`` and error
reporters print every local of every frame).
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterable
from typing import Literal

from amilab.errors import ActionError, AuthenticationError
from amilab.protocol.result import ActionResult
from amilab.protocol.serialize import Action, format_value

__all__ = ["AuthMode", "Credentials", "Secret", "challenge_key", "login_flow", "setup_flow"]

AuthMode = Literal["md5", "plain", "auto"]
LoginFlow = Generator[Action, ActionResult, ActionResult]


class Secret:
    """Holds a secret so that repr, str and traceback locals never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def wrap(cls, value: str | Secret) -> Secret:
        """``value`` as a Secret (unchanged if it is one already)."""
        return value if isinstance(value, Secret) else cls(value)

    def reveal(self) -> str:
        return self._value

    def __reduce__(self) -> str:
        raise TypeError("a Secret cannot be pickled (it would be written out in clear)")

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


class Credentials:
    """Who logs in and how: username, secret, auth mode and login event mask.

    Its repr shows the username, never the secret.
    """

    __slots__ = ("auth", "events", "secret", "username")

    def __init__(
        self,
        username: str,
        secret: str | Secret,
        *,
        auth: AuthMode = "auto",
        events: str | bool | None = None,
    ) -> None:
        if auth not in ("md5", "plain", "auto"):
            raise ValueError(f"auth must be 'md5', 'plain' or 'auto', not {auth!r}")
        hidden = Secret.wrap(secret)
        del secret
        # Checked here, when the client is built, not first at login deep inside the
        # I/O loop: CR, LF and NUL would cut the Login action short (manager.c reads
        # a line up to LF and a string up to NUL). The error never shows the value.
        format_value("Username", username)
        format_value("Secret", hidden.reveal())
        self.username = username
        self.secret = hidden
        self.auth: AuthMode = auth
        self.events = events

    def __repr__(self) -> str:
        return f"Credentials({self.username!r}, secret='***', auth={self.auth!r})"


def challenge_key(challenge: str, secret: str) -> str:
    """AMI's MD5 login key: ``md5(challenge + secret)`` as lowercase hex."""
    return hashlib.md5((challenge + secret).encode(), usedforsecurity=False).hexdigest()


def _refused(result: ActionResult, username: str) -> AuthenticationError:
    reason = result.message or "no reason given"
    return AuthenticationError(
        f"login as {username!r} refused by the server: {reason}. "
        "Check the username and secret (manager.conf), and the permit/deny lines."
    )


def login_flow(
    username: str,
    secret: str | Secret,
    *,
    auth: AuthMode = "auto",
    events: str | bool | None = None,
) -> LoginFlow:
    """Yield the login actions; return the successful Login result.

    ``auth="auto"`` tries the MD5 challenge and falls back to plain when the
    server refuses ``Challenge``. ``events`` sets the login event mask
    (``"off"``, ``"on"``, or a class list such as ``"call,system"``).
    The secret is held as a :class:`Secret` so that no frame of this flow
    shows it in a traceback with locals (IPython's ``%xmode Verbose``).
    """
    hidden = Secret.wrap(secret)
    del secret
    extra = (
        {}
        if events is None
        else {"Events": events if isinstance(events, str) else ("on" if events else "off")}
    )
    if auth in ("md5", "auto"):
        challenge = yield Action("Challenge", AuthType="md5")
        if challenge.ok and challenge.response.get("Challenge"):
            key = challenge_key(challenge.response["Challenge"], hidden.reveal())
            result = yield Action("Login", AuthType="md5", Username=username, Key=key, **extra)
            if not result.ok:
                raise _refused(result, username)
            return result
        if auth == "md5":
            raise AuthenticationError(
                f"the server refused the MD5 challenge: {challenge.message}; try auth='plain'"
            )
    result = yield Action("Login", Username=username, Secret=hidden.reveal(), **extra)
    if not result.ok:
        raise _refused(result, username)
    return result


def setup_flow(credentials: Credentials, filters: Iterable[str] = ()) -> LoginFlow:
    """Log in, then add each event filter; return the Login result.

    A refused filter raises :class:`ActionError`: a session whose filters did
    not apply would deliver events its owner asked not to get.
    """
    result = yield from login_flow(
        credentials.username, credentials.secret, auth=credentials.auth, events=credentials.events
    )
    for expression in filters:
        answer = yield Action("Filter", Operation="Add", Filter=expression)
        if not answer.ok:
            raise ActionError(
                f"the server refused the event filter {expression!r}: "
                f"{answer.message or 'Error'} (adding a filter needs the 'system' write class)",
                answer,
            )
    return result
