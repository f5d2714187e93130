"""Fetching for :meth:`OrderStore.sync`: plan the requests, run them on a thread pool sharing the
client (and so its rate limit), and type each window's pages on typing threads as soon as they are
in, while the request threads page on."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from ._client import PartnerClient
from ._exceptions import HTError, NotFoundError, PayloadError
from ._loader import LoadedTables, load_tables
from ._schema import UTC_US
from ._statuses import TERMINAL_STATUSES
from ._store_stream import MonthStream
from ._store_tables import conform_all
from ._sync_plan import PAGE_SIZE, cover, split_range, window_count

__all__ = ["Fetched", "Held", "fetch", "not_contradicted", "unlearnt", "with_held_tags"]

log = logging.getLogger("ht_analytics.store")

TYPING_THREADS = 2
"""Threads typing what the request threads read (Arrow parsing releases the GIL), so that a
request thread moves on to its next window at once."""

TERMINAL_IDS = np.array(sorted(s.value for s in TERMINAL_STATUSES), dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Held:
    """What the store holds, as far as planning needs: ids, creation days, status ids, tags."""

    ids: np.ndarray  # int64
    days: np.ndarray  # datetime64[D] (NaT when unknown)
    status: np.ndarray  # int64, -1 when unknown
    tagged: dict[str, np.ndarray]  # tag -> ids carrying it

    @classmethod
    def of(cls, orders: pa.Table, tags: pa.Table) -> Held:
        created = orders["created_at"].to_numpy()
        days = created.astype("datetime64[D]") if len(created) else np.array([], "datetime64[D]")
        status = pc.fill_null(orders["status_id"], -1).to_numpy()
        tagged: dict[str, np.ndarray] = {}
        if len(tags):
            for tag, ids in zip(
                *_grouped(tags["tag"].to_numpy(zero_copy_only=False), tags["order_id"].to_numpy()),
                strict=True,
            ):
                tagged[tag] = ids
        return cls(orders["order_id"].to_numpy(), days, status, tagged)

    def tags_of(self, ids: np.ndarray) -> pa.Table:
        """The memberships held for ``ids`` (``order_id``, ``tag``)."""
        parts = [(tag, held[np.isin(held, ids)]) for tag, held in self.tagged.items()]
        return pa.table(
            {
                "order_id": pa.array(
                    np.concatenate([p for _, p in parts]) if parts else [], pa.int64()
                ),
                "tag": pa.array([tag for tag, p in parts for _ in range(len(p))], pa.string()),
            }
        )

    def days_of(self, ids: np.ndarray) -> np.ndarray:
        """The creation days of ``ids`` (NaT: unknown, or not held)."""
        if not len(self.ids):
            return np.full(len(ids), np.datetime64("NaT"), "datetime64[D]")
        sorter = np.argsort(self.ids, kind="stable")
        at = sorter[np.minimum(np.searchsorted(self.ids, ids, sorter=sorter), len(sorter) - 1)]
        return np.where(self.ids[at] == ids, self.days[at], np.datetime64("NaT", "D"))

    def day_counts(self, tags: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Stored orders per creation day (only those carrying one of ``tags``, if given)."""
        days = self.days
        if tags:
            days = days[np.isin(self.ids, np.concatenate([self.tagged.get(t, []) for t in tags]))]
        valid = days[~np.isnat(days)]
        days, counts = np.unique(valid, return_counts=True)
        return days, counts.astype(np.int64)

    def open_mask(self, tags: tuple[str, ...] | None) -> np.ndarray:
        """Orders not known to be terminal: an open status, none, or an id the toolkit does not
        know (the API may have added a status: it counts as open, as in the metrics)."""
        mask = ~np.isin(self.status, TERMINAL_IDS)
        if tags:
            mask &= np.isin(self.ids, np.concatenate([self.tagged.get(t, []) for t in tags]))
        return mask


def _grouped(keys: np.ndarray, values: np.ndarray) -> tuple[list[Any], list[np.ndarray]]:
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    uniq, starts = np.unique(keys, return_index=True)
    return list(uniq), np.split(values, starts[1:])


@dataclass(slots=True)
class Fetched:
    """Everything one sync read, as conformed Arrow tables per request group (in fetch order)."""

    groups: list[LoadedTables] = field(default_factory=list)
    windows: list[tuple[date, date]] = field(default_factory=list)
    rechecked_open: int = 0
    one_by_one: int = 0
    gone: list[int] = field(default_factory=list)
    tag_rows: list[pa.Table] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tag_cover: dict[str, list[tuple[date, date]]] = field(default_factory=dict)
    tag_unchecked: np.ndarray = field(default_factory=lambda: np.array([], np.int64))
    """Orders that may have lost a tag but were not read by id this sync: they keep it."""
    """Per tag, the creation-date windows read in full with that tag alone (and answered with
    at least one order): every order carrying the tag created in them was returned."""


