"""Metrics on small hand-made orders at the edges: huge amounts, odd arguments, missing times,
stages reached out of order. Every expected value is worked out by hand in the comments."""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ht_analytics import (
    DataProblemWarning,
    OrderFrames,
    at_risk_orders,
    at_risk_summary,
    load_orders,
    operations_summary,
    order_durations,
    plots,
    revenue_breakdown,
    status_funnel,
    tag_counts,
)

matplotlib.use("Agg")

D = Decimal


def order(order_id: int, status: int = 3, total: str = "5.00", **fields: Any) -> dict[str, Any]:
    """A camelCase order created 2024-05-01 12:00 UTC, with ``fields`` on top."""
    base: dict[str, Any] = {
        "id": order_id,
        "statusId": status,
        "createdAt": "2024-05-01T12:00:00.000Z",
        "timezone": "UTC",
        "breakdown": {"services": [], "adjustments": [], "totalAmount": total},
    }
    return base | fields


def service(amount: str, sku: int = 7) -> dict[str, Any]:
    return {
        "id": 1,
        "skuId": sku,
        "name": "Mount",
        "originalTotalAmount": amount,
        "prepaid": "0",
        "totalAmount": amount,
        "adjustments": [],
    }


def load(*orders: dict[str, Any]) -> OrderFrames:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataProblemWarning)
        return load_orders(list(orders))


def total_row(df: pd.DataFrame) -> pd.Series:
    return df.iloc[-1]


def test_sums_stay_exact_beyond_float_precision() -> None:
    """One order of $99,999,999,999,999.99 (9,999,999,999,999,999 cents, past 2**53): gross and
    net are that amount to the cent and the order reconciles, by month and by SKU (where the
    order-level row would show the float error as a cent)."""
    amount = "99999999999999.99"
    frames = load(
        order(
            1,
            total=amount,
            breakdown={"services": [service(amount)], "adjustments": [], "totalAmount": amount},
        )
    )
    month = revenue_breakdown(frames)
    assert total_row(month)["gross"] == D(amount)
    assert total_row(month)["net"] == D(amount)
    assert total_row(month)["unreconciled"] == 0
    sku = revenue_breakdown(frames, by="sku")
    assert list(sku["sku"]) == ["7", "Total"]  # no order-level or overlap row: nothing left over
    assert list(sku["gross"]) == [D(amount), D(amount)]


def test_a_total_beyond_the_money_type_is_a_clear_error() -> None:
    """Two orders of $9,999,999,999,999,999.99 each load (each fits DECIMAL(18, 2)); their sum
    does not, which is said in a ValueError, not an Arrow error."""
    frames = load(order(1, total="9999999999999999.99"), order(2, total="9999999999999999.99"))
    with pytest.raises(ValueError, match=r"DECIMAL\(18, 2\)"):
        revenue_breakdown(frames)


def test_revenue_over_time_leaves_out_orders_without_a_period() -> None:
    """Order 2 has no creation time: its row has no period (NaT) and is not drawn; the one
    drawn point is May 2024, net $5.00."""
    frames = load(order(1), order(2, createdAt=None))
    df = revenue_breakdown(frames, by="month")
    assert df["month"].isna().sum() == 1
    ax = plots.revenue_over_time(df)
    net_line = next(line for line in ax.get_lines() if line.get_label() == "Net")
    assert list(net_line.get_ydata()) == [5.0]


@pytest.mark.parametrize("by", [["sku", "month"], ["month", "sku"], ["month", "status"]])
def test_revenue_over_time_of_several_dimensions_is_a_clear_error(by: list[str]) -> None:
    frames = load(order(1, breakdown={"services": [service("5.00")], "adjustments": []}))
    with pytest.raises(ValueError, match="revenue_over_time draws"):
        plots.revenue_over_time(revenue_breakdown(frames, by=by))
    with pytest.raises(ValueError, match="revenue_by_sku draws"):
        plots.revenue_by_sku(revenue_breakdown(frames, by=by))


def test_funnel_stages_hold_the_orders_that_got_further() -> None:
    """Orders 1 and 2 are PAID with no times; order 3 is COMPLETED with a completion time. All
    three were scheduled, started and completed; two paid: 3, 3, 3, 3, 2, and "completed" is
    what operations_summary counts too."""
    frames = load(order(1, 5), order(2, 5), order(3, 3, completedAt="2024-05-02T00:00:00.000Z"))
    funnel = status_funnel(frames)
    assert list(funnel["orders"]) == [3, 3, 3, 3, 2]
    assert (funnel["share_of_previous"] <= 1).all()
    assert operations_summary(frames)["completed"].sum() == 3


