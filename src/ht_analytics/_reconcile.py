"""Per-order reconciliation: do an order's parts add up to its total?"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ._typing import PROBLEM_SCHEMA

__all__ = ["reconcile"]


PART_FIELDS = frozenset(
    {"breakdown", "services", "adjustments", "breakdown.services", "breakdown.adjustments"}
)
"""Order fields whose being unreadable leaves the order's parts incomplete."""


def reconcile(
    orders: pa.Table,
    services: pa.Table,
    adjustments: pa.Table,
    unreadable: list[pa.Table] | None = None,
) -> pa.Table | None:
    """Problems for orders whose services' totals plus order-level adjustments differ from
    ``breakdown.totalAmount`` (values kept as sent); ``None`` when every order adds up.

    Only orders whose parts all parsed are checked: an unreadable part (a service's total or an
    adjustment's amount; or, in ``unreadable``, a ``breakdown``, ``services`` or ``adjustments``
    that is not what it should be, so that parts are missing) is a problem of its own.
    """
    if unreadable:
        rows = pa.concat_tables(unreadable)
        parts = pc.and_(
            pc.equal(rows["table"], "orders"),
            pc.is_in(rows["field"], value_set=pa.array(sorted(PART_FIELDS))),
        )
        partial = pc.drop_null(rows.filter(pc.fill_null(parts, False))["order_id"])
        if len(partial):
            keep = pc.invert(pc.is_in(orders["order_id"], value_set=pc.unique(partial)))
            orders = orders.filter(keep)
    wide = pa.decimal128(30, 2)  # room for any sum, and for adding two sums
    svc = services.group_by("order_id", use_threads=False).aggregate(
        [("total_amount", "sum"), ("total_amount", "count"), ("line_no", "count")]
    )
    order_level = adjustments.filter(pc.equal(adjustments["level"], "order"))
    adj = order_level.group_by("order_id", use_threads=False).aggregate(
        [("amount", "sum"), ("amount", "count"), ("position", "count")]
    )
    joined = (
        orders.select(["order_id", "total_amount"])
        .join(svc, "order_id", join_type="left outer")
        .join(adj, "order_id", join_type="left outer")
    )
    zero = pa.scalar(0, wide)
    svc_sum = pc.coalesce(joined["total_amount_sum"].cast(wide), zero)
    adj_sum = pc.coalesce(joined["amount_sum"].cast(wide), zero)
    complete = pc.and_(
        pc.is_valid(joined["total_amount"]),
        pc.and_(
            pc.equal(
                pc.coalesce(joined["total_amount_count"], 0),
                pc.coalesce(joined["line_no_count"], 0),
            ),
            pc.equal(
                pc.coalesce(joined["amount_count"], 0), pc.coalesce(joined["position_count"], 0)
            ),
        ),
    )
    expected = pc.add(svc_sum, adj_sum).cast(wide)
    off = pc.and_(complete, pc.not_equal(expected, joined["total_amount"].cast(wide)))
    if not pc.any(off).as_py():
        return None
    bad = joined.filter(off)
    parts = zip(
        pc.filter(svc_sum, off).to_pylist(),
        pc.filter(adj_sum, off).to_pylist(),
        pc.filter(expected, off).to_pylist(),
        bad["total_amount"].to_pylist(),
        strict=True,
    )
    reasons = [
        f"does not add up: services {s} + order adjustments {a} = {e}, but totalAmount is {t}"
        for s, a, e, t in parts
    ]
    return pa.table(
        {
            "order_id": bad["order_id"],
            "table": pa.array(["orders"] * len(bad), pa.string()),
            "field": pa.array(["breakdown.totalAmount"] * len(bad), pa.string()),
            "raw_value": pc.cast(bad["total_amount"], pa.string()),
            "reason": pa.array(reasons, pa.string()),
        },
        schema=PROBLEM_SCHEMA,
    )
