"""``revenue_breakdown``: gross, adjustments by kind, prepaid and net, by period or any dimension,
exact to the cent, with a total that is the sum of the rows.

Money is summed as integer cents (exact) and returned as ``decimal128(18, 2)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._cents import cents, money_array
from ._frames import OrderFrames
from ._periods import PERIODS, clock_note, period_column, select_statuses

__all__ = ["revenue_breakdown"]

ORDER_DIMS = {
    "status": "status",
    "partner": "partner",
    "state": "client_state",
    "zip": "client_zip",
}
SERVICE_DIMS = ("sku", "service")
TAG = "tag"
TOTAL = "Total"
OVERLAP = "(counted in several rows)"
ORDER_ADJ = "(order-level adjustments)"
UNTAGGED = "(untagged)"
UNKNOWN = "(unknown)"


def revenue_breakdown(
    frames: OrderFrames,
    *,
    by: str | Sequence[str] = "month",
    statuses: Any = "billable",
    tz: str = "local",
) -> pd.DataFrame:
    """Revenue of the chosen orders, one row per group plus a ``Total`` row.

    Args:
        by: a period of the order's creation (``"day"``/``"D"``, ``"week"``/``"W"`` — Monday
            first —, ``"month"``/``"M"``, ``"quarter"``/``"Q"``), ``"sku"``, ``"service"``,
            ``"status"``, ``"partner"``, ``"tag"``, ``"state"``, ``"zip"``, or a list of them.
        statuses: ``"billable"`` (COMPLETED and PAID, the default), ``"all"``, ``"open"``,
            ``"terminal"``, status names or ids.
        tz: ``"local"`` (each order's own time zone) or a zone such as ``"UTC"``: the clock the
            periods are counted in.

    Columns: ``orders``, ``services`` (line items), ``gross`` (Σ services' original total),
    ``service_adjustments``, one ``order_<type>`` column per order-level adjustment type
    (``order_fee``, ``order_discount``, ``order_coupon`` …), ``prepaid``, ``net``
    (Σ ``breakdown.totalAmount``), ``avg_order_value`` and ``unreconciled``: orders whose
    gross + service adjustments + order adjustments − prepaid is not their net (named in
    ``df.attrs["unreconciled_orders"]``). Money is exact (``decimal128(18, 2)``).

    Every column of the ``Total`` row is the sum of the rows above it. Where an order falls in
    several rows (several tags; several SKUs, for ``orders``), a ``(counted in several rows)``
    row takes the excess back out; with ``"sku"``/``"service"`` the order-level adjustments
    are a row of their own. ``df.attrs`` also says which statuses and which clock were used.

    Example:
        >>> revenue_breakdown(frames, by="month")  # doctest: +SKIP
        >>> revenue_breakdown(frames, by=["quarter", "sku"], statuses="all", tz="UTC")  # doctest: +SKIP
    """
    dims = [by] if isinstance(by, str) else list(by)
    if not dims or len(set(dims)) != len(dims):
        raise ValueError("by needs one or more different dimensions")
    for d in dims:
        if d not in PERIODS and d not in ORDER_DIMS and d not in SERVICE_DIMS and d != TAG:
            raise ValueError(
                f"unknown dimension {d!r}: use a period (day, week, month, quarter), sku, "
                "service, status, partner, tag, state or zip"
            )
    labels, described = select_statuses(statuses)
    chosen = frames.orders["status"].isin(labels).fillna(False).to_numpy(dtype=bool)
    orders = frames.orders[chosen].reset_index(drop=True)
    per_order, adj_cols = _per_order(frames, orders)
    money = ["gross", "service_adjustments", *adj_cols, "prepaid", "net"]
    key_cols = []
    facts = per_order
    for d in dims:
        if d in PERIODS:
            name, periods = period_column(orders, d, tz)
            facts[name] = periods.to_numpy()
            key_cols.append(name)
        elif d in ORDER_DIMS:
            facts[d] = orders[ORDER_DIMS[d]].astype("str").fillna(UNKNOWN).to_numpy()
            key_cols.append(d)
        else:
            key_cols.append(d)
    if any(d in SERVICE_DIMS for d in dims):
        facts = _service_facts(frames, per_order, dims, adj_cols)
    if TAG in dims:
        facts = _with_tags(frames, facts)
    sums = ["orders_counted", "services", *money, "unreconciled"]
    grouped = facts.groupby(key_cols, dropna=False, sort=True, observed=True)
    rows = grouped[sums[1:]].sum()
    rows.insert(0, "orders", grouped["order_id"].nunique())
    rows = rows.reset_index()
    counted = {"orders": len(per_order)} | {c: int(per_order[c].sum()) for c in sums[1:]}
    total: dict[str, Any] = {c: (TOTAL if i == 0 else None) for i, c in enumerate(key_cols)}
    total |= counted
    excess = {c: counted[c] - int(rows[c].sum()) for c in counted}
    table = [rows]
    if any(excess.values()):
        table.append(
            pd.DataFrame(
                [{c: (OVERLAP if i == 0 else None) for i, c in enumerate(key_cols)} | excess]
            )
        )
    table.append(pd.DataFrame([total]))
    result = pd.concat(table, ignore_index=True)
    result = _finish(result, key_cols, money)
    bad = per_order.loc[per_order["unreconciled"] > 0, "order_id"]
    result.attrs.update(
        {
            "statuses": described,
            "clock": clock_note(tz),
            "period_of": "created_at",
            "identity": "gross + service_adjustments + order adjustments - prepaid = net",
            "unreconciled_orders": [int(x) for x in bad],
        }
    )
    return result


def _sum_per(positions: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Σ ``values`` (int64 cents) per position ``0..n-1`` (positions < 0 are skipped)."""
    keep = positions >= 0
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, positions[keep], values[keep])
    return out


def _per_order(frames: OrderFrames, orders: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per chosen order: its money parts in cents, and whether they add up to its net."""
    ids = orders["order_id"].to_numpy()
    index = pd.Index(ids)
    n = len(ids)
    s = frames.services
    s_pos = index.get_indexer(s["order_id"].to_numpy())
    out = pd.DataFrame({"order_id": ids})
    out["services"] = np.bincount(s_pos[s_pos >= 0], minlength=n).astype(np.int64)
    out["gross"] = _sum_per(s_pos, cents(s["original_total_amount"])[0], n)
    out["prepaid"] = _sum_per(s_pos, cents(s["prepaid"])[0], n)
    a = frames.adjustments
    a_pos = index.get_indexer(a["order_id"].to_numpy())
    a_amount = cents(a["amount"])[0]
    level = np.asarray(a["level"].astype("object").to_numpy())
    out["service_adjustments"] = _sum_per(np.where(level == "service", a_pos, -1), a_amount, n)
    kinds = np.asarray(a["type"].astype("object").where(a["type"].notna(), None).to_numpy())
    adj_cols: list[str] = []
    for kind in sorted({k for k, lv in zip(kinds, level, strict=True) if lv == "order"}, key=str):
        col = "order_" + (str(kind).strip().lower().replace(" ", "_") if kind else "other")
        mask = (level == "order") & (kinds == kind)
        part = _sum_per(np.where(mask, a_pos, -1), a_amount, n)
        out[col] = out[col] + part if col in out else part
        if col not in adj_cols:
            adj_cols.append(col)
    net, net_missing = cents(orders["total_amount"])
    out["net"] = net
    parts = out["gross"] + out["service_adjustments"] - out["prepaid"]
    for col in adj_cols:
        parts = parts + out[col]
    out["unreconciled"] = ((parts.to_numpy() != net) | net_missing).astype(np.int64)
    return out, sorted(adj_cols)


def _service_facts(
    frames: OrderFrames, per_order: pd.DataFrame, dims: list[str], adj_cols: list[str]
) -> pd.DataFrame:
    """Facts at the grain of service lines (for ``sku``/``service``), plus one fact per order
    holding what its lines do not: order-level adjustments (and any unexplained remainder)."""
    index = pd.Index(per_order["order_id"].to_numpy())
    s = frames.services
    pos = index.get_indexer(s["order_id"].to_numpy())
    s = s[pos >= 0]
    pos = pos[pos >= 0]
    a = frames.adjustments
    svc_adj = a[(a["level"] == "service").fillna(False).to_numpy(dtype=bool)]
    line_index = pd.MultiIndex.from_arrays(
        [s["order_id"].to_numpy(), s["line_no"].to_numpy(dtype=np.int64)]
    )
    adj_lines = pd.MultiIndex.from_arrays(
        [svc_adj["order_id"].to_numpy(), svc_adj["line_no"].to_numpy(dtype=np.int64, na_value=-1)]
    )
    adj_pos = line_index.get_indexer(adj_lines)
    lines = pd.DataFrame(
        {
            "order_id": s["order_id"].to_numpy(),
            "services": np.ones(len(s), np.int64),
            "gross": cents(s["original_total_amount"])[0],
            "service_adjustments": _sum_per(adj_pos, cents(svc_adj["amount"])[0], len(s)),
            "prepaid": cents(s["prepaid"])[0],
            "net": cents(s["total_amount"])[0],
            "unreconciled": np.zeros(len(s), np.int64),
        }
    )
    for col in adj_cols:
        lines[col] = np.zeros(len(s), np.int64)
    if "sku" in dims:
        lines["sku"] = s["sku_id"].astype("str").fillna(UNKNOWN).to_numpy()
    if "service" in dims:
        lines["service"] = s["name"].astype("str").fillna(UNKNOWN).to_numpy()
    order_keys = [c for c in per_order.columns if c not in lines.columns and c not in adj_cols]
    for k in order_keys:
        lines[k] = per_order[k].to_numpy()[pos]
    rest = per_order.copy()
    rest["services"] = 0
    for col in ("gross", "service_adjustments", "prepaid", "net"):
        rest[col] = per_order[col].to_numpy() - _sum_per(pos, lines[col].to_numpy(), len(rest))
    for d in SERVICE_DIMS:
        if d in dims:
            rest[d] = ORDER_ADJ
    parts = ["gross", "service_adjustments", "prepaid", "net", *adj_cols]
    rest = rest[(rest[parts] != 0).any(axis=1).to_numpy() | (rest["unreconciled"] > 0).to_numpy()]
    return pd.concat([lines, rest[lines.columns]], ignore_index=True)


def _with_tags(frames: OrderFrames, facts: pd.DataFrame) -> pd.DataFrame:
    merged = facts.merge(frames.tags[["order_id", "tag"]], on="order_id", how="left")
    merged["tag"] = merged["tag"].astype("str").fillna(UNTAGGED)
    return merged


def _finish(result: pd.DataFrame, key_cols: list[str], money: list[str]) -> pd.DataFrame:
    for m in money:
        result[m] = money_array(result[m].astype("int64"))
    for c in ("orders", "services", "unreconciled"):
        result[c] = result[c].astype("int64")
    net, _ = cents(result["net"])
    overlap = (result[key_cols[0]] == OVERLAP).to_numpy()
    aov = [  # net / orders, rounded half away from zero; none for the overlap row
        None if n <= 0 or skip else int((abs(int(v)) * 2 + n) // (2 * n)) * (1 if v >= 0 else -1)
        for v, n, skip in zip(net, result["orders"], overlap, strict=True)
    ]
    result["avg_order_value"] = money_array(aov)
    for k in key_cols:
        result[k] = result[k].astype("object")
    ordered = [
        *key_cols,
        "orders",
        "services",
        "gross",
        "service_adjustments",
        *[m for m in money if m.startswith("order_")],
        "prepaid",
        "net",
        "avg_order_value",
        "unreconciled",
    ]
    return result[ordered]
