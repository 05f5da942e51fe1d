"""The vectorised path of :func:`amilab.frames.to_frame` for raw AMI blocks.

Theory of operation. Parsing 15 million header lines one Python object at a
time is what made a million-event frame take 10-30 s, so nothing here makes
a Python object per line or per cell. The blocks are processed in slabs of
about :data:`SLAB` bytes, so every intermediate array is slab-sized and its
memory is reused from slab to slab: on a VM, first-touching fresh memory
costs about 1 ms per MB, as much as the parsing itself.

1. **One buffer per slab.** The slab's blocks are joined with ``\\r\\n`` into
   one ``bytes`` (plus zero padding, so 8-byte loads past the end stay inside
   it). A block the byte rules below could misparse, a ``Response: Follows``
   block or one with bytes that are not UTF-8, is first replaced by a canonical
   re-encoding of its :attr:`Message.headers` (``key: value\\r\\n`` per pair),
   which those rules parse back to the same pairs; so :class:`Message` stays
   the one definition of the parsing rules.
2. **Lines, with numpy.** Window by window (about :data:`WINDOW` bytes, cut at
   block boundaries, so the per-line arrays stay in the CPU cache), every
   ``\\n`` ends a line and one ``\\r`` before it is dropped; this is exactly
   ``replace("\\r\\n", "\\n").split("\\n")``, and the ``\\r\\n`` joiner keeps a
   block's own trailing lone CR. Empty lines are skipped. The positions of all
   newlines and colons, in one sorted array, give each line's first colon: the
   mark right after the previous newline, if that mark is a colon. It splits
   key from value; one space after it is dropped; a line without a colon has
   key ``""`` and the whole line as value. Newline counts per block give rows.
3. **Keys, with Arrow.** A line's key runs from ``ks`` to ``ke``, and those
   ranges only increase through the buffer, so offsets ``ks0, ke0, ks1, ke1,
   ...`` make one Arrow string array over it, zero-copy, whose even elements are
   the keys (the odd ones, the bytes up to the next key, are marked null). Per
   slab, one ``dictionary_encode`` numbers the distinct keys in first-seen order
   and never hashes the nulls; a Python dict over those few keys maps each to
   its column: keys merge case-insensitively, keeping the first spelling, in
   first-seen order.
4. **Values, the same way.** Offsets ``vs0, ve0, vs1, ve1, ...`` over the
   slab's buffer hold line ``i``'s value at position ``2 * i``.
5. **Columns.** A slab's lines are grouped by column (a stable radix argsort of
   8- or 16-bit codes). A column whose rows are distinct is one Arrow ``take``
   of its values (compact, contiguous, from a buffer still in cache), spread to
   the slab's rows with numpy-made offsets and a validity bitmap: one chunk of
   the column's ``ChunkedArray``. A column with a header repeated in one row
   gets the ``tuple`` cells of the reference path, as an object array.

:mod:`amilab.frames` names and orders the columns, applies ``numeric``, and
keeps its slower reference path as the definition of the result; tests check
that both give ``DataFrame.equals``-identical frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from amilab.protocol.message import Message

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["Columns", "columns"]

#: Bytes of blocks per slab: small enough that glibc keeps reusing the slab's
#: buffers (its mmap threshold grows up to 32 MiB) and they stay in cache, big
#: enough that a million events make only a few dozen chunks per column.
SLAB = 16 << 20
#: Bytes parsed per numpy pass: the per-line arrays of a window (about 700
#: average events, 10,000 lines) stay in a CPU's L2 cache, and the ~30 numpy
#: calls per window cost microseconds each (measured on 1M events: 128 KiB to
#: 4 MiB within noise of each other, 64 KiB and 16 MiB slower).
WINDOW = 1 << 18
#: Blocks at least this long are left to the reference path: a slab's offsets
#: are int32, and a block this size is no AMI message.
MAX_BLOCK = 1 << 30
#: Rows are numbered in int32 and columns in uint16.
MAX_ROWS = 1 << 31
MAX_COLUMNS = 1 << 16
_FOLLOWS = b"Response: Follows"
_JOIN = b"\r\n"
#: Zero bytes after the joined text, so 8-byte loads at any line start are in bounds.
_PAD = 16
_LF, _CR, _COLON, _SPACE = 10, 13, 58, 32
#: Validity bitmap of a slab's key array (key, then the bytes up to the next
#: key, per line): only the keys are valid, so ``dictionary_encode`` hashes only them.
_KEYS_ONLY = b"\x55"
#: ``b"Response"`` as a little-endian uint64: the cheap first test for Follows blocks.
_RESPONSE = np.frombuffer(b"Response", dtype="<u8")[0]
#: Bytes per line assumed when reserving a slab's line arrays (Asterisk 22
#: events average ~25); the arrays grow if a capture has shorter lines.
_LINE_GUESS = 16


class _TooWide(Exception):
    """More distinct columns than the uint16 codes hold: the reference path takes over."""


# -- joining -------------------------------------------------------------------
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

    def __init__(self, raws: Sequence[bytes], sizes: npt.NDArray[np.int64] | None = None) -> None:
        self.data = _JOIN.join([*raws, bytes(_PAD)])
        if sizes is None:
            sizes = _sizes(raws)
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


def _sizes(raws: Sequence[bytes]) -> npt.NDArray[np.int64]:
    """Each block's length in the joined buffer, its CRLF included."""
    return np.fromiter(map(len, raws), dtype=np.int64, count=len(raws)) + len(_JOIN)


