"""Python values -> AMI wire bytes, with header-injection checks.

Every public way of sending bytes (client actions, simulator responses and
events) goes through :func:`normalize_headers`, so a key or value carrying CR
or LF, or a key carrying ``:``, is refused with ``ValueError`` before
anything is written. Without that, a value such as
``"x\\r\\nAction: Command\\r\\nCommand: core stop now"`` would smuggle a second
action onto the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from amilab.protocol.message import SECRET_HEADERS, Message

__all__ = [
    "Action",
    "HeaderInput",
    "encode_pairs",
    "format_value",
    "normalize_headers",
]

HeaderInput: TypeAlias = Mapping[str, Any] | Iterable[tuple[str, Any]]
_FORBIDDEN_IN_VALUE = ("\r", "\n")
_FORBIDDEN_IN_KEY = ("\r", "\n", ":")


def _check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"AMI header names must be str, not {type(key).__name__}")
    if not key or key != key.strip():
        raise ValueError(f"invalid AMI header name {key!r}: empty or padded with spaces")
    if any(c in key for c in _FORBIDDEN_IN_KEY):
        raise ValueError(
            f"invalid AMI header name {key!r}: CR, LF and ':' are not allowed "
            "(header injection); nothing was sent"
        )
    return key


def format_value(key: str, value: object) -> str:
    """One scalar value as AMI text: bools as ``true``/``false``, numbers via ``str``."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = str(value)
    else:
        raise TypeError(
            f"value of AMI header {key!r} must be str, int, float, bool, list or dict, "
            f"not {type(value).__name__}"
        )
    if "\r" in text or "\n" in text:
        raise ValueError(
            f"value of AMI header {key!r} contains CR or LF (header injection); "
            "nothing was sent. Send multi-line data as several headers (pass a list)."
        )
    return text


def _expand(key: str, value: object) -> Iterable[tuple[str, str]]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        # AMI sets several variables with repeated ``Variable: name=value`` headers.
        return [(key, f"{_check_key(str(k))}={format_value(key, v)}") for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [(key, format_value(key, v)) for v in value]
    return ((key, format_value(key, value)),)


def normalize_headers(headers: HeaderInput | None) -> list[tuple[str, str]]:
    """Validate and flatten headers to ``(key, str)`` pairs.

    A list value becomes repeated headers, a dict value repeated ``k=v``
    headers (as ``Variable`` expects), ``None`` drops the header.
    Raises ``ValueError`` on CR/LF/colon injection, ``TypeError`` on other types.
    """
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError(f"AMI headers must be (key, value) pairs, got {item!r}")
        key = _check_key(item[0])
        pairs.extend(_expand(key, item[1]))
    return pairs


def encode_pairs(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Already-validated pairs -> one wire block, blank line included."""
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()


class Action:
    """An AMI action, validated when built and serialisable with :meth:`to_bytes`.

    ``Action("Originate", {"Channel": "Local/100@default", "Async": True})``,
    or with keyword headers: ``Action("Ping", ActionID="p1")``.
    """

    __slots__ = ("headers", "name")

    def __init__(self, name: str, headers: HeaderInput | None = None, /, **kwargs: Any) -> None:
        self.name = format_value("Action", _check_key(name))
        pairs = normalize_headers(headers) + normalize_headers(kwargs)
        if any(k.lower() == "action" for k, _ in pairs):
            raise ValueError("give the action name once, as Action(name, ...), not as a header")
        self.headers = pairs

    @property
    def action_id(self) -> str | None:
        for k, v in self.headers:
            if k.lower() == "actionid":
                return v
        return None

    def with_action_id(self, action_id: str) -> Action:
        """A copy with ``ActionID`` set (replacing any given one)."""
        copy = Action.__new__(Action)
        copy.name = self.name
        pairs = [(k, v) for k, v in self.headers if k.lower() != "actionid"]
        copy.headers = [("ActionID", format_value("ActionID", action_id)), *pairs]
        return copy

    def pairs(self) -> list[tuple[str, str]]:
        return [("Action", self.name), *self.headers]

    def to_bytes(self) -> bytes:
        """The wire form: ``Action: Name`` first, then the headers, then a blank line.

        Validated again here: ``headers`` is a plain list that may have been
        changed since the Action was built, and no bytes may carry an injection.
        """
        return encode_pairs(normalize_headers(self.pairs()))

    def to_message(self) -> Message:
        return Message(self.to_bytes()[:-4], self.pairs())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={'***' if k.lower() in SECRET_HEADERS else v!r}" for k, v in self.headers
        )
        return f"Action({self.name!r}{', ' if shown else ''}{shown})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return self.pairs() == other.pairs()

    __hash__ = None  # type: ignore[assignment]
