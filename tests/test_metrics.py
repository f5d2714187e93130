"""Metrics on a hand-made golden page (tests/data/golden/metrics_orders.json), every expected value
worked out by hand in the comments; plus properties on sandbox data."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from ht_analytics import (
    DataProblemWarning,
    OrderFrames,
    at_risk_orders,
    at_risk_summary,
    load_orders,
    operations_summary,
    revenue_breakdown,
    status_funnel,
    tag_counts,
)

GOLDEN = Path(__file__).parent / "data" / "golden" / "metrics_orders.json"
NOW = "2026-03-10T00:00:00Z"
D = Decimal


@pytest.fixture(scope="module")
def frames() -> OrderFrames:
    """Six orders: 1 COMPLETED (LA), 2 PAID (NY, Jan 31 local / Feb 1 UTC), 3 CANCELLED,
    4 ASSIGNED at-risk, 5 LATE_TECH with an auth error and an open stand-by, 6 COMPLETED whose
    services ($100) and total ($99) disagree (the loader lists it as a problem)."""
    with pytest.warns(DataProblemWarning):
        return load_orders(GOLDEN)


def money(df: pd.DataFrame, column: str) -> list[Decimal]:
    """A money column as Decimals."""
    return [D(str(v)) for v in df[column]]


def test_revenue_by_local_month(frames: OrderFrames) -> None:
    """Billable = orders 1, 2, 6. In local time order 2 (2026-02-01 03:00 UTC, New York) falls on
    January 31, so January holds 1 and 2: gross 100 + 180 = 280, service adjustments -10,
    coupon -10, discount -20, fee +5, prepaid 50, net 95 + 100 = 195, AOV 97.50. March holds 6:
    gross 100, net 99 (it does not add up: unreconciled). Total: 3 orders, 4 lines, net 294."""
    df = revenue_breakdown(frames, by="month")
    assert [str(p) for p in df["month"]] == ["2026-01", "2026-03", "Total"]
    assert list(df["orders"]) == [2, 1, 3]
    assert list(df["services"]) == [3, 1, 4]
    assert money(df, "gross") == [D("280.00"), D("100.00"), D("380.00")]
    assert money(df, "service_adjustments") == [D("-10.00"), D("0.00"), D("-10.00")]
    assert money(df, "order_coupon") == [D("-10.00"), D("0.00"), D("-10.00")]
    assert money(df, "order_discount") == [D("-20.00"), D("0.00"), D("-20.00")]
    assert money(df, "order_fee") == [D("5.00"), D("0.00"), D("5.00")]
    assert money(df, "prepaid") == [D("50.00"), D("0.00"), D("50.00")]
    assert money(df, "net") == [D("195.00"), D("99.00"), D("294.00")]
    assert money(df, "avg_order_value") == [D("97.50"), D("99.00"), D("98.00")]
    assert list(df["unreconciled"]) == [0, 1, 1]
    assert df.attrs["unreconciled_orders"] == [6]
    assert df.attrs["statuses"].startswith("billable")
    assert df["net"].dtype == frames.orders["total_amount"].dtype


def test_revenue_by_utc_month_moves_the_new_york_order(frames: OrderFrames) -> None:
    """In UTC order 2 is in February: January is order 1 alone (net 95), February order 2
    (net 100)."""
    df = revenue_breakdown(frames, by="M", tz="UTC")
    assert [str(p) for p in df["month"]] == ["2026-01", "2026-02", "2026-03", "Total"]
    assert money(df, "net") == [D("95.00"), D("100.00"), D("99.00"), D("294.00")]
    assert "UTC" in df.attrs["clock"]


def test_revenue_by_tag_takes_the_overlap_back_out(frames: OrderFrames) -> None:
    """promo: order 2 (net 100, 2 lines). web: orders 1, 2, 6 (net 294, 4 lines). The rows sum
    to 394 and 6 lines, the total is 294 and 4: the overlap row holds -100, -2 lines, -1 order,
    gross -180 (order 2's)."""
    df = revenue_breakdown(frames, by="tag")
    assert list(df["tag"]) == ["promo", "web", "(counted in several rows)", "Total"]
    assert list(df["orders"]) == [1, 3, -1, 3]
    assert list(df["services"]) == [2, 4, -2, 4]
    assert money(df, "net") == [D("100.00"), D("294.00"), D("-100.00"), D("294.00")]
    assert money(df, "gross") == [D("180.00"), D("380.00"), D("-180.00"), D("380.00")]
    assert pd.isna(df["avg_order_value"].iloc[2])


def test_revenue_by_sku_puts_order_adjustments_on_their_own_row(frames: OrderFrames) -> None:
    """Lines of billable orders: sku 100 in orders 1 (net 90 after the -10 line adjustment),
    2 (net 50 after 50 prepaid) and 6 (net 100): gross 300, net 240; sku 200 in order 2: 80.
    What the lines do not hold: order 1 fee +5, order 2 discount -20 and coupon -10, order 6's
    unexplained -1: net -26. 240 + 80 - 26 = 294."""
    df = revenue_breakdown(frames, by="sku")
    assert list(df["sku"]) == [
        "(order-level adjustments)",
        "100",
        "200",
        "(counted in several rows)",
        "Total",
    ]
    assert money(df, "net") == [D("-26.00"), D("240.00"), D("80.00"), D("0.00"), D("294.00")]
    assert money(df, "gross") == [D("0.00"), D("300.00"), D("80.00"), D("0.00"), D("380.00")]
    assert money(df, "prepaid") == [D("0.00"), D("50.00"), D("0.00"), D("0.00"), D("50.00")]
    assert money(df, "service_adjustments")[1] == D("-10.00")
    assert money(df, "order_fee")[0] == D("5.00")
    assert list(df["orders"]) == [3, 3, 1, -4, 3]
    assert list(df["unreconciled"]) == [1, 0, 0, 0, 1]


def test_revenue_statuses_and_bad_arguments(frames: OrderFrames) -> None:
    """statuses='all' adds orders 3, 4, 5 (80 + 60 + 60): net 494; unknown names are refused."""
    df = revenue_breakdown(frames, by="status", statuses="all")
    assert money(df, "net")[-1] == D("494.00")
    assert dict(zip(df["status"][:-1], df["orders"][:-1], strict=True)) == {
        "ASSIGNED": 1,
        "CANCELLED": 1,
        "COMPLETED": 2,
        "LATE_TECH": 1,
        "PAID": 1,
    }
    assert money(revenue_breakdown(frames, statuses=["PAID"]), "net")[-1] == D("100.00")
    with pytest.raises(ValueError, match="unknown dimension"):
        revenue_breakdown(frames, by="colour")
    with pytest.raises(ValueError, match="unknown status"):
        revenue_breakdown(frames, statuses="shipped")


def test_tag_counts(frames: OrderFrames) -> None:
    """Six orders: web on 1, 2, 6 (3 = 1/2), promo on 2 (1/6), store on 3 (1/6). By status,
    shares are within the status: both COMPLETED orders carry web (2/2)."""
    df = tag_counts(frames)
    assert list(df["tag"]) == ["web", "promo", "store"]
    assert list(df["orders"]) == [3, 1, 1]
    assert list(df["share"]) == pytest.approx([3 / 6, 1 / 6, 1 / 6])
    by_status = tag_counts(frames, by="status").set_index(["tag", "status"])
    assert by_status.loc[("web", "COMPLETED"), "orders"] == 2
    assert by_status.loc[("web", "COMPLETED"), "share"] == pytest.approx(1.0)
    assert by_status.loc[("store", "CANCELLED"), "share"] == pytest.approx(1.0)
    monthly = tag_counts(frames, by="M", tz="UTC").set_index(["tag", "month"])
    # February (UTC) has orders 2, 3, 4: web once (order 2) = 1/3.
    assert monthly.loc[("web", pd.Period("2026-02", "M")), "share"] == pytest.approx(1 / 3)


def test_at_risk_summary(frames: OrderFrames) -> None:
    """Open orders: 4 (February, flagged, appointment Feb 20 passed without a start) and
    5 (March, LATE_TECH, auth error, appointment Mar 5 passed, stand-by open since Mar 2,
    more than 48 h before NOW)."""
    df = at_risk_summary(frames, freq="M", tz="UTC", now=NOW)
    assert [str(p) for p in df["month"]] == ["2026-02", "2026-03"]
    assert list(df["open_orders"]) == [1, 1]
    assert list(df["at_risk"]) == [1, 0]
    assert list(df["at_risk_rate"]) == [1.0, 0.0]
    assert list(df["needs_attention"]) == [1, 1]
    assert list(df["late_tech"]) == [0, 1]
    assert list(df["auth_error"]) == [0, 1]
    assert list(df["appointment_passed"]) == [1, 1]
    assert list(df["long_stand_by"]) == [0, 1]


def test_at_risk_orders_most_overdue_first(frames: OrderFrames) -> None:
    """Order 4 is 17 days 7 hours overdue (Feb 20 17:00 → Mar 10 00:00), order 5 4 days 9 hours
    (Mar 5 15:00 → Mar 10); appointment shown in local time (Denver: Feb 20 10:00)."""
    df = at_risk_orders(frames, now=NOW)
    assert list(df["order_id"]) == [4, 5]
    assert list(df["overdue"]) == [
        pd.Timedelta(days=17, hours=7),
        pd.Timedelta(days=4, hours=9),
    ]
    assert df["reasons"][0] == "flag, appointment_passed"
    assert df["reasons"][1] == "late_tech, auth_error, appointment_passed, long_stand_by"
    assert df["appointment_start_local"][0] == pd.Timestamp("2026-02-20 10:00")


def test_operations_summary(frames: OrderFrames) -> None:
    """UTC months. January: order 1, completed; lead time Jan 31 23:30 → Feb 2 18:00 = 42.5 h,
    started 30 min late, 2 h to complete. February: 2 (PAID), 3 (CANCELLED), 4: 1/3 completed,
    1/3 cancelled, lead time of 4: Feb 15 12:00 → Feb 20 17:00 = 125 h."""
    df = operations_summary(frames, freq="M", tz="UTC").set_index("month")
    jan, feb = df.loc[pd.Period("2026-01", "M")], df.loc[pd.Period("2026-02", "M")]
    assert (jan["orders"], jan["completed"], jan["completion_rate"]) == (1, 1, 1.0)
    assert jan["lead_time_median_h"] == pytest.approx(42.5)
    assert jan["lateness_median_h"] == pytest.approx(0.5)
    assert jan["time_to_complete_p90_h"] == pytest.approx(2.0)
    assert (feb["orders"], feb["completed"], feb["cancelled"]) == (3, 1, 1)
    assert feb["cancellation_rate"] == pytest.approx(1 / 3)
    assert feb["lead_time_median_h"] == pytest.approx(125.0)


def test_status_funnel(frames: OrderFrames) -> None:
    """An order counts up to the furthest stage it reached. 6 created; paid: status PAID (2);
    completed: a completion time (1) or status COMPLETED/PAID (1, 2, 6) → 1, 2, 6; started: a
    start time (1) or completed → 1, 2, 6; scheduled: an appointment (1, 4, 5) or started →
    1, 2, 4, 5, 6. Each stage within the one before."""
    df = status_funnel(frames)
    assert list(df["stage"]) == ["created", "scheduled", "started", "completed", "paid"]
    assert list(df["orders"]) == [6, 5, 3, 3, 1]
    assert list(df["share_of_previous"]) == pytest.approx([1.0, 5 / 6, 3 / 5, 1.0, 1 / 3])
    assert df.attrs["cancelled"] == 1


def test_metrics_of_no_orders_and_of_odd_orders() -> None:
    """Empty frames give empty (or zero) results, not errors; statuses='all' keeps an order
    whose status id is unknown, and an order without a creation time has a NaT period."""
    from ht_analytics._loader import frames_from_tables
    from ht_analytics._store_tables import empty

    nothing = frames_from_tables(empty())
    assert list(revenue_breakdown(nothing)["orders"]) == [0]
    assert len(tag_counts(nothing, by="M")) == 0
    assert len(at_risk_summary(nothing)) == 0
    assert len(at_risk_orders(nothing)) == 0
    assert list(status_funnel(nothing)["orders"]) == [0, 0, 0, 0, 0]
    with pytest.warns(DataProblemWarning, match="kept as sent"):
        odd = load_orders(
            [
                {
                    "id": 1,
                    "statusId": 99,
                    "breakdown": {
                        "totalAmount": "$5.00",
                        "services": [
                            {"id": 1, "totalAmount": "$5.00", "originalTotalAmount": "$5.00"}
                        ],
                    },
                }
            ]
        )
    df = revenue_breakdown(odd, statuses="all")
    assert money(df, "net") == [D("5.00"), D("5.00")]
    assert pd.isna(df["month"].iloc[0])
    assert len(revenue_breakdown(odd, statuses="billable").iloc[:-1]) == 0
