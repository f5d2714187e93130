"""Raw columns to typed tables, once, vectorised: ids, flags, statuses, money, instants, local time.

Every value that cannot be read becomes NA in its typed column and a row in ``problems``
(order id, table, field, raw value, reason). Nothing is dropped without a problem row: an order
whose id cannot be read (the key of every table) is the one thing left out, and it is named there.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._extract import RawBlock, unify
from ._extract_slow import _clean
from ._instants import local_wall_clock, parse_instants, parse_unix_iso, valid_zone_names
from ._money import parse_money
from ._schema import ADJUSTMENT_FIELDS, MONEY, ORDER_FIELDS, SERVICE_FIELDS, STATUS_LABELS, UTC_US

__all__ = ["PROBLEM_SCHEMA", "TypedTables", "type_block"]

_INT = r"^\s*-?\d{1,18}\s*$"
_INT19 = r"^\s*-?\d{19}\s*$"
PROBLEM_SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("table", pa.string()),
        ("field", pa.string()),
        ("raw_value", pa.string()),
        ("reason", pa.string()),
    ]
)
WIRE_NAME = {f.column: f.camel or f.snake or f.column for f in ORDER_FIELDS}
SNAKE_NAME = {f.column: f.snake or f.column for f in ORDER_FIELDS}  # timestamp objects are snake
_NONE = pa.scalar(None, pa.string())


@dataclass(slots=True)
class TypedTables:
    """Typed Arrow tables and the problems found, before conversion to pandas."""

    orders: pa.Table
    services: pa.Table
    adjustments: pa.Table
    tags: pa.Table
    problems: list[pa.Table] = field(default_factory=list)
    unreadable: list[pa.Table] = field(default_factory=list)  # the problems that are NA
    tags_sent: pa.Array = field(default_factory=lambda: pa.array([], pa.int64()))
    """The orders whose payload carried a ``tags`` array (maybe empty): their whole tag list."""


class _Problems:
    """Collects problem rows, vectorised: values that could not be read (NA in the frames), and
    notes on values kept as sent (``kept=True``: a DST rule applied, a duplicate, an unknown
    status id kept, a disagreeing duplicate field)."""

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []
        self.unreadable: list[pa.Table] = []

    def add(
        self,
        table: str,
        name: str,
        order_ids: pa.Array,
        raw: pa.Array,
        reasons: pa.Array,
        *,
        kept: bool = False,
    ) -> None:
        count = len(reasons) - reasons.null_count
        if not count:
            return
        mask = pc.is_valid(reasons)
        rows = pa.table(
            {
                "order_id": pc.filter(order_ids, mask),
                "table": pa.array([table] * count, pa.string()),
                "field": pa.array([name] * count, pa.string()),
                "raw_value": pc.filter(raw.cast(pa.string()), mask),
                "reason": pc.filter(reasons, mask),
            },
            schema=PROBLEM_SCHEMA,
        )
        self.tables.append(rows)
        if not kept:
            self.unreadable.append(rows)

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            try:
                table = pa.Table.from_pylist(rows, schema=PROBLEM_SCHEMA)
            except UnicodeEncodeError:  # a lone surrogate (a JSON escape) in a raw value: U+FFFD
                clean = [{k: _clean(v) for k, v in row.items()} for row in rows]
                table = pa.Table.from_pylist(clean, schema=PROBLEM_SCHEMA)
            self.tables.append(table)
            self.unreadable.append(table)


def _ints(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Integer text to int64; a reason where the text is not an integer. A column the fast path
    already read as integers passes through."""
    if pa.types.is_integer(values.type):
        return values.cast(pa.int64()), pa.nulls(len(values), pa.string())
    ok = pc.fill_null(pc.match_substring_regex(values, _INT), False)
    long = pc.fill_null(pc.match_substring_regex(values, _INT19), False)
    if pc.any(long).as_py():  # 19 digits: within int64 or not, one by one (rare)
        fits = ok.to_numpy(zero_copy_only=False).copy()
        rows = np.flatnonzero(long.to_numpy(zero_copy_only=False))
        for row, text in zip(rows, values.take(pa.array(rows)).to_pylist(), strict=True):
            fits[row] = -(2**63) <= int(text) < 2**63
        ok = pa.array(fits)
    present = pc.is_valid(values)
    ints = pc.cast(
        pc.utf8_trim_whitespace(pc.if_else(ok, values, pa.scalar(None, pa.string()))), pa.int64()
    )
    bad = pc.and_(present, pc.invert(ok))
    reasons = pc.if_else(
        bad,
        pc.binary_join_element_wise(pa.scalar("'"), values, pa.scalar("' is not an integer"), ""),
        pa.scalar(None, pa.string()),
    )
    return ints, reasons


