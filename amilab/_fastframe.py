"""The vectorised path of :func:`amilab.frames.to_frame` for raw AMI blocks.

Theory of operation. Parsing 15 million header lines one Python object at a
time is what made a million-event frame take 10-30 s, so nothing here makes
a Python object per line or per cell:

1. **One buffer.** The blocks are joined with ``\\r\\n`` into one ``bytes``
   (plus zero padding, so 8-byte loads past the end stay inside it). A block
   the byte rules below cannot parse exactly, a ``Response: Follows`` block or
   one with bytes that are not UTF-8, is first replaced by a canonical
   re-encoding of its :attr:`Message.headers` (``key: value\\r\\n`` per pair),
   which those rules parse back to the same pairs; so :class:`Message` stays
   the one definition of the parsing rules.
2. **Lines, with numpy.** Window by window (about :data:`WINDOW` bytes, cut at
   block boundaries, so the per-line arrays stay in the CPU cache), every
   ``\\n`` ends a line and one ``\\r`` before it is dropped; this is exactly
   ``replace("\\r\\n", "\\n").split("\\n")``, and the ``\\r\\n`` joiner keeps a
   block's own trailing lone CR. Empty lines are skipped. The first ``:`` of
   each line (``searchsorted`` into the colon positions) splits key from value;
   one space after it is dropped; a line without a colon has key ``""`` and the
   whole line as value. ``searchsorted`` into the block starts gives the row.
3. **Keys, with Arrow.** The keys of a window become a ``string_view`` array
   built straight from (offset, length) pairs (16-byte views made with numpy:
   inline up to 12 bytes, else a 4-byte prefix and the offset), and
   ``dictionary_encode`` numbers them in first-seen order; a Python dict over
   the few distinct keys maps them to global codes.
4. **Values, zero-copy.** Value ``i`` runs from ``start[i]`` to ``end[i]`` and
   those ranges increase through the buffer, so one ``large_string`` array whose
   offsets interleave starts and ends (``s0, e0, s1, e1, ...``) holds value
   ``i`` at position ``2 * i`` (the odd positions are the bytes in between).
5. **Columns.** Lines are grouped by column code (a stable radix sort). A
   column whose rows are all distinct is one Arrow ``take`` of its values
   (compact, contiguous) spread to all rows with numpy-made offsets and a
   validity bitmap; a column with a header repeated in one row gets the
   ``tuple`` cells of the reference path.

Everything else (column naming and order, dtypes, numeric conversion) follows
:mod:`amilab.frames`, whose slower reference path stays the definition of the
result; tests check that both give ``DataFrame.equals``-identical frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from amilab.protocol.message import Message

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["Lines", "multi_column", "parse_blocks", "string_column"]

#: Bytes parsed per numpy pass: the per-line arrays of a window (about 2,700
#: average events, 45,000 lines) fit in a CPU's L2 cache, and the ~20 numpy calls
#: per window cost microseconds each.
WINDOW = 1 << 20
#: Blocks at least this long are left to the reference path: view offsets are
#: int32, and a block this size is no AMI message (manager.c's are far smaller).
MAX_BLOCK = 1 << 30
_FOLLOWS = b"Response: Follows"
_JOIN = b"\r\n"
#: Zero bytes after the joined text, so 8-byte loads at any line start are in bounds.
_PAD = 16
_LF, _CR, _COLON, _SPACE = 10, 13, 58, 32
_INLINE = 12  # Arrow's string_view keeps strings up to 12 bytes inside the view
#: Per view kind ``min(length, 13)``: which bytes of the 8-byte loads at the key's
#: start and start + 4 a view keeps (the prefix and, inline, the rest), and
#: whether it holds an offset (buffer index 0) instead.
_HEAD_MASK = np.array(
    [((1 << (8 * min(k, 4))) - 1) << 32 for k in range(_INLINE + 2)], dtype=np.uint64
)
_TAIL_MASK = np.array(
    [(1 << (8 * max(0, min(k, _INLINE) - 4))) - 1 for k in range(_INLINE + 1)] + [0],
    dtype=np.uint64,
)
_OFFSET_MASK = np.array([0] * (_INLINE + 1) + [(1 << 64) - 1], dtype=np.uint64)
#: ``b"Response"`` as a little-endian uint64: the cheap first test for Follows blocks.
_RESPONSE = np.frombuffer(b"Response", dtype="<u8")[0]
#: Bytes per line assumed when reserving the line arrays (Asterisk 22 events
#: average ~25); the arrays grow if a capture has shorter lines.
_LINE_GUESS = 16


@dataclass
class Lines:
    """Every header line of ``n`` rows: its row, its key's code, and its value.

    ``names`` are the distinct keys in first-seen order (exact spelling);
    ``codes[i]`` indexes ``names``; ``values`` holds line ``i``'s value at ``2 * i``.
    """

    n: int
    names: list[str]
    rows: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int32]
    values: Any


def _canonical(raw: bytes) -> bytes:
    """``raw``'s parsed headers as lines the byte rules parse back to the same pairs."""
    return b"".join(k.encode() + b": " + v.encode() + _JOIN for k, v in Message(raw).headers)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _loads(data: bytes, start: int = 0, stop: int | None = None) -> npt.NDArray[np.uint64]:
    """Unaligned little-endian 8-byte loads: ``_loads(d)[i]`` holds ``d[i:i+8]``."""
    stop = len(data) if stop is None else stop
    return np.ndarray((stop - start - 7,), "<u8", data, start, (1,))


