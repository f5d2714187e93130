"""Charts of the metrics (matplotlib). Each function takes the metric's DataFrame, draws on
``ax`` (or a new figure), returns the Axes, formats money and dates on the axes, and changes no
global matplotlib state (no ``pyplot`` state machine, no rcParams).

Money converts to float only here, at the moment of plotting.

Example:
    >>> from ht_analytics import revenue_breakdown, plots
    >>> ax = plots.revenue_over_time(revenue_breakdown(frames, by="month"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, PercentFormatter

__all__ = [
    "at_risk_trend",
    "lead_time_distribution",
    "revenue_by_sku",
    "revenue_over_time",
    "status_funnel",
    "tag_counts",
]

PERIOD_COLUMNS = ("day", "week", "month", "quarter")


def plain(text: object) -> str:
    """Text from the data as matplotlib should draw it: as it is (a ``$`` would otherwise start
    a maths formula, and an unbalanced one fails to draw)."""
    return str(text).replace("$", r"\$")


def _axes(ax: Axes | None, size: tuple[float, float] = (8.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=size, layout="constrained")  # not registered with pyplot
    return fig.add_subplot()


def _dollars(value: float, ticks: Sequence[float] = ()) -> str:
    """``value`` in dollars, in the unit the largest of ``ticks`` (all the axis's ticks; or
    ``value`` alone) calls for — ``$``, ``k`` from $10,000, ``M`` from $1,000,000 — with as many
    decimals as telling the ticks apart takes (cents, when dollars are not enough)."""
    top = max((abs(t) for t in ticks), default=abs(value))
    unit, suffix, most = (
        (1_000_000.0, "M", 3)
        if top >= 999_950
        else (1_000.0, "k", 3)
        if top >= 10_000
        else (1.0, "", 2)
    )
    scaled = [t / unit for t in ticks] or [value / unit]
    decimals = next(
        (
            d
            for d in range(most + 1)
            if all(abs(round(t, d) - t) <= 1e-9 * max(1.0, abs(t)) for t in scaled)
        ),
        most,
    )
    if unit == 1.0 and decimals:  # dollars and cents, never a lone tenth
        decimals = 2
    text = f"{abs(value) / unit:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return "$0"
    return f"{'-' if value < 0 else ''}${text}{suffix}"


class _Money(Formatter):
    """Dollars on an axis (see :func:`_dollars`): one unit and one number of decimals for all
    its ticks. One instance per axis (a formatter belongs to its axis)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _dollars(float(x))

    def format_ticks(self, values: Any) -> list[str]:
        ticks = [float(t) for t in values if np.isfinite(t)]
        return [_dollars(float(v), ticks) for v in values]


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.astype("object"), errors="coerce").to_numpy(dtype=float)


