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
from ._periods import (
    PERIODS,
    clock_note,
    includes_unknown,
    period_codes,
    period_labels,
    select_statuses,
)

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
ORDER_ADJ_CODE = -2
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
    are a row of their own, ``(order-level adjustments)``, which also counts the orders that
    have no service line. ``df.attrs`` also says which statuses and which clock were used.

    Example:
        >>> revenue_breakdown(frames, by="month")  # doctest: +SKIP
        >>> revenue_breakdown(frames, by=["quarter", "sku"], statuses="all", tz="UTC")  # doctest: +SKIP
    """
    dims = [by] if isinstance(by, str) else list(by)
    for d in dims:
        if d not in PERIODS and d not in ORDER_DIMS and d not in SERVICE_DIMS and d != TAG:
            raise ValueError(
                f"unknown dimension {d!r}: use a period (day, week, month, quarter), sku, "
                "service, status, partner, tag, state or zip"
            )
    same = [PERIODS.get(d, d) for d in dims]  # "M" and "month" are one dimension
    if not dims or len(set(same)) != len(same):
        raise ValueError("by needs one or more different dimensions")
    clock = clock_note(tz)
    labels, described = select_statuses(statuses)
    chosen = frames.orders["status"].isin(labels).fillna(False).to_numpy(dtype=bool)
    if includes_unknown(statuses):  # unknown status ids too
        chosen = np.ones(len(frames.orders), dtype=bool)
        described += " and unknown status ids"
    needed = ["order_id", "total_amount", "created_at", "timezone", "status"]
    needed += [ORDER_DIMS[d] for d in dims if d in ORDER_DIMS and ORDER_DIMS[d] not in needed]
    orders = frames.orders.loc[chosen, needed].reset_index(drop=True)
    per_order, adj_cols = _per_order(frames, orders)
    money = ["gross", "service_adjustments", *adj_cols, "prepaid", "net"]
    # Every key is an integer code while grouping (fast); labels come back at the end.
    key_cols: list[str] = []
    namers: dict[str, Any] = {}
    facts = per_order
    for d in dims:
        if d in PERIODS:
            name, ordinals, code = period_codes(orders, d, tz)
            facts[name] = ordinals
            namers[name] = _period_namer(code)
        elif d in ORDER_DIMS:
            name = d
            facts[name], namers[name] = _factorize(orders[ORDER_DIMS[d]], UNKNOWN)
        else:
            name = d
        key_cols.append(name)
    if any(d in SERVICE_DIMS for d in dims):
        facts, service_namers = _service_facts(frames, per_order, dims, adj_cols)
        namers |= service_namers
    if TAG in dims:
        facts, namers[TAG] = _with_tags(frames, facts)
    sums = ["services", *money, "unreconciled"]
    grouped = facts.groupby(key_cols, sort=True)
    rows = grouped[sums].sum()
    exploded = TAG in dims or any(d in SERVICE_DIMS for d in dims)
    if exploded:
        distinct = facts.drop_duplicates([*key_cols, "order_id"])
        rows.insert(0, "orders", distinct.groupby(key_cols, sort=True).size())
    else:
        rows.insert(0, "orders", grouped.size())
    rows = rows.reset_index()
    for k in key_cols:
        rows[k] = namers[k](rows[k].to_numpy())
    counted = {"orders": len(per_order)} | {c: int(per_order[c].sum()) for c in sums}
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
            "clock": clock,
            "period_of": "created_at",
            "identity": "gross + service_adjustments + order adjustments - prepaid = net",
            "unreconciled_orders": [int(x) for x in bad],
        }
    )
    return result


def _period_namer(code: str) -> Any:
    def name(ordinals: np.ndarray) -> np.ndarray:
        return np.asarray(period_labels(ordinals, code).astype(object))

    return name


def _factorize(values: pd.Series, missing: str, special: str = "") -> tuple[np.ndarray, Any]:
    """Integer codes in sorted order of the values (-1: missing; -2: ``special``) and how to
    name them back."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    names = np.array([str(u) for u in uniques] + [special, missing], dtype=object)

    def name(c: np.ndarray) -> np.ndarray:
        return np.asarray(names[c])  # -1 picks the last (missing), -2 the one before

    return codes.astype(np.int64), name


EXACT_IN_FLOAT = 2**53
"""Integers of float64 are exact below this: a bincount of cents is exact while the sum of
their absolute values stays below it (90 trillion dollars)."""


