"""Receive buffer: TCP chunks in, complete AMI messages out.

Framing, as Asterisk 22's manager.c writes it:

* a server opens with one greeting line, ``Asterisk Call Manager/<ver>\\r\\n``,
  ended by a single CRLF (it is not a blank-line-terminated block);
* every other message is ``Key: Value`` lines ended by an empty line;
* old servers end lines with LF alone; the greeting (or, on the server side,
  the first line) decides which separator a connection uses;
* before Asterisk 14, ``Command`` answered ``Response: Follows`` and a raw body
  that may itself hold blank lines, ended by ``--END COMMAND--``; such a block
  is framed on that marker, not on the first blank line.

Fast path: a chunk is split on the separator in one C call and each block is
wrapped as a lazy :class:`Message`; nothing else is looked at unless needed.
"""

from __future__ import annotations

from amilab.errors import ProtocolError
from amilab.protocol.message import Message

__all__ = [
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_GREETING_SIZE",
    "ReceiveBuffer",
]

#: Largest single message accepted (bytes). ``core show help`` on a full
#: Asterisk 22 is about 60 KiB; 1 MiB leaves room and still bounds memory.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
#: Most header lines accepted in one message; bounds the parsed form's size.
DEFAULT_MAX_HEADERS = 20_000
#: The greeting is one short line (``Asterisk Call Manager/11.0.0`` is 28
#: bytes); a line whose LF is further than this is not an AMI server.
MAX_GREETING_SIZE = 1024
GREETING_PREFIX = "Asterisk Call Manager/"
_GREETING_PREFIX_BYTES = GREETING_PREFIX.encode()
_FOLLOWS = b"Response: Follows"
_END_COMMAND = b"--END COMMAND--"


