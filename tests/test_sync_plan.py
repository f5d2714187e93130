"""Planning a sync's requests: day windows and the cheapest cover of orders to re-read."""

from __future__ import annotations

from datetime import date

import numpy as np

from ht_analytics._sync_plan import cover, split_range, window_count


def days(*text: str) -> np.ndarray:
    """ISO dates as ``datetime64[D]``."""
    return np.array(text, dtype="datetime64[D]")


def test_split_range_is_contiguous_and_balanced() -> None:
    """Ten days in three pieces: 3, 4, 3 days (rounded edges), no gap, no overlap."""
    got = split_range(date(2025, 1, 1), date(2025, 1, 10), 3)
    assert got == [
        (date(2025, 1, 1), date(2025, 1, 3)),
        (date(2025, 1, 4), date(2025, 1, 7)),
        (date(2025, 1, 8), date(2025, 1, 10)),
    ]


def test_split_range_never_makes_more_pieces_than_days() -> None:
    """Two days cannot be split in eight; an empty range gives nothing."""
    assert split_range(date(2025, 1, 1), date(2025, 1, 2), 8) == [
        (date(2025, 1, 1), date(2025, 1, 1)),
        (date(2025, 1, 2), date(2025, 1, 2)),
    ]
    assert split_range(date(2025, 1, 2), date(2025, 1, 1), 4) == []


def test_window_count() -> None:
    """Unknown size: two windows per thread; a small known range: one window."""
    assert window_count(4, None) == 8
    assert window_count(4, 300) == 1
    assert window_count(4, 2000 * 20) == 8
    assert window_count(1, None) == 2


def test_cover_prefers_get_order_for_scattered_orders() -> None:
    """Two orders on days holding 900 and 1,200 orders: a range would cost 2 and 3 requests,
    get_order 1 each: two singles, cost 2."""
    plan = cover(
        np.array([7, 9]),
        days("2025-01-05", "2025-03-01"),
        days("2025-01-05", "2025-03-01"),
        np.array([900, 1200]),
    )
    assert (plan.ranges, plan.singles, plan.cost) == ([], [7, 9], 2)


def test_cover_prefers_a_range_for_clustered_orders() -> None:
    """Five orders over three days that hold 100 + 150 + 120 = 370 orders: one page of 500
    covers them all (cost 1) instead of five get_order calls."""
    plan = cover(
        np.array([1, 2, 3, 4, 5]),
        days("2025-02-01", "2025-02-01", "2025-02-02", "2025-02-03", "2025-02-03"),
        days("2025-02-01", "2025-02-02", "2025-02-03"),
        np.array([100, 150, 120]),
    )
    assert (plan.ranges, plan.singles, plan.cost) == (
        [(date(2025, 2, 1), date(2025, 2, 3))],
        [],
        1,
    )


def test_cover_mixes_ranges_and_singles() -> None:
    """Three orders on a 200-order day (range: 1 request), one order alone on a 2,000-order day
    (get_order: 1 request rather than 4 pages): total 2."""
    plan = cover(
        np.array([10, 11, 12, 40]),
        days("2025-04-01", "2025-04-01", "2025-04-01", "2025-06-01"),
        days("2025-04-01", "2025-05-01", "2025-06-01"),
        np.array([200, 5000, 2000]),
    )
    assert plan.ranges == [(date(2025, 4, 1), date(2025, 4, 1))]
    assert plan.singles == [40]
    assert plan.cost == 2


def test_cover_does_not_bridge_an_expensive_gap() -> None:
    """Two clusters of 3 orders around a 5,000-order day: two 1-page ranges (cost 2), not one
    range across the gap (11 pages)."""
    plan = cover(
        np.array([1, 2, 3, 4, 5, 6]),
        days(*["2025-01-01"] * 3, *["2025-01-03"] * 3),
        days("2025-01-01", "2025-01-02", "2025-01-03"),
        np.array([50, 5000, 50]),
    )
    assert plan.ranges == [
        (date(2025, 1, 1), date(2025, 1, 1)),
        (date(2025, 1, 3), date(2025, 1, 3)),
    ]
    assert plan.cost == 2


def test_cover_of_nothing_costs_nothing() -> None:
    """No order to re-read: no request."""
    empty = np.array([], dtype=np.int64)
    plan = cover(empty, days(), days(), empty)
    assert (plan.ranges, plan.singles, plan.cost) == ([], [], 0)
