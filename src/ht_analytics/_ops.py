"""Operations: completion and cancellation rates, lead time, time to complete, lateness."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._frames import OrderFrames
from ._periods import ALL_ORDERS, check_frames, clock_note, period_codes, period_labels

__all__ = ["operations_summary", "order_durations", "status_funnel"]

CANCELLED = ("CANCELLED", "CANCELLED_BY_GEEK")
COMPLETED = ("COMPLETED", "PAID")
DURATIONS = {
    "lead_time": ("created_at", "appointment_start"),
    "time_to_complete": ("started_at", "completed_at"),
    "lateness": ("appointment_start", "started_at"),
}


def order_durations(frames: OrderFrames) -> pd.DataFrame:
    """Per order: ``lead_time`` (created → appointment), ``time_to_complete`` (started →
    completed) and ``lateness`` (appointment → started; negative when early), as Timedeltas
    (NaT where a time is missing). The times are as sent: a ``time_to_complete`` below zero
    (completed before started) is kept here, while :func:`operations_summary` leaves such
    orders out of its distributions and counts them in ``attrs["completed_before_started"]``.

    Example:
        >>> order_durations(frames)["lead_time"].describe()  # doctest: +SKIP
    """
    o = check_frames(frames, "order_durations").orders
    out = pd.DataFrame({"order_id": o["order_id"], "status": o["status"]})
    for name, (a, b) in DURATIONS.items():
        out[name] = o[b] - o[a]
    out.attrs.update(
        {"statuses": ALL_ORDERS, "durations": {k: " → ".join(v) for k, v in DURATIONS.items()}}
    )
    return out


def operations_summary(frames: OrderFrames, *, freq: str = "M", tz: str = "local") -> pd.DataFrame:
    """Per period of the orders' creation: ``orders``, ``completed`` (COMPLETED or PAID),
    ``cancelled`` (CANCELLED or CANCELLED_BY_GEEK), their rates, and the median and 90th
    percentile, in hours, of ``lead_time`` (created → appointment), ``time_to_complete``
    (started → completed) and ``lateness`` (appointment → started). An order completed before
    it started is left out of ``time_to_complete`` and counted in
    ``df.attrs["completed_before_started"]``.

    Example:
        >>> operations_summary(frames, freq="W")  # doctest: +SKIP
    """
    o = check_frames(frames, "operations_summary").orders
    name, ordinals, code, in_utc = period_codes(o, freq, tz)
    clock = clock_note(tz, in_utc)
    table = pd.DataFrame(
        {
            name: ordinals,
            "orders": 1,
            "completed": o["status"].isin(COMPLETED).fillna(False).to_numpy(dtype=np.int64),
            "cancelled": o["status"].isin(CANCELLED).fillna(False).to_numpy(dtype=np.int64),
        }
    )
    for dname, (a, b) in DURATIONS.items():
        table[dname] = _hours(o[a], o[b])
    # Completed before it started: a data error, not a duration; left out and counted.
    backwards = table["time_to_complete"].to_numpy() < 0
    table.loc[backwards, "time_to_complete"] = np.nan
    grouped = table.groupby(name, sort=True, observed=True)
    result = grouped[["orders", "completed", "cancelled"]].sum()
    result["completion_rate"] = result["completed"] / result["orders"]
    result["cancellation_rate"] = result["cancelled"] / result["orders"]
    for dname in DURATIONS:
        # One sort for both (no orders: no columns to take, hence the reindex).
        both = grouped[dname].quantile(np.array([0.5, 0.9])).unstack().reindex(columns=[0.5, 0.9])
        result[f"{dname}_median_h"] = both[0.5]
        result[f"{dname}_p90_h"] = both[0.9]
    result = result.reset_index()
    result[name] = np.asarray(period_labels(result[name].to_numpy(), code).astype(object))
    result.attrs.update(
        {
            "statuses": ALL_ORDERS,
            "clock": clock,
            "period_of": "created_at",
            "unit": "hours",
            "completed_before_started": int(backwards.sum()),
        }
    )
    return result


def _hours(start: pd.Series, end: pd.Series) -> np.ndarray:
    """``end - start`` in hours (NaN where either is missing): what
    ``(end - start).dt.total_seconds() / 3600`` gives, from the integers, without Timedeltas."""
    a = pd.DatetimeIndex(start).as_unit("us")
    b = pd.DatetimeIndex(end).as_unit("us")
    hours = (b.asi8 - a.asi8) / 1e6 / 3600.0
    hours[np.asarray(a.isna()) | np.asarray(b.isna())] = np.nan
    return hours


def status_funnel(frames: OrderFrames) -> pd.DataFrame:
    """How far orders got: ``created`` (all), ``scheduled`` (an appointment), ``started``,
    ``completed`` (status COMPLETED or PAID, as in :func:`operations_summary`, or a completion
    time on an order that is not cancelled), ``paid`` (status PAID); with the share of created
    orders and of
    the stage before. An order counts at every stage up to the furthest it reached (a PAID order
    without a completion time was still completed, started and scheduled), so each stage holds
    at most the orders of the one before. Cancelled orders are counted beside the funnel in
    ``df.attrs["cancelled"]``.

    Example:
        >>> status_funnel(frames)  # doctest: +SKIP
    """
    o = check_frames(frames, "status_funnel").orders
    paid = (o["status"] == "PAID").fillna(False).to_numpy(dtype=bool)
    cancelled = o["status"].isin(CANCELLED).fillna(False).to_numpy(dtype=bool)
    completed = (
        (o["completed_at"].notna().to_numpy() & ~cancelled)
        | o["status"].isin(COMPLETED).fillna(False).to_numpy(dtype=bool)
        | paid
    )
    started = o["started_at"].notna().to_numpy() | completed
    scheduled = o["appointment_start"].notna().to_numpy() | started
    stages = {
        "created": np.ones(len(o), dtype=bool),
        "scheduled": scheduled,
        "started": started,
        "completed": completed,
        "paid": paid,
    }
    counts = [int(v.sum()) for v in stages.values()]
    result = pd.DataFrame({"stage": list(stages), "orders": counts})
    result["share_of_created"] = result["orders"] / (counts[0] or np.nan)  # none: NaN, as below
    previous = pd.Series([counts[0], *counts[:-1]], dtype="float64").replace(0.0, np.nan)
    result["share_of_previous"] = result["orders"] / previous
    result.attrs["statuses"] = ALL_ORDERS
    result.attrs["cancelled"] = int(cancelled.sum())
    return result