class _Joined:
    """Blocks joined into one padded buffer, each followed by CRLF, with their offsets."""

    def __init__(self, raws: Sequence[bytes]) -> None:
        self.data = _JOIN.join([*raws, bytes(_PAD)])
        sizes = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws)) + len(_JOIN)
        self.ends = np.cumsum(sizes)
        self.starts = self.ends - sizes

    def special(self, raws: Sequence[bytes]) -> list[int]:
        """Indices of the blocks the byte rules could misparse: Follows, or not UTF-8."""
        heads = _loads(self.data)[self.starts]
        maybe = np.flatnonzero(heads == _RESPONSE).tolist()
        found = [i for i in maybe if raws[i].startswith(_FOLLOWS)]
        if not (self.data.isascii() or _is_utf8(self.data)):
            found += [i for i, raw in enumerate(raws) if not (raw.isascii() or _is_utf8(raw))]
        return found


def _joined(raws: Sequence[bytes]) -> _Joined:
    """The joined blocks, special ones replaced by their canonical re-encoding."""
    joined = _Joined(raws)
    special = joined.special(raws)
    if not special:
        return joined
    fixed = list(raws)
    for i in special:
        fixed[i] = _canonical(raws[i])
    return _Joined(fixed)


def _windows(ends: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """Block-aligned (first, stop) index pairs of about :data:`WINDOW` bytes each."""
    n = len(ends)
    cuts = np.searchsorted(ends, np.arange(WINDOW, int(ends[-1]), WINDOW), "left") + 1
    bounds = np.unique(np.concatenate(([0], cuts, [n]))).tolist()
    return list(pairwise(bounds))


def _views(
    loads: npt.NDArray[np.uint64], start: npt.NDArray[np.int64], length: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint64]:
    """Arrow ``string_view`` structs (two uint64 each) for byte ranges of one buffer."""
    kind = np.minimum(length, _INLINE + 1)
    out = np.empty((len(start), 2), dtype=np.uint64)
    lo, hi = out[:, 0], out[:, 1]
    np.left_shift(loads[start], 32, out=lo)
    lo &= _HEAD_MASK[kind]
    lo |= length.astype(np.uint64)
    np.bitwise_and(loads[start + 4], _TAIL_MASK[kind], out=hi)
    hi |= (start.astype(np.uint64) << np.uint64(32)) & _OFFSET_MASK[kind]
    return out


class _Parser:
    """Parses a joined buffer window by window into preallocated line arrays."""

    def __init__(self, joined: _Joined) -> None:
        self.joined = joined
        self.buf = np.frombuffer(joined.data, dtype=np.uint8)
        self.pa_buf = pa.py_buffer(joined.data)
        self.codes_of: dict[str, int] = {}
        self.count = 0
        self.rows: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.codes: npt.NDArray[np.int32] = np.empty(0, dtype=np.int32)
        self.spans: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._reserve(len(joined.data) // _LINE_GUESS + 1024)

    def _reserve(self, size: int) -> None:
        count = self.count
        old = (self.rows[:count], self.codes[:count], self.spans[: 2 * count]) if count else None
        self.rows = np.empty(size, dtype=np.int64)
        self.codes = np.empty(size, dtype=np.int32)
        self.spans = np.empty(2 * size, dtype=np.int64)
        if old is not None:
            self.rows[:count], self.codes[:count], self.spans[: 2 * count] = old

    def window(self, first: int, stop: int) -> None:
        """Parse blocks ``first:stop``, one numpy pass over their text."""
        base = int(self.joined.starts[first])
        seg = self.buf[base : int(self.joined.ends[stop - 1])]
        newline = np.flatnonzero(seg == _LF)
        per_block = np.searchsorted(newline, self.joined.ends[first:stop] - base)
        per_block[1:] -= per_block[:-1].copy()
        rows = np.repeat(np.arange(first, stop), per_block)
        line_start = np.empty_like(newline)
        line_start[0] = 0
        line_start[1:] = newline[:-1] + 1
        line_end = newline - (seg[newline - 1] == _CR)
        keep = line_end > line_start
        if not keep.all():
            line_start, line_end, rows = line_start[keep], line_end[keep], rows[keep]
        colons = np.append(np.flatnonzero(seg == _COLON), len(seg))
        colon = colons[np.searchsorted(colons, line_start)]
        has = colon < line_end
        key_end = np.where(has, colon, line_start)
        value_start = key_end + has
        value_start += has & (seg[value_start] == _SPACE)
        codes = self._codes(seg, base, line_start, key_end - line_start)
        self._store(rows, codes, value_start + base, line_end + base)

    def _store(
        self,
        rows: npt.NDArray[np.int64],
        codes: npt.NDArray[np.int32],
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
    ) -> None:
        at, k = self.count, len(rows)
        if at + k > len(self.rows):
            self._reserve(2 * (at + k))
        self.rows[at : at + k] = rows
        self.codes[at : at + k] = codes
        self.spans[2 * at : 2 * (at + k) : 2] = starts
        self.spans[2 * at + 1 : 2 * (at + k) : 2] = ends
        self.count = at + k

    def _codes(
        self,
        seg: npt.NDArray[np.uint8],
        base: int,
        start: npt.NDArray[np.int64],
        length: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int32]:
        """Global key codes of a window's lines, new keys numbered in first-seen order."""
        views = _views(_loads(self.joined.data, base, base + len(seg) + _PAD), start, length)
        window_buf = self.pa_buf.slice(base, len(seg) + _PAD)
        keys = pa.Array.from_buffers(
            pa.string_view(), len(start), [None, pa.py_buffer(views), window_buf]
        )
        encoded = keys.dictionary_encode()
        codes_of = self.codes_of
        table = np.array(
            [codes_of.setdefault(k, len(codes_of)) for k in encoded.dictionary.to_pylist()],
            dtype=np.int32,
        )
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        return table[indices] if len(table) else np.empty(0, dtype=np.int32)

    def lines(self, n: int) -> Lines:
        """All windows' lines, in row order."""
        count = self.count
        if count == 0:
            values = pa.array([], type=pa.large_string())
        else:
            spans = pa.py_buffer(self.spans[: 2 * count])
            values = pa.Array.from_buffers(
                pa.large_string(), 2 * count - 1, [None, spans, self.pa_buf]
            )
        return Lines(n, list(self.codes_of), self.rows[:count], self.codes[:count], values)


def parse_blocks(raws: Sequence[bytes]) -> Lines | None:
    """The lines of raw AMI blocks, or None when the reference path must do them."""
    if not raws or max(map(len, raws)) >= MAX_BLOCK:
        return None
    joined = _joined(raws)
    parser = _Parser(joined)
    for first, stop in _windows(joined.ends):
        parser.window(first, stop)
    return parser.lines(len(raws))


def string_column(
    values: Any, where: npt.NDArray[np.int64], lines: npt.NDArray[np.int64], n: int
) -> Any:
    """Length-``n`` ``large_string``: line ``lines[j]``'s value at row ``where[j]``, else null.

    ``where`` must be strictly increasing. The values are taken compactly (one
    C++ gather); nulls are then spread in with numpy: offsets repeat the compact
    offsets over each run of missing rows, and a bitmap marks the rows present.
    """
    count = len(lines)
    compact = values.take(pa.array(2 * lines))
    if count == n:
        return compact
    starts = np.frombuffer(
        compact.buffers()[1], dtype=np.int64, count=count + 1, offset=8 * compact.offset
    )
    offsets = np.repeat(starts, np.diff(where, prepend=-1, append=n))
    valid = np.zeros(n, dtype=bool)
    valid[where] = True
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.large_string(), n, [validity, pa.py_buffer(offsets), compact.buffers()[2]], n - count
    )


def multi_column(
    values: Any, where: npt.NDArray[np.int64], lines: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.object_]:
    """An object column: ``str`` cells, ``tuple`` where a row repeats the header, NA elsewhere.

    ``where`` is non-decreasing; equal neighbours are one row's repeated header.
    """
    cells = np.full(n, pd.NA, dtype=object)
    texts = values.take(pa.array(2 * lines)).to_numpy(zero_copy_only=False)
    first = np.ones(len(where), dtype=bool)
    first[1:] = where[1:] != where[:-1]
    heads = np.flatnonzero(first)
    sizes = np.diff(heads, append=len(where))
    single = heads[sizes == 1]
    cells[where[single]] = texts[single]
    for head, size in zip(heads[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        cells[where[head]] = tuple(texts[head : head + size])
    return cells
