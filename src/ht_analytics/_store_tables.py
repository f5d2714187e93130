"""Arrow operations of the store: conforming tables to the stored schema, partitioning by the
order's creation month, upserting on ``order_id``, spotting changed orders, snapshot rows."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._loader import LoadedTables
from ._schema import ARROW_SCHEMAS, MONEY, UTC_US

__all__ = [
    "SNAPSHOT_SCHEMA",
    "UNKNOWN_MONTH",
    "changed_ids",
    "conform",
    "conform_all",
    "dedupe_last",
    "merge",
    "month_of",
    "snapshot_rows",
    "split_by_month",
]

UNKNOWN_MONTH = "unknown"
"""The partition of orders whose creation time could not be read."""

SNAPSHOT_SCHEMA = pa.schema(
    [
        pa.field("order_id", pa.int64(), nullable=False),
        pa.field("synced_at", UTC_US, nullable=False),
        pa.field("sync_id", pa.string(), nullable=False),
        pa.field("created_at", UTC_US),
        pa.field("status_id", pa.int64()),
        pa.field("status", pa.string()),
        pa.field("progress_status_id", pa.int64()),
        pa.field("at_risk", pa.bool_()),
        pa.field("total_amount", MONEY),
    ]
)
"""One row per order per sync that fetched it."""

# Child tables: their row order within an order, kept through merges.
_CHILD_ORDER = {
    "services": ["line_no"],
    "adjustments": ["line_no", "position"],
    "tags": ["tag"],
    "problems": [],
}


def conform(table: pa.Table, name: str) -> pa.Table:
    """``table`` with exactly the stored columns and types of ``name`` (missing columns as
    nulls; dictionary-encoded columns decoded)."""
    schema = ARROW_SCHEMAS[name]
    columns = []
    for f in schema:
        if f.name in table.column_names:
            col = table[f.name]
            if pa.types.is_dictionary(col.type):
                col = pa.chunked_array(
                    [c.dictionary_decode() for c in col.chunks], col.type.value_type
                )
            columns.append(col.cast(f.type) if col.type != f.type else col)
        else:
            columns.append(pa.nulls(len(table), f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def conform_all(tables: LoadedTables) -> LoadedTables:
    return LoadedTables(
        conform(tables.orders, "orders"),
        conform(tables.services, "services"),
        conform(tables.adjustments, "adjustments"),
        conform(tables.tags, "tags"),
        conform(tables.problems, "problems"),
        tags_sent=tables.tags_sent,
    )


def concat(parts: Iterable[LoadedTables]) -> LoadedTables:
    items = list(parts)
    if not items:
        return empty()
    sent = [p.tags_sent for p in items if p.tags_sent is not None]
    orders, services, adjustments, tags, problems = (
        pa.concat_tables([getattr(p, name) for p in items])
        for name in ("orders", "services", "adjustments", "tags", "problems")
    )
    return LoadedTables(
        orders,
        services,
        adjustments,
        tags,
        problems,
        tags_sent=pa.concat_arrays([s.cast(pa.int64()) for s in sent]) if sent else None,
    )


@functools.cache
def empty() -> LoadedTables:
    """The five tables with no row (Arrow tables are immutable: one shared value)."""
    return LoadedTables(
        *(
            ARROW_SCHEMAS[name].empty_table()
            for name in ("orders", "services", "adjustments", "tags", "problems")
        )
    )


def _keep(tables: LoadedTables, mask_of: pa.Array, *, invert: bool) -> LoadedTables:
    """Rows whose ``order_id`` is (``invert=False``) or is not in ``mask_of``."""

    def pick(t: pa.Table) -> pa.Table:
        hit = pc.fill_null(pc.is_in(t["order_id"], value_set=mask_of), False)
        return t.filter(pc.invert(hit) if invert else hit)

    sent = tables.tags_sent
    if sent is not None:
        hit = pc.fill_null(pc.is_in(sent, value_set=mask_of), False)
        sent = sent.filter(pc.invert(hit) if invert else hit)
    return LoadedTables(
        pick(tables.orders),
        pick(tables.services),
        pick(tables.adjustments),
        pick(tables.tags),
        pick(tables.problems),
        tags_sent=sent,
    )


def without(tables: LoadedTables, ids: pa.Array) -> LoadedTables:
    return _keep(tables, ids, invert=True)


def only(tables: LoadedTables, ids: pa.Array) -> LoadedTables:
    return _keep(tables, ids, invert=False)


def dedupe_last(groups: list[LoadedTables]) -> LoadedTables:
    """Concatenate groups in the order a sync lists them (the windows, which are disjoint, then
    the open-orders query, then the re-reads); an order in more than one keeps the rows of the
    last group holding it (read last, so its newest state)."""
    ids = [g.orders["order_id"].combine_chunks() for g in groups]
    every = pa.concat_arrays(ids) if ids else pa.array([], pa.int64())
    if pc.count_distinct(every, mode="all").as_py() == len(every):  # no order twice: concat
        return concat(groups)
    seen = pa.array([], pa.int64())
    kept: list[LoadedTables] = []
    for group in reversed(groups):
        kept.append(without(group, seen) if len(seen) else group)
        seen = pa.concat_arrays([seen, group.orders["order_id"].combine_chunks()])
    return concat(reversed(kept))


def month_of(created: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``YYYY-MM`` of each UTC creation time (``unknown`` when missing)."""
    text = pc.strftime(created, format="%Y-%m")
    return pc.fill_null(text, UNKNOWN_MONTH)


