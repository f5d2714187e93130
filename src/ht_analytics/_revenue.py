"""``revenue_breakdown``: gross, adjustments by kind, prepaid and net, by period or any dimension,
exact to the cent, with a total that is the sum of the rows.

Money is summed as integer cents (exact) and returned as ``decimal128(18, 2)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._cents import cents, money_array
from ._frames import OrderFrames
from ._lookup import positions_of
from ._periods import (
    PERIODS,
    check_frames,
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
NOT_ADJUSTMENTS = frozenset({"order_id"})
"""Names an ``order_<type>`` adjustment column must not take (they mean something else)."""


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
            ``"terminal"``, status names or ids. An order whose status id is unknown counts
            in ``"all"`` and ``"open"`` (it is not known to be terminal).
        tz: ``"local"`` (each order's own time zone) or a zone such as ``"UTC"``: the clock the
            periods are counted in.

    Columns: ``orders``, ``services`` (line items), ``gross`` (Σ services' original total),
    ``service_adjustments``, one ``order_<type>`` column per order-level adjustment type
    (``order_fee``, ``order_discount``, ``order_coupon`` …; the type in lower case, each run
    of other characters than letters and digits one ``_``), ``prepaid``, ``net``
    (Σ ``breakdown.totalAmount``), ``avg_order_value`` and ``unreconciled``: orders whose
    gross + service adjustments + order adjustments − prepaid is not their net, or whose
    service lines' totals plus order adjustments are not (named in
    ``df.attrs["unreconciled_orders"]``), or that cannot be checked because their net or one
    of those parts is NA (summed as 0). Money is exact (``decimal128(18, 2)``).

    Every column of the ``Total`` row is the sum of the rows above it. Where an order falls in
    several rows (several tags; several SKUs, for ``orders``), a ``(counted in several rows)``
    row takes the excess back out; with ``"sku"``/``"service"`` the order-level adjustments
    are a row of their own, ``(order-level adjustments)``, which also counts the orders that
    have no service line. ``avg_order_value`` is a row's net over its orders (none for those
    two rows: neither holds orders' values). ``df.attrs`` also says which statuses and which
    clock were used.

    Example:
        >>> revenue_breakdown(frames, by="month")  # doctest: +SKIP
        >>> revenue_breakdown(frames, by=["quarter", "sku"], statuses="all", tz="UTC")  # doctest: +SKIP
    """
    check_frames(frames, "revenue_breakdown")
    if isinstance(by, str):
        dims = [by]
    elif isinstance(by, set | frozenset):
        raise TypeError(
            f"by must be a list of dimensions, not a set ({sorted(map(str, by))}): a set has no "
            "order, and the order of by is the order of the key columns"
        )
    elif isinstance(by, Iterable) and not isinstance(by, bytes | dict):
        dims = list(by)
    else:
        raise TypeError(
            f"by must be a dimension (a period, sku, service, status, partner, tag, state or "
            f"zip) or a list of them, not {by!r}"
        )
    for d in dims:
        if not isinstance(d, str) or (
            d not in PERIODS and d not in ORDER_DIMS and d not in SERVICE_DIMS and d != TAG
        ):
            raise ValueError(
                f"unknown dimension {d!r}: use a period (day, week, month, quarter), sku, "
                "service, status, partner, tag, state or zip"
            )
    same = [PERIODS.get(d, d) for d in dims]  # "M" and "month" are one dimension
    if not dims or len(set(same)) != len(same):
        raise ValueError("by needs one or more different dimensions")
    labels, described = select_statuses(statuses)
    chosen = frames.orders["status"].isin(labels).fillna(False).to_numpy(dtype=bool)
    if includes_unknown(statuses):  # unknown status ids too
        chosen = chosen | frames.orders["status"].isna().to_numpy(dtype=bool)
        described = f"{described} and unknown status ids" if described else "unknown status ids"
    needed = ["order_id", "total_amount"]
    if any(d in PERIODS for d in dims):
        needed += ["created_at", "timezone"]
    needed += [ORDER_DIMS[d] for d in dims if d in ORDER_DIMS and ORDER_DIMS[d] not in needed]
    orders = frames.orders.loc[chosen, needed].reset_index(drop=True)
    per_order = _PerOrder(frames, orders)
    adj_cols = sorted(per_order.adjustments)
    money = ["gross", "service_adjustments", *adj_cols, "prepaid", "net"]
    sums = ["services", *money, "unreconciled"]
    # Every key is an integer code while grouping (fast); labels come back at the end.
    key_cols: list[str] = []
    namers: dict[str, Any] = {}
    order_keys: dict[str, np.ndarray] = {}
    clock = clock_note(tz)
    for d in dims:
        if d in PERIODS:
            name, ordinals, code, in_utc = period_codes(orders, d, tz)
            clock = clock_note(tz, in_utc)
            order_keys[name] = ordinals
            namers[name] = _period_namer(code)
        elif d in ORDER_DIMS:
            name = d
            order_keys[name], namers[name] = _factorize(orders[ORDER_DIMS[d]], UNKNOWN)
        else:
            name = d
        key_cols.append(name)
    whole = per_order.columns()
    if any(d in SERVICE_DIMS for d in dims):
        facts, service_namers = _service_facts(frames, per_order, dims, order_keys)
        namers |= service_namers
    else:
        facts = whole | order_keys
    exploded = TAG in dims or any(d in SERVICE_DIMS for d in dims)
    if TAG in dims:
        facts, namers[TAG] = _with_tags(frames, per_order, facts)
    keys, counts, summed = _group([facts[k] for k in key_cols], facts, sums, exploded)
    rows = pd.DataFrame({k: namers[k](v) for k, v in zip(key_cols, keys, strict=True)})
    rows["orders"] = counts
    for c in sums:
        rows[c] = summed[c]
    counted = {"orders": per_order.n} | {c: int(whole[c].sum()) for c in sums}
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
    # The last row is the Total; the one before it, when the rows overlap, takes the excess out
    # (by position: a group may be named like either).
    overlap = np.zeros(len(result), dtype=bool)
    if len(table) == 3:
        overlap[-2] = True
    result = _finish(result, key_cols, money, overlap)
    bad = per_order.ids[whole["unreconciled"] > 0]
    result.attrs.update(
        {
            "statuses": described,
            "clock": clock,
            "period_of": "created_at",
            "identity": (
                "gross + service_adjustments + order adjustments - prepaid = net = "
                "services' total_amount + order adjustments"
            ),
            "unreconciled_orders": [int(x) for x in bad],
            # The index labels of the Total and overlap rows (kept through sorting and head()):
            # charts leave them out by these, not by name (a service may be called "Total").
            "summary_rows": [int(i) for i in result.index[-(1 + int(overlap.any())) :]],
        }
    )
    return result


