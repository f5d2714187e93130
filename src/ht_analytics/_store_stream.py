"""A first backfill written month by month while its windows are still being read.

An empty store's first sync of all orders reads disjoint creation-date windows and nothing else,
so a month's rows are all in once every window touching one of its days has been read and typed.
:class:`MonthStream` then sorts and writes that month's files on its own threads, while the
request threads page on; the commit only names the files in the manifest (the commit point is
unchanged: until then they are orphans, removed by the next writer or by a failed sync).

Whenever the premise does not hold — an order outside its window's months (or with no creation
time), an order in two windows, a window never read — :meth:`MonthStream.finish` returns ``None``
and the commit writes everything itself, as it does for every other sync.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ._loader import LoadedTables
from ._store_files import MonthFiles, write_month
from ._store_tables import concat, sort_month, split_by_month

__all__ = ["MonthStream"]

log = logging.getLogger("ht_analytics.store")

WRITE_THREADS = 2


def _months(first: date, last: date) -> list[str]:
    """``YYYY-MM`` of every month holding a day of ``[first, last]``."""
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class MonthStream:
    """Writes each month of a first backfill as soon as its windows are in (see the module)."""

    def __init__(self, root: Path, generation: int) -> None:
        self.root = root
        self.generation = generation
        self._lock = threading.Lock()
        self._months_of: dict[tuple[date, date], list[str]] = {}
        self._waiting: dict[str, int] = {}  # month -> windows not read yet
        self._pieces: dict[str, list[LoadedTables]] = {}
        self._writes: dict[str, Future[MonthFiles]] = {}
        self._ids: list[pa.Array] = []
        self._broken: str | None = None
        self._pool = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="store-month")

    def plan(self, windows: list[tuple[date, date]]) -> None:
        """The windows the sync will read (before any is read)."""
        with self._lock:
            for window in windows:
                months = _months(*window)
                self._months_of[window] = months
                for month in months:
                    self._waiting[month] = self._waiting.get(month, 0) + 1
                    self._pieces.setdefault(month, [])

    def add(self, window: tuple[date, date], tables: LoadedTables) -> None:
        """One window's typed tables (called on a typing thread); never raises."""
        try:
            parts = split_by_month(tables)
        except Exception as exc:  # pragma: no cover - a bug; the commit writes everything
            self._break(f"splitting failed: {type(exc).__name__}")
            return
        with self._lock:
            if self._broken is not None:
                return
            months = self._months_of.get(window)
            if months is None:
                self._break_locked(f"window {window} was not planned")
                return
            stray = sorted(set(parts) - set(months))
            if stray or len(tables.orders) != sum(len(p.orders) for p in parts.values()):
                self._break_locked(f"window {window} returned orders of {stray or 'no month'}")
                return
            self._ids.append(tables.orders["order_id"].combine_chunks())
            for month in months:
                if month in parts:
                    self._pieces[month].append(parts[month])
                self._waiting[month] -= 1
                if self._waiting[month] == 0:
                    pieces = self._pieces.pop(month)
                    if pieces:  # (a month no window returned an order of writes nothing)
                        self._writes[month] = self._pool.submit(self._write, month, pieces)

    def _write(self, month: str, pieces: list[LoadedTables]) -> MonthFiles:
        if not pieces:
            return {}
        rows = sort_month(concat(pieces))
        return write_month(self.root, f"created_month={month}", rows, self.generation)

    def _break(self, why: str) -> None:
        with self._lock:
            self._break_locked(why)

    def _break_locked(self, why: str) -> None:
        if self._broken is None:
            self._broken = why
            log.info("writing months as they come stopped (%s): the commit writes them", why)

    def finish(self) -> dict[str, MonthFiles] | None:
        """Wait for every write; the files per month (``YYYY-MM``), or ``None`` when the commit
        must write everything itself. A failed write raises (the sync then fails)."""
        try:
            written = {month: future.result() for month, future in self._writes.items()}
        finally:
            self.close()
        with self._lock:
            if self._broken is None and not self._months_of:
                self._broken = "no window was planned"
            if self._broken is None and any(self._waiting.values()):
                self._broken = "a window was not read"
            if self._broken is None and self._ids:
                ids = pa.concat_arrays(self._ids)
                if len(pc.unique(ids)) != len(ids):
                    self._broken = "an order came in two windows"
            if self._broken is not None:
                return None
        return written

    def close(self) -> None:
        """Stop: pending writes are cancelled, running ones finish."""
        self._pool.shutdown(wait=True, cancel_futures=True)