def split_by_month(tables: LoadedTables) -> dict[str, LoadedTables]:
    """The tables per creation month of their order (problems of no order are left out).

    One stable sort per table by the order's month, then slices: rows keep their order."""
    orders = tables.orders
    encoded = pc.dictionary_encode(month_of(orders["created_at"].combine_chunks()))
    months: list[str] = encoded.dictionary.to_pylist()
    codes = encoded.indices.cast(pa.int32())
    ids = orders["order_id"].combine_chunks()
    parts: dict[str, list[pa.Table]] = {m: [] for m in months}
    for name in ("orders", "services", "adjustments", "tags", "problems"):
        table = getattr(tables, name)
        if name == "orders":
            row_codes = codes
        else:
            row_codes = codes.take(pc.index_in(table["order_id"], value_set=ids))
        known = pc.is_valid(row_codes)
        if not pc.all(known).as_py():
            table, row_codes = table.filter(known), row_codes.filter(known)
        order = pc.sort_indices(row_codes)  # stable
        table, sorted_codes = table.take(order), row_codes.take(order).to_numpy()
        bounds = np.searchsorted(sorted_codes, np.arange(len(months) + 1), side="left")
        for code, month in enumerate(months):
            parts[month].append(table.slice(bounds[code], bounds[code + 1] - bounds[code]))
    return {month: LoadedTables(*pieces) for month, pieces in parts.items()}


def sort_month(tables: LoadedTables) -> LoadedTables:
    """Orders by ``(created_at, order_id)``; every child table grouped in the same order, each
    order's rows in their own order."""
    orders = tables.orders.sort_by([("created_at", "ascending"), ("order_id", "ascending")])
    ids = orders["order_id"].combine_chunks()

    def arrange(t: pa.Table, name: str) -> pa.Table:
        if not len(t):
            return t
        rank = pc.index_in(t["order_id"], value_set=ids)
        keys = pa.table(
            {"rank": rank, **{c: t[c] for c in _CHILD_ORDER[name]}, "row": np.arange(len(t))}
        )
        order = pc.sort_indices(keys, sort_keys=[(c, "ascending") for c in keys.column_names])
        return t.take(order)

    return LoadedTables(
        orders,
        arrange(tables.services, "services"),
        arrange(tables.adjustments, "adjustments"),
        arrange(tables.tags, "tags"),
        arrange(tables.problems, "problems"),
    )


