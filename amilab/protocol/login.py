"""The login flow as a generator of actions: plain ``Secret`` or MD5 challenge.

Sans-IO in the style of httpx's ``auth_flow``: the caller sends each yielded
:class:`Action`, then ``.send()``\\ s back its :class:`ActionResult`. The flow
raises :class:`AuthenticationError` on refusal. The same code serves the
asyncio client and the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from typing import Literal

from amilab.errors import AuthenticationError
from amilab.protocol.result import ActionResult
from amilab.protocol.serialize import Action

__all__ = ["AuthMode", "Secret", "challenge_key", "login_flow"]

AuthMode = Literal["md5", "plain", "auto"]
LoginFlow = Generator[Action, ActionResult, ActionResult]


class Secret:
    """Holds a secret so that repr, str and traceback locals never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


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
    hidden = secret if isinstance(secret, Secret) else Secret(secret)
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