def _body(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """The metric's rows without its Total / overlap rows: those ``df.attrs["summary_rows"]``
    names (index labels, kept through sorting and ``head()``) that bear those names (a group
    with such a name is a group: a service may be called "Total"); without that attribute, the
    rows of those names."""
    named = df[key].astype("object").isin(["Total", "(counted in several rows)"]).to_numpy()
    summary = df.attrs.get("summary_rows")
    if summary is not None:
        named = named & df.index.isin(summary)
    return df[~named]


def _period_key(df: pd.DataFrame) -> str:
    for name in PERIOD_COLUMNS:
        if name in df.columns:
            return name
    raise ValueError(f"no period column ({', '.join(PERIOD_COLUMNS)}) in {list(df.columns)}")


def _only_key(df: pd.DataFrame, keys: tuple[str, ...], chart: str) -> str:
    """The one key column of a ``revenue_breakdown`` frame (the columns before ``orders``),
    which must be one of ``keys``; ``ValueError`` otherwise (a chart of several dimensions
    would draw several points per x)."""
    columns = list(df.columns)
    found = columns[: columns.index("orders")] if "orders" in columns else []
    if len(found) != 1 or found[0] not in keys:
        raise ValueError(
            f"{chart} draws revenue_breakdown(frames, by=...) of one of {', '.join(keys)}; "
            f"this frame is by {found or 'nothing'}"
        )
    return str(found[0])


def _needs(df: pd.DataFrame, columns: tuple[str, ...], chart: str, source: str) -> None:
    """``ValueError`` naming the metric ``chart`` draws when ``df`` lacks one of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{chart} draws {source}; this frame has no {', '.join(missing)} "
            f"column{'s' if len(missing) > 1 else ''} "
            f"(its columns: {', '.join(map(str, df.columns))})"
        )


def _period_x(values: pd.Series) -> np.ndarray:
    """Periods (or their labels) as the timestamps of their start, for a date axis."""
    return np.array([pd.Period(v).start_time for v in values], dtype="datetime64[ns]")


def revenue_over_time(df: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Gross, adjustments (service and order level together) and net per period, from
    ``revenue_breakdown(frames, by=<period>)`` (orders with no creation time have no period
    and are not drawn)."""
    key = _only_key(df, PERIOD_COLUMNS, "revenue_over_time")
    ax = _axes(ax)
    body = _body(df, key)
    body = body[body[key].notna().to_numpy(dtype=bool)]  # no creation time: no place in time
    x = _period_x(body[key])
    in_time = np.argsort(x, kind="stable")  # a sorted frame (by net …) draws in time order
    body, x = body.iloc[in_time], x[in_time]
    adj_cols = ["service_adjustments", *[c for c in body.columns if c.startswith("order_")]]
    adjustments = sum((_floats(body[c]) for c in adj_cols), np.zeros(len(body)))
    ax.plot(x, _floats(body["gross"]), marker="o", label="Gross")
    ax.bar(x, adjustments, width=_bar_width(key), label="Adjustments", alpha=0.5)
    ax.plot(x, _floats(body["net"]), marker="o", label="Net")
    ax.yaxis.set_major_formatter(_Money())
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_title(plain(f"Revenue by {key} ({df.attrs.get('statuses', '').split(' (')[0]})"))
    ax.legend()
    _date_axis(ax)
    return ax


PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4}
"""How long each period is, in days (the x axis's unit): bars are 80% of it wide."""


def _bar_width(key: str) -> float:
    return PERIOD_DAYS[key] * 0.8


def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def revenue_by_sku(df: pd.DataFrame, *, top: int = 10, ax: Axes | None = None) -> Axes:
    """The ``top`` SKUs (or services) by net, horizontal bars, from
    ``revenue_breakdown(frames, by="sku")`` (or ``by="service"``)."""
    key = _only_key(df, ("sku", "service"), "revenue_by_sku")
    ax = _axes(ax, (8.0, 0.4 * top + 1.5))
    body = _body(df, key)
    body = body[(body[key].astype("object") != "(order-level adjustments)").to_numpy(dtype=bool)]
    net = _floats(body["net"])
    order = np.argsort(-net, kind="stable")[:top]
    labels = [plain(v) for v in body[key].to_numpy()[order]]
    ax.barh(labels[::-1], net[order][::-1])
    ax.xaxis.set_major_formatter(_Money())
    ax.set_title(f"Net revenue, top {min(top, len(body))} by {key}")
    return ax


def tag_counts(df: pd.DataFrame, *, top: int = 15, ax: Axes | None = None) -> Axes:
    """Orders per tag (the ``top`` tags), from ``tag_counts(frames)``; the share is written
    beside each bar."""
    extra = [c for c in df.columns if c not in ("tag", "orders", "share")]
    if extra or not {"tag", "orders", "share"} <= set(df.columns):
        raise ValueError(
            "plots.tag_counts draws tag_counts(frames) (columns tag, orders, share); this frame "
            f"has {list(df.columns)} (a tag_counts(frames, by=...) frame: choose one period or "
            "status first, e.g. df[df['month'] == df['month'].max()].drop(columns='month'))"
        )
    ax = _axes(ax, (8.0, 0.4 * top + 1.5))
    ax.set_title("Orders per tag")
    if df.empty:  # the API's orders carry no tags: a store learns them from syncs by tag
        ax.text(0.5, 0.5, "No tags known (sync by tag to learn them)", ha="center", va="center")
        ax.set_axis_off()
        return ax
    body = df.sort_values("orders", ascending=False).head(top)
    labels = [plain(t) for t in body["tag"]][::-1]
    counts = body["orders"].to_numpy()[::-1]
    bars = ax.barh(labels, counts)
    shares = body["share"].to_numpy()[::-1]
    ax.bar_label(bars, labels=[f"{s:.0%}" for s in shares], padding=3)
    ax.set_xlabel("orders")
    ax.set_title("Orders per tag")
    return ax


