"""Segments: the recorder's format, their conversion to Parquet, and recovery after a crash."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataset_helpers import DAY_NS, T0, raw_event, write_segment

import amilab
from amilab.dataset.segments import (
    CLASH_PREFIX,
    Segment,
    convert_segment,
    leftover_segments,
    recover_segments,
)


def test_segment_is_a_recorder_capture(tmp_path: Path) -> None:
    """A segment loads with amilab.load_capture: the same blocks, the same receive times."""
    events = [(T0 + i, raw_event("Newchannel", Channel=f"PJSIP/{i}")) for i in range(3)]
    path = write_segment(tmp_path, "pbx1", events)
    loaded = amilab.load_capture(path).snapshot()
    assert loaded == events


def test_segment_appends_whole_blocks(tmp_path: Path) -> None:
    """Segment.append opens the file with the greeting once, then only appends."""
    segment = Segment(tmp_path / "s", T0)
    segment.append(b"a")
    segment.append(b"b")
    segment.close()
    assert segment.path.read_bytes() == amilab.recorder.CAPTURE_GREETING + b"ab"


def test_conversion_columns_and_exact_raw(tmp_path: Path) -> None:
    """Parquet holds received_at (UTC, us), raw bytes exactly, and one string column per header."""
    raws = [
        raw_event("VarSet", Channel="PJSIP/1", Variable="A", Value="1"),
        raw_event("Newexten", Channel="PJSIP/2", AppData="x=é"),
    ]
    events = [(T0 + 1_000 * i, raw) for i, raw in enumerate(raws)]
    segment = write_segment(tmp_path, "pbx1", events)
    result = convert_segment(tmp_path, "pbx1", segment)
    assert not segment.exists()
    assert result.events == 2 and result.last_ns == T0 + 1_000
    (part,) = result.files
    assert part == tmp_path / "server=pbx1" / "date=2026-12-05" / f"part-{T0}.parquet"
    table = pq.read_table(part)
    assert table.schema.field("received_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("raw").to_pylist() == raws
    assert table.column("Event").to_pylist() == ["VarSet", "Newexten"]
    assert table.column("Value").to_pylist() == ["1", None]
    assert table.column("AppData").to_pylist() == [None, "x=é"]
    assert all(
        pa.types.is_string(f.type) for f in table.schema if f.name not in ("received_at", "raw")
    )
    assert [t.value for t in table.column("received_at")] == [T0 // 1000, T0 // 1000 + 1]


def test_repeated_header_keeps_every_value(tmp_path: Path) -> None:
    """A header repeated in one block (ChanVariable) keeps all its values, joined by a newline."""
    raw = raw_event("Hangup", ChanVariable=("A=1", "B=2"), Channel="PJSIP/1")
    segment = write_segment(tmp_path, "pbx1", [(T0, raw)])
    (part,) = convert_segment(tmp_path, "pbx1", segment).files
    assert pq.read_table(part).column("ChanVariable").to_pylist() == ["A=1\nB=2"]


def test_headers_named_like_dataset_columns_are_renamed(tmp_path: Path) -> None:
    """Headers spelled like received_at, raw, server or date are kept as header:<name>."""
    raw = raw_event("UserEvent", Server="pbx9", Date="today", Raw="r")
    segment = write_segment(tmp_path, "pbx1", [(T0, raw)])
    (part,) = convert_segment(tmp_path, "pbx1", segment).files
    names = pq.read_table(part).schema.names
    assert {CLASH_PREFIX + "Server", CLASH_PREFIX + "Date", CLASH_PREFIX + "Raw"} <= set(names)
    query = (
        f'SELECT server, "{CLASH_PREFIX}Server" AS header FROM '
        f"read_parquet('{tmp_path}/server=*/*/*.parquet', hive_partitioning = true)"
    )
    rows = duckdb.sql(query).fetchall()
    assert rows == [("pbx1", "pbx9")]


def test_a_segment_spanning_midnight_splits_by_date(tmp_path: Path) -> None:
    """Events go to the date partition of their own UTC receive time."""
    midnight = (T0 // DAY_NS + 1) * DAY_NS
    events = [(midnight - 1_000, raw_event("A")), (midnight + 1_000, raw_event("B"))]
    segment = write_segment(tmp_path, "pbx1", events)
    files = convert_segment(tmp_path, "pbx1", segment).files
    assert [f.parent.name for f in files] == ["date=2026-12-05", "date=2026-12-06"]
    assert [pq.read_table(f).column("Event").to_pylist() for f in files] == [["A"], ["B"]]


@pytest.mark.parametrize(
    "tail",
    [b"Event: E\r\nN: 3\r\nX-Amilab-Rece", b"Event: E\r\nN: 3\r\nX-Amilab-Received-At: 17", b"\r"],
)
def test_half_written_last_block_is_cut_off(tmp_path: Path, tail: bytes) -> None:
    """A crash mid-write leaves half a block: recovery keeps every complete block, no error."""
    events = [(T0 + i, raw_event("E", N=str(i))) for i in range(3)]
    segment = write_segment(tmp_path, "pbx1", events)
    with segment.open("ab") as f:
        f.write(tail)
    assert recover_segments(tmp_path)["pbx1"].events == 3
    rows = duckdb.sql(f"SELECT N FROM '{tmp_path}/server=pbx1/*/*.parquet' ORDER BY N").fetchall()
    assert rows == [("0",), ("1",), ("2",)]


def test_converting_again_after_a_crash_does_not_duplicate(tmp_path: Path) -> None:
    """A crash after the Parquet is written but before the segment is deleted: no duplicates."""
    events = [(T0 + i, raw_event("E", N=str(i))) for i in range(5)]
    segment = write_segment(tmp_path, "pbx1", events)
    kept = segment.read_bytes()
    convert_segment(tmp_path, "pbx1", segment)
    segment.write_bytes(kept)  # as if the delete never happened
    assert leftover_segments(tmp_path) == [("pbx1", segment)]
    recover_segments(tmp_path)
    count = duckdb.sql(f"SELECT count(*) FROM '{tmp_path}/server=*/*/*.parquet'").fetchall()
    assert count == [(5,)]
    assert leftover_segments(tmp_path) == []


def test_recovery_removes_half_written_parquet(tmp_path: Path) -> None:
    """A _tmp- part file (a crash mid-conversion) is deleted at recovery, never read."""
    partition = tmp_path / "server=pbx1" / "date=2026-12-05"
    partition.mkdir(parents=True)
    (partition / "_tmp-part-1.parquet.partial").write_bytes(b"PAR1 half")
    write_segment(tmp_path, "pbx1", [(T0, raw_event("E"))])
    recover_segments(tmp_path)
    assert sorted(p.name for p in partition.iterdir()) == [f"part-{T0}.parquet"]


def test_empty_segment_converts_to_nothing(tmp_path: Path) -> None:
    """A segment killed before its first block holds nothing and is simply removed."""
    directory = tmp_path / "_segments" / "server=pbx1"
    directory.mkdir(parents=True)
    (directory / f"seg-{T0}.ami").write_bytes(b"")
    assert recover_segments(tmp_path)["pbx1"].events == 0
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize("reader", ["duckdb", "pyarrow"])
def test_files_with_different_headers_read_whole(tmp_path: Path, reader: str) -> None:
    """As the README says: DuckDB union_by_name, or pyarrow with a unified schema."""
    write_segment(tmp_path, "pbx1", [(T0, raw_event("A", Only1="x"))])
    write_segment(tmp_path, "pbx2", [(T0 + 5, raw_event("B", Only2="y"))])
    recover_segments(tmp_path)
    if reader == "duckdb":
        rows = duckdb.sql(
            f"SELECT server, Event, Only1, Only2 FROM read_parquet('{tmp_path}/*/*/*.parquet', "
            "hive_partitioning = true, union_by_name = true) ORDER BY server"
        ).fetchall()
    else:
        import pyarrow.dataset as ds

        files = sorted(str(p) for p in tmp_path.glob("server=*/date=*/*.parquet"))
        partitions = pa.schema([("server", pa.string()), ("date", pa.string())])
        schema = pa.unify_schemas([*(pq.read_schema(f) for f in files), partitions])
        data = ds.dataset(
            files,
            schema=schema,
            partitioning=ds.partitioning(partitions, flavor="hive"),
            partition_base_dir=str(tmp_path),
        )
        table = data.to_table().sort_by("received_at")
        rows = list(
            zip(
                *(table.column(c).to_pylist() for c in ("server", "Event", "Only1", "Only2")),
                strict=True,
            )
        )
    assert rows == [("pbx1", "A", "x", None), ("pbx2", "B", None, "y")]