def _sum_per(positions: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Σ ``values`` (int64 cents) per position ``0..n-1`` (positions < 0 are skipped), exact:
    in float64 when no partial sum can reach 2**53 cents, else in int64 (slower). Sums that
    would not fit in int64 raise ``ValueError``."""
    keep = positions >= 0
    values = values[keep]
    if not len(values):
        return np.zeros(n, dtype=np.int64)
    peak = max(int(values.max()), -int(values.min()))
    if peak * len(values) < EXACT_IN_FLOAT:  # no partial sum can reach 2**53: float64 is exact
        summed = np.bincount(positions[keep], weights=values, minlength=n)
        return np.rint(summed).astype(np.int64)
    bound = float(np.abs(values.astype(np.float64)).sum())
    if bound >= 2.0**63:
        raise ValueError(
            f"money sums reach {bound / 100:.3g} dollars: beyond exact cents (int64); "
            "narrow the frames down first"
        )
    exact = np.zeros(n, dtype=np.int64)
    np.add.at(exact, positions[keep], values)
    return exact


NONE = np.False_


def _codes_of(values: pd.Series) -> dict[str, np.ndarray]:
    """For each distinct value, the mask of the rows holding it (hash-based, no string loop)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return {str(u): codes == i for i, u in enumerate(uniques)}


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
    level = _codes_of(a["level"])
    out["service_adjustments"] = _sum_per(
        np.where(level.get("service", NONE), a_pos, -1), a_amount, n
    )
    is_order = level.get("order", NONE)
    kinds, kind_names = pd.factorize(a["type"], use_na_sentinel=True)
    adj_cols: list[str] = []
    for code in np.unique(kinds[is_order]) if is_order is not NONE else []:
        kind = str(kind_names[code]).strip() if code >= 0 else ""
        col = "order_" + (kind.lower().replace(" ", "_") or "other")
        part = _sum_per(np.where(is_order & (kinds == code), a_pos, -1), a_amount, n)
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
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Facts at the grain of service lines (for ``sku``/``service``), plus one fact per order
    holding what its lines do not: order-level adjustments (and any unexplained remainder)."""
    index = pd.Index(per_order["order_id"].to_numpy())
    wanted = ["order_id", "line_no", "original_total_amount", "prepaid", "total_amount"]
    wanted += [c for d, c in (("sku", "sku_id"), ("service", "name")) if d in dims]
    s = frames.services[wanted]
    pos = index.get_indexer(s["order_id"].to_numpy())
    if not (pos >= 0).all():
        s = s[pos >= 0]
        pos = pos[pos >= 0]
    a = frames.adjustments[["order_id", "level", "line_no", "amount"]]
    svc_adj = a[(a["level"] == "service").fillna(False).to_numpy(dtype=bool)]
    # One integer per (order, line): the order's position times a bound on line numbers.
    line_no = s["line_no"].to_numpy(dtype=np.int64)
    adj_line = svc_adj["line_no"].to_numpy(dtype=np.int64, na_value=-1)
    span = int(max(line_no.max(initial=0), adj_line.max(initial=0))) + 2
    adj_order = index.get_indexer(svc_adj["order_id"].to_numpy())
    line_keys = pd.Index(pos.astype(np.int64) * span + line_no)
    adj_keys = np.where(adj_order >= 0, adj_order.astype(np.int64) * span + adj_line + 0, -1)
    adj_pos = np.where(adj_keys >= 0, line_keys.get_indexer(adj_keys), -1)
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
    namers: dict[str, Any] = {}
    for d, column in (("sku", "sku_id"), ("service", "name")):
        if d in dims:
            lines[d], namers[d] = _factorize(s[column], UNKNOWN, ORDER_ADJ)
    order_keys = [c for c in per_order.columns if c not in lines.columns and c not in adj_cols]
    for k in order_keys:
        lines[k] = per_order[k].to_numpy()[pos]
    rest = per_order.copy()
    rest["services"] = 0
    for col in ("gross", "service_adjustments", "prepaid", "net"):
        rest[col] = per_order[col].to_numpy() - _sum_per(pos, lines[col].to_numpy(), len(rest))
    for d in SERVICE_DIMS:
        if d in dims:
            rest[d] = ORDER_ADJ_CODE
    parts = ["gross", "service_adjustments", "prepaid", "net", *adj_cols]
    lineless = per_order["services"].to_numpy() == 0  # counted here, or in no row at all
    rest = rest[
        (rest[parts] != 0).any(axis=1).to_numpy() | (rest["unreconciled"] > 0).to_numpy() | lineless
    ]
    return pd.concat([lines, rest[lines.columns]], ignore_index=True), namers


def _with_tags(frames: OrderFrames, facts: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    """Facts repeated once per tag of their order (an untagged order once, as ``(untagged)``)."""
    tags = frames.tags
    codes, namer = _factorize(tags["tag"], UNTAGGED)
    pairs = pd.DataFrame({"order_id": tags["order_id"].to_numpy(), TAG: codes})
    merged = facts.merge(pairs, on="order_id", how="left")
    merged[TAG] = merged[TAG].fillna(-1).astype(np.int64)
    return merged, namer


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
