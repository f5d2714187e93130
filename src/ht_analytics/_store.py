"""``OrderStore``: every order as typed Parquet on disk, brought up to date incrementally.

Layout and write protocol: :mod:`._store_files`; one writer at a time: :mod:`._store_lock`;
which requests a sync makes: :mod:`._sync_plan` and :mod:`._sync`; an empty store's first backfill
writing its months while it reads: :mod:`._store_stream`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from ._bounds import moment
from ._client import PartnerClient
from ._exceptions import CacheError, HTError
from ._frames import OrderFrames
from ._loader import LoadedTables, frames_from_tables, load_tables
from ._params import format_date
from ._schema import ARROW_SCHEMAS, STATUS_DTYPE, UTC_US
from ._secrets import safe_url
from ._store_files import (
    DATA_TABLES,
    FORMAT,
    LOCAL,
    MANIFEST,
    PARQUET,
    SCHEMA_VERSION,
    STATE,
    DamagedFileError,
    Manifest,
    MonthFiles,
    atomic_write_bytes,
    checked_fragment,
    ensure_private_dir,
    foreign_entries,
    new_file_name,
    now_utc,
    read_json_file,
    remove_orphans,
    remove_store,
    write_month,
    write_parquet,
)
from ._store_lock import StoreLock, unwritable, wait_for_writer
from ._store_stream import MonthStream
from ._store_tables import (
    SNAPSHOT_SCHEMA,
    UNKNOWN_MONTH,
    changed_ids,
    conform_all,
    dedupe_last,
    empty,
    merge,
    month_of,
    only,
    snapshot_rows,
    split_by_month,
    without,
)
from ._sync import (
    TERMINAL_IDS,
    Held,
    fetch,
    not_contradicted,
    today_utc,
    unlearnt,
    with_held_tags,
)
from ._sync_plan import PAGE_SIZE
from ._sync_report import SyncReport, TagCheck
from ._version import toolkit_version

__all__ = ["OrderStore"]

log = logging.getLogger("ht_analytics.store")

CACHE_ENV = "HT_CACHE_DIR"
DEFAULT_PATH = Path("data") / "cache"
ALL = "*"


class OrderStore:
    """A Parquet cache of a partner's orders: hive-partitioned by creation month, readable by
    DuckDB, Polars and Spark as it is, synced incrementally, with a snapshot history.

    Args:
        path: the directory; else ``$HT_CACHE_DIR``; else ``./data/cache``. Created user-only.
        lock_timeout: seconds a writer waits for another one to finish before raising
            :class:`CacheError`.

    Example:
        >>> store = OrderStore("data/cache")  # doctest: +SKIP
        >>> report = store.sync(client)  # doctest: +SKIP
        >>> frames = store.load(start="2026-01-01")  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, lock_timeout: float = 60.0):
        chosen = path if path is not None else os.environ.get(CACHE_ENV) or DEFAULT_PATH
        self.path = Path(chosen).expanduser().absolute()
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"OrderStore({str(self.path)!r})"

    # -- reading ------------------------------------------------------------------------------

    def _manifest(self) -> Manifest | None:
        return Manifest.read(self.path)

    def _present(self) -> Manifest | None:
        """The manifest a reader goes by: ``None`` only when there is no store yet (nothing, or
        what a killed first backfill leaves); ``CacheError`` when the manifest is lost while
        files of earlier syncs remain (as ``sync`` says). A writer caught half-way (``clear()``
        deleting, a first sync committing) is waited for, and the store looked at again."""
        manifest = self._manifest()
        if manifest is not None:
            return manifest
        try:
            _check_not_lost(self.path)
            return None
        except CacheError:
            wait_for_writer(self.path, self.lock_timeout)
            manifest = self._manifest()
            if manifest is None:
                _check_not_lost(self.path)
            return manifest

    def _read(
        self,
        manifest: Manifest,
        table: str,
        partitions: set[str] | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        schema = _schema_of(table)
        entries = manifest.entries(self.path, table, iter(partitions) if partitions else None)
        if partitions is not None and not partitions:
            entries = []
        if not entries:
            empty_table = schema.empty_table()
            return empty_table.select(columns) if columns else empty_table
        # Each file's footer is checked first (what the store wrote: columns, types, rows), so
        # that a file edited by hand is named rather than read with nulls, casts or rows missing.
        fragments = _fragments(self.path, entries, schema)
        try:
            dataset = ds.FileSystemDataset(fragments, schema, PARQUET, LOCAL)
            return dataset.to_table(columns=columns)
        except (OSError, pa.ArrowInvalid) as exc:
            missing = [p for p, _ in entries if not p.exists()]
            if missing:
                raise _MovedError(missing[0]) from None  # a writer replaced files as we read
            raise _unreadable(self.path, exc) from None

    def _tables(self, manifest: Manifest, partitions: set[str] | None = None) -> LoadedTables:
        return LoadedTables(*(self._read(manifest, t, partitions) for t in DATA_TABLES))

    def _whole_manifest(self) -> Manifest | None:
        """The manifest, once every file it names is there: a writer that replaced files while
        we looked gives a new manifest (looked at again); the same manifest naming a missing
        file is a damaged store (``CacheError``)."""
        for _ in range(3):
            manifest = self._present()
            if manifest is None:
                return None
            try:
                _check_files(self.path, manifest)
                return manifest
            except _MovedError as moved:
                now = self._manifest()
                if now is not None and now.same_as(manifest):
                    raise _damaged(self.path, moved.path) from None
        raise CacheError(f"the store at {self.path} kept changing while being read; try again")

    def _retrying(self, read: Any) -> Any:
        """Run a read; if a writer replaced files under it, read the new manifest once more."""
        for attempt in range(3):
            manifest = self._present()
            try:
                return read(manifest)
            except _MovedError as moved:
                now = self._manifest()
                if now is not None and manifest is not None and now.same_as(manifest):
                    raise _damaged(self.path, moved.path) from None  # no writer: a lost file
                if attempt == 2:
                    raise CacheError(
                        f"the store at {self.path} kept changing while being read; try again"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def load(self, *, start: Any = None, end: Any = None, as_of: Any = None) -> OrderFrames:
        """The stored orders as :class:`OrderFrames`, typed exactly as :func:`load_orders` makes
        them. No network.

        Args:
            start, end: bound ``created_at``, inclusive. A date (a ``date``, ``YYYY-MM-DD``
                or ``MM-DD-YYYY``) as ``end`` includes its whole UTC day; a ``datetime``,
                ``Timestamp`` or ISO-8601 timestamp is that very instant, even at midnight (a
                naive one is UTC). Only the months concerned are read.
            as_of: "what did we know then": only orders some sync had fetched by that instant
                (a date: by the end of that UTC day), with the creation time, status, progress
                status, at-risk flag and total the last such sync saw (other columns are as last
                fetched); ``start``/``end`` then bound the creation time known then.

        Dates are a ``date``, ``datetime``, ``YYYY-MM-DD``, an ISO-8601 timestamp or
        ``MM-DD-YYYY``; anything else (``"2026-02"``, a number) is a ``ValueError``.

        A damaged store is a :class:`CacheError` naming what is wrong and what to do (as for
        ``snapshots``, ``info``, ``duckdb`` and ``sync``): a file the manifest names is missing,
        or is not what the store wrote there (its footer shows other columns or types, or
        another row count than the manifest recorded: edited or replaced by hand), or the
        manifest is lost while files of earlier syncs remain.
        """

        lo, hi = _bound(start, "start"), _bound(end, "end", end_of_day=True)
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"start {start} is after end {end}")
        when = _instant(as_of) if as_of is not None else None

        def read(manifest: Manifest | None) -> OrderFrames:
            if manifest is None:
                return frames_from_tables(empty())
            # As of a past instant, an order's creation time is the one known then: its month
            # may have changed since, so every month is read.
            parts = _partitions(manifest, lo, hi) if when is None else None
            tables = self._tables(manifest, parts)
            if when is not None:
                tables = _as_of(tables, self._read(manifest, "snapshots"), when)
            if lo is not None or hi is not None:
                created = tables.orders["created_at"]
                keep = pc.is_valid(created)
                if lo is not None:
                    keep = pc.and_(keep, pc.greater_equal(created, pa.scalar(lo, UTC_US)))
                if hi is not None:
                    keep = pc.and_(keep, pc.less_equal(created, pa.scalar(hi, UTC_US)))
                ids = tables.orders["order_id"].filter(keep).combine_chunks()
                tables = only(tables, ids)
            return frames_from_tables(tables)

        result: OrderFrames = self._retrying(read)
        return result

    def snapshots(self) -> pd.DataFrame:
        """One row per order per sync that fetched it: ``order_id``, ``synced_at``, ``sync_id``,
        ``created_at``, ``status_id``, ``status``, ``progress_status_id``, ``at_risk``,
        ``total_amount``."""

        def read(manifest: Manifest | None) -> pa.Table:
            if manifest is None:
                return SNAPSHOT_SCHEMA.empty_table()
            return self._read(manifest, "snapshots")

        return _snapshots_frame(self._retrying(read))

    def info(self) -> dict[str, Any]:
        """Where the store is, what it holds, and when it was last synced."""
        manifest = self._whole_manifest()
        info: dict[str, Any] = {"path": str(self.path), "exists": manifest is not None}
        if manifest is None:
            return info
        orders = self._retrying(
            lambda m: self._read(m, "orders", columns=["created_at", "status_id"])
        )
        created = orders["created_at"]
        size = sum(
            _size(p) for t in (*DATA_TABLES, "snapshots") for p in manifest.paths(self.path, t)
        )
        info.update(
            {
                "schema_version": SCHEMA_VERSION,
                "base_url": manifest.base_url,
                "created": manifest.created,
                "updated": manifest.updated,
                "rows": {t: manifest.rows(t) for t in (*DATA_TABLES, "snapshots")},
                "months": len(manifest.files["orders"]),
                "first_created": _iso(pc.min(created).as_py()),
                "last_created": _iso(pc.max(created).as_py()),
                "open_orders": _open_count(orders["status_id"]),
                "syncs": len(manifest.snapshots),
                "last_sync": manifest.state.get("last_sync"),
                "bytes": size,
            }
        )
        return info

    def clear(self) -> None:
        """Delete every stored order, snapshot and the sync state (waits for a running sync)."""
        if not self._clearable():
            return
        with StoreLock(self.path, self.lock_timeout, "clear"):
            remove_store(self.path)

    def _clearable(self) -> bool:
        """Whether there is a store to clear (``False``: nothing at the path); ``CacheError``
        when the path holds something that is not a store (nothing is deleted then)."""
        if not self.path.exists():
            return False
        if not self.path.is_dir():
            raise CacheError(f"{self.path} is not a directory: nothing deleted")
        try:
            found = read_json_file(self.path / MANIFEST)
            damaged = False
        except CacheError:  # unreadable: a damaged store of ours, or someone else's file
            found, damaged = None, True
        if found is not None and found.get("format") != FORMAT:
            raise CacheError(
                f"{self.path} holds a {MANIFEST} that is not an ht-analytics order store: "
                "nothing deleted"
            )
        if found is None and (other := foreign_entries(self.path)):
            why = f"its {MANIFEST} cannot be read" if damaged else f"no {MANIFEST}"
            raise CacheError(
                f"{self.path} is not an ht-analytics store ({why}, and it holds "
                f"{', '.join(other[:5])}{' …' if len(other) > 5 else ''}): nothing deleted"
            )
        return True

    def duckdb(self) -> Any:
        """A DuckDB connection (in memory) with views ``orders``, ``services``, ``adjustments``,
        ``tags``, ``problems`` and ``snapshots`` over the store's files. Needs ``duckdb``.

        The views name the files of the store as it is now: after a later sync (which replaces
        files), open a new connection."""
        try:
            import duckdb
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "store.duckdb() needs duckdb: uv add duckdb (or pip install 'ht-analytics[duckdb]')"
            ) from None
        manifest = self._whole_manifest()
        con = duckdb.connect()
        for table in (*DATA_TABLES, "snapshots"):
            paths = manifest.paths(self.path, table) if manifest is not None else []
            if paths:
                files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
                # Table names are this module's constants; paths are quoted SQL literals.
                sql = f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{files}], hive_partitioning = true)"  # noqa: S608
                con.execute(sql)
            else:
                schema = _schema_of(table)
                # An empty table of the same columns (in memory), nothing else left in the catalog.
                con.register(f"_empty_{table}", schema.empty_table())
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM _empty_{table}")  # noqa: S608
                con.unregister(f"_empty_{table}")
        return con

    # -- syncing ------------------------------------------------------------------------------

    def sync(
        self,
        client: PartnerClient,
        *,
        tags: str | list[str] | tuple[str, ...] | None = None,
        start: Any = None,
        end: Any = None,
        full: bool = False,
        lookback_days: int = 30,
        concurrency: int = 4,
        progress: bool = True,
    ) -> SyncReport:
        """Bring the store up to date with the API; returns a :class:`SyncReport`.

        The first sync (of all orders, or of each tag) backfills ``start``–``end`` (default: from
        the first order to today) in creation-date windows paged by ``concurrency`` threads that
        share the client's rate limit. Later syncs read the orders created since the high-water
        mark minus ``lookback_days`` and every order the store holds as open, and upsert on
        ``order_id``; ``full=True`` reads everything again. With ``tags`` the orders are read per
        tag, membership goes to the ``tags`` table and is checked against ``count_by_tag``.

        Nothing changes unless everything was read: a sync that fails leaves the store as it
        was and returns a report with ``ok=False`` (``report.raise_for_error()`` raises). (A first
        backfill writes each month's files as soon as the month is read, but the manifest names
        them only at the end; a failed one removes them.)
        """
        tag_list = _tags(tags)
        if lookback_days < 0:
            raise ValueError("lookback_days must be 0 or more")
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        start_d = _day(start, "start")
        end_d = _day(end, "end")
        if start_d and end_d and start_d > end_d:
            raise ValueError(f"start {start_d} is after end {end_d}")
        try:
            ensure_private_dir(self.path)
        except OSError as exc:
            raise unwritable(self.path, exc) from None
        t0 = time.monotonic()
        started = now_utc()
        stats0 = client.stats
        with StoreLock(self.path, self.lock_timeout, "sync"):
            manifest = self._manifest()
            self._check_origin(manifest, client)
            if manifest is not None:
                try:
                    _check_files(self.path, manifest)
                except _MovedError as moved:  # under the lock no writer moves files: a loss
                    raise _damaged(self.path, moved.path) from None
            else:
                _check_not_lost(self.path)
            removed = remove_orphans(self.path, manifest)
            if removed:
                log.info("removed %d file(s) left by an interrupted sync", removed)
            state = manifest.state if manifest is not None else {"scopes": {}}
            held = Held.of(
                *(
                    (
                        self._read(
                            manifest, "orders", columns=["order_id", "created_at", "status_id"]
                        ),
                        self._read(manifest, "tags"),
                    )
                    if manifest is not None
                    else (
                        ARROW_SCHEMAS["orders"]
                        .empty_table()
                        .select(["order_id", "created_at", "status_id"]),
                        ARROW_SCHEMAS["tags"].empty_table(),
                    )
                )
            )
            scopes = tuple(f"tag:{t}" for t in tag_list) if tag_list else (ALL,)
            known = [state["scopes"].get(s) for s in scopes]
            kind = (
                "full" if full else ("backfill" if any(k is None for k in known) else "incremental")
            )
            base = SyncReport(
                ok=False,
                kind=kind,
                scope=scopes,
                started_at=started.isoformat(timespec="seconds"),
                elapsed=0.0,
            )
            # An empty store's first sync of all orders writes each month as soon as it is read.
            empty_store = manifest is None or not any(manifest.files[t] for t in DATA_TABLES)
            stream = (
                MonthStream(self.path, (manifest.generation if manifest else 0) + 1)
                if kind == "backfill" and tag_list is None and empty_store
                else None
            )
            try:
                ranges, head = self._ranges(
                    client, kind, known, tag_list, start_d, end_d, lookback_days
                )
                preread = None
                windows = ranges
                unsplit: list[tuple[date, date]] = []
                guard = None
                paged_through = head is not None and head.every_page  # no plan to trust
                if (
                    kind in ("backfill", "full")
                    and start_d is None
                    and ranges
                    and not paged_through
                ):
                    # The first order's day came from one answer (the first page, or a tag's
                    # first order): the days before it are read too, so that an answer that was
                    # another query's (a proxy or cache replaying it) loses nothing. One request.
                    before = ranges[0][0] - timedelta(days=1)
                    guard = (min(GUARD_FROM, before), before)
                    unsplit.append(guard)
                elif kind in ("backfill", "full") and start_d is None and head is None:
                    # No order at all, said by one answer (the first page, or each tag's first
                    # order): one window over every day asks again in another form, so that a
                    # replayed empty answer cannot leave the store empty. One request.
                    unsplit.append((GUARD_FROM, max(GUARD_FROM, end_d or today_utc())))
                if head is not None and (len(head.tables.orders) or len(head.tables.problems)):
                    last = end_d or today_utc()
                    first = head.first or last
                    read_to = last if head.rest is None else head.rest - timedelta(days=1)
                    preread = ((first, max(first, min(read_to, last))), head.tables)
                    windows = [] if head.rest is None or head.rest > last else [(head.rest, last)]
                    if head.every_page and stream is not None:  # no window plan to stream by
                        stream.close()
                        stream = None
                if head is not None and head.whole:  # the page said it was the whole listing:
                    unsplit += windows  # one window checks its last day and after
                    windows = []
                fetched = fetch(
                    client,
                    held,
                    ranges=windows,
                    preread=preread,
                    unsplit=unsplit,
                    guard=guard,
                    tags=tag_list,
                    recheck_open=kind == "incremental",
                    recheck_bounds=(start_d, end_d),
                    # Windows planned from the first order's day: an empty answer is suspect.
                    reread_empty=kind in ("backfill", "full")
                    and start_d is None
                    and tag_list is None,
                    concurrency=concurrency,
                    progress=progress,
                    stream=stream,
                )
            except HTError as exc:
                self._abandon(stream, manifest)
                stats = client.stats
                exc.add_note(f"the sync failed; the store at {self.path} is unchanged")
                exc.__traceback__ = None  # (its frames hold the pages read: not kept alive)
                return replace(
                    base,
                    error=str(exc),
                    exception=exc,
                    orders_in_store=manifest.rows("orders") if manifest is not None else 0,
                    elapsed=time.monotonic() - t0,
                    requests=stats.requests - stats0.requests,
                    pages=stats.pages - stats0.pages,
                    retries=stats.retries - stats0.retries,
                )
            except BaseException:
                self._abandon(stream, manifest)
                raise
            log.info(
                "%s sync read %d creation-date window(s)%s with %d thread(s)%s",
                kind,
                len(fetched.windows),
                f" ({fetched.windows[0][0]} to {fetched.windows[-1][1]})"
                if fetched.windows
                else "",
                concurrency,
                f", re-read {fetched.rechecked_open} open order(s)"
                if fetched.rechecked_open
                else "",
            )
            try:
                new = _orphans_once(dedupe_last(fetched.groups))
                if fetched.tag_rows:
                    fetched.tag_rows = not_contradicted(fetched, new)
                    tags_all = pa.concat_tables(
                        [new.tags, *(t.cast(ARROW_SCHEMAS["tags"]) for t in fetched.tag_rows)]
                    )
                    tags_all = tags_all.group_by(["order_id", "tag"], use_threads=False).aggregate(
                        []
                    )
                    new = replace(new, tags=tags_all.cast(ARROW_SCHEMAS["tags"]))
                streamed = stream.finish() if stream is not None else None
                unlearn = unlearnt(held, fetched, new)
                if len(unlearn):
                    log.info(
                        "%d tag membership(s) the store held are no longer in their tag's "
                        "answers: removed",
                        len(unlearn),
                    )
                new = with_held_tags(new, held, unlearn)
            except BaseException:
                self._abandon(stream, manifest)
                raise
            orphan_problems = int(
                pc.sum(pc.is_null(new.problems["order_id"]).cast(pa.int64())).as_py() or 0
            )
            counts = self._commit(
                manifest,
                client,
                new,
                held,
                started,
                state,
                scopes,
                ranges,
                kind,
                streamed,
                unlearn,
            )
            warnings = list(fetched.warnings)
            if fetched.gone:
                warnings.append(
                    f"{len(fetched.gone)} order(s) the store holds are gone from the API "
                    f"(404): {', '.join(map(str, sorted(fetched.gone)[:10]))} — kept as last seen"
                )
            if orphan_problems:
                loose = new.problems.filter(pc.is_null(new.problems["order_id"]))
                no_id = loose.filter(
                    pc.and_(pc.equal(loose["table"], "orders"), pc.equal(loose["field"], "id"))
                )
                if len(no_id):
                    # One order read twice (by two windows) is named once.
                    ids = list(dict.fromkeys(no_id["raw_value"].to_pylist()))
                    shown = ", ".join(repr(v) for v in ids[:5])
                    warnings.append(
                        f"{len(ids)} order(s) left out of the store: their id cannot be read "
                        f"({shown}); a later sync cannot read them either"
                    )
                for row in loose.slice(0, 20).to_pylist():
                    log.warning(
                        "not stored (no order id): %s %s: %s",
                        row["table"],
                        row["field"],
                        row["reason"],
                    )
                warnings.append(
                    f"{orphan_problems} problem(s) not tied to an order (logged on "
                    "ht_analytics.store, not stored)"
                )
            if len(new.problems):
                warnings.append(
                    f"{len(new.problems):,} data problem(s): unreadable values or notes "
                    "(store.load().problems)"
                )
            checks = (
                self._tag_checks(client, tag_list, start_d, end_d, warnings) if tag_list else ()
            )
            stats = client.stats
            final_manifest = self._manifest()
            log.info(
                "committed: %d new, %d changed, %d unchanged order(s); the store holds %d",
                counts[0],
                counts[1],
                len(new.orders) - counts[0] - counts[1],
                final_manifest.rows("orders") if final_manifest else 0,
            )
            return replace(
                base,
                ok=True,
                elapsed=time.monotonic() - t0,
                requests=stats.requests - stats0.requests,
                pages=stats.pages - stats0.pages,
                retries=stats.retries - stats0.retries,
                fetched=len(new.orders),
                new=counts[0],
                changed=counts[1],
                unchanged=len(new.orders) - counts[0] - counts[1],
                windows=tuple((a.isoformat(), b.isoformat()) for a, b in fetched.windows),
                rechecked_open=fetched.rechecked_open,
                fetched_one_by_one=fetched.one_by_one,
                problems=len(new.problems),
                orders_in_store=final_manifest.rows("orders") if final_manifest else 0,
                tag_checks=checks,
                warnings=tuple(warnings),
            )

    def _abandon(self, stream: MonthStream | None, manifest: Manifest | None) -> None:
        """A sync that will not commit: stop its month stream and remove what the stream wrote
        (files no manifest names; the lock is still held)."""
        if stream is not None:
            stream.close()
            remove_orphans(self.path, manifest)

    def _check_origin(self, manifest: Manifest | None, client: PartnerClient) -> None:
        if manifest is None or manifest.base_url is None:
            return
        if _origin(manifest.base_url) != _origin(client.base_url):
            raise CacheError(
                f"the store at {self.path} holds orders from {manifest.base_url}, not "
                f"{safe_url(client.base_url)}; use another directory (OrderStore(path=...) or "
                "HT_CACHE_DIR) or clear it first"
            )

    def _ranges(
        self,
        client: PartnerClient,
        kind: str,
        known: list[dict[str, Any] | None],
        tags: tuple[str, ...] | None,
        start: date | None,
        end: date | None,
        lookback_days: int,
    ) -> tuple[list[tuple[date, date]], _Head | None]:
        """The creation-date ranges the sync covers, and (a backfill of all orders from the
        first one) the first page, already read."""
        last = end or today_utc()
        if kind in ("backfill", "full"):
            if start is None and tags is None:
                head = _head(client, end, last)
                if head is None:
                    return [], None
                if head.first is None or head.first > last:
                    return [], head
                return [(head.first, last)], head
            first = start or _earliest(client, tags)
            return ([(first, last)] if first is not None and first <= last else []), None
        covered_first = min(date.fromisoformat(k["first"]) for k in known if k)
        high_water = min(datetime.fromisoformat(k["high_water"]) for k in known if k)
        ranges = []
        if start is not None and start < covered_first:
            ranges.append((start, covered_first - timedelta(days=1)))
        lo = max(high_water.date() - timedelta(days=lookback_days), covered_first)
        if lo <= last:
            ranges.append((lo, last))
        return ranges, None

    def _commit(
        self,
        manifest: Manifest | None,
        client: PartnerClient,
        new: LoadedTables,
        held: Held,
        started: datetime,
        state: dict[str, Any],
        scopes: tuple[str, ...],
        ranges: list[tuple[date, date]],
        kind: str,
        streamed: dict[str, MonthFiles] | None = None,
        unlearn: pa.Table | None = None,
    ) -> tuple[int, int]:
        """Write the merged partitions and the snapshot, then the manifest (the commit point),
        then the state; remove what the manifest no longer names. Returns (new, changed)."""
        stamp = now_utc()
        m = manifest or Manifest(base_url=safe_url(client.base_url), created=stamp.isoformat())
        generation = m.generation + 1
        ids = new.orders["order_id"].combine_chunks()
        ids_np = ids.to_numpy()
        was_held = np.isin(ids_np, held.ids)
        new_count = int((~was_held).sum())
        # Months where the stored rows of the fetched orders live (an order may have moved).
        pos = np.isin(held.ids, ids_np)
        if unlearn is not None and len(unlearn):  # and where tags it disproved are stored
            pos |= np.isin(held.ids, unlearn["order_id"].to_numpy())
        old_months = set(
            month_of(pa.array(held.days[pos].astype("datetime64[us]"), UTC_US)).to_pylist()
        )
        if streamed is not None and sum(
            w["orders"][1] for w in streamed.values() if "orders" in w
        ) != len(new.orders):
            log.warning("the months written while reading miss orders: writing them all again")
            streamed = None
        by_month = {} if streamed is not None else split_by_month(new)
        files = {t: dict(v) for t, v in m.files.items()}
        for mon, written in (streamed or {}).items():  # months written while reading
            for table, entry in written.items():
                files[table][f"created_month={mon}"] = entry

        def month(part: str, fresh: LoadedTables) -> tuple[set[int], MonthFiles]:
            """Merge one month with what it held and write its files: (changed ids, files)."""
            old = self._tables(m, {part}) if part in m.files["orders"] else None
            changed = changed_ids(old, fresh) if old is not None else set()
            merged = merge(old, fresh, ids, unlearn)
            return changed, write_month(self.path, part, merged, generation)

        sync_id = f"{stamp:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        snapshots = list(m.snapshots)
        changed: set[int] = set()
        # Merging, Parquet encoding, compression and fsync mostly release the GIL: one task per
        # month on a few threads, the snapshot beside them; on an error (or Ctrl-C) the months
        # not started yet are cancelled.
        writers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="store-write")
        try:
            pending = {
                f"created_month={mon}": writers.submit(
                    month, f"created_month={mon}", by_month.get(mon, empty())
                )
                for mon in sorted(set(by_month) | old_months)
            }
            snapshot = None
            if len(new.orders):
                rel = f"snapshots/sync_date={stamp:%Y-%m-%d}/{new_file_name(generation)}"
                rows = snapshot_rows(new.orders, pa.scalar(stamp, UTC_US), sync_id)
                snapshot = writers.submit(write_parquet, self.path / rel, rows)
                snapshots.append((rel, len(new.orders)))
            for part, future in pending.items():
                # A failed write fails the sync here, before the manifest changes.
                month_changed, written = future.result()
                changed |= month_changed
                for table in DATA_TABLES:
                    if table in written:
                        files[table][part] = written[table]
                    else:
                        files[table].pop(part, None)
            if snapshot is not None:
                snapshot.result()
        finally:
            writers.shutdown(wait=True, cancel_futures=True)
        moved = _moved(held, ids_np, new.orders["created_at"])
        changed |= moved
        m.files, m.snapshots = files, snapshots
        m.generation, m.updated, m.toolkit_version = (
            generation,
            stamp.isoformat(),
            toolkit_version(),
        )
        m.state = _next_state(state, scopes, new, ranges, started, kind)
        m.write(self.path)  # ← the commit point (data and state together)
        atomic_write_bytes(self.path / STATE, json.dumps(m.state, indent=1).encode())
        remove_orphans(self.path, m)
        return new_count, len(changed)

    def _tag_checks(
        self,
        client: PartnerClient,
        tags: tuple[str, ...],
        start: date | None,
        end: date | None,
        warnings: list[str],
    ) -> tuple[TagCheck, ...]:
        frames_tags = self._retrying(lambda m: self._read(m, "tags"))
        orders = self._retrying(
            lambda m: self._read(m, "orders", columns=["order_id", "created_at"])
        )
        if start is not None or end is not None:
            created = orders["created_at"]
            keep = pc.is_valid(created)
            if start is not None:
                keep = pc.and_(keep, pc.greater_equal(created, pa.scalar(_midnight(start), UTC_US)))
            if end is not None:
                keep = pc.and_(
                    keep, pc.less(created, pa.scalar(_midnight(end + timedelta(days=1)), UTC_US))
                )
            orders = orders.filter(keep)
        in_range = frames_tags.filter(
            pc.is_in(frames_tags["order_id"], value_set=orders["order_id"].combine_chunks())
        )
        local = dict.fromkeys(tags, 0)
        for tag, n in zip(
            *np.unique(in_range["tag"].to_numpy(zero_copy_only=False), return_counts=True),
            strict=True,
        ):
            if tag in local:
                local[tag] = int(n)
        try:
            server: dict[str, int] = client.count_by_tag(list(tags), start=start, end=end)
        except HTError as exc:
            warnings.append(f"count_by_tag failed, tag counts not checked: {exc}")
            server = {}
        checks = tuple(TagCheck(t, local[t], server.get(t)) for t in tags)
        for c in checks:
            if c.server is not None and not c.ok:
                warnings.append(
                    f"tag {c.tag}: the store has {c.local:,} orders, the API counts {c.server:,}"
                )
        return checks


