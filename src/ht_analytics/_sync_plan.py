"""Which requests a sync makes: creation-date windows, and the cheapest way to re-read orders.

The API filters by creation date (whole UTC days, ``from``/``to`` inclusive) and pages up to
:data:`PAGE_SIZE` orders; it has no "updated since". So a sync reads

* **windows** of creation dates, split so that ``concurrency`` threads can page them side by side
  (a backfill: the whole range; an incremental sync: from the high-water mark minus the lookback);
* the orders the store holds as **open**, with one ``status=open`` query over their creation dates
  (before the incremental window, which returns them anyway);
* the open orders that query no longer returns (they reached a terminal status): each either by
  ``get_order`` or inside a creation-date range, whichever needs fewer requests — an exact
  optimisation over their creation days, using how many orders the store holds per day.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from ._params import MAX_PAGE_SIZE

__all__ = ["PAGE_SIZE", "Cover", "cover", "split_range"]

PAGE_SIZE = MAX_PAGE_SIZE
"""Orders per page for every sync request: the fewest requests."""

ORDERS_PER_WINDOW = 4 * PAGE_SIZE
"""An incremental window is split only when each piece still holds several pages."""


def split_range(first: date, last: date, pieces: int) -> list[tuple[date, date]]:
    """``[first, last]`` as at most ``pieces`` contiguous day ranges of (nearly) equal length."""
    days = (last - first).days + 1
    if days <= 0:
        return []
    pieces = max(1, min(pieces, days))
    edges = [first + timedelta(days=round(i * days / pieces)) for i in range(pieces + 1)]
    return [(a, b - timedelta(days=1)) for a, b in itertools.pairwise(edges) if b > a]


def window_count(concurrency: int, estimated_orders: int | None) -> int:
    """How many windows to page side by side: ``2 × concurrency`` for a backfill of unknown size
    (so that a slow window does not leave threads idle), fewer when the store knows the range
    holds only a few pages (each window costs at most one short page more)."""
    if estimated_orders is None:
        return max(1, 2 * concurrency)
    return max(1, min(2 * concurrency, estimated_orders // ORDERS_PER_WINDOW))


@dataclass(frozen=True, slots=True)
class Cover:
    """How to re-read a set of orders: creation-date ranges to page, and ids to get one by one."""

    ranges: list[tuple[date, date]]
    singles: list[int]
    cost: int  # requests, estimated from the store's counts per day


def cover(
    ids: np.ndarray,
    days: np.ndarray,
    day_days: np.ndarray,
    day_counts: np.ndarray,
    page_size: int = PAGE_SIZE,
) -> Cover:
    """The cheapest way to re-read the orders ``ids`` created on ``days`` (``datetime64[D]``).

    A range of creation days costs ``ceil(orders the store holds in it / page_size)`` requests and
    returns every order of those days; ``get_order`` costs one request per order. Dynamic
    programming over the distinct days (sorted) finds the exact minimum of that cost model.
    ``day_days``/``day_counts``: the store's orders per creation day (sorted).
    """
    if not len(ids):
        return Cover([], [], 0)
    order = np.argsort(days, kind="stable")
    ids, days = ids[order], days[order]
    uniq, starts, per_day = np.unique(days, return_index=True, return_counts=True)
    k = len(uniq)
    prefix_day = np.concatenate([[0], np.cumsum(day_counts)])
    lo_idx = np.searchsorted(day_days, uniq, side="left")
    hi_idx = np.searchsorted(day_days, uniq, side="right")
    prefix_wanted = np.concatenate([[0], np.cumsum(per_day)])
    best = np.zeros(k + 1, dtype=np.int64)
    choice: list[tuple[int, bool]] = [(0, False)] * (k + 1)  # (start index, as a range)
    for j in range(1, k + 1):
        best[j] = np.iinfo(np.int64).max
        for i in range(j, 0, -1):
            held = int(prefix_day[hi_idx[j - 1]] - prefix_day[lo_idx[i - 1]])
            singles = int(prefix_wanted[j] - prefix_wanted[i - 1])
            as_range = max(1, math.ceil(max(held, singles) / page_size))
            cost, is_range = (as_range, True) if as_range < singles else (singles, False)
            if best[i - 1] + cost < best[j]:
                best[j] = best[i - 1] + cost
                choice[j] = (i, is_range)
            if as_range > best[j]:  # wider ranges only cost more from here on
                break
    ranges: list[tuple[date, date]] = []
    single_ids: list[int] = []
    j = k
    while j > 0:
        i, is_range = choice[j]
        if is_range:
            ranges.append((_to_date(uniq[i - 1]), _to_date(uniq[j - 1])))
        else:
            single_ids.extend(int(x) for x in ids[starts[i - 1] : starts[j - 1] + per_day[j - 1]])
        j = i - 1
    ranges.reverse()
    return Cover(ranges, sorted(single_ids), int(best[k]))


def _to_date(day: np.datetime64) -> date:
    value = day.astype("datetime64[D]").astype(object)
    assert isinstance(value, date)
    return value