def _bools(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    if pa.types.is_boolean(values.type):
        return values, pa.nulls(len(values), pa.string())
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    is_true = pc.equal(lowered, "true")
    is_false = pc.equal(lowered, "false")
    ok = pc.or_(is_true, is_false)
    out = pc.if_else(ok, is_true, pa.scalar(None, pa.bool_()))
    bad = pc.and_(pc.is_valid(values), pc.invert(pc.fill_null(ok, False)))
    reasons = pc.if_else(
        bad,
        pc.binary_join_element_wise(
            pa.scalar("'"), values, pa.scalar("' is not true or false"), ""
        ),
        pa.scalar(None, pa.string()),
    )
    return out, reasons


def _empty_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _instant(
    raw: dict[str, pa.Array],
    column: str,
    zones: pa.Array | None,
    table: str,
    ids: pa.Array,
    problems: _Problems,
) -> pa.Array:
    text = raw[column]
    parsed = parse_instants(text, zones=zones)
    result = parsed.instants
    # (field, raw values, reasons, notes) of each part, added once the result is known.
    found: list[tuple[str, pa.Array, pa.Array, pa.Array | None]] = [
        (WIRE_NAME.get(column, column), text, parsed.reasons, parsed.notes)
    ]
    unix_raw, iso = raw[f"{column}__unix"], raw[f"{column}__iso"]
    if pc.any(pc.or_(pc.is_valid(unix_raw), pc.is_valid(iso))).as_py():
        unix, unix_reasons = _ints(unix_raw)
        snake = SNAKE_NAME.get(column, column)
        pair = parse_unix_iso(unix, iso, zones=zones)
        # Without an iso, what the pair says is about the integer (e.g. out of range).
        no_iso = pc.is_null(iso)
        found += [
            (
                f"{snake}.integer",
                unix_raw,
                pc.coalesce(unix_reasons, pc.if_else(no_iso, pair.reasons, _NONE)),
                None,
            ),
            (f"{snake}.iso", iso, pc.if_else(no_iso, _NONE, pair.reasons), pair.notes),
        ]
        result = pc.coalesce(result, pair.instants)
    # A problem where the column still got a value (e.g. an iso that disagrees with the integer,
    # which wins) is a note on a kept value; where it did not, the value could not be read.
    has_value = pc.is_valid(result)
    for name, values, reasons, notes in found:
        if reasons.null_count < len(reasons):
            unread = pc.if_else(has_value, _NONE, reasons)
            problems.add(table, name, ids, values, unread, kept=False)
            problems.add(table, name, ids, values, pc.if_else(has_value, reasons, _NONE), kept=True)
        if notes is not None:
            problems.add(table, name, ids, values, notes, kept=True)
    return result.cast(UTC_US)


def _money(
    cols: dict[str, pa.Array], name: str, table: str, wire: str, ids: pa.Array, problems: _Problems
) -> pa.Array:
    # Money strings repeat a lot (prices, fees, "$0.00"): parse each distinct one once.
    encoded = pc.dictionary_encode(cols[name])
    parsed = parse_money(encoded.dictionary)
    amounts = parsed.amounts.take(encoded.indices)
    problems.add(table, wire, ids, cols[name], parsed.reasons.take(encoded.indices))
    return amounts.cast(MONEY)


def _typed_columns(
    cols: dict[str, pa.Array],
    fields: tuple[Any, ...],
    table: str,
    ids: pa.Array,
    problems: _Problems,
) -> dict[str, pa.Array]:
    out: dict[str, pa.Array] = {}
    for f in fields:
        if f.kind in ("instant", "local", "status", "tags") or f.column == "order_id":
            continue
        wire = f.camel or f.snake or f.column
        values = cols[f.column]
        if f.kind == "int":
            out[f.column], reasons = _ints(values)
            problems.add(table, wire, ids, values, reasons)
        elif f.kind == "bool":
            out[f.column], reasons = _bools(values)
            problems.add(table, wire, ids, values, reasons)
        elif f.kind == "money":
            out[f.column] = _money(cols, f.column, table, wire, ids, problems)
        else:
            out[f.column] = values
        if f.compared:
            _both_flavours(cols, f, out[f.column], table, ids, problems)
    return out


def _both_flavours(
    cols: dict[str, pa.Array],
    f: Any,
    kept: pa.Array,
    table: str,
    ids: pa.Array,
    problems: _Problems,
) -> None:
    """A note where an object sent both of a field's keys with values that differ (read as the
    field is read): the camelCase one was kept, the snake_case one is the note's raw value."""
    other = cols.get(f"{f.column}__alt")
    if other is None or other.null_count == len(other):
        return
    if f.kind in ("int", "status"):
        typed, _ = _ints(other)
    elif f.kind == "bool":
        typed, _ = _bools(other)
    elif f.kind == "money":
        typed = parse_money(unify(other)).amounts.cast(MONEY)
    else:
        typed = unify(other)
        kept = unify(kept)
    # Equal as read; or neither readable, and sent as the same text.
    sent = pc.fill_null(pc.equal(unify(cols[f.column]), unify(other)), False)
    same = pc.or_(
        pc.fill_null(pc.equal(kept, typed), False),
        pc.and_(pc.and_(pc.is_null(kept), pc.is_null(typed)), sent),
    )
    differ = pc.and_(pc.is_valid(other), pc.invert(same))
    reason = f"sent as both {f.camel} and {f.snake}, which differ: {f.camel} was kept"
    problems.add(
        table,
        f.snake,
        ids,
        other,
        pc.if_else(differ, pa.scalar(reason), pa.scalar(None, pa.string())),
        kept=True,
    )


def type_block(raw: RawBlock) -> TypedTables:
    """Type every column of a raw block; collect the problems."""
    problems = _Problems()
    o = raw.orders

    # The order id is every table's key: an order without a readable one is left out, named.
    order_ids, id_reasons = _ints(o["order_id"])
    missing = pc.is_null(o["order_id"])
    id_reasons = pc.if_else(
        missing,
        pa.scalar("the order has no id; it was left out"),
        pc.binary_join_element_wise(id_reasons, "; the order was left out", ""),
    )
    keep = pc.is_valid(order_ids)
    rows = pa.array(np.arange(len(order_ids), dtype=np.int64))
    dupes = None
    # The same order twice (e.g. two reads concatenated): the last occurrence wins, and says so.
    if (pc.count_distinct(order_ids).as_py() or 0) < (pc.sum(keep.cast(pa.int64())).as_py() or 0):
        last = (
            pa.table({"id": order_ids, "row": rows})
            .group_by("id", use_threads=False)
            .aggregate([("row", "max"), ("row", "count")])
        )
        dupes = last.filter(pc.and_(pc.greater(last["row_count"], 1), pc.is_valid(last["id"])))
        keep = pc.and_(keep, pc.is_in(rows, value_set=last["row_max"].combine_chunks()))
    # Problems found while extracting, but not those of an occurrence that is not kept.
    kept_set = set(pc.filter(rows, keep).to_pylist()) if dupes is not None else None
    problems.add_rows(
        [
            p
            for p in raw.problems
            if kept_set is None or p.get("order_row") is None or p["order_row"] in kept_set
        ]
    )
    problems.add(
        "orders",
        "id",
        pa.nulls(len(order_ids), pa.int64()),
        pc.coalesce(unify(o["order_id"]), pa.scalar("")),
        id_reasons,
    )
    if dupes is not None:
        problems.add(
            "orders",
            "id",
            dupes["id"].combine_chunks(),
            dupes["id"].combine_chunks().cast(pa.string()),
            pa.array(
                ["the order appears more than once; its last occurrence was kept"] * len(dupes),
                pa.string(),
            ),
            kept=True,
        )
    kept_rows = pc.filter(rows, keep)
    if not pc.all(keep).as_py():
        o = {k: pc.filter(v, keep) for k, v in o.items()}
        order_ids = pc.filter(order_ids, keep)

    # Services and adjustments are typed on a second thread while the orders are typed here
    # (Arrow's kernels release the GIL); their problems are listed after the orders'.
    child_problems = _Problems()
    with ThreadPoolExecutor(max_workers=1) as pool:
        children = pool.submit(_children, raw, kept_rows=kept_rows, problems=child_problems)
        orders, (tags, tags_sent) = _orders_table(o, order_ids, problems)
        services, adjustments = children.result()
    snake = pc.filter(order_ids, pc.fill_null(pc.equal(o["flavour"], "snake"), False))
    return TypedTables(
        orders=orders,
        services=services,
        adjustments=adjustments,
        tags=tags,
        problems=_as_sent(problems.tables + child_problems.tables, snake),
        unreadable=_as_sent(problems.unreadable + child_problems.unreadable, snake),
        tags_sent=tags_sent,
    )


_SNAKE_NAMES: dict[str, dict[str, str]] = {
    table: {
        f.camel: f.snake
        for f in fields
        if f.camel is not None and f.snake is not None and f.camel != f.snake
    }
    for table, fields in (
        ("orders", ORDER_FIELDS),
        ("services", SERVICE_FIELDS),
        ("adjustments", ADJUSTMENT_FIELDS),
    )
}


def _as_sent(tables: list[pa.Table], snake: pa.Array) -> list[pa.Table]:
    """Problem rows of snake_case orders name their field by its snake_case key (``client_id``,
    not ``clientId``): the key that was sent."""
    if not len(snake):
        return tables
    out = []
    for rows in tables:
        mine = pc.fill_null(pc.is_in(rows["order_id"], value_set=snake), False)
        if not pc.any(mine).as_py():
            out.append(rows)
            continue
        field = rows["field"]
        for table, names in _SNAKE_NAMES.items():
            here = pc.and_(mine, pc.equal(rows["table"], table))
            for camel, snake_name in names.items():
                hit = pc.fill_null(pc.and_(here, pc.equal(field, camel)), False)
                field = pc.if_else(hit, pa.scalar(snake_name), field)
        out.append(rows.set_column(rows.schema.get_field_index("field"), "field", field))
    return out


def _sent(raw: dict[str, pa.Array], column: str) -> pa.Array:
    """An instant's value as sent, as text: the text, else the iso, else the integer of a
    timestamp object."""
    return pc.coalesce(
        raw[column].cast(pa.string()),
        raw[f"{column}__iso"].cast(pa.string()),
        raw[f"{column}__unix"].cast(pa.string()),
    )


def _orders_table(
    o: dict[str, pa.Array], order_ids: pa.Array, problems: _Problems
) -> tuple[pa.Table, tuple[pa.Table, pa.Array]]:
    typed = _typed_columns(o, ORDER_FIELDS, "orders", order_ids, problems)
    zones = _empty_to_null(o["timezone"])
    zone_ok = valid_zone_names(zones)
    bad_zone = pc.and_(pc.is_valid(zones), pc.invert(pc.fill_null(zone_ok, False)))
    problems.add(
        "orders",
        "timezone",
        order_ids,
        zones,
        pc.if_else(
            bad_zone,
            pa.scalar(
                "not a known IANA time zone (kept as sent; the order has no local times: "
                "times sent without an offset are NA, metrics count its periods in UTC)"
            ),
            pa.scalar(None, pa.string()),
        ),
        kept=True,
    )
    zones = pc.if_else(bad_zone, pa.scalar(None, pa.string()), zones)

    status_ids, status_reasons = _ints(o["status_id"])
    problems.add("orders", "statusId", order_ids, o["status_id"], status_reasons)
    status_field = next(f for f in ORDER_FIELDS if f.column == "status_id")
    _both_flavours(o, status_field, status_ids, "orders", order_ids, problems)
    labels = pa.array(STATUS_LABELS, pa.string())
    known = pc.and_(pc.greater_equal(status_ids, 0), pc.less(status_ids, len(STATUS_LABELS)))
    known = pc.fill_null(known, False)
    status = pc.take(labels, pc.if_else(known, status_ids, pa.scalar(None, pa.int64())))
    unknown = pc.and_(pc.is_valid(status_ids), pc.invert(known))
    problems.add(
        "orders",
        "statusId",
        order_ids,
        o["status_id"],
        pc.if_else(
            unknown,
            pa.scalar("unknown status id (kept; label left empty)"),
            pa.scalar(None, pa.string()),
        ),
        kept=True,
    )

    created = _instant(o, "created_at", None, "orders", order_ids, problems)
    started = _instant(o, "started_at", zones, "orders", order_ids, problems)
    completed = _instant(o, "completed_at", zones, "orders", order_ids, problems)
    with_offset = _instant(o, "appointment_start_offset", zones, "orders", order_ids, problems)
    # The local appointment time: text read in the order's zone, or (snake flavour) a timestamp
    # object, read as the other instants.
    local_instants = _instant(o, "appointment_start_sent", zones, "orders", order_ids, problems)
    both = pc.and_(pc.is_valid(with_offset), pc.is_valid(local_instants))
    disagree = pc.and_(both, pc.not_equal(with_offset, local_instants))
    problems.add(
        "orders",
        "appointmentStart",
        order_ids,
        o["appointment_start_sent"],
        pc.if_else(
            disagree,
            pa.scalar("disagrees with appointmentStartDateTime (which was kept)"),
            pa.scalar(None, pa.string()),
        ),
        kept=True,
    )
    appointment = pc.coalesce(with_offset, local_instants)
    local = local_wall_clock(appointment, zones)
    beyond = pc.and_(pc.and_(pc.is_valid(appointment), pc.is_valid(zones)), pc.is_null(local))
    if pc.any(beyond).as_py():
        reason = pa.scalar(
            "its wall-clock time in the order's zone is outside the years 0001-9999 "
            "(instant kept; appointment_start_local is NA)"
        )
        for column, used in (
            ("appointment_start_offset", pc.is_valid(with_offset)),
            ("appointment_start_sent", pc.is_null(with_offset)),
        ):
            problems.add(
                "orders",
                WIRE_NAME[column],
                order_ids,
                _sent(o, column),
                pc.if_else(pc.and_(beyond, used), reason, _NONE),
                kept=True,
            )
    orders = {
        "order_id": order_ids,
        **{k: typed[k] for k in ("token", "client_id", "client_name")},
        "status_id": status_ids,
        "status": status,
        "status_label_sent": typed["status_label_sent"],
        "progress_status_id": typed["progress_status_id"],
        "created_at": created,
        "appointment_start": appointment,
        "appointment_start_local": local,
        "timezone": o["timezone"],
        "started_at": started,
        "completed_at": completed,
    }
    for f in ORDER_FIELDS:
        if f.column not in orders and f.column in typed:
            orders[f.column] = typed[f.column]
    orders["flavour"] = o["flavour"]
    orders["extra"] = o["extra"]

    return pa.table(orders), _tags(order_ids, o["tags"], problems)


def _children(
    raw: RawBlock, *, kept_rows: pa.Array, problems: _Problems
) -> tuple[pa.Table, pa.Table]:
    s = raw.services
    s_keep = pc.is_in(s["order_row"], value_set=kept_rows)
    s = {k: pc.filter(v, s_keep) for k, v in s.items()}
    s_ids, _ = _ints(s["order_id"])
    typed = _typed_columns(s, SERVICE_FIELDS, "services", s_ids, problems)
    services = pa.table({"order_id": s_ids, "line_no": s["line_no"], **typed, "extra": s["extra"]})

    a = raw.adjustments
    a_keep = pc.is_in(a["order_row"], value_set=kept_rows)
    a = {k: pc.filter(v, a_keep) for k, v in a.items()}
    # One order for both paths: by order, order-level first, then by line and position.
    keys = pa.table(
        {
            "row": a["order_row"],
            "service_level": pc.equal(a["level"], "service"),
            "line": pc.fill_null(a["line_no"], 0),
            "position": a["position"],
        }
    )
    order = pc.sort_indices(keys, sort_keys=[(c, "ascending") for c in keys.column_names])
    a = {k: v.take(order) for k, v in a.items()}
    a_ids, _ = _ints(a["order_id"])
    service_ids, _ = _ints(a["service_id"])
    typed_a = _typed_columns(a, ADJUSTMENT_FIELDS, "adjustments", a_ids, problems)
    adjustments = pa.table(
        {
            "order_id": a_ids,
            "service_id": service_ids,
            "level": a["level"],
            "line_no": a["line_no"],
            "position": a["position"],
            **typed_a,
            "extra": a["extra"],
        }
    )
    return services, adjustments


def _tags(order_ids: pa.Array, tags: pa.Array, problems: _Problems) -> tuple[pa.Table, pa.Array]:
    """The tags table, and the ids of the orders whose payload carried a tags array."""
    lists = (
        tags
        if isinstance(tags, pa.ListArray)
        else pa.array(tags.to_pylist(), pa.list_(pa.string()))
    )
    sent = pc.drop_null(pc.filter(order_ids, pc.is_valid(lists)))
    flat = lists.flatten()
    parents = pc.list_parent_indices(lists)
    table = pa.table({"order_id": order_ids.take(parents), "tag": flat})
    usable = pc.fill_null(pc.not_equal(table["tag"], ""), False)
    if not pc.all(usable).as_py():
        empty = pc.invert(usable)
        problems.add(
            "orders",
            "tags",
            table["order_id"].combine_chunks(),
            pc.fill_null(table["tag"].combine_chunks(), "null"),
            pc.if_else(empty, pa.scalar("an empty tag was left out"), pa.scalar(None, pa.string())),
        )
    table = table.filter(usable)
    if len(table):
        table = table.group_by(["order_id", "tag"], use_threads=False).aggregate([])
    return table, sent
