"""``tag_counts``: how many orders carry each tag, overall or per status or period."""

from __future__ import annotations

import pandas as pd

from ._frames import OrderFrames
from ._periods import PERIODS, clock_note, period_column

__all__ = ["tag_counts"]


def tag_counts(frames: OrderFrames, *, by: str | None = None, tz: str = "local") -> pd.DataFrame:
    """Orders per tag, with their share.

    Args:
        by: ``None`` (one row per tag), ``"status"``, or a period of the order's creation
            (``"D"``, ``"W"`` — Monday first —, ``"M"``, ``"Q"`` or ``"day"`` … ``"quarter"``):
            one row per tag and status / period.
        tz: the clock of periods: ``"local"`` (each order's zone) or a zone such as ``"UTC"``.

    Columns: ``tag``, the ``by`` column if any, ``orders`` (orders carrying the tag), ``share``
    (of all orders; with ``by``, of the orders of that status / period). Orders without a tag
    are not a row; ``df.attrs["orders"]`` holds the number of orders counted.

    Example:
        >>> tag_counts(frames)  # doctest: +SKIP
        >>> tag_counts(frames, by="M")  # doctest: +SKIP
    """
    orders = frames.orders
    tags = frames.tags[frames.tags["order_id"].isin(orders["order_id"])]
    attrs = {"orders": len(orders), "clock": clock_note(tz), "period_of": "created_at"}
    if by is None:
        counts = tags.groupby("tag", sort=False)["order_id"].nunique()
        result = counts.rename("orders").reset_index()
        result["share"] = result["orders"] / len(orders) if len(orders) else float("nan")
        result = result.sort_values(["orders", "tag"], ascending=[False, True])
    else:
        if by == "status":
            name = "status"
            keys = orders["status"].astype("str").fillna("(unknown)")
        elif by in PERIODS:
            name, keys = period_column(orders, by, tz)
        else:
            raise ValueError(f"by must be None, 'status' or a period (D, W, M, Q), not {by!r}")
        key_of = pd.Series(keys.to_numpy(), index=orders["order_id"].to_numpy())
        totals = key_of.value_counts(dropna=False)
        crossed = tags.assign(**{name: key_of.reindex(tags["order_id"]).to_numpy()})
        counts = crossed.groupby(["tag", name], sort=False, dropna=False)["order_id"].nunique()
        result = counts.rename("orders").reset_index()
        result["share"] = result["orders"] / totals.reindex(result[name]).to_numpy()
        result = result.sort_values([name, "orders", "tag"], ascending=[True, False, True])
    result["orders"] = result["orders"].astype("int64")
    result = result.reset_index(drop=True)
    result.attrs.update(attrs)
    return result