def _next_state(
    state: dict[str, Any],
    scopes: tuple[str, ...],
    new: LoadedTables,
    ranges: list[tuple[date, date]],
    started: datetime,
    kind: str,
) -> dict[str, Any]:
    """The sync state after this sync: each scope's first date and high-water mark."""
    state = {**state, "scopes": dict(state.get("scopes", {}))}
    top = pc.max(new.orders["created_at"]).as_py()
    if top is not None and ranges:  # never past the end of what was asked for
        top = min(
            top, _midnight(max(b for _, b in ranges) + timedelta(days=1)) - timedelta.resolution
        )
    for scope in scopes:
        old = state["scopes"].get(scope) if kind != "full" else None
        firsts = [a for a, _ in ranges] + ([date.fromisoformat(old["first"])] if old else [])
        marks = ([top] if top else []) + (
            [datetime.fromisoformat(old["high_water"])] if old else []
        )
        if not firsts:
            continue
        if not marks:
            marks = [datetime.combine(max(b for _, b in ranges), datetime.min.time(), UTC)]
        state["scopes"][scope] = {
            "first": min(firsts).isoformat(),
            "high_water": max(marks).isoformat(),
        }
    state["last_sync"] = {
        "started": started.isoformat(timespec="seconds"),
        "kind": kind,
        "scopes": list(scopes),
        "orders_fetched": len(new.orders),
    }
    return state