class ReceiveBuffer:
    """Incremental AMI framer. Feed bytes with :meth:`feed`; get :class:`Message`\\ s back.

    ``expect_greeting=True`` (client side) requires the greeting line first and
    exposes it as :attr:`greeting`. Errors are sticky: after a
    :class:`ProtocolError` the connection must be closed, as the stream can no
    longer be framed reliably.
    """

    def __init__(
        self,
        *,
        expect_greeting: bool = True,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        self.greeting: str | None = None
        self.max_message_size = max_message_size
        self.max_headers = max_headers
        self.decode_errors = 0
        self._expect_greeting = expect_greeting
        self._sep: bytes | None = None
        # The partial block left by the last split, then the reads held since
        # without looking at them again (none could end it), and its last bytes.
        self._pending = b""
        self._held: list[bytes] = []
        self._held_size = 0
        self._tail = b""
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._pending) + self._held_size

    @property
    def ended_cleanly(self) -> bool:
        """True when no partial message is waiting (checked at end of stream)."""
        return not (self._pending + b"".join(self._held)).strip(b"\r\n")

    def feed(self, data: bytes) -> list[Message]:
        """Add received bytes; return the messages they complete (possibly none).

        Raises :class:`ProtocolError` for input that is not AMI or breaks a
        size limit; the caller then closes the connection.
        """
        if self._error is not None:
            raise self._error
        try:
            return self._feed(data)
        except ProtocolError as exc:
            self._error = exc
            self._pending = b""
            self._held.clear()
            self._held_size = 0
            raise

    def _feed(self, data: bytes) -> list[Message]:
        if self._pending:
            if self._cannot_end(data):
                self._hold(data)
                return []
            data = self._pending + b"".join(self._held) + data
            self._pending = b""
            self._held.clear()
            self._held_size = 0
        if self._expect_greeting and self.greeting is None:
            data = self._take_greeting(data)
            if self.greeting is None:
                return []
        sep = self._sep
        if sep is None:
            sep = self._detect_separator(data)
            if sep is None:
                self._keep(data)
                return []
        if _FOLLOWS in data:
            return self._split_slow(data, sep)
        blocks = data.split(sep)
        self._keep(blocks.pop())
        if not blocks:
            return []
        if not self._plain(blocks):
            # A block of line ends only (blank lines between messages, or the
            # LF of a CRLF whose CR came in the read before) is no message.
            return [self._message(block) for block in blocks if block.strip(b"\r\n")]
        if not data.isascii():
            for block in blocks:
                if not block.isascii():
                    self._count_decode_errors(block)
        return list(map(Message, blocks))

    def _cannot_end(self, data: bytes) -> bool:
        """True if ``data`` cannot complete the partial block, so it is only held.

        Without this, each read re-joined and re-split the whole partial block:
        a large message arriving in small reads cost quadratic time (83 KB in
        16-byte reads took 0.15 s, so 1 MiB would take about 25 s). The
        partial block holds no separator (it was split on them), so one can
        only lie in ``data`` or across its start. A pre-14 ``Response:
        Follows`` block may end at a single line end after its marker, so it
        is always looked at.
        """
        sep = self._sep
        if sep is None or sep in data or sep in self._tail + data[: len(sep) - 1]:
            return False
        head = self._pending[: len(_FOLLOWS) + 4].lstrip(b"\r\n")
        return not (head.startswith(_FOLLOWS) or _FOLLOWS.startswith(head))

    def _hold(self, data: bytes) -> None:
        size = len(self._pending) + self._held_size + len(data)
        if size > self.max_message_size:
            raise ProtocolError(
                f"message exceeds max_message_size ({self.max_message_size} bytes) "
                "without ending; the connection was closed to bound memory"
            )
        self._held.append(data)
        self._held_size += len(data)
        self._tail = (self._tail + data)[-3:]

    def _plain(self, blocks: list[bytes]) -> bool:
        """True when no block needs trimming, skipping or a limit check.

        The usual case, tested in two C-level passes instead of per block (a
        flood brings hundreds of blocks per read): every block starts with a
        byte above CR, so none is empty or starts with a stray CR/LF, and the
        longest block is within both limits. (Searching the buffer for a
        separator followed by CR/LF costs more than it saves: every line end
        is a partial match.)
        """
        if min(blocks)[:1] <= b"\r":
            return False
        longest = max(map(len, blocks))
        return longest <= self.max_message_size and longest < self.max_headers

    def _take_greeting(self, data: bytes) -> bytes:
        """Take the greeting line off ``data`` (everything received so far).

        The limit is on the line's length, wherever the reads split it: a
        line whose LF lies beyond ``MAX_GREETING_SIZE`` bytes is refused
        whether it arrived in one read or byte by byte, and bytes that cannot
        begin the greeting are refused at once instead of being buffered.
        """
        end = data.find(b"\n", 0, MAX_GREETING_SIZE + 1)
        if end < 0:
            if len(data) > MAX_GREETING_SIZE:
                raise ProtocolError(
                    f"no AMI greeting line in the first {MAX_GREETING_SIZE} bytes; "
                    "is this port an Asterisk manager (AMI) port?"
                )
            if not _GREETING_PREFIX_BYTES.startswith(data[: len(_GREETING_PREFIX_BYTES)]):
                raise self._not_a_greeting(data)
            self._pending = data
            return b""
        line = data[:end]
        crlf = line.endswith(b"\r")
        if not line.startswith(_GREETING_PREFIX_BYTES):
            raise self._not_a_greeting(line[:-1] if crlf else line)
        self.greeting = (line[:-1] if crlf else line).decode("utf-8", "replace")
        self._sep = b"\r\n\r\n" if crlf else b"\n\n"
        return data[end + 1 :]

    @staticmethod
    def _not_a_greeting(start: bytes) -> ProtocolError:
        text = start.decode("utf-8", "replace")
        return ProtocolError(
            f"expected an AMI greeting ({GREETING_PREFIX}...), got {text[:80]!r}; "
            "check the host and port"
        )

    def _detect_separator(self, data: bytes) -> bytes | None:
        end = data.find(b"\n")
        if end < 0:
            return None
        self._sep = b"\r\n\r\n" if end > 0 and data[end - 1] == 13 else b"\n\n"
        return self._sep

    def _keep(self, rest: bytes) -> None:
        if len(rest) > self.max_message_size:
            raise ProtocolError(
                f"message exceeds max_message_size ({self.max_message_size} bytes) "
                "without ending; the connection was closed to bound memory"
            )
        self._pending = rest
        self._tail = rest[-3:]

    def _message(self, block: bytes) -> Message:
        if block[:1] in (b"\r", b"\n"):
            block = block.lstrip(b"\r\n")
        size = len(block)
        if size > self.max_message_size:
            raise ProtocolError(
                f"message of {size} bytes exceeds max_message_size ({self.max_message_size})"
            )
        # ``max_headers`` newlines need at least that many bytes; the size test
        # only spares the count on small blocks, whatever their line lengths.
        if size >= self.max_headers and block.count(b"\n") >= self.max_headers:
            raise ProtocolError(
                f"message has more than max_headers ({self.max_headers}) header lines"
            )
        if not block.isascii():
            self._count_decode_errors(block)
        return Message(block)

    def _count_decode_errors(self, block: bytes) -> None:
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            text = block.decode("utf-8", "replace")
            self.decode_errors += text.count("\ufffd") - block.decode("utf-8", "ignore").count(
                "\ufffd"
            )

    def _split_slow(self, data: bytes, sep: bytes) -> list[Message]:
        """Split a buffer holding a pre-14 ``Response: Follows`` block, framed on its marker."""
        out = []
        pos = 0
        size = len(data)
        while pos < size:
            while pos < size and data[pos] in (10, 13):
                pos += 1
            if data.startswith(_FOLLOWS, pos):
                marker = data.find(_END_COMMAND, pos)
                end = -1 if marker < 0 else data.find(sep[len(sep) // 2 :], marker)
            else:
                end = data.find(sep, pos)
            if end < 0:
                break
            out.append(self._message(data[pos:end]))
            pos = end + (len(sep) // 2 if data.startswith(_FOLLOWS, pos) else len(sep))
        self._keep(data[pos:])
        return out