def _shows_bars() -> bool:
    """Whether a progress bar can be seen: stderr is a terminal, or this is a Jupyter kernel
    (whose stderr is no terminal, but shows bars). Not when stderr goes to a file or a pipe
    (a script's log), where a bar is only noise."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False
    ipython = sys.modules.get("IPython")  # (never imported here: only if it runs already)
    try:
        shell = ipython.get_ipython() if ipython is not None else None
        return shell is not None and "IPKernelApp" in shell.config  # a kernel, as tqdm checks
    except Exception:  # an IPython without the usual shell: no bar rather than an error
        return False


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.bar = tqdm(
            total=None,
            unit=" orders",
            desc="sync",
            disable=not (enabled and _shows_bars()),
            dynamic_ncols=True,
        )
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def fetch(
    client: PartnerClient,
    held: Held,
    *,
    ranges: list[tuple[date, date]],
    tags: tuple[str, ...] | None,
    recheck_open: bool,
    recheck_bounds: tuple[date | None, date | None],
    concurrency: int,
    progress: bool,
    stream: MonthStream | None = None,
    preread: tuple[tuple[date, date], LoadedTables] | None = None,
    unsplit: Sequence[tuple[date, date]] = (),
    guard: tuple[date, date] | None = None,
    reread_empty: bool = False,
) -> Fetched:
    """Read the ``ranges`` of creation dates (per tag when ``tags``), and, with
    ``recheck_open``, every order the store holds as open that the ranges do not cover.

    ``stream`` (for a sync of all orders that reads nothing but the windows) is told the windows,
    then given each window's tables as soon as they are typed. ``preread``: a window already read
    (the backfill's first page), which comes first. ``unsplit``: windows read as they are, after
    the others (where a backfill expects few orders or none: the days before the first order it
    was told of, the days after a first page that was the whole listing). ``guard``: the one of
    them where no order is expected at all (an empty answer there is no sign of a replay, even
    where the store holds orders the API has since deleted). ``reread_empty``: the windows were
    planned from the first order's day (a backfill of all orders): one answered with no order is
    read once more."""
    if tags is not None or recheck_open:
        stream = None
    out = Fetched()
    if preread is not None:
        out.windows.append(preread[0])
    stop = threading.Event()
    bar = _Progress(progress)
    if preread is not None:
        bar.add(len(preread[1].orders))
    try:
        with _pool(concurrency, stop) as pool, _pool(TYPING_THREADS, stop) as typer:
            run = _Runner(pool, typer, stop)
            # Phase 1: the windows, and the open orders created before them.
            estimated = None
            if len(held.ids):
                days, counts = held.day_counts()
                estimated = sum(
                    int(counts[(days >= np.datetime64(a)) & (days <= np.datetime64(b))].sum())
                    for a, b in ranges
                )
            pieces = window_count(concurrency, estimated)
            out.windows += unsplit  # before the others: submitted last, to the first free thread
            for first, last in ranges:
                out.windows += split_range(first, last, max(1, pieces // max(1, len(ranges))))
            if stream is not None:
                stream.plan(out.windows)
                if preread is not None:
                    stream.add(*preread)
            # Newest first: orders pile up towards the present, so the biggest windows start
            # first and the small old ones fill the threads' gaps at the end.
            page = functools.partial(run.submit, _pages, client, bar, stop, run)
            tag_windows: list[tuple[str, date, date, Future[Any]]] = []
            for a, b in reversed(out.windows[1:] if preread is not None else out.windows):
                for tag_filter in _per_tag(tags):
                    window = page(
                        tag_filter,
                        start=a,
                        end=b,
                        status=None,
                        sink=None if stream is None else functools.partial(stream.add, (a, b)),
                        held=None
                        if (a, b) == guard
                        else _held_in(
                            held,
                            tag_filter,
                            a,
                            b,
                            out.warnings,
                            # (not the unsplit ones: each already asks again, in another
                            # form, what one answer said: that there is no order there)
                            planned=reread_empty and (a, b) not in unsplit,
                        ),
                    )
                    if tag_filter is not None:
                        tag_windows.append((tag_filter[0], a, b, window))
            open_future: Future[Any] | None = None
            wanted = departed = np.array([], np.int64)
            departed_days = np.array([], "datetime64[D]")
            range_reads: list[tuple[date, date, Future[Any]]] = []
            if recheck_open and len(held.ids):
                wanted, open_first, open_last = _open_before(held, ranges, tags, recheck_bounds)
                if len(wanted):
                    # One query per tag, so that each answer says which tags its orders carry
                    # (an open order that gained a tag is learnt now, not at its next window).
                    for tag_filter in _per_tag(tags):
                        open_future = page(
                            tag_filter, start=open_first, end=open_last, status="open"
                        )
            run.wait()
            phase1 = run.results()
            # Phase 2: open orders the status query no longer returned, and open orders the
            # windows should have returned but did not (their creation date changed, or they
            # are gone) or cannot return (no creation date): each by id.
            run.futures = []
            got = [g.orders["order_id"].combine_chunks() for g, _ in phase1]
            returned = pa.concat_arrays(got).to_numpy() if got else np.array([], np.int64)
            if recheck_open and len(held.ids):
                unseen = _open_unseen(held, ranges, tags, recheck_bounds, returned)
                if len(unseen):
                    log.info(
                        "%d open order(s) the windows did not return: %d get_order call(s)",
                        len(unseen),
                        len(unseen),
                    )
                    for chunk in np.array_split(unseen, concurrency):
                        if len(chunk):
                            run.submit(
                                _singles, client, bar, stop, run, [int(x) for x in chunk], out
                            )
                    out.one_by_one += len(unseen)
            if open_future is not None:
                out.rechecked_open = len(wanted)
                departed = wanted[~np.isin(wanted, returned)]
                if len(departed):
                    pos = np.searchsorted(held.ids, departed, sorter=np.argsort(held.ids))
                    departed_days = held.days[np.argsort(held.ids)][pos]
                    day_days, day_counts = held.day_counts(tags)
                    plan = cover(departed, departed_days, day_days, day_counts)
                    log.info(
                        "%d open order(s) left the open statuses: %d range(s), %d get_order "
                        "call(s)",
                        len(departed),
                        len(plan.ranges),
                        len(plan.singles),
                    )
                    for a, b in plan.ranges:  # within the sync's tags: no other order comes in
                        future = run.submit(
                            _pages, client, bar, stop, run, tags, start=a, end=b, status=None
                        )
                        range_reads.append((a, b, future))
                    for chunk in np.array_split(np.array(plan.singles, np.int64), concurrency):
                        if len(chunk):
                            run.submit(
                                _singles, client, bar, stop, run, [int(x) for x in chunk], out
                            )
                    out.one_by_one += len(plan.singles)
            run.wait()
            phase2 = run.results()
            if open_future is not None and len(departed):
                # A departed order that no range returned is read by id when it lost the sync's
                # tags (it is in no tagged range), or when its range came back empty (a cache's
                # empty page: kept as last seen, it would stay open). One a range that returned
                # orders left out is gone (deleted, or created on another day): not asked for on
                # every sync.
                got = [g.orders["order_id"].combine_chunks() for g, _ in phase2]
                seen = pa.concat_arrays(got).to_numpy() if got else np.array([], np.int64)
                unseen = ~np.isin(departed, seen)
                if not tags:
                    empty = np.zeros(len(departed), dtype=bool)
                    for a, b, future in range_reads:
                        if not len(future.result()[0].result().orders):
                            empty |= (departed_days >= np.datetime64(a)) & (
                                departed_days <= np.datetime64(b)
                            )
                    left_out = [
                        int(x) for x in departed[unseen & ~empty] if int(x) not in set(out.gone)
                    ]
                    if left_out:
                        out.warnings.append(
                            f"{len(left_out):,} order(s) the store holds as open left the open "
                            "statuses' answer, and the creation days that held them no longer "
                            "do (deleted from the API, or created on another day): "
                            f"{', '.join(map(str, sorted(left_out)[:10]))}"
                            f"{' …' if len(left_out) > 10 else ''} — kept as last seen"
                        )
                    unseen &= empty
                missing = [int(x) for x in departed[unseen]]
                missing = [x for x in missing if x not in set(out.gone)]
                if missing:
                    run.futures = []
                    run.submit(_singles, client, bar, stop, run, missing, out)
                    run.wait()
                    phase2 += run.results()
                    out.one_by_one += len(missing)
            # Phase 3: tag memberships the store holds that the tags' windows no longer return.
            if tag_windows and len(held.ids):
                phase2 += _tag_cover(
                    client, held, tag_windows, [*phase1, *phase2], guard, run, bar, stop, out
                )
    finally:
        stop.set()
        bar.close()
    if preread is not None:
        out.groups.append(preread[1])
    for tables, tag_rows in (*phase1, *phase2):
        out.groups.append(tables)
        if tag_rows is not None:
            out.tag_rows.append(tag_rows)
    return out


TAGS_SCHEMA = pa.schema([("order_id", pa.int64()), ("tag", pa.string())])

TAG_RECHECK_LIMIT = 100
"""At most this many orders a sync reads by id to check the tag memberships its windows no longer
return (an order may have moved to a day no window read, with its tags)."""


def _returned(results: Sequence[tuple[LoadedTables, pa.Table | None]]) -> dict[str, np.ndarray]:
    """Per tag, the orders read with it: returned by a query with that tag alone, or carrying
    it in their payload."""
    return _ids_by_tag(rows for tables, tag_rows in results for rows in (tables.tags, tag_rows))


def _ids_by_tag(tables: Iterable[pa.Table | None]) -> dict[str, np.ndarray]:
    """The ``order_id`` of each ``tag`` over ``order_id``/``tag`` tables."""
    found: dict[str, list[np.ndarray]] = {}
    for rows in tables:
        if rows is None or not len(rows):
            continue
        for tag, ids in zip(
            *_grouped(rows["tag"].to_numpy(zero_copy_only=False), rows["order_id"].to_numpy()),
            strict=True,
        ):
            found.setdefault(tag, []).append(ids)
    return {tag: np.concatenate(parts) for tag, parts in found.items()}


def _tag_cover(
    client: PartnerClient,
    held: Held,
    tag_windows: list[tuple[str, date, date, Future[Any]]],
    results: list[tuple[LoadedTables, pa.Table | None]],
    guard: tuple[date, date] | None,
    run: _Runner,
    bar: _Progress,
    stop: threading.Event,
    out: Fetched,
) -> list[tuple[LoadedTables, pa.Table | None]]:
    """Decide where the tags' windows were read in full (``out.tag_cover``: there a membership
    the store holds but no answer holds is unlearnt, see :func:`unlearnt`), and read by id the
    orders that would lose a tag (what they are now decides). Returns what those reads give.

    A window counts when its answer held orders (an empty one may be a cache's: the store keeps
    what it holds there, see ``_pages``), or is the guard (expected empty). Then, only when
    some membership would be unlearnt: ``count_by_tag`` over the windows' days must equal the
    number of orders they returned (a page skipped while paging, or another tag's answer
    replayed, keeps every membership), and the orders losing a tag are read by id (at most
    :data:`TAG_RECHECK_LIMIT`, the first by id; the others keep their tags this sync, and say
    so): one moved to a day outside the windows, or gone (404), keeps it."""
    found = _returned(results)
    ranges: dict[str, list[tuple[date, date]]] = {}
    span: dict[str, tuple[date, date]] = {}
    by_windows: dict[str, list[np.ndarray]] = {}
    for tag, a, b, window in tag_windows:
        tables_future, tag_rows = window.result()
        lo, hi = span.get(tag, (a, b))
        span[tag] = (min(lo, a), max(hi, b))
        if tag_rows is not None:
            by_windows.setdefault(tag, []).append(tag_rows["order_id"].to_numpy())
        if (a, b) == guard or len(tables_future.result().orders):
            ranges.setdefault(tag, []).append((a, b))
    losing: dict[str, np.ndarray] = {}
    for tag, covered_ranges in ranges.items():
        ids = held.tagged.get(tag, np.array([], np.int64))
        ids = ids[~np.isin(ids, found.get(tag, np.array([], np.int64)))]
        ids = ids[_covered(held.days_of(ids), covered_ranges)]
        if len(ids):
            losing[tag] = ids
    if not losing:
        out.tag_cover = ranges
        return []
    for (lo, hi), group in itertools.groupby(
        sorted(losing, key=span.__getitem__), span.__getitem__
    ):
        tags_here = list(group)
        try:
            counts = client.count_by_tag(tags_here, start=lo, end=hi)
        except HTError as exc:
            counts = {}
            out.warnings.append(
                f"count_by_tag failed ({exc}): tag memberships the windows no longer returned "
                "were kept"
            )
        for tag in tags_here:
            read = len(np.unique(np.concatenate(by_windows.get(tag, [np.array([], np.int64)]))))
            if counts.get(tag) != read:
                if tag in counts:
                    out.warnings.append(
                        f"tag {tag}: the windows returned {read:,} orders created {lo} to {hi}, "
                        f"the API counts {counts[tag]:,}: the {len(losing[tag]):,} membership(s) "
                        "they no longer returned were kept"
                    )
                del losing[tag]
                del ranges[tag]
    out.tag_cover = ranges
    check = np.unique(np.concatenate(list(losing.values()))) if losing else np.array([], np.int64)
    if len(check) > TAG_RECHECK_LIMIT:
        # The first ones by id now; the others keep their tags, and a later sync that reads
        # their days checks them (so each sync gets further).
        out.tag_unchecked = check[TAG_RECHECK_LIMIT:]
        check = check[:TAG_RECHECK_LIMIT]
        out.warnings.append(
            f"{len(check) + len(out.tag_unchecked):,} order(s) the store holds with a tag were "
            f"not returned with it; {TAG_RECHECK_LIMIT} were read by id, the other "
            f"{len(out.tag_unchecked):,} keep their tags until a later sync checks them"
        )
    if not len(check):
        return []
    log.info("%d order(s) may have lost a tag: reading them by id", len(check))
    run.futures = []
    run.submit(_singles, client, bar, stop, run, [int(x) for x in check], out)
    run.wait()
    out.one_by_one += len(check)
    return run.results()


def not_contradicted(fetched: Fetched, new: LoadedTables) -> list[pa.Table]:
    """The per-tag queries' rows (``order_id``, ``tag``), but those of an order whose own tags
    array, read this sync, lacks that tag (a cache's answer to another query?): the payload
    wins, and the report says how many were left out."""
    sent_parts = [g.tags_sent for g in fetched.groups if g.tags_sent is not None]
    if not sent_parts:
        return fetched.tag_rows
    sent = pa.concat_arrays([p.cast(pa.int64()) for p in sent_parts])
    carried = new.tags.select(["order_id", "tag"]).cast(TAGS_SCHEMA)
    out: list[pa.Table] = []
    dropped = 0
    for rows in fetched.tag_rows:
        rows = rows.cast(TAGS_SCHEMA)
        listed = pc.fill_null(pc.is_in(rows["order_id"], value_set=sent), False)
        if not pc.any(listed).as_py():
            out.append(rows)
            continue
        checked = rows.filter(listed)
        agreed = checked.join(carried, ["order_id", "tag"], join_type="left semi")
        dropped += len(checked) - len(agreed)
        out.append(pa.concat_tables([rows.filter(pc.invert(listed)), agreed]))
    if dropped:
        fetched.warnings.append(
            f"{dropped:,} order(s) a tag's query returned carry a tags array without that tag "
            "(another query's answer?): not taken as members"
        )
    return out


def unlearnt(held: Held, fetched: Fetched, new: LoadedTables) -> pa.Table:
    """The tag memberships the store holds that this sync's reads disprove, as ``order_id``,
    ``tag`` rows (none twice). A membership (order o, tag T) is disproved when no query with T
    returned o this sync, o's payload as read now does not carry T, and either

    * o's payload carried a ``tags`` array (the order's whole tag list, as the contract says to
      use it), or
    * o was created on a day whose neighbours (a server may count days in its own zone,
      :data:`SLACK`) lie inside windows read in full with T alone (``fetched.tag_cover``); if
      o was read again with another creation day, that day too (it may have moved out of T's
      windows).

    Everything else keeps the tags it was seen with, and so does an order the API answered 404
    for (kept as last seen)."""
    found = _ids_by_tag([*fetched.tag_rows, new.tags])
    sent_parts = [g.tags_sent.to_numpy() for g in fetched.groups if g.tags_sent is not None]
    sent = np.concatenate(sent_parts) if sent_parts else np.array([], np.int64)
    out_ids: list[np.ndarray] = []
    out_tags: list[np.ndarray] = []
    if not len(held.ids) or not (len(sent) or fetched.tag_cover):
        return _pairs(out_ids, out_tags)
    new_ids = new.orders["order_id"].to_numpy()
    new_days = _days(new.orders["created_at"])
    new_sorter = np.argsort(new_ids, kind="stable")
    # Gone (404): kept as last seen; not read by id this sync: not known to have lost a tag.
    keep_ids = np.concatenate([np.array(fetched.gone, np.int64), fetched.tag_unchecked])
    for tag, tagged in held.tagged.items():
        ids = tagged[~np.isin(tagged, keep_ids)]
        if tag in found:
            ids = ids[~np.isin(ids, found[tag])]
        lost = np.isin(ids, sent)
        ranges = fetched.tag_cover.get(tag)
        if ranges and len(ids):
            covered = _covered(held.days_of(ids), ranges)
            if len(new_ids):
                at_new = new_sorter[
                    np.minimum(np.searchsorted(new_ids, ids, sorter=new_sorter), len(new_ids) - 1)
                ]
                reread = new_ids[at_new] == ids
                covered &= ~reread | _covered(new_days[at_new], ranges)
            lost |= covered
        out_ids.append(ids[lost])
        out_tags.append(np.full(int(lost.sum()), tag, dtype=object))
    return _pairs(out_ids, out_tags)


def _pairs(ids: list[np.ndarray], tags: list[np.ndarray]) -> pa.Table:
    return pa.table(
        {
            "order_id": pa.array(np.concatenate(ids) if ids else [], pa.int64()),
            "tag": pa.array(np.concatenate(tags) if tags else [], pa.string()),
        }
    )


def with_held_tags(new: LoadedTables, held: Held, unlearn: pa.Table) -> LoadedTables:
    """``new`` with the memberships the store holds for its orders (but the ``unlearn`` ones):
    an order read again keeps its tags, and takes them along if it moved to another month."""
    carried = held.tags_of(new.orders["order_id"].to_numpy())
    if len(carried) and len(unlearn):
        carried = carried.join(unlearn, ["order_id", "tag"], join_type="left anti")
    if not len(carried):
        return new
    tags = pa.concat_tables([new.tags, carried.cast(new.tags.schema)])
    tags = tags.group_by(["order_id", "tag"], use_threads=False).aggregate([])
    return dataclasses.replace(new, tags=tags.cast(new.tags.schema))


def _days(created: pa.ChunkedArray) -> np.ndarray:
    """UTC creation days (NaT where unknown)."""
    values = created.to_numpy() if len(created) else np.array([], "datetime64[us]")
    return values.astype("datetime64[D]")


def _covered(days: np.ndarray, ranges: list[tuple[date, date]]) -> np.ndarray:
    """Whether each day, and the day either side of it, lies inside the union of ``ranges``."""
    out = np.zeros(len(days), dtype=bool)
    if not ranges or not len(days):
        return out
    merged: list[list[date]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1] + timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    starts = np.array([a for a, _ in merged], "datetime64[D]")
    ends = np.array([b for _, b in merged], "datetime64[D]")
    slack = np.timedelta64(SLACK.days, "D")
    valid = ~np.isnat(days)
    d = days[valid]
    i = np.searchsorted(starts, d, side="right") - 1
    inside = i >= 0
    j = np.maximum(i, 0)
    inside &= (starts[j] <= d - slack) & (d + slack <= ends[j])
    out[valid] = inside
    return out


def _per_tag(tags: tuple[str, ...] | None) -> list[tuple[str, ...] | None]:
    """The tag filter of each query: one per tag (so each answer says which tag its orders
    carry), or one without a tag filter."""
    return [None] if tags is None else [(t,) for t in tags]


def _open_before(
    held: Held,
    ranges: list[tuple[date, date]],
    tags: tuple[str, ...] | None,
    bounds: tuple[date | None, date | None],
) -> tuple[np.ndarray, date, date]:
    """Open orders the windows will not return, and the creation dates to query them over."""
    mask = held.open_mask(tags)
    covered = np.zeros(len(held.ids), dtype=bool)
    for a, b in ranges:
        covered |= (held.days >= np.datetime64(a)) & (held.days <= np.datetime64(b))
    lo, hi = bounds
    if lo is not None:
        mask &= held.days >= np.datetime64(lo)
    if hi is not None:
        mask &= held.days <= np.datetime64(hi)
    mask &= ~covered & ~np.isnat(held.days)
    wanted = held.ids[mask]
    if not len(wanted):
        return wanted, date.min, date.min
    days = held.days[mask]
    first = days.min().astype(object)
    last = days.max().astype(object)
    return wanted, first, last


def _open_unseen(
    held: Held,
    ranges: list[tuple[date, date]],
    tags: tuple[str, ...] | None,
    bounds: tuple[date | None, date | None],
    returned: np.ndarray,
) -> np.ndarray:
    """Open orders the windows should have returned (created within them, as the store holds
    them) or can never return (no creation date; only for a sync without ``start``/``end``), but
    which did not come back."""
    mask = held.open_mask(tags)
    inside = np.zeros(len(held.ids), dtype=bool)
    for a, b in ranges:
        inside |= (held.days >= np.datetime64(a)) & (held.days <= np.datetime64(b))
    undated = np.isnat(held.days) if bounds == (None, None) else np.zeros(len(held.ids), bool)
    candidates = held.ids[mask & (inside | undated)]
    return np.sort(candidates[~np.isin(candidates, returned)])


@contextlib.contextmanager
def _pool(concurrency: int, stop: threading.Event) -> Iterator[ThreadPoolExecutor]:
    """A thread pool whose tasks stop at their next request when the block is left by an
    exception (a failed task, Ctrl-C), instead of paging on until their windows end."""
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sync")
    try:
        yield pool
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Runner:
    """Submit request tasks and the typing of what they read; wait for all, or stop everything
    at the first failure (of a request or of a typing)."""

    def __init__(self, pool: ThreadPoolExecutor, typer: ThreadPoolExecutor, stop: threading.Event):
        self.pool = pool
        self.typer = typer
        self.stop = stop
        self.futures: list[Future[Any]] = []
        self.typing: list[Future[LoadedTables]] = []

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        future = self.pool.submit(fn, *args, **kwargs)
        self.futures.append(future)
        return future

    def type_later(
        self,
        source: list[bytes] | list[dict[str, Any]],
        sink: Callable[[LoadedTables], None] | None = None,
        check: Callable[[LoadedTables], None] | None = None,
    ) -> Future[LoadedTables]:
        """Type ``source`` on a typing thread (then ``check`` it); if that fails, the request
        tasks stop."""
        future = self.typer.submit(_typed, source, sink, check)
        self.typing.append(future)
        future.add_done_callback(self._stop_on_failure)
        return future

    def _stop_on_failure(self, future: Future[LoadedTables]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.stop.set()

    def results(self) -> list[tuple[LoadedTables, pa.Table | None]]:
        """Wait for every task, then for the typing of what each read."""
        self.wait()
        return [
            (typed.result(), tag_rows) for typed, tag_rows in (f.result() for f in self.futures)
        ]

    def wait(self) -> None:
        done, pending = wait(self.futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            self.stop.set()
            for f in pending:
                f.cancel()
            wait(pending)
            errors = [e for f in failed if (e := f.exception()) is not None]
            real = [e for e in errors if not isinstance(e, _StoppedError)]
            if not real:  # the tasks stopped because a typing failed: its error
                wait(self.typing)
                real = [
                    e for t in self.typing if not t.cancelled() and (e := t.exception()) is not None
                ]
            raise (real or errors)[0]


class _StoppedError(Exception):
    """Another task failed: this one stops at its next request."""


def _typed(
    source: list[bytes] | list[dict[str, Any]],
    sink: Callable[[LoadedTables], None] | None = None,
    check: Callable[[LoadedTables], None] | None = None,
) -> LoadedTables:
    tables = conform_all(load_tables(source, depth_checked=True))  # checked by the client
    if check is not None:
        check(tables)
    if sink is not None:
        sink(tables)
    return tables


@dataclass(frozen=True, slots=True)
class _HeldIn:
    """How many orders the store holds in a window's days (and where to say it came short), and
    whether an empty answer is suspect even where it holds none (a backfill's window)."""

    orders: int
    warnings: list[str]
    planned: bool = False


def _held_in(
    held: Held,
    tags: tuple[str, ...] | None,
    first: date,
    last: date,
    warnings: list[str],
    planned: bool = False,
) -> _HeldIn | None:
    """``planned``: the window is one of a backfill of all orders, planned from the first
    order's day on: an empty answer there is read once more, as where the store holds orders
    (a cache or proxy replaying another query's empty answer would lose the window's orders,
    and no later incremental sync reads those days again)."""
    if not len(held.ids):
        return _HeldIn(0, warnings, planned) if planned else None
    days, counts = held.day_counts(tags)
    inside = (days >= np.datetime64(first)) & (days <= np.datetime64(last))
    return _HeldIn(int(counts[inside].sum()), warnings, planned)


def _pages(
    client: PartnerClient,
    bar: _Progress,
    stop: threading.Event,
    run: _Runner,
    tags: tuple[str, ...] | None,
    sink: Callable[[LoadedTables], None] | None = None,
    held: _HeldIn | None = None,
    **filters: Any,
) -> tuple[Future[LoadedTables], pa.Table | None]:
    """Page one query (on a request thread) and hand its pages to a typing thread.

    ``held``: for a window, how many orders the store holds in its days. An empty answer where
    the store holds orders is suspect (a proxy or cache replaying another query's empty answer;
    a page of another query fails the date check instead): the window is read once more, and if
    it is still empty the sync goes on and says so in its warnings. (A few orders fewer is no
    sign: an order may be deleted, lose a tag, or sit on a day the server counts in its zone.)"""
    raws, ids, count = _read_pages(client, bar, stop, tags, filters)
    if held is not None and count == 0 and (held.orders or held.planned):
        log.info(
            "orders created %s to %s: the API returned %d, the store holds %d; reading again",
            filters.get("start"),
            filters.get("end"),
            count,
            held.orders,
        )
        again = _read_pages(client, bar, stop, tags, filters)
        if again[2] > count:
            raws, ids, count = again
        if count == 0 and held.orders:
            tag_note = f" with tag {tags[0]}" if tags else ""
            held.warnings.append(
                f"orders created {filters.get('start')} to {filters.get('end')}{tag_note}: the "
                f"API returned none (twice), the store holds {held.orders:,}; kept the stored "
                "ones as last seen"
            )
    tables = run.type_later(raws, sink, functools.partial(_answers_the_query, filters=filters))
    tag_rows = None
    if tags is not None and len(tags) == 1:
        tag_rows = pa.table(
            {"order_id": pa.array(ids, pa.int64()), "tag": pa.array([tags[0]] * len(ids))}
        )
    return tables, tag_rows


def _read_pages(
    client: PartnerClient,
    bar: _Progress,
    stop: threading.Event,
    tags: tuple[str, ...] | None,
    filters: dict[str, Any],
) -> tuple[list[bytes], list[int], int]:
    """Every page of one query: the raw bodies, the ids (with one tag), the number of orders."""
    raws: list[bytes] = []
    ids: list[int] = []
    count = 0
    pages = client._iter_raw_pages(
        tags=tags, page_size=PAGE_SIZE, check=_page_check(filters), **_clean(filters)
    )
    for page in pages:
        if stop.is_set():
            raise _StoppedError
        raws.append(page.raw)
        count += len(page.orders)
        bar.add(len(page.orders))
        if tags is not None and len(tags) == 1:
            ids.extend(o["id"] for o in page.orders if isinstance(o.get("id"), int))
    return raws, ids, count


SLACK = timedelta(days=1)
"""How far outside a query's dates an order may be created and still count as its answer (the
API's days are assumed to be UTC days; a server counting in another zone stays within a day)."""


def _page_check(filters: dict[str, Any]) -> Callable[[Any, str], None] | None:
    """A check of each page, before its cursor is followed, that its orders' creation days
    (read lightly) can answer the query's dates: a page of another query (a cache or proxy
    mixing answers up) is then asked for again, like any unreadable answer, instead of
    derailing the paging. :func:`_answers_the_query` checks the typed orders again, exactly."""
    start, end = filters.get("start"), filters.get("end")
    if start is None and end is None:
        return None
    low = None if start is None else start - SLACK
    high = None if end is None else end + SLACK

    def check(body: Any, what: str) -> None:
        days = getattr(body, "created_days", None)
        if days is None:
            return
        first, last = days
        if (low is not None and first < low) or (high is not None and last > high):
            raise PayloadError(
                f"{what}: a page of orders created {first} to {last} cannot answer a query for "
                f"orders created {start or '…'} to {end or '…'} (the answer of another query?)"
            )

    return check


def _answers_the_query(tables: LoadedTables, *, filters: dict[str, Any]) -> None:
    """``PayloadError`` when pages hold orders the query could not have returned (created well
    outside its dates, or in a status it did not ask for): the answer of another query, from a
    cache or proxy that mixed answers up. Taking it would leave the asked-for orders unread."""
    orders = tables.orders
    created, status = orders["created_at"], orders["status_id"]
    outside = pa.array(np.zeros(len(orders), dtype=bool))
    start, end = filters.get("start"), filters.get("end")
    if start is not None:
        lo = pa.scalar(datetime.combine(start - SLACK, time(0), UTC), UTC_US)
        outside = pc.or_(outside, pc.fill_null(pc.less(created, lo), False))
    if end is not None:
        hi = pa.scalar(datetime.combine(end + SLACK + timedelta(days=1), time(0), UTC), UTC_US)
        outside = pc.or_(outside, pc.fill_null(pc.greater_equal(created, hi), False))
    if filters.get("status") == "open":
        closed = pc.is_in(status, value_set=pa.array(TERMINAL_IDS))  # (an unknown id: open)
        outside = pc.or_(outside, pc.fill_null(closed, False))
    count = pc.sum(outside.cast(pa.int64())).as_py() or 0
    if count:
        first = orders.filter(outside).slice(0, 1).to_pylist()[0]
        span = f"{start or '…'} to {end or '…'}"
        raise PayloadError(
            f"{count} order(s) in the answer to a query for orders created {span}"
            f"{', open' if filters.get('status') == 'open' else ''} do not match it (order "
            f"{first['order_id']}: created {first['created_at']:%Y-%m-%d}, status "
            f"{first['status_id']}): the answer of another query (a cache or proxy mixing answers "
            "up?); stopping rather than miss the orders asked for"
        )


def _singles(
    client: PartnerClient,
    bar: _Progress,
    stop: threading.Event,
    run: _Runner,
    ids: list[int],
    out: Fetched,
) -> tuple[Future[LoadedTables], None]:
    orders = []
    for order_id in ids:
        if stop.is_set():
            raise _StoppedError
        try:
            orders.append(client.get_order(order_id))
        except NotFoundError:
            out.gone.append(order_id)
            continue
        bar.add(1)
    return run.type_later(orders), None


def _clean(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v is not None}


def today_utc() -> date:
    return datetime.now(UTC).date()