def _group(
    keys: list[np.ndarray], facts: dict[str, np.ndarray], sums: list[str], exploded: bool
) -> tuple[list[np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """Group the fact rows by ``keys`` (integer codes; sorted by them, as ``groupby`` does):
    each group's key values, its number of distinct orders (``facts["pos"]``) and the exact
    sums of the ``sums`` columns."""
    # One integer per row for all the keys, ranked after each key so that it never outgrows
    # (rows × one key's values): lexicographic order is kept, and it cannot overflow.
    group = np.zeros(len(facts["pos"]), dtype=np.int64)
    levels: list[tuple[np.ndarray, np.ndarray]] = []  # per key: its values, the ranks' packed codes
    for key in keys:
        codes, values = pd.factorize(key, sort=True)
        radix = max(len(values), 1)
        ranked, packed = pd.factorize(group * radix + codes, sort=True)
        group = ranked.astype(np.int64)
        levels.append((np.asarray(values), np.asarray(packed, dtype=np.int64)))
    g = len(levels[-1][1]) if levels else int(group.max(initial=-1)) + 1
    decoded = []
    rank = np.arange(g, dtype=np.int64)
    for values, packed in reversed(levels):
        radix = max(len(values), 1)
        decoded.append(values[packed[rank] % radix])
        rank = packed[rank] // radix
    decoded.reverse()
    if exploded:  # an order in several facts of one group counts once
        # Sorted by order first: the facts come in runs already sorted by order (lines, then
        # the orders' own rows), which a stable sort (timsort) merges in about linear time.
        pairs = np.sort(facts["pos"] * max(g, 1) + group, kind="stable")
        first = np.ones(len(pairs), dtype=bool)
        np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
        counts = np.bincount(pairs[first] % max(g, 1), minlength=g)
    else:
        counts = np.bincount(group, minlength=g)
    summed = {c: _sum_per(group, facts[c], g) for c in sums}
    return decoded, counts.astype(np.int64), summed


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
    if len(positions) and positions.min() < 0:
        keep = positions >= 0
        positions, values = positions[keep], values[keep]
    if not len(values):
        return np.zeros(n, dtype=np.int64)
    peak = max(int(values.max()), -int(values.min()))
    if peak * len(values) < EXACT_IN_FLOAT:  # no partial sum can reach 2**53: float64 is exact
        summed = np.bincount(positions, weights=values, minlength=n)
        return np.rint(summed).astype(np.int64)
    bound = float(np.abs(values.astype(np.float64)).sum())
    if bound >= 2.0**63:
        raise ValueError(
            f"money sums reach {bound / 100:.3g} dollars: beyond exact cents (int64); "
            "narrow the frames down first"
        )
    exact = np.zeros(n, dtype=np.int64)
    np.add.at(exact, positions, values)
    return exact


def _slug(text: str) -> str:
    """An adjustment type as part of a column name: lower case, every run of characters other
    than letters and digits one ``_`` (``"Late fee (2h)"`` → ``late_fee_2h``)."""
    return re.sub(r"[\W_]+", "_", text.lower()).strip("_")


class _PerOrder:
    """The chosen orders' money parts in cents, one value per order (position ``0..n-1``), and
    where each service line and adjustment belongs (its order's position; -1: not chosen)."""

    def __init__(self, frames: OrderFrames, orders: pd.DataFrame) -> None:
        self.ids = orders["order_id"].to_numpy()
        n = self.n = len(self.ids)
        s = frames.services
        self.s_pos = positions_of(self.ids, s["order_id"].to_numpy())
        mine = self.s_pos >= 0  # the chosen orders' lines: filtered once for every sum
        pos = self.s_pos[mine]
        self.services = np.bincount(pos, minlength=n).astype(np.int64)
        gross, gross_missing = cents(s["original_total_amount"])
        prepaid, prepaid_missing = cents(s["prepaid"])
        self.line_net, line_net_missing = cents(s["total_amount"])
        self.gross = _sum_per(pos, gross[mine], n)
        self.prepaid = _sum_per(pos, prepaid[mine], n)
        lines_net = _sum_per(pos, self.line_net[mine], n)
        a = frames.adjustments
        self.a_pos = positions_of(self.ids, a["order_id"].to_numpy())
        self.a_amount, amount_missing = cents(a["amount"])
        # Parts that are NA (unreadable, or sent empty) are summed as 0, but the order's
        # identity cannot be checked: it counts as unreconciled, like an NA net.
        missing_parts = _count_per(
            pos, (gross_missing | prepaid_missing | line_net_missing)[mine], n
        ) + _count_per(self.a_pos, amount_missing, n)
        level = _codes(a["level"], ("service", "order"))
        self.a_service = level == 0
        self.service_adjustments = _sum_per(
            np.where(self.a_service, self.a_pos, -1), self.a_amount, n
        )
        is_order = level == 1
        self.adjustments: dict[str, np.ndarray] = {}
        if is_order.any():
            kinds, kind_names = pd.factorize(a["type"][is_order], use_na_sentinel=True)
            k = len(kind_names) + 1  # the last: no type
            kinds = np.where(kinds < 0, k - 1, kinds).astype(np.int64)
            order_pos, order_amount = self.a_pos[is_order], self.a_amount[is_order]
            for code in np.unique(kinds):
                kind = str(kind_names[code]) if code < k - 1 else ""
                col = "order_" + (_slug(kind) or "other")
                if col in NOT_ADJUSTMENTS:  # a type named "id": not a column that holds ids
                    col += "_adjustment"
                of_kind = kinds == code
                part = _sum_per(order_pos[of_kind], order_amount[of_kind], n)
                self.adjustments[col] = (
                    self.adjustments[col] + part if col in self.adjustments else part
                )
        self.net, net_missing = cents(orders["total_amount"])
        order_level = np.zeros(n, dtype=np.int64)
        for values in self.adjustments.values():
            order_level = order_level + values
        parts = self.gross + self.service_adjustments + order_level - self.prepaid
        # Both identities: the parts make the net, and so do the lines' own totals with the
        # order-level adjustments (the loader's check). A line whose total the parts do not
        # explain would otherwise move the difference between rows of "sku"/"service".
        self.unreconciled = (
            (parts != self.net)
            | (lines_net + order_level != self.net)
            | net_missing
            | (missing_parts > 0)
        ).astype(np.int64)

    def columns(self) -> dict[str, np.ndarray]:
        """One fact per order: its position and every sum."""
        return {
            "pos": np.arange(self.n, dtype=np.int64),
            "services": self.services,
            "gross": self.gross,
            "service_adjustments": self.service_adjustments,
            **self.adjustments,
            "prepaid": self.prepaid,
            "net": self.net,
            "unreconciled": self.unreconciled,
        }


def _codes(values: pd.Series, texts: tuple[str, ...]) -> np.ndarray:
    """Each row's position in ``texts`` where its text is exactly one of them, else -1."""
    out = np.full(len(values), -1, dtype=np.int8)
    for i, text in enumerate(texts):
        out[np.asarray(values.eq(text).fillna(False).to_numpy(dtype=bool))] = i
    return out


def _count_per(positions: np.ndarray, flags: np.ndarray, n: int) -> np.ndarray:
    """How many of the rows at each position ``0..n-1`` are flagged (positions < 0 skipped)."""
    return np.bincount(positions[flags & (positions >= 0)], minlength=n).astype(np.int64)


def _service_facts(
    frames: OrderFrames, per_order: _PerOrder, dims: list[str], order_keys: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Facts at the grain of service lines (for ``sku``/``service``), plus one fact per order
    holding what its lines do not: order-level adjustments (and any unexplained remainder)."""
    n = per_order.n
    keep = per_order.s_pos >= 0
    pos = per_order.s_pos[keep]
    s = frames.services
    line_no = s["line_no"].to_numpy(dtype=np.int64)[keep]
    # Service-level adjustments go to their line: one integer per (order, line).
    svc = per_order.a_service & (per_order.a_pos >= 0)
    adj_line = frames.adjustments["line_no"].to_numpy(dtype=np.int64, na_value=-1)[svc]
    span = int(max(line_no.max(initial=0), adj_line.max(initial=0))) + 2
    adj_pos = positions_of(pos * span + line_no, per_order.a_pos[svc] * span + adj_line)
    m = len(pos)
    lines: dict[str, np.ndarray] = {
        "pos": pos,
        "services": np.ones(m, np.int64),
        "gross": cents(s["original_total_amount"])[0][keep],
        "service_adjustments": _sum_per(adj_pos, per_order.a_amount[svc], m),
        "prepaid": cents(s["prepaid"])[0][keep],
        "net": per_order.line_net[keep],
        "unreconciled": np.zeros(m, np.int64),
    }
    for col in per_order.adjustments:
        lines[col] = np.zeros(m, np.int64)
    whole = per_order.columns()
    rest: dict[str, np.ndarray] = dict(whole)
    rest["services"] = np.zeros(n, np.int64)
    for col in ("gross", "service_adjustments", "prepaid", "net"):
        rest[col] = whole[col] - _sum_per(pos, lines[col], n)
    parts = ["gross", "service_adjustments", "prepaid", "net", *per_order.adjustments]
    wanted = (per_order.unreconciled > 0) | (per_order.services == 0)  # lineless: counted here
    for col in parts:
        wanted |= rest[col] != 0
    namers: dict[str, Any] = {}
    for key, values in order_keys.items():
        lines[key] = values[pos]
        rest[key] = values
    for d, column in (("sku", "sku_id"), ("service", "name")):
        if d in dims:
            lines[d], namers[d] = _factorize(s[column][keep], UNKNOWN, ORDER_ADJ)
            rest[d] = np.full(n, ORDER_ADJ_CODE, np.int64)
    # One array per fact: the lines, then the orders' own rows (written in place: no copies).
    picked = np.flatnonzero(wanted)
    facts = {}
    for c, values in lines.items():
        out = np.empty(m + len(picked), dtype=values.dtype)
        out[:m] = values
        np.take(rest[c], picked, out=out[m:])
        facts[c] = out
    return facts, namers


def _with_tags(
    frames: OrderFrames, per_order: _PerOrder, facts: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], Any]:
    """Facts repeated once per tag of their order (an untagged order once, as ``(untagged)``)."""
    tags = frames.tags
    codes, namer = _factorize(tags["tag"], UNTAGGED)
    t_pos = positions_of(per_order.ids, tags["order_id"].to_numpy())
    mine = t_pos >= 0
    t_pos, codes = t_pos[mine], codes[mine]
    order = np.argsort(t_pos, kind="stable")
    t_pos, codes = t_pos[order], codes[order]
    per = np.bincount(t_pos, minlength=per_order.n)
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    pos = facts["pos"]
    reps = np.maximum(per[pos], 1)
    rows = np.repeat(np.arange(len(pos)), reps)
    nth = np.arange(len(rows)) - np.repeat(np.cumsum(reps) - reps, reps)
    tagged = per[pos[rows]] > 0
    at = np.where(tagged, first[pos[rows]] + nth, 0)
    out = {c: v[rows] for c, v in facts.items()}
    out[TAG] = np.where(tagged, codes[at] if len(codes) else -1, -1).astype(np.int64)
    return out, namer


def _finish(
    result: pd.DataFrame, key_cols: list[str], money: list[str], overlap: np.ndarray
) -> pd.DataFrame:
    for m in money:
        result[m] = money_array(result[m].astype("int64"))
    for c in ("orders", "services", "unreconciled"):
        result[c] = result[c].astype("int64")
    net, _ = cents(result["net"])
    # Not an order value: the overlap row (an excess taken out) and the order-level
    # adjustments row (adjustments, not orders' values) get none.
    overlap = overlap | np.any([(result[k] == ORDER_ADJ).to_numpy() for k in key_cols], axis=0)
    aov = [  # net / orders, rounded half away from zero
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
