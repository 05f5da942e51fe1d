"""AMI messages: a lazy, ordered, case-insensitive multi-map over raw bytes.

Theory of operation: a busy PBX sends hundreds of thousands of events a
second and most are only counted, filtered by name or stored. So a
:class:`Message` keeps the raw bytes of its block and parses headers only on
first access; the name (``Event:``/``Response:``/``Action:``) and the
``ActionID`` are read straight from the bytes. Retaining raw ``bytes`` also
keeps the cyclic GC out of large captures (bytes are not GC-tracked).

Rules, all pinned by tests:

* keys compare case-insensitively but keep their spelling;
* duplicate headers are kept, in order (Asterisk 22 repeats ``Output``,
  ``Variable``, ``ChanVariable``; ``TestEvent`` sends ``State`` twice);
* a line splits on its first colon, and one space after it is dropped, so
  values may contain ``": "`` and keep any further leading spaces;
* values are always ``str``; nothing is converted to numbers here;
* bytes that are not UTF-8 become U+FFFD (decoded per whole message, never
  per TCP chunk, so a character split across reads survives).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import overload

__all__ = ["SECRET_HEADERS", "Message"]

#: Headers whose values are never shown in a repr or log.
SECRET_HEADERS = frozenset({"secret", "key", "password"})

_FOLLOWS = b"Response: Follows"
_END_COMMAND = "--END COMMAND--"
#: Header lines that may precede the raw body of a pre-14 ``Response: Follows``.
_FOLLOWS_HEADERS = frozenset({"response", "privilege", "actionid", "message"})
_NAME_PREFIXES = (b"Event: ", b"Response: ", b"Action: ")


def _split_lines(text: str) -> list[str]:
    if "\r" in text:
        return text.replace("\r\n", "\n").split("\n")
    return text.split("\n")


def _parse_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in _split_lines(text):
        key, sep, value = line.partition(":")
        if not sep:
            if not line:
                continue
            # A line with no colon carries no key; keep its text rather than lose it.
            key, value = "", line
        elif value[:1] == " ":
            value = value[1:]
        pairs.append((key, value))
    return pairs


def _parse_follows(text: str) -> list[tuple[str, str]]:
    """Parse a pre-14 ``Response: Follows`` block: headers, then a raw body.

    The body ends at ``--END COMMAND--``, which old servers glue to the last
    output line when that line lacks a newline. Body lines become ``Output``
    headers, the same shape Asterisk 14+ uses, so callers see one format.
    """
    body, _, _ = text.partition(_END_COMMAND)
    lines = _split_lines(body)
    pairs = []
    index = 0
    for index, line in enumerate(lines):  # noqa: B007 - index is used after the loop
        key, sep, value = line.partition(":")
        if not sep or key.strip().lower() not in _FOLLOWS_HEADERS:
            break
        pairs.append((key, value[1:] if value[:1] == " " else value))
    else:
        index = len(lines)
    output = lines[index:]
    if output and output[-1] == "":
        output.pop()  # the newline before the marker ends the last line
    pairs.extend(("Output", line) for line in output)
    return pairs


class Message:
    """One AMI message (event, response or action) as an ordered multi-map.

    ``msg["Channel"]`` is the first value (KeyError if absent),
    ``msg.get(k, default)`` likewise without raising, ``msg.getall(k)``
    every value in order. ``msg.items()`` lists every (key, value) pair,
    duplicates included; iteration and ``keys()`` give each key once.
    """

    __slots__ = ("_name", "_pairs", "raw")

    raw: bytes
    _pairs: list[tuple[str, str]] | None
    _name: str | object | None

    def __init__(self, raw: bytes, pairs: list[tuple[str, str]] | None = None) -> None:
        self.raw = raw
        self._pairs = pairs
        self._name = _MISSING

    def __reduce__(self) -> tuple[type[Message], tuple[bytes, list[tuple[str, str]] | None]]:
        return (Message, (self.raw, self._pairs))

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> Message:
        """Build a message from trusted (key, value) pairs; see ``serialize`` to validate."""
        plist = list(pairs)
        raw = "\r\n".join(f"{k}: {v}" for k, v in plist).encode()
        return cls(raw, plist)

    # -- parsing -----------------------------------------------------------
    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every (key, value) pair in wire order, parsed on first use."""
        pairs = self._pairs
        if pairs is None:
            text = self.raw.decode("utf-8", "replace")
            pairs = _parse_follows(text) if self.raw.startswith(_FOLLOWS) else _parse_pairs(text)
            self._pairs = pairs
        return pairs

    @property
    def name(self) -> str | None:
        """The value of ``Event``, ``Response`` or ``Action``, whichever this message is.

        Cached: dispatch, monitors and recorders all ask for it on the hot path.
        """
        name = self._name
        if name is _MISSING:
            name = self._name = self._read_name()
        return name  # type: ignore[return-value]

    def _read_name(self) -> str | None:
        raw = self.raw
        if raw.startswith(_NAME_PREFIXES):
            # Read on every dispatch, so one prefix test and one slice: the value
            # starts after the prefix's space and runs to the end of the line.
            start = raw.find(b" ") + 1
            end = raw.find(b"\n")
            if end < 0:
                end = len(raw)
            if raw[end - 1] == 13:  # CR of a CRLF line end
                end -= 1
            return raw[start:end].decode("utf-8", "replace")
        for key in ("Event", "Response", "Action"):
            value = self.get(key)
            if value is not None:
                return value
        return None

    @property
    def kind(self) -> str:
        """``"event"``, ``"response"``, ``"action"``, or ``"unknown"``."""
        raw = self.raw
        if raw.startswith(b"Event: "):
            return "event"
        if raw.startswith(b"Response: "):
            return "response"
        if raw.startswith(b"Action: "):
            return "action"
        for key in ("Event", "Response", "Action"):
            if key in self:
                return key.lower()
        return "unknown"

    @property
    def is_event(self) -> bool:
        return self.kind == "event"

    @property
    def is_response(self) -> bool:
        return self.kind == "response"

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` header, found in the raw bytes when spelled as Asterisk does."""
        raw = self.raw
        i = raw.find(b"ActionID: ")
        if i >= 0 and (i == 0 or raw[i - 1] == 10):
            end = raw.find(b"\n", i)
            value = raw[i + 10 :] if end < 0 else raw[i + 10 : end]
            if value.endswith(b"\r"):
                value = value[:-1]
            return value.decode("utf-8", "replace")
        if b"actionid" not in raw.lower():
            return None
        return self.get("ActionID")

    # -- multi-map access ---------------------------------------------------
    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` (case-insensitive), in wire order; ``[]`` if absent."""
        lkey = key.lower()
        return [v for k, v in self.headers if k == key or k.lower() == lkey]

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: object) -> object: ...
    def get(self, key: str, default: object = None) -> object:
        """The first value of ``key`` (case-insensitive), or ``default``."""
        lkey = key.lower()
        for k, v in self.headers:
            if k == key or k.lower() == lkey:
                return v
        return default

    def __getitem__(self, key: str) -> str:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        assert isinstance(value, str)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def keys(self) -> list[str]:
        """Each key once, in first-seen order and spelling."""
        seen: dict[str, str] = {}
        for k, _ in self.headers:
            seen.setdefault(k.lower(), k)
        return list(seen.values())

    def items(self) -> list[tuple[str, str]]:
        """Every (key, value) pair, duplicates included, in wire order."""
        return list(self.headers)

    def values(self) -> list[str]:
        return [v for _, v in self.headers]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def to_dict(self) -> dict[str, str | list[str]]:
        """A plain dict; a key seen more than once maps to the list of all its values.

        Keys keep the spelling of their first occurrence. Nothing is lost:
        single values stay ``str``, repeated ones become ``list[str]``.
        """
        out: dict[str, str | list[str]] = {}
        spelling: dict[str, str] = {}
        for k, v in self.headers:
            lk = k.lower()
            first = spelling.setdefault(lk, k)
            if first not in out:
                out[first] = v
                continue
            prev = out[first]
            if isinstance(prev, list):
                prev.append(v)
            else:
                out[first] = [prev, v]
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self.headers == other.headers

    def __hash__(self) -> int:
        # Equality compares parsed headers, so the hash must too: "A: 1\r\n" and
        # "A:1\n" are equal messages with different raw bytes.
        return hash(tuple(self.headers))

    def __repr__(self) -> str:
        shown = []
        for k, v in self.headers[:6]:
            value = "***" if k.lower() in SECRET_HEADERS else v
            shown.append(f"{k}={value!r}")
        more = len(self.headers) - len(shown)
        tail = f", +{more} more" if more > 0 else ""
        return f"Message({', '.join(shown)}{tail})"

    def to_text(self) -> str:
        """The message as AMI wire text (CRLF line ends, blank line last), secrets masked."""
        lines = [f"{k}: {'***' if k.lower() in SECRET_HEADERS else v}" for k, v in self.headers]
        return "\r\n".join(lines) + "\r\n\r\n"


_MISSING = object()