class _MovedError(Exception):
    """A file named by the manifest vanished: a writer replaced it while we read (or, if the
    manifest did not change meanwhile, the store is damaged)."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def _damaged(root: Path, path: Path, what: str = "is missing") -> CacheError:
    return CacheError(
        f"the store at {root} is damaged: {path.relative_to(root).as_posix()}, named by its "
        f"{MANIFEST}, {what}; clear it (`ht-analytics cache clear --cache {root}`) and sync "
        "again"
    )


def _unreadable(root: Path, exc: Exception) -> CacheError:
    return CacheError(
        f"the store at {root} cannot be read ({type(exc).__name__}: {exc}); clear it "
        f"(`ht-analytics cache clear --cache {root}`) and sync again"
    )


def _schema_of(table: str) -> pa.Schema:
    """The columns and types the store writes for ``table``."""
    return SNAPSHOT_SCHEMA if table == "snapshots" else ARROW_SCHEMAS[table]


def _fragments(
    root: Path, entries: list[tuple[Path, int]], schema: pa.Schema
) -> list[ds.ParquetFileFragment]:
    """The files as fragments whose footers were checked (``checked_fragment``): a missing one
    is ``_MovedError`` (a writer replaced it, or it is lost), one that is not what the store
    wrote a ``CacheError`` naming it."""
    fragments = []
    for path, rows in entries:
        try:
            fragments.append(checked_fragment(path, rows, schema))
        except DamagedFileError as bad:
            raise _damaged(root, path, f"{bad.what}, as if edited or replaced by hand") from None
        except OSError as exc:
            if not path.is_file():
                raise _MovedError(path) from None
            raise _unreadable(root, exc) from None
    return fragments


def _size(path: Path) -> int:
    """Bytes of a file (0 if a writer replaced it a moment ago)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _check_files(root: Path, manifest: Manifest) -> None:
    """Every file the manifest names is there (``_MovedError`` naming the first missing) and
    holds what the store wrote, by its footer (``CacheError`` naming it)."""
    for table in (*DATA_TABLES, "snapshots"):
        _fragments(root, manifest.entries(root, table), _schema_of(table))


