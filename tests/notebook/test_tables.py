"""tables.tidy and frame_html without a shell: which columns go, which frames keep wrapping."""

from __future__ import annotations

import pandas as pd

from amilab.notebook.tables import frame_html, tidy


def test_tidy_drops_only_constant_event_and_actionid():
    """Constant Event/ActionID go; a varying Event stays; other constant columns stay."""
    frame = pd.DataFrame(
        {"Event": ["A", "A"], "ActionID": ["x", "x"], "Name": ["1", "2"], "Kind": ["k", "k"]}
    )
    assert list(tidy(frame).columns) == ["Name", "Kind"]
    mixed = frame.assign(Event=["A", "B"])
    assert list(tidy(mixed).columns) == ["Event", "Name", "Kind"]
    assert list(tidy(frame, keep_constant=True).columns) == list(frame.columns)
    assert list(tidy(frame.head(0)).columns) == list(frame.columns)


def test_frame_html_marks_only_the_magics_tables():
    """A tidied frame renders with nowrap; an ordinary frame renders as pandas does."""
    plain = pd.DataFrame({"Uniqueid": ["1700000000.42"]})
    assert frame_html(plain) == plain._repr_html_()
    shown = frame_html(tidy(plain.copy()))
    assert shown is not None and "white-space: nowrap" in shown and "1700000000.42" in shown