def test_a_cancelled_order_with_a_completion_time_is_not_completed_in_the_funnel() -> None:
    """Order 1 CANCELLED (4) and order 2 CANCELLED_BY_GEEK (7), each with a completion time:
    cancelled, not completed (as operations_summary counts them); order 3, ASSIGNED (2) with a
    completion time (its status not yet updated), got as far as completed. The funnel: 3
    created, 1 scheduled, started and completed, 0 paid; 2 cancelled beside it."""
    done = "2024-05-02T00:00:00.000Z"
    frames = load(
        order(1, 4, completedAt=done), order(2, 7, completedAt=done), order(3, 2, completedAt=done)
    )
    funnel = status_funnel(frames)
    assert list(funnel["orders"]) == [3, 1, 1, 1, 0]
    assert funnel.attrs["cancelled"] == 2
    ops = operations_summary(frames)
    assert (ops["completed"].sum(), ops["cancelled"].sum()) == (0, 2)


def test_the_funnel_of_no_orders_has_no_shares() -> None:
    """No orders: every share is NaN (0 of 0), of created as of the stage before."""
    funnel = status_funnel(load())
    assert list(funnel["orders"]) == [0, 0, 0, 0, 0]
    assert funnel["share_of_created"].isna().all()
    assert funnel["share_of_previous"].isna().all()


def test_operations_of_no_orders_is_an_empty_table_with_every_column() -> None:
    """No orders: no period, and still every column (a notebook selecting them does not fail)."""
    ops = operations_summary(load())
    assert ops.empty
    assert list(ops.columns) == [
        "month",
        "orders",
        "completed",
        "cancelled",
        "completion_rate",
        "cancellation_rate",
        *(
            f"{d}_{q}_h"
            for d in ("lead_time", "time_to_complete", "lateness")
            for q in ("median", "p90")
        ),
    ]


@pytest.mark.parametrize("statuses", ["all", None, ["all"], ["ALL", "billable"]])
def test_all_statuses_include_unknown_status_ids(statuses: Any) -> None:
    """Order 2 has status id 99 (unknown): asking for all statuses, in any spelling, counts it."""
    frames = load(order(1, 3), order(2, 99))
    df = revenue_breakdown(frames, statuses=statuses)
    assert total_row(df)["orders"] == 2
    assert "unknown status ids" in df.attrs["statuses"]


@pytest.mark.parametrize("by", [["M", "month"], ["W", "week"], ["quarter", "Q", "sku"]])
def test_two_names_of_one_period_are_one_dimension(by: list[str]) -> None:
    with pytest.raises(ValueError, match="different dimensions"):
        revenue_breakdown(load(order(1)), by=by)


def test_an_order_without_service_lines_is_counted_in_the_order_level_row() -> None:
    """By SKU, an order with no line and $0 total is in no SKU row: it is counted in the
    order-level row (1 order, $0), not as a positive "counted in several rows" correction."""
    df = revenue_breakdown(load(order(1, total="0")), by="sku")
    assert list(df["sku"]) == ["(order-level adjustments)", "Total"]
    assert list(df["orders"]) == [1, 1]
    assert list(df["net"]) == [D("0.00"), D("0.00")]


def test_a_stand_by_without_an_end_is_open() -> None:
    """Orders 1 (no ``end`` key), 2 (``end: null``), 4 (``end: ""``) and 5 (an end object
    with neither integer nor iso), PAUSED, on stand-by since May 1st: a month later all four
    are long stand-bys; order 3's stand-by ended."""
    start = "2024-05-01T12:00:00Z"
    frames = load(
        order(1, 10, standByTimes=[{"start": start}]),
        order(2, 10, standByTimes=[{"start": start, "end": None}]),
        order(3, 10, standByTimes=[{"start": start, "end": "2024-05-01T13:00Z"}]),
        order(4, 10, standByTimes=[{"start": start, "end": ""}]),
        order(5, 10, standByTimes=[{"start": start, "end": {"integer": None, "iso": None}}]),
    )
    got = at_risk_orders(frames, now="2024-06-01T00:00:00Z")
    assert sorted(got["order_id"]) == [1, 2, 4, 5]
    assert list(got["reasons"]) == ["long_stand_by"] * 4


