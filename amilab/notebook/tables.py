"""Result tables as the magic shows them: what matters first, and IDs on one line.

Two observed annoyances of the first hour (issue 11 section 3): a list's
items all carry the same ``Event`` and ``ActionID``, two columns that push
the interesting ones off screen; and a long value (an ``ObjectName`` list,
a ``Variable``) made the notebook wrap an ID such as a Uniqueid or a channel
name over three lines. :func:`tidy` drops the constant columns (the
``ActionResult`` in ``_ami`` keeps everything); :func:`frame_html`, registered
as IPython's HTML printer for DataFrames, renders the magic's own tables
(marked in ``DataFrame.attrs``) with ``white-space: nowrap`` and every other
DataFrame exactly as pandas does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONSTANT_COLUMNS",
    "NOWRAP_ATTR",
    "frame_html",
    "register_html",
    "tidy",
    "unregister_html",
]

#: List-item columns that say the same on every row of one action's answer: the
#: item event's name and our own ActionID.
CONSTANT_COLUMNS = ("Event", "ActionID")
#: ``DataFrame.attrs`` key marking a table made by the magic, shown without wrapping.
NOWRAP_ATTR = "amilab.nowrap"
#: Wrapped around such a table's HTML so a long value widens its column (the frontend
#: scrolls) instead of breaking an ID over lines.
_NOWRAP_STYLE = (
    "<style>.amilab-nowrap td, .amilab-nowrap th {white-space: nowrap;}</style>"
    '<div class="amilab-nowrap">'
)
#: DataFrame's ``__module__`` and name; IPython matches deferred printers on them, so
#: pandas is not imported when the extension loads. pandas 3 says ``pandas``;
#: pandas 2 said ``pandas.core.frame``.
_DATAFRAMES = (("pandas", "DataFrame"), ("pandas.core.frame", "DataFrame"))


def tidy(frame: pd.DataFrame, *, keep_constant: bool = False) -> pd.DataFrame:
    """``frame`` marked as the magic's, without its constant Event/ActionID columns."""
    if not keep_constant and len(frame):
        same = [c for c in CONSTANT_COLUMNS if c in frame and frame[c].nunique() <= 1]
        frame = frame.drop(columns=same)
    mark(frame)
    return frame


def mark(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark ``frame`` as one of the magic's tables (rendered without wrapping)."""
    frame.attrs[NOWRAP_ATTR] = True
    return frame


def frame_html(frame: Any) -> str | None:
    """A DataFrame's own HTML; the magic's tables without wrapping."""
    text: str | None = frame._repr_html_()
    if text is None or not frame.attrs.get(NOWRAP_ATTR):
        return text
    return f"{_NOWRAP_STYLE}{text}</div>"


def register_html(formatter: Any) -> None:
    """Make :func:`frame_html` IPython's HTML printer for DataFrames (``text/html`` formatter)."""
    for module, name in _DATAFRAMES:
        formatter.for_type_by_name(module, name, frame_html)


def unregister_html(formatter: Any) -> None:
    """Remove :func:`frame_html`, deferred or (once a frame was shown) registered by type."""
    for key in _DATAFRAMES:
        if formatter.deferred_printers.get(key) is frame_html:
            del formatter.deferred_printers[key]
    for typ, printer in list(formatter.type_printers.items()):
        if printer is frame_html:
            del formatter.type_printers[typ]