def merge(
    old: LoadedTables | None,
    new: LoadedTables,
    drop: pa.Array,
    unlearn: pa.Table | None = None,
) -> LoadedTables:
    """Upsert: the old rows of every order in ``drop`` go, the ``new`` rows come in; sorted.

    ``new.tags`` holds every membership of the orders read again (those the store held
    included: see ``with_held_tags``); the other orders keep theirs, but the ``unlearn`` ones
    (``order_id``, ``tag``: memberships the sync's reads disproved)."""
    if old is None:
        return sort_month(new)
    kept = without(old, drop)
    old_tags = kept.tags
    if unlearn is not None and len(unlearn) and len(old_tags):
        old_tags = old_tags.join(
            unlearn.cast(ARROW_SCHEMAS["tags"]), ["order_id", "tag"], join_type="left anti"
        )
    merged = concat([kept, new])
    tags = pa.concat_tables(
        [new.tags.cast(ARROW_SCHEMAS["tags"]), old_tags.cast(ARROW_SCHEMAS["tags"])]
    )
    if len(tags):
        tags = tags.group_by(["order_id", "tag"], use_threads=False).aggregate([])
        tags = tags.cast(ARROW_SCHEMAS["tags"])
    return sort_month(
        LoadedTables(merged.orders, merged.services, merged.adjustments, tags, merged.problems)
    )


def _same(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.Array:
    """Row-wise equality where two nulls are equal."""
    eq = pc.fill_null(pc.equal(a, b), False)
    return pc.or_(eq, pc.and_(pc.is_null(a), pc.is_null(b)))


def _differing(old: pa.Table, new: pa.Table, sort: list[str]) -> set[int]:
    """Order ids whose rows in ``old`` and ``new`` (same ids in both) differ in any column."""
    keys = [("order_id", "ascending")] + [(c, "ascending") for c in sort]
    if not len(old) and not len(new):
        return set()
    count_old = old.group_by("order_id").aggregate([([], "count_all")])
    count_new = new.group_by("order_id").aggregate([([], "count_all")])
    both = count_old.join(count_new, "order_id", join_type="full outer", left_suffix="_o")
    unequal = pc.invert(_same(both["count_all_o"], both["count_all"]))
    changed = set(both["order_id"].filter(unequal).to_pylist())
    if changed:
        bad = pa.array(sorted(changed), pa.int64())
        old = old.filter(pc.invert(pc.is_in(old["order_id"], value_set=bad)))
        new = new.filter(pc.invert(pc.is_in(new["order_id"], value_set=bad)))
    old, new = old.sort_by(keys), new.sort_by(keys)
    same = np.ones(len(new), dtype=bool)
    for name in new.column_names:
        same &= _same(old[name], new[name]).to_numpy(zero_copy_only=False)
    changed |= set(new["order_id"].filter(pa.array(~same)).to_pylist())
    return changed


def changed_ids(old: LoadedTables, new: LoadedTables) -> set[int]:
    """Ids of the orders in both ``old`` and ``new`` whose stored rows differ (any table)."""
    ids = new.orders["order_id"].combine_chunks()
    common = pc.filter(ids, pc.is_in(ids, value_set=old.orders["order_id"].combine_chunks()))
    if not len(common):
        return set()
    o, n = only(old, common), only(new, common)
    changed = _differing(o.orders, n.orders, [])
    for name in ("services", "adjustments"):
        changed |= _differing(getattr(o, name), getattr(n, name), _CHILD_ORDER[name])
    return changed


def snapshot_rows(orders: pa.Table, synced_at: pa.Scalar, sync_id: str) -> pa.Table:
    """One snapshot row per fetched order."""
    n = len(orders)
    return pa.table(
        {
            "order_id": orders["order_id"],
            "synced_at": pa.array([synced_at.as_py()] * n, UTC_US),
            "sync_id": pa.array([sync_id] * n, pa.string()),
            "created_at": orders["created_at"],
            "status_id": orders["status_id"],
            "status": orders["status"],
            "progress_status_id": orders["progress_status_id"],
            "at_risk": orders["at_risk"],
            "total_amount": orders["total_amount"],
        },
        schema=SNAPSHOT_SCHEMA,
    )