def test_stand_by_starts_in_the_snake_case_form_count_and_unreadable_ones_are_named() -> None:
    """PAUSED orders on stand-by, now = 2024-06-01 (a month later):
    - 1: snake_case start ``{"integer": 1714564800, "iso": …}`` = 2024-05-01 12:00 UTC: long;
    - 2: the integer wins over a disagreeing iso (2024-05-31 23:00, 1 h before now): long;
    - 3: only ``iso`` (2024-05-31 12:00, 12 h before now): not long;
    - 4: a start that is not a time: not counted, but named in a warning and in attrs;
    - 5: ISO text with a lowercase ``t``/``z``: long."""
    snake = {"integer": 1714564800, "iso": "2024-05-01T12:00:00Z"}
    frames = load(
        order(1, 10, standByTimes=[{"start": snake, "end": None}]),
        order(2, 10, standByTimes=[{"start": dict(snake, iso="2024-05-31T23:00:00Z")}]),
        order(3, 10, standByTimes=[{"start": {"integer": None, "iso": "2024-05-31T12:00:00Z"}}]),
        order(4, 10, standByTimes=[{"start": "05/01/2024 12:00"}]),
        order(5, 10, standByTimes=[{"start": "2024-05-01t12:00:00z"}]),
    )
    with pytest.warns(DataProblemWarning, match=r"1 open order\(s\) .* start cannot be read \(4\)"):
        got = at_risk_orders(frames, now="2024-06-01T00:00:00Z")
    assert sorted(got["order_id"]) == [1, 2, 5]
    assert set(got["reasons"]) == {"long_stand_by"}
    assert got.attrs["unreadable_stand_by"] == [4]
    with pytest.warns(DataProblemWarning):
        summary = at_risk_summary(frames, freq="M", now="2024-06-01T00:00:00Z")
    assert list(summary["long_stand_by"]) == [3]
    assert summary.attrs["unreadable_stand_by"] == [4]


