"""``tag_counts``: how many orders carry each tag, overall or per status or period."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._frames import OrderFrames
from ._lookup import member_of, positions_of
from ._periods import ALL_ORDERS, PERIODS, check_frames, clock_note, period_codes, period_labels

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
    check_frames(frames, "tag_counts")
    orders = frames.orders
    ids = orders["order_id"].to_numpy()
    tags = frames.tags[member_of(ids, frames.tags["order_id"].to_numpy())]
    attrs = {
        "orders": len(orders),
        "statuses": ALL_ORDERS,
        "clock": clock_note(tz),
        "period_of": "created_at",
    }
    if by is None:
        counts = tags.groupby("tag", sort=False).size()
        result = counts.rename("orders").reset_index()
        result["share"] = result["orders"] / len(orders) if len(orders) else float("nan")
        result = result.sort_values(["orders", "tag"], ascending=[False, True])
    else:
        if by == "status":
            name = "status"
            keys = orders["status"].cat.codes.to_numpy(dtype=np.int64)
            categories = np.array([*orders["status"].cat.categories, "(unknown)"], dtype=object)

            def label(codes: np.ndarray) -> np.ndarray:
                return np.asarray(categories[codes])  # -1 (no label) picks "(unknown)"
        elif isinstance(by, str) and by in PERIODS:
            name, keys, code, in_utc = period_codes(orders, by, tz)
            attrs["clock"] = clock_note(tz, in_utc)

            def label(codes: np.ndarray) -> np.ndarray:
                return np.asarray(period_labels(codes, code).astype(object))
        else:
            raise ValueError(f"by must be None, 'status' or a period (D, W, M, Q), not {by!r}")
        tag_keys = keys[positions_of(ids, tags["order_id"].to_numpy())]
        totals = pd.Series(keys).value_counts()
        tag_codes, tag_names = pd.factorize(tags["tag"], sort=True)
        pairs = pd.DataFrame({"tag": tag_codes, name: tag_keys})
        counts = pairs.groupby(["tag", name], sort=False).size()
        result = counts.rename("orders").reset_index()
        result["share"] = result["orders"].to_numpy() / totals.reindex(result[name]).to_numpy()
        result = result.sort_values([name, "orders", "tag"], ascending=[True, False, True])
        result[name] = label(result[name].to_numpy())
        result["tag"] = pd.array(np.asarray(tag_names)[result["tag"].to_numpy()], dtype="str")
    result["orders"] = result["orders"].astype("int64")
    result = result.reset_index(drop=True)
    if frames.tags.empty:
        attrs["note"] = (
            "no tags known: the documented Order has no tags field; sync by tag "
            "(store.sync(client, tags=[...])) to learn which orders carry which tag"
        )
    result.attrs.update(attrs)
    return result
