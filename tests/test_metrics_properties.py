"""Metric properties on sandbox data, and the charts drawn from them."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ht_analytics import (
    OrderFrames,
    PartnerClient,
    at_risk_summary,
    load_orders,
    operations_summary,
    order_durations,
    plots,
    revenue_breakdown,
    status_funnel,
    tag_counts,
)
from ht_analytics._statuses import OPEN_STATUSES, OrderStatus
from ht_analytics.sandbox import SandboxServer

DIMS = ["month", "week", "quarter", "day", "sku", "service", "status", "partner", "tag", "zip"]
MONEY = ["gross", "service_adjustments", "prepaid", "net"]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A 4,000-order sandbox."""
    with SandboxServer(orders=4000, seed=21) as srv:
        yield srv


@pytest.fixture(scope="module")
def frames(server: SandboxServer) -> OrderFrames:
    """The sandbox's orders with their tags (as if the payload carried them)."""
    return load_orders(server.data.orders)


def expected_labels(statuses: object) -> set[str]:
    """The status labels each choice means, written out independently of the code."""
    open_names = {s.name for s in OPEN_STATUSES}
    every = {s.name for s in OrderStatus}
    groups = {
        "billable": {"COMPLETED", "PAID"},
        "all": every,
        "open": open_names,
        "terminal": every - open_names,
    }
    return groups[statuses] if isinstance(statuses, str) else set(statuses)  # type: ignore[call-overload]


@settings(max_examples=25, deadline=None)
@given(
    by=st.lists(st.sampled_from(DIMS), min_size=1, max_size=2, unique=True),
    statuses=st.sampled_from(["billable", "all", "open", "terminal", ["PAID", "CANCELLED"]]),
    tz=st.sampled_from(["local", "UTC", "America/New_York"]),
)
def test_revenue_by_anything_adds_up_to_the_same_net(
    frames: OrderFrames, by: list[str], statuses: object, tz: str
) -> None:
    """For any dimensions, statuses and clock: every money column of the Total row is the sum of
    the rows, and the net total is the Decimal sum of the chosen orders' totals."""
    df = revenue_breakdown(frames, by=by, statuses=statuses, tz=tz)
    body, total = df.iloc[:-1], df.iloc[-1]
    money = [c for c in df.columns if c in MONEY or c.startswith("order_")]
    for column in money:
        assert sum(body[column], Decimal(0)) == total[column], column
    assert body["orders"].sum() == total["orders"]
    chosen = frames.orders["status"].isin(expected_labels(statuses)).fillna(False)
    want = sum((Decimal(str(v)) for v in frames.orders.loc[chosen, "total_amount"]), Decimal(0))
    assert total["net"] == want
    assert total["orders"] == int(chosen.sum())


def _dollars(text: str) -> Decimal:
    """The sandbox's money text (``$1,234.50``, ``-$5.00``) as a Decimal, parsed here, apart
    from the loader."""
    return Decimal(text.replace("$", "").replace(",", ""))


@pytest.mark.parametrize("shuffled", [False, True], ids=["as-loaded", "shuffled"])
@pytest.mark.parametrize("by", ["tag", "sku", "status", "month"])
def test_revenue_rows_equal_a_direct_count_on_the_raw_orders(
    server: SandboxServer, frames: OrderFrames, by: str, shuffled: bool
) -> None:
    """Each row's orders, service lines and net, recomputed from the raw orders with dicts and
    Decimals (no frame, no metric code): per tag (an order in each of its tags), per SKU (the
    lines' totals; an order with an order-level adjustment, a total its lines do not make, or no
    line also counts in the order-level row), per status, per UTC month. Also with every table's
    rows in a random order (the metric may not rely on the loader's order)."""
    if shuffled:
        frames = dataclasses.replace(
            frames,
            **{
                name: getattr(frames, name).sample(frac=1.0, random_state=7)
                for name in ("orders", "services", "adjustments", "tags")
            },
        )
    orders: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    net: dict[str, Decimal] = {}

    def add(key: str, amount: Decimal, n_lines: int, count: bool = True) -> None:
        orders[key] += count
        lines[key] += n_lines
        net[key] = net.get(key, Decimal(0)) + amount

    for o in server.data.orders:
        total = _dollars(o["breakdown"]["totalAmount"])
        services = o["breakdown"]["services"]
        if by == "tag":
            for tag in sorted(set(o.get("tags") or ())) or ["(untagged)"]:
                add(tag, total, len(services))
        elif by == "status":
            add(OrderStatus(o["statusId"]).name, total, len(services))
        elif by == "month":
            add(o["createdAt"][:7], total, len(services))
        else:
            in_lines = Decimal(0)
            for sku in {str(line["skuId"]) for line in services}:
                mine = [line for line in services if str(line["skuId"]) == sku]
                part = sum((_dollars(line["totalAmount"]) for line in mine), Decimal(0))
                add(sku, part, len(mine))
                in_lines += part
            adjusted = any(_dollars(a["amount"]) for a in o["breakdown"]["adjustments"])
            if total != in_lines or adjusted or not services:
                add("(order-level adjustments)", total - in_lines, 0)
    df = revenue_breakdown(frames, by=by, statuses="all", tz="UTC")
    body = df[~df[df.columns[0]].isin(["Total", "(counted in several rows)"])]
    keys = [str(k) for k in body[df.columns[0]]]
    assert set(keys) == set(orders)
    assert dict(zip(keys, body["orders"], strict=True)) == dict(orders)
    assert dict(zip(keys, body["services"], strict=True)) == dict(lines)
    assert dict(zip(keys, (Decimal(str(v)) for v in body["net"]), strict=True)) == net