def _joined(raws: Sequence[bytes], sizes: npt.NDArray[np.int64] | None = None) -> _Joined:
    """The joined blocks, special ones replaced by their canonical re-encoding."""
    joined = _Joined(raws, sizes)
    special = joined.special(raws)
    if not special:
        return joined
    fixed = list(raws)
    for i in special:
        fixed[i] = _canonical(raws[i])
    return _Joined(fixed)


def _cuts(sizes: npt.NDArray[np.int64], step: int) -> list[tuple[int, int]]:
    """(first, stop) block index pairs of about ``step`` bytes each (at least one block)."""
    ends = np.cumsum(sizes)
    cuts = np.searchsorted(ends, np.arange(step, int(ends[-1]), step), "left") + 1
    bounds = np.unique(np.concatenate(([0], cuts, [len(sizes)]))).tolist()
    return list(pairwise(bounds))


# -- keys ----------------------------------------------------------------------
class _Keys:
    """Header keys -> column codes: case-insensitive, first spelling, first-seen order."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._column_of: dict[str, int] = {}
        self._position: dict[str, int] = {}

    def codes(self, keys: list[str]) -> npt.NDArray[np.uint16]:
        """The column of each key, adding new columns as keys are first seen."""
        out = np.empty(len(keys), dtype=np.uint16)
        for i, key in enumerate(keys):
            column = self._column_of.get(key)
            if column is None:
                column = self._position.setdefault(key.lower(), len(self.names))
                if column == len(self.names):
                    if column == MAX_COLUMNS:
                        raise _TooWide
                    self.names.append(key)
                self._column_of[key] = column
            out[i] = column
        return out

    def find(self, name: str) -> int | None:
        return self._position.get(name.lower())


# -- one slab ------------------------------------------------------------------
class _Slab:
    """The lines of one slab of blocks: row, column code and value of each."""

    def __init__(self, raws: Sequence[bytes], sizes: npt.NDArray[np.int64], keys: _Keys) -> None:
        self.n = len(raws)
        self.keys = keys
        self.joined = _joined(raws, sizes)
        data = self.joined.data
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.pa_buf = pa.py_buffer(data)
        self.count = 0
        size = len(data) // _LINE_GUESS + 64
        self.rows = np.empty(size, dtype=np.int32)
        self.spans = np.empty(2 * size, dtype=np.int32)
        self.key_spans = np.empty(2 * size, dtype=np.int32)
        sizes = self.joined.ends - self.joined.starts
        for first, stop in _cuts(sizes, WINDOW):
            self._window(first, stop)
        self.codes = self._codes()
        self.values = pa.Array.from_buffers(
            pa.string(), max(2 * self.count - 1, 0), [None, pa.py_buffer(self.spans), self.pa_buf]
        )

    def _window(self, first: int, stop: int) -> None:
        """Parse blocks ``first:stop`` with one pass of numpy calls over their text."""
        base = int(self.joined.starts[first])
        seg = self.buf[base : int(self.joined.ends[stop - 1])]
        # Every newline and colon, in order: a line's first colon, if any, is
        # the mark right after the previous line's newline.
        marks = np.flatnonzero((seg == _LF) | (seg == _COLON))
        newline_at = np.flatnonzero(seg[marks] == _LF)
        newline = marks[newline_at]
        after = np.empty_like(newline_at)
        after[0] = 0
        after[1:] = newline_at[:-1] + 1
        has = after < newline_at
        line_start = np.empty_like(newline)
        line_start[0] = 0
        line_start[1:] = newline[:-1] + 1
        line_end = newline - (seg[newline - 1] == _CR)
        per_block = np.searchsorted(newline, self.joined.ends[first:stop] - base)
        per_block[1:] -= per_block[:-1].copy()
        rows = np.repeat(np.arange(first, stop, dtype=np.int32), per_block)
        keep = line_end > line_start
        if not keep.all():
            line_start, line_end, rows = line_start[keep], line_end[keep], rows[keep]
            after, has = after[keep], has[keep]
        key_end = np.where(has, marks[after], line_start)
        value_start = key_end + has
        value_start += has & (seg[value_start] == _SPACE)
        at, k = self._reserve(len(rows))
        self.rows[at : at + k] = rows
        keys = self.key_spans[2 * at : 2 * (at + k)].reshape(k, 2)
        keys[:, 0] = line_start
        keys[:, 1] = key_end
        keys += base
        spans = self.spans[2 * at : 2 * (at + k)].reshape(k, 2)
        spans[:, 0] = value_start
        spans[:, 1] = line_end
        spans += base

    def _reserve(self, k: int) -> tuple[int, int]:
        """Room for ``k`` more lines; returns (first new line, k)."""
        at = self.count
        if at + k > len(self.rows):
            self._grow(2 * (at + k))
        self.count = at + k
        return at, k

    def _codes(self) -> npt.NDArray[np.uint16]:
        """The column code of each line, from its key's (start, end) in the buffer."""
        k = self.count
        if k == 0:
            return np.empty(0, dtype=np.uint16)
        offsets = pa.py_buffer(self.key_spans[: 2 * k])
        keys_only = pa.py_buffer(_KEYS_ONLY * ((2 * k + 7) // 8))
        keys = pa.Array.from_buffers(pa.string(), 2 * k - 1, [keys_only, offsets, self.pa_buf])
        encoded = keys.dictionary_encode()
        table = self.keys.codes(encoded.dictionary.to_pylist())
        indices = encoded.indices  # int32; only every other slot is a key, the rest null
        codes = np.frombuffer(indices.buffers()[1], np.int32, len(indices), 4 * indices.offset)
        return table[codes[::2]]

    def _grow(self, size: int) -> None:
        count = self.count
        self.rows = np.concatenate([self.rows[:count], np.empty(size - count, np.int32)])
        self.key_spans = np.concatenate(
            [self.key_spans[: 2 * count], np.empty(2 * (size - count), np.int32)]
        )
        self.spans = np.concatenate(
            [self.spans[: 2 * count], np.empty(2 * (size - count), np.int32)]
        )

    def groups(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """Line indices grouped by column (stable), and each column's bounds in them."""
        codes = self.codes[: self.count]
        width = len(self.keys.names)
        # A stable argsort of 8- or 16-bit codes is a radix sort (1 or 2 passes).
        order = np.argsort(codes.astype(np.uint8) if width <= 1 << 8 else codes, kind="stable")
        bounds = np.zeros(width + 1, dtype=np.int64)
        np.cumsum(np.bincount(codes, minlength=width), out=bounds[1:])
        return order, bounds

    def piece(self, which: npt.NDArray[np.intp]) -> Any:
        """The slab's part of one column: its lines ``which`` at their rows."""
        where = self.rows[which]
        if where.size > 1 and bool((where[1:] == where[:-1]).any()):
            return _multi_piece(self.values, where, which, self.n)
        return _string_piece(self.values, where, which, self.n)


def _string_piece(
    values: Any, where: npt.NDArray[np.int32], lines: npt.NDArray[np.intp], n: int
) -> Any:
    """Length-``n`` ``large_string``: line ``lines[j]``'s value at row ``where[j]``, else null.

    ``where`` must be strictly increasing. The values are taken compactly (one
    C++ gather); nulls are then spread in with numpy: offsets repeat the compact
    offsets over each run of missing rows, and a bitmap marks the rows present.
    """
    count = len(lines)
    compact = values.take(pa.array(2 * lines))
    starts = np.frombuffer(
        compact.buffers()[1], dtype=np.int32, count=count + 1, offset=4 * compact.offset
    ).astype(np.int64)
    data = compact.buffers()[2]
    if count == n:
        return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(starts), data])
    runs = np.empty(count + 1, dtype=np.int64)  # rows up to each value's, then to the end
    runs[0] = where[0] + 1
    runs[1:count] = np.diff(where)
    runs[count] = n - where[-1]
    offsets = np.repeat(starts, runs)
    valid = np.zeros(n, dtype=bool)
    valid[where] = True
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.large_string(), n, [validity, pa.py_buffer(offsets), data], n - count
    )