BAD_ARGUMENTS = [
    (lambda f: revenue_breakdown(f, by=None), TypeError, "by must be a dimension"),
    (lambda f: revenue_breakdown(f, by=[None]), ValueError, "unknown dimension None"),
    (lambda f: revenue_breakdown(f, by=[["sku"]]), ValueError, "unknown dimension"),
    (lambda f: revenue_breakdown(f, statuses=3.0), TypeError, "statuses must be"),
    (lambda f: revenue_breakdown(f, statuses=[3.0]), ValueError, "unknown status 3.0"),
    (lambda f: revenue_breakdown(f, statuses=[]), ValueError, "statuses is empty"),
    (lambda f: revenue_breakdown([]), TypeError, r"revenue_breakdown\(\) takes the OrderFrames"),
    (lambda f: tag_counts(f.orders), TypeError, r"tag_counts\(\) takes the OrderFrames"),
    (lambda f: at_risk_summary(None), TypeError, "not a NoneType"),
    (lambda f: operations_summary({}), TypeError, "not a dict"),
    (lambda f: status_funnel("frames"), TypeError, "not a str"),
    (lambda f: tag_counts(f, by=["M"]), ValueError, r"by must be None, 'status' or a period"),
    (lambda f: at_risk_summary(f, by=["status"]), ValueError, "by must be None, 'status'"),
    (lambda f: operations_summary(f, freq=["M"]), ValueError, r"unknown period \['M'\]"),
    (lambda f: at_risk_summary(f, freq=None), ValueError, "unknown period None"),
    (lambda f: at_risk_orders(f, stand_by_hours=float("nan")), ValueError, "stand_by_hours"),
    (lambda f: at_risk_orders(f, stand_by_hours=-1), ValueError, "from 0 to 876,000 .*, not -1"),
    (lambda f: at_risk_summary(f, stand_by_hours="48"), ValueError, "number of hours"),
    (lambda f: at_risk_summary(f, stand_by_hours=True), ValueError, "number of hours"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_named(call: Any, error: type[Exception], message: str) -> None:
    """A wrong argument is a ValueError or TypeError that names it, never an AttributeError,
    an unhashable-type TypeError from inside pandas, or a silently empty result."""
    with pytest.raises(error, match=message):
        call(load(order(1)))


def test_charts_refuse_the_frame_of_another_metric() -> None:
    """Each chart names the metric it draws when given another metric's frame."""
    frames = load(order(1, appointmentStart="2024-05-02T10:00:00Z"))
    revenue = revenue_breakdown(frames, by="month")
    with pytest.raises(ValueError, match=r"at_risk_trend draws at_risk_summary\(frames\)"):
        plots.at_risk_trend(revenue)
    with pytest.raises(ValueError, match=r"status_funnel draws status_funnel\(frames\)"):
        plots.status_funnel(revenue)
    with pytest.raises(ValueError, match=r"no lead_time column"):
        plots.lead_time_distribution(revenue)


def test_open_means_the_same_orders_in_every_metric() -> None:
    """Order 1 has an unknown status id (99, not known to be terminal), order 2 is ASSIGNED:
    both are open for revenue and for at risk alike; neither is terminal or billable."""
    frames = load(order(1, 99, total="5.00"), order(2, 2, total="7.00"))
    total = revenue_breakdown(frames, by="month", statuses="open").iloc[-1]
    assert (total["orders"], total["net"]) == (2, D("12.00"))
    assert "unknown status ids" in revenue_breakdown(frames, statuses="open").attrs["statuses"]
    assert int(at_risk_summary(frames, now="2024-06-01")["open_orders"].sum()) == 2
    assert revenue_breakdown(frames, statuses="terminal").iloc[-1]["orders"] == 0
    assert revenue_breakdown(frames, statuses=["open", "COMPLETED"]).iloc[-1]["orders"] == 2
    assert revenue_breakdown(frames, statuses="ASSIGNED").iloc[-1]["orders"] == 1


def test_a_stand_by_limit_of_zero_hours_is_any_open_stand_by() -> None:
    """0 hours: a stand-by open for one hour already counts (by hand: 1 h > 0 h)."""
    frames = load(order(1, 10, standByTimes=[{"start": "2024-05-31T23:00:00Z"}]))
    got = at_risk_orders(frames, now="2024-06-01T00:00:00Z", stand_by_hours=0)
    assert list(got["reasons"]) == ["long_stand_by"]


@pytest.mark.parametrize("now", [1717243200, 1717243200.0, float("nan"), pd.NaT, "not a time"])
def test_now_must_be_an_instant(now: Any) -> None:
    frames = load(order(1, 2, appointmentStart="2024-05-02T10:00:00"))
    with pytest.raises(ValueError, match="now="):
        at_risk_orders(frames, now=now)
    with pytest.raises(ValueError, match="now="):
        at_risk_summary(frames, now=now)


@pytest.mark.parametrize("tz", ["Mars/Olympus", None, "", 5])
def test_an_unknown_time_zone_is_a_clear_error(tz: Any) -> None:
    frames = load(order(1))
    for call in (
        lambda: revenue_breakdown(frames, tz=tz),
        lambda: revenue_breakdown(frames, by="sku", tz=tz),
        lambda: tag_counts(frames, by="M", tz=tz),
        lambda: at_risk_summary(frames, tz=tz, now="2024-06-01"),
        lambda: operations_summary(frames, tz=tz),
    ):
        with pytest.raises(ValueError, match="unknown time zone"):
            call()


def test_completed_before_started_is_left_out_of_time_to_complete() -> None:
    """Order 1 completed an hour before it started (a data error); order 2 took 2 hours. The
    median time to complete is order 2's 2.0 h, and the one left out is counted."""
    frames = load(
        order(1, startedAt="2024-05-02T18:00:00.000Z", completedAt="2024-05-02T17:00:00.000Z"),
        order(2, startedAt="2024-05-02T18:00:00.000Z", completedAt="2024-05-02T20:00:00.000Z"),
    )
    df = operations_summary(frames)
    assert df["time_to_complete_median_h"].tolist() == [2.0]
    assert df.attrs["completed_before_started"] == 1
    assert np.isnan(df["lateness_median_h"]).all()  # no appointment: no lateness


def test_an_order_with_two_lines_of_one_sku_counts_once_in_its_row() -> None:
    """Order 1: two lines of SKU 7 ($10 + $20, total $30). Order 2: one line of SKU 7 and one of
    SKU 8 ($5 + $6, total $11). SKU 7: 2 orders, 3 lines, net 35; SKU 8: 1 order, 1 line, net 6.
    The rows count 3 orders, the total 2: the overlap row takes 1 back out. By tag, order 1
    listed with its tag twice still counts once."""
    one = order(1, total="30.00", tags=["a", "a"])
    one["breakdown"]["services"] = [service("10.00"), service("20.00") | {"id": 2}]
    two = order(2, total="11.00", tags=["a"])
    two["breakdown"]["services"] = [service("5.00"), service("6.00", sku=8) | {"id": 2}]
    df = revenue_breakdown(load(one, two), by="sku")
    assert list(df["sku"]) == ["7", "8", "(counted in several rows)", "Total"]
    assert list(df["orders"]) == [2, 1, -1, 2]
    assert list(df["services"]) == [3, 1, 0, 4]
    assert [D(str(v)) for v in df["net"]] == [D("35.00"), D("6.00"), D("0.00"), D("41.00")]
    by_tag = revenue_breakdown(load(one, two), by="tag")
    assert list(by_tag["tag"]) == ["a", "Total"]
    assert list(by_tag["orders"]) == [2, 2]


@pytest.mark.parametrize("zone", ["", "X" * 300, "localtime", "Not/AZone"])
def test_an_unusable_time_zone_counts_in_utc(zone: str) -> None:
    """Order 1 is created 2024-05-31 23:30 UTC with a zone that is empty, too long for a file
    name, this machine's ``localtime`` or unknown: its month is May (UTC). Order 2, in New York,
    is created 2024-06-01 02:00 UTC = May 31 22:00 local: May too. Every metric reads them."""
    one = order(1, total="1.00", timezone=zone, createdAt="2024-05-31T23:30:00Z")
    two = order(2, total="2.00", timezone="America/New_York", createdAt="2024-06-01T02:00:00Z")
    frames = load(one, two)
    df = revenue_breakdown(frames, by="month")
    assert [str(p) for p in df["month"]] == ["2024-05", "Total"]
    assert list(df["orders"]) == [2, 2]
    assert len(operations_summary(frames)) == 1
    assert at_risk_summary(frames, now="2024-07-01")["open_orders"].sum() == 0


def test_an_adjustment_type_named_id_does_not_touch_the_order_ids() -> None:
    """Order 7 ($10 line, -$1 adjustment of type "id", total $9) adds up: it is not
    unreconciled, and the adjustment gets a column of its own, order_id_adjustment = -1."""
    seven = order(7, total="9.00")
    seven["breakdown"]["services"] = [service("10.00")]
    seven["breakdown"]["adjustments"] = [{"name": "x", "type": "id", "amount": "-1.00"}]
    df = revenue_breakdown(load(seven), by="month")
    assert df.attrs["unreconciled_orders"] == []
    assert list(df["unreconciled"]) == [0, 0]
    assert [D(str(v)) for v in df["order_id_adjustment"]] == [D("-1.00"), D("-1.00")]
    assert "order_id" not in df.columns


def test_many_dimensions_whose_combinations_pass_int64_stay_apart() -> None:
    """3,000 sandbox orders, each with its own partner, ZIP and state, broken down by nine
    dimensions at once: the number of key combinations passes 2**63. Every row still holds one
    order's partner, ZIP and state together (no key wrapped into another's), and the net total
    is the orders' own."""
    from ht_analytics.sandbox._generate import generate_orders

    base = load(*generate_orders(3000, seed=5))
    orders = base.orders.copy()
    orders["partner"] = [f"p{i:04d}" for i in range(len(orders))]
    orders["client_zip"] = [f"z{i:04d}" for i in range(len(orders))]
    orders["client_state"] = [f"s{i:04d}" for i in range(len(orders))]
    frames = OrderFrames(orders, base.services, base.adjustments, base.tags, base.problems)
    by = ["day", "month", "partner", "zip", "state", "tag", "sku", "service", "status"]
    df = revenue_breakdown(frames, by=by, statuses="all", tz="UTC")
    body = df[~df["day"].isin(["Total", "(counted in several rows)"])]
    assert len(body) > 3000
    assert (body["partner"].str[1:] == body["zip"].str[1:]).all()
    assert (body["zip"].str[1:] == body["state"].str[1:]).all()
    want = sum((D(str(v)) for v in orders["total_amount"] if not pd.isna(v)), D(0))
    assert D(str(df["net"].iloc[-1])) == want


def test_adjustment_types_become_readable_column_names() -> None:
    """Order 8 ($10 line, total $3) has seven order-level adjustments of -$1 each, whose types
    become snake_case names: tab / newline / brackets / quotes are one `_`, case and outer
    spaces do not matter ("FEE" and " fee " are one column), non-ASCII letters stay."""
    eight = order(8, total="3.00")
    eight["breakdown"]["services"] = [service("10.00")]
    types = ["Tip\nGratuity", "Late\tfee", "Fee (late)", '=HYPERLINK("x")', "Réduction"]
    types += ["FEE", " fee "]
    eight["breakdown"]["adjustments"] = [{"name": "x", "type": t, "amount": "-1.00"} for t in types]
    df = revenue_breakdown(load(eight), by="month")
    adjustment_columns = sorted(c for c in df.columns if c.startswith("order_"))
    assert adjustment_columns == [
        "order_fee",
        "order_fee_late",
        "order_hyperlink_x",
        "order_late_fee",
        "order_réduction",
        "order_tip_gratuity",
    ]
    assert D(str(df["order_fee"].iloc[0])) == D("-2.00")
    assert df.attrs["unreconciled_orders"] == []


def test_every_result_says_which_statuses_and_clock_it_used() -> None:
    """As the README promises: `statuses` on every result; `clock` and `period_of` on every
    result by period (and at_risk_orders names the clock of its local appointment time)."""
    frames = load(order(1), order(2, 2, appointmentStart="2024-05-02T10:00:00Z"))
    now = "2024-06-01T00:00:00Z"
    by_period = {
        "revenue_breakdown": revenue_breakdown(frames, by="month"),
        "tag_counts": tag_counts(frames, by="M"),
        "at_risk_summary": at_risk_summary(frames, now=now),
        "operations_summary": operations_summary(frames),
    }
    others = {
        "at_risk_orders": at_risk_orders(frames, now=now),
        "status_funnel": status_funnel(frames),
        "order_durations": order_durations(frames),
    }
    for name, df in {**by_period, **others}.items():
        assert df.attrs.get("statuses"), name
    for name, df in by_period.items():
        assert df.attrs["clock"] == "each order's local time", name
        assert df.attrs["period_of"] == "created_at", name
    assert "local time" in others["at_risk_orders"].attrs["clock"]
    assert others["at_risk_orders"].attrs["statuses"].startswith("open")
    assert tag_counts(frames).attrs["statuses"].startswith("all")


def test_tag_counts_without_any_tag_says_why() -> None:
    """Frames from plain pages carry no tags (the documented Order has none): the empty result
    says how tags are learnt, instead of looking like orders without tags."""
    df = tag_counts(load(order(1), order(2)))
    assert df.empty
    assert "sync by tag" in df.attrs["note"]
    tagged = tag_counts(load(order(3, tags=["vip"])))
    assert "note" not in tagged.attrs


def test_an_order_with_a_part_that_is_na_cannot_pass_as_reconciled() -> None:
    """Order 1: its line's original total is unreadable ("abc"), net $0.00 (0 - 0 = 0 would
    pass); order 2: a $100 line, an order fee "€5" (unreadable), net $100.00 (100 + 0 = 100);
    order 3: a prepaid sent empty; order 4 adds up. Orders 1-3 are unreconciled: their NA parts
    are summed as 0 (gross 0 + 100 + 10 + 10), but their identity cannot be checked."""
    one = order(1, total="0.00")
    one["breakdown"]["services"] = [service("abc") | {"totalAmount": "0"}]
    two = order(2, total="100.00")
    two["breakdown"]["services"] = [service("100.00")]
    two["breakdown"]["adjustments"] = [{"name": "fee", "type": "fee", "amount": "€5"}]
    three = order(3, total="10.00")
    three["breakdown"]["services"] = [service("10.00") | {"prepaid": ""}]
    four = order(4, total="10.00")
    four["breakdown"]["services"] = [service("10.00")]
    df = revenue_breakdown(load(one, two, three, four), by="month")
    assert df.attrs["unreconciled_orders"] == [1, 2, 3]
    assert int(total_row(df)["unreconciled"]) == 3
    assert D(str(total_row(df)["gross"])) == D("120.00")  # 0 + 100 + 10 + 10


def test_groups_named_like_the_summary_rows_stay_groups() -> None:
    """Order 1: a $100 service named "Total"; order 2: a $50 "Wi-Fi" and a $10 service named
    "(counted in several rows)". By service: five rows (three services, the overlap row, the
    Total); the chart draws the three services with their nets, and the service named like the
    overlap row has its average order value ($10.00: its net over its one order)."""
    one = order(1, total="100.00")
    one["breakdown"]["services"] = [service("100.00") | {"name": "Total"}]
    two = order(2, total="60.00")
    two["breakdown"]["services"] = [
        service("50.00") | {"name": "Wi-Fi"},
        service("10.00") | {"id": 2, "name": "(counted in several rows)"},
    ]
    df = revenue_breakdown(load(one, two), by="service")
    names = list(df["service"])
    assert names[-2:] == ["(counted in several rows)", "Total"]  # the summary rows
    assert sorted(names[:-2]) == ["(counted in several rows)", "Total", "Wi-Fi"]
    real = df.iloc[:-2].set_index("service")
    assert D(str(real.loc["(counted in several rows)", "avg_order_value"])) == D("10.00")
    want = {n: float(real.loc[n, "net"]) for n in ("Total", "Wi-Fi", "(counted in several rows)")}
    # The frame as it comes, sorted by net (the summary rows move), or its head: the same bars.
    for frame in (df, df.sort_values("net"), df.sort_values("net", ascending=False).head(4)):
        ax = plots.revenue_by_sku(frame)
        drawn = {
            t.get_text(): p.get_width()
            for t, p in zip(ax.get_yticklabels(), ax.patches, strict=True)
        }
        groups = frame[~frame.index.isin(df.attrs["summary_rows"])]
        assert drawn == {n: want[n] for n in groups["service"]}
        assert len(groups) < len(frame)  # a summary row was there, and left out


@pytest.mark.parametrize(("by", "days"), [("D", 0.8), ("W", 5.6), ("M", 24.35), ("Q", 73.05)])
def test_revenue_bars_are_as_wide_as_their_period(by: str, days: float) -> None:
    """One period, or two far apart (a gap of a year): the adjustments bars are 80% of one
    period wide (a day is 1.0 on a date axis), not a fixed 20 days nor the gap's median."""
    for created in (
        ["2024-05-01T12:00:00.000Z"],
        ["2024-05-01T12:00:00.000Z", "2025-05-01T12:00:00.000Z"],
    ):
        frames = load(*(order(i, createdAt=c) for i, c in enumerate(created, start=1)))
        ax = plots.revenue_over_time(revenue_breakdown(frames, by=by))
        widths = {round(p.get_width(), 2) for p in ax.patches}
        assert widths == {days}, created


def test_the_order_level_adjustments_row_has_no_average_order_value() -> None:
    """Order 1: a $10 line and a $2 fee (net $12). By service: the Mount row's average is
    $10.00 (its net over its one order); the order-level adjustments row ($2.00 over one order)
    is no order value: none. The Total's average is $12.00."""
    one = order(1, total="12.00")
    one["breakdown"]["services"] = [service("10.00")]
    one["breakdown"]["adjustments"] = [{"name": "fee", "type": "fee", "amount": "2.00"}]
    df = revenue_breakdown(load(one), by="service").set_index("service")
    assert D(str(df.loc["Mount", "avg_order_value"])) == D("10.00")
    assert pd.isna(df.loc["(order-level adjustments)", "avg_order_value"])
    assert D(str(df.loc["(order-level adjustments)", "net"])) == D("2.00")
    assert D(str(df.loc["Total", "avg_order_value"])) == D("12.00")


def test_the_clock_says_how_many_orders_had_no_usable_zone() -> None:
    """Order 1 in New York, 2 with an empty zone, 3 with "Mars/Base": by month in local time the
    attrs say two orders were counted in UTC; in UTC time, or without a period, nothing is said."""
    frames = load(
        order(1, timezone="America/New_York"), order(2, timezone=""), order(3, timezone="Mars/Base")
    )
    local = "each order's local time (2 order(s) with no usable time zone: in UTC)"
    assert revenue_breakdown(frames, by="month").attrs["clock"] == local
    assert operations_summary(frames).attrs["clock"] == local
    assert tag_counts(frames, by="M").attrs["clock"] == local
    assert revenue_breakdown(frames, by="month", tz="UTC").attrs["clock"] == "UTC time"
    assert revenue_breakdown(frames, by="sku").attrs["clock"] == "each order's local time"
    one = load(order(1, timezone="America/New_York"))
    assert revenue_breakdown(one, by="month").attrs["clock"] == "each order's local time"


@pytest.mark.parametrize("by", ["sku", "service", "month", ["month", "sku"]])
def test_a_line_whose_total_the_parts_do_not_explain_is_unreconciled(by: Any) -> None:
    """Order 1: one $50.00 line (original $50.00, nothing adjusted or prepaid) whose own total
    says $40.00, net $50.00: gross 50 - 0 = 50 holds, but the line's total 40 + 0 is not 50 (the
    loader's check). Order 2: the same line with an unreadable total ("€50", NA). Order 3 adds
    up. By SKU the $10 (or $50) would land in the order-level row unseen: both orders are
    unreconciled, named, whatever ``by``."""
    one = order(1, total="50.00")
    one["breakdown"]["services"] = [service("50.00") | {"totalAmount": "40.00"}]
    two = order(2, total="50.00")
    two["breakdown"]["services"] = [service("50.00") | {"totalAmount": "€50"}]
    three = order(3, total="50.00")
    three["breakdown"]["services"] = [service("50.00")]
    df = revenue_breakdown(load(one, two, three), by=by)
    assert df.attrs["unreconciled_orders"] == [1, 2]
    assert int(total_row(df)["unreconciled"]) == 2
    assert int(df["unreconciled"].iloc[:-1].sum()) == 2  # the rows add up to the Total
    assert D(str(total_row(df)["net"])) == D("150.00")


def test_status_ids_read_from_the_frames_are_accepted() -> None:
    """Orders 1 (COMPLETED, 3), 2 (CANCELLED, 5) and 3 (unknown id 99). Ids read back from the
    frame are NumPy integers; the labels hold NaN for the unknown id, which picks its orders."""
    frames = load(order(1, 3), order(2, 5, total="7.00"), order(3, 99, total="1.00"))
    ids = list(frames.orders["status_id"].dropna().unique())
    assert isinstance(ids[0], np.integer)
    for statuses in (ids[:2], np.array([3, 5]), [np.int64(3), 5]):
        assert total_row(revenue_breakdown(frames, statuses=statuses))["orders"] == 2
    assert total_row(revenue_breakdown(frames, statuses=np.int64(5)))["orders"] == 1
    every = revenue_breakdown(frames, statuses=frames.orders["status"].unique())
    assert total_row(every)["orders"] == 3
    assert "unknown status ids" in every.attrs["statuses"]
    only_unknown = revenue_breakdown(frames, statuses=[np.nan])
    assert total_row(only_unknown)["orders"] == 1
    assert only_unknown.attrs["statuses"] == "unknown status ids"
    assert list(frames.filter(status=[np.int64(5)]).orders["order_id"]) == [2]
    with pytest.raises(ValueError, match="status id 99 is not one of the documented"):
        revenue_breakdown(frames, statuses=[np.int64(99)])
    with pytest.raises(ValueError, match="unknown status True"):
        revenue_breakdown(frames, statuses=[True])


def test_periods_at_the_ends_of_pythons_dates_do_not_crash() -> None:
    """Order 1 created 9999-12-31 20:00 UTC in Sydney (UTC+11 then: 10000-01-01 07:00 local);
    order 2 at 0001-01-01 02:00 UTC in New York (LMT, UTC-4:56:02: 0000-12-31 21:03:58 local);
    order 3 at 9999-12-31 20:00 UTC in UTC. Python's dates stop at years 1 and 9999, so a zone
    conversion through them overflowed: each order now has its month."""
    frames = load(
        order(1, createdAt="9999-12-31T20:00:00Z", timezone="Australia/Sydney"),
        order(2, createdAt="0001-01-01T02:00:00Z", timezone="America/New_York"),
        order(3, createdAt="9999-12-31T20:00:00Z"),
    )
    df = revenue_breakdown(frames, by="month")
    assert [str(m) for m in df["month"].iloc[:-1]] == ["0000-12", "9999-12", "10000-01"]
    assert list(df["orders"].iloc[:-1]) == [1, 1, 1]
    weeks = tag_counts(
        load(order(1, createdAt="9999-12-31T20:00:00Z", timezone="Asia/Tokyo", tags=["vip"])),
        by="W",
    )
    assert list(weeks["orders"]) == [1]
    assert len(operations_summary(frames)) >= 1


def test_by_as_a_set_is_refused_for_want_of_an_order() -> None:
    with pytest.raises(TypeError, match="not a set"):
        revenue_breakdown(load(order(1)), by={"month", "sku"})


@pytest.mark.parametrize("hours", [1e15, 876_001])
def test_a_stand_by_limit_beyond_a_century_is_a_clear_error(hours: float) -> None:
    with pytest.raises(ValueError, match="from 0 to 876,000"):
        at_risk_summary(load(order(1, 1)), stand_by_hours=hours)


def test_revenue_over_time_draws_in_time_order_whatever_the_rows_order() -> None:
    """Four months, January to April 2024, with nets 30, 10, 5, 20: sorted by net, the frame's
    rows are Jan, Apr, Feb, Mar; the Net line still goes Jan, Feb, Mar, Apr."""
    orders = [
        order(i + 1, total=f"{net}.00", createdAt=f"2024-0{i + 1}-10T12:00:00Z")
        | {
            "breakdown": {
                "services": [service(f"{net}.00")],
                "adjustments": [],
                "totalAmount": f"{net}.00",
            }
        }
        for i, net in enumerate([30, 10, 5, 20])
    ]
    df = revenue_breakdown(load(*orders), by="month")
    ax = plots.revenue_over_time(df.sort_values("net", ascending=False))
    net = next(line for line in ax.get_lines() if line.get_label() == "Net")
    x = np.asarray(net.get_xdata()).astype("datetime64[D]").astype(str)
    assert list(x) == ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
    assert list(net.get_ydata()) == [30.0, 10.0, 5.0, 20.0]


@pytest.mark.parametrize(
    ("ticks", "labels"),
    [
        ([0, 0.25, 0.5, 0.75], ["$0", "$0.25", "$0.50", "$0.75"]),
        ([0, 1, 2, 3], ["$0", "$1", "$2", "$3"]),
        ([-0.4, 0, 0.4], ["-$0.40", "$0", "$0.40"]),
        (
            [0, 2_500, 5_000, 7_500, 10_000, 12_500],
            ["$0", "$2.5k", "$5.0k", "$7.5k", "$10.0k", "$12.5k"],
        ),
        ([0, 5_000, 10_000, 15_000], ["$0", "$5k", "$10k", "$15k"]),
        ([600_000, 800_000, 1_000_000, 1_200_000], ["$0.6M", "$0.8M", "$1.0M", "$1.2M"]),
    ],
)
def test_money_ticks_share_a_unit_and_tell_the_ticks_apart(
    ticks: list[float], labels: list[str]
) -> None:
    """Ticks a quarter apart read as cents, not all "$0"; every tick of an axis in one unit
    ($, k or M); never "-$0"."""
    ax = plots.revenue_over_time(revenue_breakdown(load(order(1)), by="month"))
    assert ax.yaxis.get_major_formatter().format_ticks(ticks) == labels


def test_the_funnel_chart_of_no_orders_shows_counts_without_shares() -> None:
    ax = plots.status_funnel(status_funnel(load()))
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0"] * 5


def test_figure_of_an_axes_on_a_subfigure_is_the_figure() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    inner = fig.subfigures(1, 2)[1].subfigures(2, 1)[0]
    ax = plots.revenue_over_time(
        revenue_breakdown(load(order(1)), by="month"), ax=inner.add_subplot()
    )
    assert plots.figure_of(ax) is fig
