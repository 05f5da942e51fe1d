"""Python values -> AMI wire bytes, with header-injection checks.

Every public way of sending bytes (client actions, simulator responses and
events) goes through :func:`normalize_headers`, so a key or value carrying a
byte that ends a line or a string on the server, or a key carrying ``:``, is
refused with ``ValueError`` before anything is written. Without that, a value
such as ``"x\\r\\nAction: Command\\r\\nCommand: core stop now"`` would smuggle
a second action onto the wire.

Which bytes, from Asterisk 22's main/manager.c (recorded in
tests/fixtures/asterisk22/control_chars.ami):

* LF ends a line, with or without a CR before it (``get_input()``).
* A lone CR does not end a line in Asterisk 22 (the recorded ActionID
  ``cr-a\\rb`` is echoed with it), but it is refused all the same: it is half
  of the CRLF line end, and echoed values (ActionID) reach clients that split
  lines on a lone CR (Python's ``str.splitlines`` does).
* NUL ends a C string: ``get_input()`` copies the line into a C buffer, so a
  value ``"a\\0b"`` is truncated to ``"a"`` (the recording echoes the ActionID
  ``nul-a``), and a line that *starts* with NUL is empty to
  ``ast_strlen_zero()``, so it ends the message and the following headers
  become a second message (recorded: ``Missing action in request``).
* TAB is allowed in values: it neither ends a line nor a string, Asterisk
  keeps it inside a value (the recorded ActionID ``tab-a\\tb`` comes back
  intact) and sends it itself (``SendText`` in listcommands.ami). Like a
  space, a *leading* TAB is dropped by the server (``ast_skip_blanks()``
  skips every byte below 33 at the start of a value).
* ``ActionID`` is stricter: the server reads it with ``astman_get_header()``,
  which skips leading blanks, and echoes no empty one (recorded: ``"  space-lead"``
  comes back as ``space-lead``, ``""`` as no ActionID at all), so an ActionID
  that is empty or starts with a byte below 33 could never be matched to its
  answer; it is refused.
* The other C0 controls (VT, ESC, ...) are kept intact inside a value by
  Asterisk (recorded), so values may hold them; header names may not hold
  any control character, as no AMI header name does and one there can only
  be a mistake (the server matches names with ``strncasecmp`` up to ``:``).
"""

from __future__ import annotations

import re
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
#: Bytes that end a line (LF, CRLF) or a C string (NUL) in manager.c.
_FORBIDDEN_IN_VALUE = re.compile("[\x00\r\n]")
#: Every C0 control character, DEL, and the ``:`` that ends a header name.
_FORBIDDEN_IN_KEY = re.compile("[\x00-\x1f\x7f:]")
_NAMES = {"\x00": "NUL", "\r": "CR", "\n": "LF", "\t": "TAB", ":": "':'"}


def _describe(char: str) -> str:
    """A forbidden character by name, never the text around it (it may be a secret)."""
    return _NAMES.get(char, f"control character U+{ord(char):04X}")


def _check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"AMI header names must be str, not {type(key).__name__}")
    if not key or key != key.strip():
        raise ValueError(f"invalid AMI header name {key!r}: empty or padded with spaces")
    bad = _FORBIDDEN_IN_KEY.search(key)
    if bad is not None:
        raise ValueError(
            f"invalid AMI header name {key!r}: it contains {_describe(bad.group())}; "
            "control characters and ':' are not allowed (header injection); nothing was sent"
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
    bad = _FORBIDDEN_IN_VALUE.search(text)
    if bad is not None:
        # The value itself is not shown: it may be a Secret or Key.
        raise ValueError(
            f"value of AMI header {key!r} contains {_describe(bad.group())} at index "
            f"{bad.start()} (header injection: Asterisk ends a line at CR/LF and a "
            "string at NUL); nothing was sent. Send multi-line data as several "
            "headers (pass a list)."
        )
    return text


def _check_action_id(value: str) -> str:
    if not value or value[0] <= " ":
        raise ValueError(
            f"ActionID {value!r} is empty or starts with a blank or control character; "
            "Asterisk drops leading blanks (astman_get_header in manager.c) and echoes no "
            "empty ActionID, so the answer could never be matched; nothing was sent. "
            "Choose an ActionID that starts with a visible character."
        )
    return value


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
    Raises ``ValueError`` on CR/LF/NUL (or, in a key, any control character or
    colon), ``TypeError`` on other types.
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

    __slots__ = ("_headers", "_name")

    def __init__(self, name: str, headers: HeaderInput | None = None, /, **kwargs: Any) -> None:
        self._name = format_value("Action", _check_key(name))
        pairs = normalize_headers(headers) + normalize_headers(kwargs)
        for key, value in pairs:
            lower = key.lower()
            if lower == "action":
                raise ValueError("give the action name once, as Action(name, ...), not as a header")
            if lower == "actionid":
                _check_action_id(value)
        self._headers: tuple[tuple[str, str], ...] = tuple(pairs)

    # Read-only: an Action is validated once, when built, so nothing can change it
    # into an injection afterwards, and to_bytes need not validate again.
    @property
    def name(self) -> str:
        return self._name

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The validated ``(key, value)`` pairs, in order (a tuple: it cannot be changed)."""
        return self._headers

    @property
    def action_id(self) -> str | None:
        for k, v in self.headers:
            if k.lower() == "actionid":
                return v
        return None

    def with_action_id(self, action_id: str) -> Action:
        """A copy with ``ActionID`` set (replacing any given one)."""
        copy = Action.__new__(Action)
        copy._name = self._name
        pairs = [(k, v) for k, v in self._headers if k.lower() != "actionid"]
        checked = _check_action_id(format_value("ActionID", action_id))
        copy._headers = (("ActionID", checked), *pairs)
        return copy

    def pairs(self) -> list[tuple[str, str]]:
        return [("Action", self.name), *self.headers]

    def to_bytes(self) -> bytes:
        """The wire form: ``Action: Name`` first, then the headers, then a blank line.

        Every pair was validated when the Action was built, and an Action
        cannot be changed since, so no bytes it writes can carry an injection.
        """
        return encode_pairs(self.pairs())

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
