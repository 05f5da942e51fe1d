"""``amilab.open_dataset(DIR)``: DuckDB over a captured dataset, filtered before reading.

The files to read are chosen from the partition directories first
(``server=NAME/date=YYYY-MM-DD``): a question about one server and one week
opens only that week's files of that server, whatever the dataset holds. DuckDB
then reads them with ``hive_partitioning = true`` (the ``server`` and ``date``
columns come from the path) and ``union_by_name = true`` (files carry different
header columns), and the time filter skips row groups by their statistics.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amilab.dataset.gaps import read_gaps

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = ["Dataset", "open_dataset"]

TimeArg = datetime | date | str | None
#: Columns every part file has; the rest are the headers seen in that file.
BASE_COLUMNS = ("received_at", "raw")


def _as_utc(value: TimeArg, name: str) -> datetime | None:
    """A UTC datetime from a datetime, a date, an ISO string or a pandas Timestamp."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{name}={value!r} is not an ISO date or time, e.g. '2026-12-05' or "
                "'2026-12-05T14:00:00+00:00'"
            ) from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    # A naive time is taken as UTC: the dataset's times are UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Dataset:
    """A captured dataset on DuckDB: :meth:`events`, :meth:`df` (pandas), :meth:`gaps`."""

    def __init__(self, root: Path, connection: duckdb.DuckDBPyConnection | None = None) -> None:
        import duckdb

        self.root = root
        self.con = connection if connection is not None else duckdb.connect()

    def __repr__(self) -> str:
        return f"<Dataset {self.root}: servers {', '.join(self.servers()) or 'none'}>"

    def servers(self) -> list[str]:
        """The servers with at least one partition directory."""
        return sorted(
            p.name.removeprefix("server=") for p in self.root.glob("server=*") if p.is_dir()
        )

    def files(
        self, server: str | Iterable[str] | None = None, start: TimeArg = None, end: TimeArg = None
    ) -> list[Path]:
        """The part files that may hold events of ``server`` in [start, end), by their paths."""
        wanted = None if server is None else {server} if isinstance(server, str) else set(server)
        first, last = _as_utc(start, "start"), _as_utc(end, "end")
        found = []
        for directory in sorted(self.root.glob("server=*/date=*")):
            name = directory.parent.name.removeprefix("server=")
            day = date.fromisoformat(directory.name.removeprefix("date="))
            if wanted is not None and name not in wanted:
                continue
            if first is not None and day < first.date():
                continue
            if last is not None and day > last.date():
                continue
            found.extend(sorted(directory.glob("part-*.parquet")))
        return found

    def events(
        self,
        server: str | Iterable[str] | None = None,
        start: TimeArg = None,
        end: TimeArg = None,
        columns: Sequence[str] | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation of the events of ``server`` received in [start, end)."""
        files = self.files(server, start, end)
        select = "*" if columns is None else ", ".join(_quote(c) for c in columns)
        if not files:
            empty = "SELECT NULL::TIMESTAMPTZ AS received_at, NULL::BLOB AS raw, "
            empty += "NULL::VARCHAR AS server, NULL::DATE AS date WHERE false"
            return self.con.sql(f"SELECT {select} FROM ({empty})")
        where, params = [], []
        if start is not None:
            where.append("received_at >= ?")
            params.append(_as_utc(start, "start"))
        if end is not None:
            where.append("received_at < ?")
            params.append(_as_utc(end, "end"))
        paths = ", ".join(_literal(os.fspath(f)) for f in files)
        # Typed, not guessed: a server named "2" would otherwise become a number.
        query = (
            f"SELECT {select} FROM read_parquet([{paths}], hive_partitioning = true, "
            "union_by_name = true, hive_types = {'server': VARCHAR, 'date': DATE})"
        )
        if where:
            query += " WHERE " + " AND ".join(where)
        return self.con.sql(query + " ORDER BY received_at", params=params or None)

    def df(
        self,
        server: str | Iterable[str] | None = None,
        start: TimeArg = None,
        end: TimeArg = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The slice as pandas: string columns in pandas' string dtype, ``received_at`` in UTC."""
        import pandas as pd
        import pyarrow as pa

        table = self.events(server, start, end, columns).to_arrow_table()
        strings = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}
        return table.to_pandas(types_mapper=strings.get)

    def gaps(self) -> pd.DataFrame:
        """The gaps table: server, from, to, why (see :mod:`amilab.dataset.gaps`)."""
        return read_gaps(self.root)

    def sql(self, query: str, **relations: Any) -> duckdb.DuckDBPyRelation:
        """Run ``query`` with ``events`` (the whole dataset) and any given relations in scope."""
        scope = {"events": self.events(), **relations}
        for name, relation in scope.items():
            relation.create_view(name, replace=True)
        return self.con.sql(query)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_dataset(root: str | os.PathLike[str]) -> Dataset:
    """The dataset a capture writes under ``root`` (``amilab capture --to ROOT``)."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"no dataset at {path}: it is not a directory; give the --to directory "
            "of `amilab capture`"
        )
    return Dataset(path)
