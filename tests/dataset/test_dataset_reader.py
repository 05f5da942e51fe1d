"""amilab.open_dataset: DuckDB over the dataset, files chosen by server and date first."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from dataset_helpers import DAY_NS, T0, raw_event, write_segment

import amilab
from amilab.dataset.gaps import Gap, write_gap
from amilab.dataset.segments import recover_segments

SECOND = 1_000_000_000


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Two servers over two days: pbx1 on both days, pbx2 on the first only."""
    write_segment(tmp_path, "pbx1", [(T0 + i * SECOND, raw_event("A", N=str(i))) for i in range(3)])
    write_segment(tmp_path, "pbx1", [(T0 + DAY_NS, raw_event("B", Other="o"))])
    write_segment(tmp_path, "pbx2", [(T0 + SECOND // 2, raw_event("C"))])
    recover_segments(tmp_path)
    return tmp_path


def test_whole_dataset(dataset: Path) -> None:
    """df() with no filter: every event, with server and date from the paths, in time order."""
    df = amilab.open_dataset(dataset).df()
    assert list(df["Event"]) == ["A", "C", "A", "A", "B"]
    assert list(df["server"]) == ["pbx1", "pbx2", "pbx1", "pbx1", "pbx1"]
    assert df["Event"].dtype == pd.StringDtype()
    assert str(df["received_at"].dt.tz) in ("UTC", "Etc/UTC")
    assert df["raw"][1] == raw_event("C")


def test_filters_choose_files_before_reading(dataset: Path) -> None:
    """A server and a time range open only that server's files of those dates."""
    data = amilab.open_dataset(dataset)
    assert len(data.files()) == 3
    day2 = datetime.fromtimestamp((T0 + DAY_NS) / 1e9, tz=UTC)
    assert [f.parent.name for f in data.files("pbx1", start=day2)] == ["date=2026-12-06"]
    assert data.files("pbx2", start=day2) == []
    assert len(data.files(["pbx1", "pbx2"], end="2026-12-05T23:00:00")) == 2


def test_time_filter_is_exact(dataset: Path) -> None:
    """[start, end) on received_at, naive times taken as UTC."""
    data = amilab.open_dataset(dataset)
    start = datetime.fromtimestamp((T0 + SECOND) / 1e9, tz=UTC)
    end = datetime.fromtimestamp((T0 + 2 * SECOND) / 1e9, tz=UTC).replace(tzinfo=None)
    df = data.df("pbx1", start=start, end=end)
    assert list(df["N"]) == ["1"]


def test_columns_and_sql(dataset: Path) -> None:
    """columns= selects; sql() sees the whole dataset as `events`."""
    data = amilab.open_dataset(dataset)
    assert list(data.df(columns=["server", "Event"]).columns) == ["server", "Event"]
    rows = data.sql("SELECT server, count(*) FROM events GROUP BY server ORDER BY server")
    assert rows.fetchall() == [("pbx1", 4), ("pbx2", 1)]


def test_empty_selection_is_an_empty_frame(dataset: Path) -> None:
    """No file matches: an empty frame, not an error."""
    df = amilab.open_dataset(dataset).df("nope")
    assert len(df) == 0 and "received_at" in df.columns


def test_gaps_and_servers(dataset: Path) -> None:
    """gaps() reads the gaps table; servers() and the repr list the partitions."""
    write_gap(dataset, Gap("pbx2", T0, T0 + SECOND, "reconnect: link down (reset)"))
    data = amilab.open_dataset(dataset)
    assert data.servers() == ["pbx1", "pbx2"]
    assert list(data.gaps()["why"]) == ["reconnect: link down (reset)"]
    assert "pbx1, pbx2" in repr(data)


def test_a_numeric_server_name_stays_a_string(tmp_path: Path) -> None:
    """server comes from the path as text, whatever the name looks like."""
    write_segment(tmp_path, "2", [(T0, raw_event("A"))])
    recover_segments(tmp_path)
    df = amilab.open_dataset(tmp_path).df("2")
    assert df["server"].tolist() == ["2"] and df["server"].dtype == pd.StringDtype()


def test_bad_input_says_what_to_do(tmp_path: Path) -> None:
    """A missing directory or an unreadable time gets a clear error."""
    with pytest.raises(FileNotFoundError, match="--to directory"):
        amilab.open_dataset(tmp_path / "missing")
    with pytest.raises(ValueError, match="not an ISO date"):
        amilab.open_dataset(tmp_path).df(start="yesterday")