def test_tag_counts_equal_the_servers_count_by_tag(
    server: SandboxServer, frames: OrderFrames
) -> None:
    """Orders per tag computed from the frames equal count_by_tag over HTTP."""
    df = tag_counts(frames)
    with PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c:
        counts = c.count_by_tag(list(df["tag"]))
    assert dict(zip(df["tag"], df["orders"], strict=True)) == counts
    direct = Counter(t for o in server.data.orders for t in set(o.get("tags") or ()))
    assert counts == dict(direct)


def test_at_risk_counts_equal_the_flag_on_open_orders(
    server: SandboxServer, frames: OrderFrames
) -> None:
    """Σ at_risk over periods = open orders whose atRisk flag is set, counted on the raw data."""
    open_ids = {s.value for s in OPEN_STATUSES}
    want_open = [o for o in server.data.orders if o["statusId"] in open_ids]
    for freq in ("D", "W", "M", "Q"):
        df = at_risk_summary(frames, freq=freq, now="2026-11-01")
        assert df["at_risk"].sum() == sum(bool(o["atRisk"]) for o in want_open)
        assert df["open_orders"].sum() == len(want_open)
        assert (df["needs_attention"] >= df["at_risk"]).all()


def test_weeks_start_on_monday(frames: OrderFrames) -> None:
    """Every weekly period starts on a Monday."""
    df = revenue_breakdown(frames, by="week", statuses="all")
    starts = [p.start_time for p in df["week"].iloc[:-1]]
    assert {s.day_of_week for s in starts} == {0}


@pytest.fixture
def untouched_matplotlib() -> Iterator[None]:
    """The charts must not change rcParams or open pyplot figures."""
    import matplotlib.pyplot as plt

    before = dict(mpl.rcParams)
    figures = plt.get_fignums()
    yield
    assert dict(mpl.rcParams) == before
    assert plt.get_fignums() == figures


def _floats(values: pd.Series) -> np.ndarray:
    return np.array([float(v) for v in values])


def test_charts_plot_the_metrics_values(frames: OrderFrames, untouched_matplotlib: None) -> None:
    """Each chart renders with Agg and its artists hold the metric's numbers."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rev = revenue_breakdown(frames, by="month")
    ax = plots.revenue_over_time(rev)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["Net"].get_ydata()) == pytest.approx(list(_floats(rev["net"].iloc[:-1])))
    assert "$" in ax.yaxis.get_major_formatter()(150000, 0)

    sku = revenue_breakdown(frames, by="sku")
    ax2 = plots.revenue_by_sku(sku, top=5)
    widths = sorted((p.get_width() for p in ax2.patches), reverse=True)
    body = sku[
        ~sku["sku"].isin(["Total", "(counted in several rows)", "(order-level adjustments)"])
    ]
    assert widths == pytest.approx(sorted(_floats(body["net"]), reverse=True)[:5])

    tags = tag_counts(frames)
    ax3 = plots.tag_counts(tags, top=3)
    assert sorted(p.get_width() for p in ax3.patches) == sorted(tags["orders"].head(3))

    risk = at_risk_summary(frames, freq="M", now="2026-11-01")
    ax4 = plots.at_risk_trend(risk)
    rate = ax4.get_lines()[0].get_ydata()
    assert list(rate) == pytest.approx(list(risk["at_risk"] / risk["open_orders"]))

    funnel = status_funnel(frames)
    ax5 = plots.status_funnel(funnel)
    assert sorted(p.get_width() for p in ax5.patches) == sorted(funnel["orders"])

    durations = order_durations(frames)
    ax6 = plots.lead_time_distribution(durations, max_days=None)
    counted = sum(p.get_height() for p in ax6.patches)
    assert counted == durations["lead_time"].notna().sum()

    for axes in (ax, ax2, ax3, ax4, ax5, ax6):
        canvas = FigureCanvasAgg(plots.figure_of(axes))
        canvas.draw()
        assert canvas.buffer_rgba().shape[0] > 100


def test_operations_rates_are_fractions(frames: OrderFrames) -> None:
    """Completion and cancellation rates lie in [0, 1] and orders add up to all orders."""
    df = operations_summary(frames, freq="Q")
    assert df["orders"].sum() == len(frames.orders)
    assert df["completion_rate"].between(0, 1).all()
    assert (df["completed"] + df["cancelled"] <= df["orders"]).all()
