"""AMI messages -> pandas DataFrames: column-wise, lossless, fast.

Shape of :func:`to_frame`'s result:

* one row per message, in input order;
* columns are the union of header names in first-seen order; names merge
  case-insensitively and keep the spelling seen first;
* cells are :data:`STRING_DTYPE`, pandas 3's string dtype with ``pd.NA``
  semantics (``"string"``, pyarrow storage when pyarrow is installed; not the
  NaN-semantics ``"str"`` default), so an absent header is ``pd.NA`` and a
  header sent with an empty value is ``""``;
* a header repeated inside one message (Asterisk 22 repeats ``Variable``,
  ``ChanVariable``, ``Output``; ``TestEvent`` sends ``State`` twice) becomes
  one cell holding the ``tuple`` of all its values, never just the last one.
  Such a column has dtype ``object``: its other cells are ``str`` or ``pd.NA``.

Numbers. Nothing is converted by default (``numeric=False``): the frame is
lossless and its schema never depends on the data, so captures concatenate
and save predictably. A cell is converted only when the text round-trips
exactly, i.e. every non-NA value of the column fully matches
:data:`INTEGER_PATTERN` and fits int64; ``0044``, ``-0``, ``+1``, `` 1``,
``1795669599.10`` and ``""`` keep the whole column as strings.

* ``numeric="known"`` converts only :data:`KNOWN_NUMERIC_FIELDS`, the integer
  fields of the generated AMI catalog (states, causes, counts, seconds; see
  :mod:`amilab.catalog.generate` for the rule); identifiers that merely look
  numeric (``Exten``, ``CallerIDNum``, ``Uniqueid``, ``Linkedid``,
  ``Timestamp``) are never in it. A field named alike in events that differ
  (CoreShowChannel's ``Duration`` is ``HH:MM:SS``) stays text by the
  round-trip rule below.
* ``numeric=True`` converts every column that passes the rule.

Theory of operation: header parsing dominates (12-20 headers per event, a
million events in a busy capture), so there are two paths to one result.

* Fast path (:mod:`amilab._fastframe`), taken when every row is a
  :class:`Message` or raw ``bytes`` and pyarrow is installed: the blocks are
  joined into one buffer and parsed with numpy and Arrow, never making a
  Python object per line or cell; its docstring explains how. Blocks its byte
  rules could misparse (``Response: Follows``, bytes that are not UTF-8) are
  re-encoded from :attr:`Message.headers` first.
* Reference path (:func:`_reference_frame`), for every other input (dict and
  pair rows) and the definition of the result: runs of raw blocks are joined,
  decoded once and split with one regular expression into alternating keys and
  values; a chunk is used only if every line matched (the line count is
  checked), otherwise its messages fall back to :attr:`Message.headers`, the
  single definition of the parsing rules. Columns are scattered with numpy
  index arrays and wrapped as Arrow-backed string arrays.

Tests feed random odd blocks through both paths and require
``DataFrame.equals``-identical frames, dtypes included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from amilab.catalog import load as load_catalog
from amilab.protocol.message import Message
from amilab.protocol.result import ActionResult

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["INTEGER_PATTERN", "KNOWN_NUMERIC_FIELDS", "STRING_DTYPE", "result_frame", "to_frame"]

#: pandas 3 string dtype with ``pd.NA`` for missing values (``"string"``).
STRING_DTYPE = pd.StringDtype(na_value=pd.NA)

#: Text that converts to an integer and back unchanged (so no ``-0``).
INTEGER_PATTERN = r"0|-?[1-9][0-9]*"

#: Headers Asterisk 22 sends as decimal integers (lower-cased), from the
#: generated catalog (:mod:`amilab.catalog`): fields whose documented values
#: are all integers, whose own description says number/count/seconds, and a
#: few the recordings show (queue counters, Priority, CoreStatus's calls);
#: ``catalog.load().integer_reasons`` says which rule gave each.
KNOWN_NUMERIC_FIELDS = load_catalog().integer_fields

Numeric = bool | Literal["known"]
Row = Message | bytes | Mapping[str, Any] | Sequence[tuple[str, Any]]

#: Messages parsed per bulk chunk: big enough to amortise the Python calls,
#: small enough that one odd message only sends a few thousand to the slow path.
_CHUNK = 20_000
_FOLLOWS = b"Response: Follows"
# One match per line (the text is CRLF->LF normalised and starts with "\n", as
# Message.headers does): the key up to the first colon, then ":" and one
# optional space; the text between matches is the value.
_SPLIT = re.compile(r"\n([^:\n]*): ?")
_INTEGER = re.compile(INTEGER_PATTERN)


class _Flat:
    """Every (key, value) of every row, flattened, plus the pair count per row."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.values: list[str] = []
        self.counts: list[int] = []
        self._pending: list[bytes] = []

    def add_raw(self, raw: bytes) -> None:
        pending = self._pending
        pending.append(raw)
        if len(pending) >= _CHUNK:
            self.flush()

    def add_pairs(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.flush()
        before = len(self.keys)
        for key, value in pairs:
            self.keys.append(key)
            self.values.append(value)
        self.counts.append(len(self.keys) - before)

    def flush(self) -> None:
        raws, self._pending = self._pending, []
        if not raws:
            return
        lines = list(map(bytes.count, raws, repeat(b"\n")))
        text = b"\r\n".join(raws).decode("utf-8", "replace")
        parts = _SPLIT.split("\n" + text.replace("\r\n", "\n"))
        if parts[0] == "" and len(parts) == 2 * (sum(lines) + len(raws)) + 1:
            self.keys += parts[1::2]
            self.values += parts[2::2]
            self.counts += [n + 1 for n in lines]
            return
        for raw in raws:
            self.add_pairs(Message(raw).headers)


def _pairs_of(row: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> Iterable[tuple[str, str]]:
    """(key, str value) pairs of a dict or pair-list row; a list/tuple value repeats its key."""
    items = row.items() if isinstance(row, Mapping) else row
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            yield from ((key, str(v)) for v in value)
        else:
            yield key, value if isinstance(value, str) else str(value)


def _flatten(rows: Iterable[Row]) -> _Flat:
    flat = _Flat()
    for row in rows:
        if isinstance(row, Message | bytes):
            raw = row.raw if isinstance(row, Message) else row
            if raw.startswith(_FOLLOWS):
                flat.add_pairs(Message(raw).headers)
            else:
                flat.add_raw(raw)
        else:
            flat.add_pairs(_pairs_of(row))
    flat.flush()
    return flat


def _string_column(values: Any, index: npt.NDArray[np.intp]) -> pd.api.extensions.ExtensionArray:
    """``values[index]`` as a string array, NA where ``index < 0``."""
    missing = index < 0
    if not isinstance(values, np.ndarray):
        import pyarrow as pa

        taken = values.take(pa.array(index, mask=missing))
        return pd.array(taken, dtype=STRING_DTYPE)
    cells = values[np.where(missing, 0, index)] if len(values) else np.empty(len(index), object)
    cells[missing] = None
    return pd.array(cells, dtype=STRING_DTYPE)


def _multi_column(
    values: Sequence[str], rows: npt.NDArray[np.intp], lines: npt.NDArray[np.intp], n: int
) -> npt.NDArray[np.object_]:
    """An object column: ``str`` cells, ``tuple`` where a row repeats the header, NA elsewhere."""
    grouped: dict[int, list[str]] = {}
    for row, line in zip(rows.tolist(), lines.tolist(), strict=True):
        grouped.setdefault(row, []).append(values[line])
    cells = np.full(n, pd.NA, dtype=object)
    for row, vals in grouped.items():
        cells[row] = vals[0] if len(vals) == 1 else tuple(vals)
    return cells


def _to_integers(column: Any) -> Any:
    """``column`` as ``Int64`` if every non-NA value round-trips exactly, else unchanged."""
    present = column[~column.isna()]
    if len(present) == 0 or not pd.Series(present).str.fullmatch(INTEGER_PATTERN).all():
        return column
    try:
        return column.astype("Int64")
    except (ValueError, TypeError, OverflowError):
        return column  # matched the pattern but beyond int64: keep the text


def _wants_number(name: str, numeric: Numeric) -> bool:
    if numeric == "known":
        return name.lower() in KNOWN_NUMERIC_FIELDS
    return bool(numeric)


def _value_store(values: list[str]) -> Any:
    """The flat values as an Arrow array when pyarrow is there (fast take), else numpy."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is in the test extra
        return np.array(values, dtype=object)
    return pa.array(values, type=pa.large_string())


def to_frame(
    messages: Iterable[Row],
    *,
    numeric: Numeric = False,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Messages -> one DataFrame row each.

    A row may also be the raw ``bytes`` of one AMI block (no blank line), a
    dict, or a list of (key, value) pairs; in the last two a list or tuple
    value repeats its key and ``None`` leaves it out.

    ``columns`` selects and orders the output columns (matched
    case-insensitively, spelled as given; a name never seen is all NA).
    ``numeric`` is explained in the module docstring.
    """
    rows = messages if isinstance(messages, list) else list(messages)
    raws = _raw_blocks(rows)
    frame = None if raws is None else _fast_frame(raws, numeric, columns)
    if frame is None:
        return _reference_frame(rows, numeric, columns)
    return frame


def result_frame(
    result: ActionResult, include_response: bool = False, *, numeric: Numeric = False
) -> pd.DataFrame:
    """An action's answer as a DataFrame: its list items (the response alone when there are none).

    ``include_response`` puts the response first. This is what
    ``result.to_frame()`` and ``result.df`` call (:mod:`amilab.results`).
    """
    rows: list[Message] = result.events
    if include_response or not rows:
        rows = [result.response, *rows] if result else rows
    return to_frame(rows, numeric=numeric)


def _raw_blocks(rows: list[Row]) -> list[bytes] | None:
    """The raw bytes of every row when all are Messages or bytes, else None."""
    if set(map(type, rows)) <= {bytes}:
        return cast("list[bytes]", rows)
    raws = [row.raw if isinstance(row, Message) else row for row in rows]
    if all(isinstance(raw, bytes) for raw in raws):
        return cast("list[bytes]", raws)
    return None


def _fast_frame(
    raws: list[bytes], numeric: Numeric, columns: Sequence[str] | None
) -> pd.DataFrame | None:
    """The frame of raw blocks via :mod:`amilab._fastframe`, or None where it does not apply."""
    try:
        from amilab import _fastframe
    except ImportError:  # pragma: no cover - pyarrow is in the test extra
        return None
    built = _fastframe.columns(raws, columns)
    if built is None:
        return None
    n = built.n
    wanted = list(built.names) if columns is None else list(columns)
    data: dict[str, Any] = {}
    for name in wanted:
        column = built.get(name)
        if column is None:
            data[name] = pd.array([None] * n, dtype=STRING_DTYPE)
        elif isinstance(column, np.ndarray):
            data[name] = column
        else:
            data[name] = _to_integers(column) if _wants_number(name, numeric) else column
    return pd.DataFrame(data, index=pd.RangeIndex(n), columns=wanted)


def _reference_frame(
    messages: Iterable[Row], numeric: Numeric, columns: Sequence[str] | None
) -> pd.DataFrame:
    """The reference implementation of :func:`to_frame`, for any rows (see the docstring)."""
    flat = _flatten(messages)
    n = len(flat.counts)
    column_of: dict[str, int] = {}
    position: dict[str, int] = {}
    names: list[str] = []
    for key in dict.fromkeys(flat.keys):
        j = position.setdefault(key.lower(), len(names))
        if j == len(names):
            names.append(key)
        column_of[key] = j
    codes = np.fromiter(map(column_of.__getitem__, flat.keys), np.intp, len(flat.keys))
    rows = np.repeat(np.arange(n, dtype=np.intp), flat.counts)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    store = _value_store(flat.values)
    wanted = names if columns is None else list(columns)
    data: dict[str, Any] = {}
    for name in wanted:
        found = position.get(name.lower())
        if found is None:
            data[name] = pd.array([None] * n, dtype=STRING_DTYPE)
            continue
        lines = order[bounds[found] : bounds[found + 1]]
        where = rows[lines]
        if where.size > 1 and bool((where[1:] == where[:-1]).any()):
            data[name] = _multi_column(flat.values, where, lines, n)
            continue
        index = np.full(n, -1, dtype=np.intp)
        index[where] = lines
        column = _string_column(store, index)
        data[name] = _to_integers(column) if _wants_number(name, numeric) else column
    return pd.DataFrame(data, index=pd.RangeIndex(n), columns=wanted)