def _multi_piece(
    values: Any, where: npt.NDArray[np.int32], lines: npt.NDArray[np.intp], n: int
) -> npt.NDArray[np.object_]:
    """Object cells: ``str``, ``tuple`` where a row repeats the header, NA elsewhere.

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


def _as_cells(piece: Any, n: int) -> npt.NDArray[np.object_]:
    """A slab's piece of a column as object cells (``str`` or NA)."""
    if piece is None:
        return np.full(n, pd.NA, dtype=object)
    if isinstance(piece, np.ndarray):
        return piece
    cells: npt.NDArray[np.object_] = piece.to_numpy(zero_copy_only=False)
    cells[~piece.is_valid().to_numpy(zero_copy_only=False)] = pd.NA
    return cells


# -- all slabs -----------------------------------------------------------------
class Columns:
    """Every column of the frame of raw blocks, as pieces per slab.

    ``names`` are the column names in first-seen order; :meth:`get` gives one
    column as a pandas string array, or an object array when some row repeats
    the header.
    """

    def __init__(
        self, raws: Sequence[bytes], sizes: npt.NDArray[np.int64], wanted: Sequence[str] | None
    ) -> None:
        self.n = len(raws)
        self._keys = _Keys()
        self._wanted = None if wanted is None else {name.lower() for name in wanted}
        self._lengths: list[int] = []
        self._pieces: list[list[Any]] = []
        for first, stop in _cuts(sizes, SLAB):
            self._add(_Slab(raws[first:stop], sizes[first:stop], self._keys))

    @property
    def names(self) -> list[str]:
        return self._keys.names

    def _add(self, slab: _Slab) -> None:
        order, bounds = slab.groups()
        counts = np.diff(bounds)
        wanted = self._wanted
        self._pieces += [[] for _ in range(len(self.names) - len(self._pieces))]
        for code, pieces in enumerate(self._pieces):
            pieces.extend([None] * (len(self._lengths) - len(pieces)))
            if counts[code] and (wanted is None or self.names[code].lower() in wanted):
                pieces.append(slab.piece(order[bounds[code] : bounds[code + 1]]))
            else:
                pieces.append(None)
        self._lengths.append(slab.n)

    def get(self, name: str) -> Any:
        """The column ``name`` (matched case-insensitively), or None if never seen."""
        code = self._keys.find(name)
        if code is None:
            return None
        pieces = self._pieces[code]
        if any(isinstance(p, np.ndarray) for p in pieces):
            return np.concatenate(
                [_as_cells(p, n) for p, n in zip(pieces, self._lengths, strict=True)]
            )
        chunks = [
            pa.nulls(n, pa.large_string()) if p is None else p
            for p, n in zip(pieces, self._lengths, strict=True)
        ]
        return pd.array(
            pa.chunked_array(chunks, pa.large_string()), dtype=pd.StringDtype(na_value=pd.NA)
        )


def columns(raws: Sequence[bytes], wanted: Sequence[str] | None = None) -> Columns | None:
    """The columns of raw AMI blocks (only ``wanted`` built), or None for the reference path."""
    if not raws or len(raws) >= MAX_ROWS:
        return None
    sizes = _sizes(raws)
    if int(sizes.max()) >= MAX_BLOCK:
        return None
    try:
        return Columns(raws, sizes, wanted)
    except _TooWide:
        return None