def _check_not_lost(root: Path) -> None:
    """No manifest, yet files only a committed sync leaves (a later generation than a first
    backfill's, or the sync state): the manifest was lost. ``CacheError`` rather than reading an
    empty store, or a sync's orphan clean-up deleting the data and its history. (A killed first
    backfill leaves generation-1 files only: no store yet, and orphans a sync removes.)"""
    later = any(
        not path.name.startswith("part-000001-")
        for table in (*DATA_TABLES, "snapshots")
        if (root / table).is_dir()
        for path in (root / table).rglob("part-*.parquet")  # not a killed write's temporary file
    )
    if later or (root / STATE).exists():
        raise CacheError(
            f"the store at {root} has data files from earlier syncs but no {MANIFEST}: it is "
            "damaged (nothing in it can be read, and a sync would delete those files). Move "
            f"the directory aside (or clear it: `ht-analytics cache clear --cache {root}`) and "
            "sync again"
        )


def _tags(tags: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    if tags is None:
        return None
    items = (tags,) if isinstance(tags, str) else tuple(tags)
    if not items or any(not isinstance(t, str) or not t.strip() for t in items):
        raise ValueError("tags must be one or more non-empty strings")
    return tuple(dict.fromkeys(t.strip() for t in items))


def _day(value: Any, name: str) -> date | None:
    if value is None:
        return None
    return datetime.strptime(format_date(value, name=name), "%m-%d-%Y").date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def _instant(value: Any, name: str = "as_of") -> datetime:
    """An ``as_of`` instant in UTC; a date (``date`` or ``YYYY-MM-DD``) means the end of that UTC
    day (what the syncs made that day knew)."""
    stamp, day = moment(value, name)
    if day:
        stamp += pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    result: datetime = stamp.to_pydatetime()
    return result


def _bound(value: Any, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A ``start``/``end`` bound as a UTC instant. An ``end`` given as a date (a ``date``,
    ``YYYY-MM-DD`` or ``MM-DD-YYYY``) covers its whole UTC day; a ``datetime``, ``Timestamp`` or
    ISO-8601 timestamp is that very instant, midnight included (a naive one is UTC)."""
    if value is None:
        return None
    stamp, day = moment(value, name)
    if end_of_day and day:
        stamp += pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    result: datetime = stamp.to_pydatetime()
    return result


def _partitions(manifest: Manifest, lo: datetime | None, hi: datetime | None) -> set[str] | None:
    """The month partitions that can hold orders created in ``[lo, hi]`` (``None``: all)."""
    if lo is None and hi is None:
        return None
    first = f"{lo:%Y-%m}" if lo else "0000-00"
    last = f"{hi:%Y-%m}" if hi else "9999-99"
    parts = set()
    for part in manifest.files["orders"]:
        month = part.split("=", 1)[1]
        if month != UNKNOWN_MONTH and first <= month <= last:
            parts.add(part)
    return parts


def _origin(url: str) -> str:
    """Scheme and host (loopback ports ignored: every sandbox run picks a free port)."""
    parsed = httpx.URL(url)
    host = parsed.host
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    return f"{parsed.scheme}://{host}" + ("" if loopback else f":{parsed.port or ''}")


def _moved(held: Held, ids: np.ndarray, created: pa.ChunkedArray) -> set[int]:
    """Fetched orders whose creation day changed (so they moved partition): changed."""
    if not len(held.ids) or not len(ids):
        return set()
    order = np.argsort(held.ids)
    pos = np.searchsorted(held.ids, ids, sorter=order)
    pos = np.clip(pos, 0, len(held.ids) - 1)
    found = held.ids[order][pos] == ids
    old_days = held.days[order][pos]
    new_days = created.to_numpy().astype("datetime64[D]")
    old_months, new_months = old_days.astype("datetime64[M]"), new_days.astype("datetime64[M]")
    both_unknown = np.isnat(old_months) & np.isnat(new_months)
    differ = found & (old_months != new_months) & ~both_unknown
    return {int(x) for x in ids[differ]}


def _earliest(client: PartnerClient, tags: tuple[str, ...] | None) -> date | None:
    """The creation date of the first order (one request per tag)."""
    firsts = []
    for tag_filter in [None] if tags is None else [(t,) for t in tags]:
        page = next(iter(client.iter_pages(tags=tag_filter, page_size=1)), None)
        if page is None or not page.orders:
            continue
        created = load_tables(page.orders[:1]).orders["created_at"]
        first = pc.min(created).as_py()
        if first is not None:
            firsts.append(first.date())
    return min(firsts) if firsts else None


@dataclass(frozen=True, slots=True)
class _Head:
    """The first page of all orders, read as data (a backfill of all orders needs no separate
    request for the first order's date).

    ``first``: the first order's creation day (``None``: no order has a readable one).
    ``rest``: the first day the windows must still read, or ``None`` when nothing is left to
    read. ``tables``: the orders read, typed and conformed: those created before ``rest`` (all
    when ``rest`` is ``None``) and those with no readable creation time (no window returns
    them); none created after ``last``, the backfill's end."""

    first: date | None
    rest: date | None
    tables: LoadedTables
    every_page: bool = False  # the whole listing was read in turn (no windows)
    whole: bool = False  # the page was the last of the listing (its days after: one window)


GUARD_FROM = date(1970, 1, 1)
"""Where a backfill's guard window starts (see ``sync``): before any order can have been made."""


def _head(client: PartnerClient, end: date | None, last: date) -> _Head | None:
    """Read the first page of all orders (up to ``end``), sorted by creation time (the
    ``order_by=created_at&sort=ASC`` the client sends).

    Sorted, the page holds every order created before the day of its last order, so the windows
    start on that day. A page that is not sorted (a server that ignores the sort) or has no
    readable creation time says nothing about the orders before it: then every page of the
    listing is read in turn, with the cursor, and no window is needed."""
    pages = client._iter_raw_pages(page_size=PAGE_SIZE, end=end)
    try:
        page = next(pages, None)
        if page is None or not page.orders:
            return None
        tables = _typed([page.raw])
        created = tables.orders["created_at"].combine_chunks()
        days = pc.drop_null(created).to_numpy().astype("datetime64[D]")
        # The last page: no next cursor, and shorter than asked for (a full page without a
        # cursor may hide more — or a server holding exactly one page: one request more).
        last_page = page.next_cursor is None and len(page.orders) < PAGE_SIZE
        if not last_page and (not len(days) or bool((days[1:] < days[:-1]).any())):
            log.warning(
                "the first page of orders is not sorted by creation time (or has none): "
                "reading every page in turn instead of in date windows"
            )
            tables = _typed([page.raw, *(p.raw for p in pages)])
            created = tables.orders["created_at"].combine_chunks()
            first = pc.min(created).as_py()
            return _Head(first and first.date(), None, _not_after(tables, last), every_page=True)
    finally:
        pages.close()  # type: ignore[attr-defined]
    if not len(days):  # the one page of the listing, and no readable creation time on it
        return _Head(None, None, _not_after(tables, last))
    first = days.min().astype(object)
    # Even the last page of the listing leaves its last day to a window (and the backfill reads
    # the days before its first): a page that was another query's answer, replayed by a proxy or
    # a cache, cannot pass for the whole listing.
    rest = days[-1].astype(object)
    later = pc.fill_null(pc.greater_equal(created, pa.scalar(_midnight(rest), UTC_US)), False)
    before = without(tables, tables.orders["order_id"].combine_chunks().filter(later))
    return _Head(first, rest, _not_after(before, last), whole=last_page)


def _orphans_once(tables: LoadedTables) -> LoadedTables:
    """Problems tied to no order (an order whose id cannot be read) once each: two windows that
    both read such an order (a first page and the window of its last day) name it once."""
    problems = tables.problems
    loose = pc.is_null(problems["order_id"])
    if (pc.sum(loose.cast(pa.int64())).as_py() or 0) < 2:
        return tables
    rows = problems.filter(loose).to_pylist()
    unique = list({tuple(row.values()): row for row in rows}.values())
    if len(unique) == len(rows):
        return tables
    kept = pa.concat_tables(
        [problems.filter(pc.invert(loose)), pa.Table.from_pylist(unique, schema=problems.schema)]
    )
    return replace(tables, problems=kept)


def _typed(raws: list[bytes]) -> LoadedTables:
    return conform_all(load_tables(raws, depth_checked=True))  # checked by the client


def _not_after(tables: LoadedTables, last: date) -> LoadedTables:
    """Without the orders created after the day ``last`` (those a window up to ``last`` would
    not return either)."""
    created = tables.orders["created_at"]
    after = pc.fill_null(
        pc.greater_equal(created, pa.scalar(_midnight(last + timedelta(days=1)), UTC_US)), False
    )
    return without(tables, tables.orders["order_id"].filter(after).combine_chunks())


def _as_of(tables: LoadedTables, snapshots: pa.Table, when: datetime) -> LoadedTables:
    """The orders known at ``when``, with the snapshot values the last sync before it saw."""
    seen = snapshots.filter(pc.less_equal(snapshots["synced_at"], pa.scalar(when, UTC_US)))
    if not len(seen):
        return only(tables, pa.array([], pa.int64()))
    order = pc.sort_indices(
        seen, sort_keys=[("order_id", "ascending"), ("synced_at", "descending")]
    )
    seen = seen.take(order)
    ids = seen["order_id"].to_numpy()
    keep = np.ones(len(ids), dtype=bool)
    keep[1:] = ids[1:] != ids[:-1]
    latest = seen.filter(pa.array(keep))
    tables = only(tables, latest["order_id"].combine_chunks())
    orders = tables.orders
    idx = pc.index_in(orders["order_id"], value_set=latest["order_id"].combine_chunks())
    for column in (
        "created_at",
        "status_id",
        "status",
        "progress_status_id",
        "at_risk",
        "total_amount",
    ):
        values = latest[column].combine_chunks().take(idx).cast(orders.schema.field(column).type)
        orders = orders.set_column(orders.schema.get_field_index(column), column, values)
    return LoadedTables(orders, tables.services, tables.adjustments, tables.tags, tables.problems)


def _snapshots_frame(table: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas(
        types_mapper=lambda t: (
            pd.ArrowDtype(t)
            if pa.types.is_decimal(t)
            else pd.BooleanDtype()
            if pa.types.is_boolean(t)
            else pd.Int64Dtype()
            if pa.types.is_integer(t)
            else None
        )
    )
    frame["order_id"] = frame["order_id"].astype("int64")
    frame["status"] = frame["status"].astype(STATUS_DTYPE)
    frame["sync_id"] = frame["sync_id"].astype("str")
    return frame


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _open_count(status_ids: pa.ChunkedArray) -> int:
    """Orders not known to be terminal (an unknown status counts as open)."""
    status = pc.fill_null(status_ids, -1).to_numpy()
    return int((~np.isin(status, TERMINAL_IDS)).sum())
