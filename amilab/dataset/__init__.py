"""A long-running capture to a hive-partitioned Parquet dataset, and DuckDB over it.

Layout of a dataset directory (``amilab capture --to DIR``)::

    DIR/server=NAME/date=YYYY-MM-DD/part-<ns>.parquet   the events (plain Parquet)
    DIR/_gaps/gap-*.parquet                              the gaps table
    DIR/_segments/server=NAME/seg-<ns>.ami               open segments (recorder format)
    DIR/_state/NAME.json                                 bookkeeping

Parquet readers skip ``_``-prefixed paths, so only the events are read as the
dataset. Modules: :mod:`~amilab.dataset.segments` (segments -> Parquet),
:mod:`~amilab.dataset.gaps`, :mod:`~amilab.dataset.capture` (the process),
:mod:`~amilab.dataset.reader` (:func:`open_dataset`).
"""

from __future__ import annotations

from amilab.dataset.reader import Dataset, open_dataset

__all__ = ["Dataset", "open_dataset"]