def at_risk_trend(df: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """The at-risk rate and the needs-attention rate of open orders per period, from
    ``at_risk_summary(frames)`` (open orders with no creation time have no period and are not
    drawn; the summary counts them in its row without a period)."""
    counts = ("open_orders", "at_risk", "needs_attention")
    _needs(df, counts, "at_risk_trend", "at_risk_summary(frames)")
    key = _period_key(df)
    ax = _axes(ax)
    grouped = df.groupby(key, sort=True)[list(counts)].sum()
    x = _period_x(pd.Series(grouped.index))
    ax.plot(x, grouped["at_risk"] / grouped["open_orders"], marker="o", label="At-risk rate")
    ax.plot(
        x,
        grouped["needs_attention"] / grouped["open_orders"],
        marker="o",
        label="Needs attention",
    )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(bottom=0)
    ax.set_title(f"Open orders at risk, by {key}")
    ax.legend()
    _date_axis(ax)
    return ax


def status_funnel(df: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Orders reaching each stage, from ``status_funnel(frames)``."""
    _needs(df, ("stage", "orders", "share_of_created"), "status_funnel", "status_funnel(frames)")
    ax = _axes(ax, (8.0, 3.5))
    stages = [plain(s) for s in df["stage"]][::-1]
    counts = df["orders"].to_numpy()[::-1]
    bars = ax.barh(stages, counts)
    shares = df["share_of_created"].to_numpy()[::-1]
    ax.bar_label(
        bars,
        labels=[
            f"{n:,}" if np.isnan(s) else f"{n:,} ({s:.0%})"  # no orders: no share
            for n, s in zip(counts, shares, strict=True)
        ],
        padding=3,
    )
    ax.set_xlim(right=max(1, int(counts.max(initial=0))) * 1.2)  # room for the labels
    ax.set_xlabel("orders")
    ax.set_title("Status funnel")
    return ax


def lead_time_distribution(
    df: pd.DataFrame, *, bins: int = 40, max_days: float | None = 60.0, ax: Axes | None = None
) -> Axes:
    """Histogram of lead times (created → appointment) in days, from ``order_durations(frames)``,
    with the median and 90th percentile marked."""
    _needs(df, ("lead_time",), "lead_time_distribution", "order_durations(frames)")
    ax = _axes(ax)
    days = df["lead_time"].dt.total_seconds().dropna().to_numpy() / 86400.0
    shown = days if max_days is None else days[days <= max_days]
    ax.hist(shown, bins=bins)
    if len(days):
        for q, style in ((0.5, "-"), (0.9, "--")):
            value = float(np.quantile(days, q))
            ax.axvline(
                value, color="black", linestyle=style, label=f"p{int(q * 100)} {value:.1f} d"
            )
        ax.legend()
    ax.set_xlabel("days from order to appointment")
    ax.set_ylabel("orders")
    ax.set_title("Lead time")
    return ax


def figure_of(ax: Axes) -> Figure:
    """The figure an Axes belongs to (to save it: ``figure_of(ax).savefig("chart.png")``)."""
    fig: Any = ax.figure
    for _ in range(100):  # an Axes on a SubFigure (in a SubFigure …): up to the Figure
        if fig is None or isinstance(fig, Figure):
            break
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise ValueError("this Axes belongs to no figure")
    return fig
