"""From parsed JSON to *raw* columns: both flavours, both paths, one result.

The fast path (here) takes the orders as an Arrow ``StructArray`` (from ``pyarrow.json``) and pulls
every field out with vectorised compute; the slow path (:mod:`._extract_slow`) walks Python dicts. Both produce a :class:`RawBlock`:
per table, one Arrow array per column, values still as the wire sent them (as text), so that one
typing stage (:mod:`._typing`) parses them all the same way. When the fast path meets a shape it
cannot take without guessing (money as a JSON float, a string where an object belongs …) it raises
:class:`NeedsSlowPath` and the caller reads that block with the slow path instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._schema import (
    ADJUSTMENT_FIELDS,
    ADJUSTMENT_KEYS_HANDLED,
    BREAKDOWN_KEYS_HANDLED,
    ORDER_FIELDS,
    ORDER_KEYS_HANDLED,
    SERVICE_FIELDS,
    SERVICE_KEYS_HANDLED,
    WireField,
)
from ._secrets import scrub

__all__ = [
    "NeedsSlowPath",
    "RawBlock",
    "concat_raw",
    "fast_schema",
    "from_struct",
    "kept_json",
    "unify",
]

_STR = pa.string()
_TAGS = pa.list_(pa.string())


# Only fields whose text looks like a date need pinning: Arrow leaves other strings alone, and
# every pinned field costs reading time.
_TEXT_KINDS = ("local",)


def _string_fields(
    fields: tuple[WireField, ...], *, in_breakdown: bool | None = None
) -> list[pa.Field]:
    """Wire keys whose values are text, typed as strings for Arrow's JSON reader, which would
    otherwise turn ISO-looking strings into timestamps (dropping offsets) on its own."""
    out: dict[str, pa.Field] = {}
    for f in fields:
        if in_breakdown is not None and f.in_breakdown != in_breakdown:
            continue
        for key in (f.camel, f.snake):
            if key is None or key in out:
                continue
            if f.kind in _TEXT_KINDS or (f.kind == "instant" and key == f.camel and key != f.snake):
                out[key] = pa.field(key, _STR)
            elif f.kind == "instant":
                out[key] = pa.field(key, pa.struct([("iso", _STR)]))
    return list(out.values())


def fast_schema() -> pa.Schema:
    """The explicit part of the schema given to ``pyarrow.json`` for pages and order lines; every
    other field is inferred."""
    adjustment = pa.struct(_string_fields(ADJUSTMENT_FIELDS))
    service = pa.struct(
        [*_string_fields(SERVICE_FIELDS), pa.field("adjustments", pa.list_(adjustment))]
    )
    breakdown = pa.struct(
        [
            *_string_fields(ORDER_FIELDS, in_breakdown=True),
            pa.field("services", pa.list_(service)),
            pa.field("adjustments", pa.list_(adjustment)),
        ]
    )
    stand_by = pa.list_(pa.struct([("start", _STR), ("end", _STR)]))
    order = [
        *_string_fields(ORDER_FIELDS, in_breakdown=False),
        pa.field("breakdown", breakdown),
        pa.field("standByTimes", stand_by),
        pa.field("stand_by_times", stand_by),
    ]
    return pa.schema([pa.field("orders", pa.list_(pa.struct(order))), *order])


class NeedsSlowPath(Exception):  # noqa: N818 - a signal, not an error
    """The fast path cannot read this block without guessing."""


@dataclass(slots=True)
class RawBlock:
    """Raw columns per table (text as sent), plus problems found while extracting."""

    orders: dict[str, pa.Array] = field(default_factory=dict)
    services: dict[str, pa.Array] = field(default_factory=dict)
    adjustments: dict[str, pa.Array] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)


# -- fast path -------------------------------------------------------------------------------------


def from_struct(orders: pa.StructArray) -> RawBlock:
    """Raw columns from orders as an Arrow struct array (either flavour, or both mixed)."""
    block = RawBlock()
    n = len(orders)
    breakdown = _child(orders, "breakdown")
    if breakdown is not None and not pa.types.is_struct(breakdown.type):
        raise NeedsSlowPath("breakdown is not an object")
    for f in ORDER_FIELDS:
        source = breakdown if f.in_breakdown else orders
        block.orders.update(_columns(source, f, n))
    block.orders["flavour"] = _flavour(orders, n)
    block.orders["extra"] = _extra(
        orders, ORDER_KEYS_HANDLED, nested=(breakdown, BREAKDOWN_KEYS_HANDLED)
    )
    order_ids = block.orders["order_id"]

    services, svc_parent, svc_line = _explode(breakdown, "services")
    if services is not None:
        for f in SERVICE_FIELDS:
            block.services.update(_columns(services, f, len(services)))
        block.services["extra"] = _extra(services, SERVICE_KEYS_HANDLED)
    else:
        for f in SERVICE_FIELDS:
            block.services.update(_columns(None, f, 0))
        block.services["extra"] = pa.nulls(0, _STR)
    block.services["order_id"] = order_ids.take(pa.array(svc_parent, pa.int64()))
    block.services["line_no"] = pa.array(svc_line, pa.int64())
    block.services["order_row"] = pa.array(svc_parent, pa.int64())

    order_adj, oa_parent, oa_pos = _explode(breakdown, "adjustments")
    svc_adj, sa_parent, sa_pos = _explode(services, "adjustments")
    parts = []
    for adj, parent_orders, parent_services, pos, level in (
        (order_adj, oa_parent, None, oa_pos, "order"),
        (
            svc_adj,
            svc_parent[sa_parent] if len(sa_parent) else sa_parent,
            sa_parent,
            sa_pos,
            "service",
        ),
    ):
        m = len(pos)
        cols: dict[str, pa.Array] = {}
        for f in ADJUSTMENT_FIELDS:
            cols.update(_columns(adj, f, m))
        cols["extra"] = (
            _extra(adj, ADJUSTMENT_KEYS_HANDLED) if adj is not None else pa.nulls(m, _STR)
        )
        cols["order_id"] = order_ids.take(pa.array(parent_orders, pa.int64()))
        cols["order_row"] = pa.array(parent_orders, pa.int64())
        if parent_services is None:
            cols["service_id"] = pa.nulls(m, _STR)
            cols["line_no"] = pa.nulls(m, pa.int64())
        else:
            cols["service_id"] = block.services["service_id"].take(
                pa.array(parent_services, pa.int64())
            )
            cols["line_no"] = block.services["line_no"].take(pa.array(parent_services, pa.int64()))
        cols["level"] = pa.array([level] * m, _STR) if m else pa.nulls(0, _STR)
        cols["position"] = pa.array(pos, pa.int64())
        parts.append(cols)
    block.adjustments = {k: concat_raw([p[k] for p in parts]) for k in parts[0]}
    return block


def _child(struct: pa.StructArray | None, name: str | None) -> pa.Array | None:
    if struct is None or name is None or struct.type.get_field_index(name) < 0:
        return None
    return struct.field(name)


def _explode(
    parent: pa.StructArray | None, key: str
) -> tuple[pa.StructArray | None, np.ndarray, np.ndarray]:
    """The items of a list field, with each item's parent index and 1-based position."""
    empty = np.zeros(0, dtype=np.int64)
    lists = _child(parent, key)
    if lists is None or pa.types.is_null(lists.type):
        return None, empty, empty
    if not pa.types.is_list(lists.type):
        raise NeedsSlowPath(f"{key} is not a list")
    items = lists.flatten()
    parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    if len(items) == 0:
        return None, empty, empty
    if not pa.types.is_struct(items.type) or items.null_count:
        raise NeedsSlowPath(f"{key} holds something other than objects")
    offsets = lists.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    positions = np.arange(len(items), dtype=np.int64) - (offsets[parents] - offsets[0]) + 1
    return items, parents, positions


def _columns(struct: pa.StructArray | None, f: WireField, n: int) -> dict[str, pa.Array]:
    """The raw column(s) of one field, coalescing the two flavours' keys."""
    camel = _child(struct, f.camel)
    snake = _child(struct, f.snake) if f.snake != f.camel else None
    if f.kind == "instant":
        return _instant_columns(f.column, camel, snake, n)
    if f.kind == "local":  # pinned as text here; a timestamp object takes the slow path
        return {
            f.column: _text_column(camel, snake, f, n),
            f"{f.column}__unix": pa.nulls(n, _STR),
            f"{f.column}__iso": pa.nulls(n, _STR),
        }
    if f.kind == "tags":
        values = [v for v in (camel, snake) if v is not None]
        out = pa.nulls(n, _TAGS)
        for v in values:
            if pa.types.is_null(v.type):
                continue
            if not (
                pa.types.is_list(v.type)
                and (pa.types.is_string(v.type.value_type) or pa.types.is_null(v.type.value_type))
            ):
                raise NeedsSlowPath("tags is not a list of strings")
            out = pc.coalesce(out, v.cast(_TAGS))
        return {f.column: out}
    out = {f.column: _text_column(camel, snake, f, n)}
    if f.compared:
        out[f"{f.column}__alt"] = _alt_column(camel, snake, f, n)
    return out


def _alt_column(camel: pa.Array | None, snake: pa.Array | None, f: WireField, n: int) -> pa.Array:
    """The snake_case value where the camelCase one was sent too (as text), else null."""
    if camel is None or snake is None or pa.types.is_null(snake.type):
        return pa.nulls(n, _STR)
    both = pc.and_(pc.is_valid(camel), pc.is_valid(snake))
    return pc.if_else(both, unify(_as_text(snake, f)), pa.scalar(None, _STR))


def _text_column(camel: pa.Array | None, snake: pa.Array | None, f: WireField, n: int) -> pa.Array:
    texts = [_as_text(v, f) for v in (camel, snake) if v is not None]
    if not texts:
        return pa.nulls(n, _STR)
    if len(texts) == 1:
        return texts[0]
    if len({t.type for t in texts}) > 1:  # e.g. a typed int beside an all-null text column
        texts = [unify(t) for t in texts]
    return pc.coalesce(*texts)


def concat_raw(arrays: list[pa.Array]) -> pa.Array:
    """Raw columns of several blocks as one: typed in one, text in another -> text."""
    if len({a.type for a in arrays if not pa.types.is_null(a.type)}) > 1:
        arrays = [unify(a) for a in arrays]
    else:
        kind = next((a.type for a in arrays if len(a)), arrays[0].type)
        arrays = [a.cast(kind) for a in arrays]
    return pa.concat_arrays(arrays)


def unify(values: pa.Array) -> pa.Array:
    """A raw column as text, whatever the fast path made of it (ints and flags as text)."""
    return values if values.type == _STR else values.cast(_STR)


def _as_text(values: pa.Array, f: WireField) -> pa.Array:
    t = values.type
    if f.kind == "json" and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        # A text where an object may come: kept as JSON text, as the slow path keeps it.
        return pa.array([None if v is None else json.dumps(v) for v in values.to_pylist()], _STR)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return values.cast(_STR)
    if pa.types.is_null(t):
        return values.cast(_STR)
    if f.kind == "json":
        return _json_text(values)
    if pa.types.is_integer(t) and f.kind in ("int", "status"):
        return values.cast(pa.int64())  # already typed: the typing stage takes it as it is
    if pa.types.is_boolean(t) and f.kind == "bool":
        return values
    if (pa.types.is_integer(t) or pa.types.is_boolean(t)) and f.kind in ("money", "text"):
        return values.cast(_STR)
    if (
        f.column == "client_phone"
        and pa.types.is_struct(t)
        and t.get_field_index("value") >= 0
        and not {x.name for x in t} - {"value", "formatted"}  # other keys: slow path keeps them
    ):
        phone = values.field("value")
        if t.get_field_index("formatted") >= 0:  # the formatted text where there is no value
            shown = values.field("formatted")
            if not all(
                pa.types.is_string(a.type) or pa.types.is_null(a.type) for a in (phone, shown)
            ):
                raise NeedsSlowPath("a phone object holding numbers")
            phone = pc.coalesce(phone.cast(_STR), shown.cast(_STR))
        return _as_text(phone, f)
    # A float for money or an id, an object where text belongs: the slow path reads it exactly
    # and records what cannot be read.
    raise NeedsSlowPath(f"{f.column} arrived as {t}")


def _instant_columns(
    column: str, camel: pa.Array | None, snake: pa.Array | None, n: int
) -> dict[str, pa.Array]:
    text = pa.nulls(n, _STR)
    unix = pa.nulls(n, _STR)
    iso = pa.nulls(n, _STR)
    for values in (camel, snake):
        if values is None or pa.types.is_null(values.type):
            continue
        t = values.type
        if pa.types.is_string(t):
            text = pc.coalesce(text, values)
        elif pa.types.is_struct(t):
            if {f.name for f in t} - {"integer", "iso"}:  # other keys: the slow path names them
                raise NeedsSlowPath(f"{column} holds keys other than integer and iso")
            for part, name in ((0, "integer"), (1, "iso")):
                child = _child(values, name)
                if child is None or pa.types.is_null(child.type):
                    continue
                if not (pa.types.is_integer(child.type) or pa.types.is_string(child.type)):
                    raise NeedsSlowPath(f"{column}.{name} arrived as {child.type}")
                if part == 0:
                    unix = pc.coalesce(unix, child.cast(_STR))
                else:
                    iso = pc.coalesce(iso, child.cast(_STR))
        elif pa.types.is_integer(t):
            unix = pc.coalesce(unix, values.cast(_STR))
        else:
            raise NeedsSlowPath(f"{column} arrived as {t}")
    return {column: text, f"{column}__unix": unix, f"{column}__iso": iso}


def _flavour(orders: pa.StructArray, n: int) -> pa.Array:
    camel = _child(orders, "createdAt")
    snake = _child(orders, "created_at")
    out = pa.nulls(n, _STR)
    if camel is not None and not pa.types.is_null(camel.type):
        out = pc.if_else(pc.is_valid(camel), "camel", out)
    if snake is not None and not pa.types.is_null(snake.type):
        out = pc.if_else(pc.and_(pc.is_null(out), pc.is_valid(snake)), "snake", out)
    return out


MAX_KEPT_KEYS = 256
"""Keys (at any depth) of a kept object column past which the fast path stops: Arrow reads
such objects as one struct holding every key of every order, which grows with the square of
the orders when each has its own keys; the slow path reads them one by one."""


def _number(value: Any) -> Any:
    """A JSON number as both paths write it: integral values as integers (``1.0`` and ``1``
    alike), others as floats (the fast path reads floats; the slow path decimals)."""
    if isinstance(value, Decimal):
        number = float(value) if value.is_finite() else math.inf
        if not math.isfinite(number):  # beyond floats: kept as written, as text (no Infinity)
            return str(value)
        value = number
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def kept_json(
    value: Any, default: Callable[[Any], Any] = str, leaf: Callable[[Any], Any] = _number
) -> str:
    """JSON text of a value the frames keep as sent (unknown fields, objects of undocumented
    shape): secrets redacted, keys whose value is null left out (Arrow cannot tell them from
    absent ones), keys sorted, integral numbers as integers — the same text whichever path
    read it."""
    return json.dumps(
        scrub(value, drop_nulls=True, leaf=leaf),
        separators=(",", ":"),
        default=default,
        allow_nan=False,
        sort_keys=True,  # Arrow reorders keys (as it first met them): sorted on every path
    )


def _dumps(value: Any) -> str:
    """JSON text of what Arrow read; a number Arrow could only hold as infinite (beyond any
    float, e.g. ``1E+400``) sends the block to the slow path, which keeps it as written."""
    return kept_json(value, leaf=_finite)


def _finite(value: Any) -> Any:
    """A number Arrow could only hold as infinite (beyond any float, e.g. ``1E+400``) sends the
    block to the slow path, which keeps it as written."""
    if isinstance(value, float) and not math.isfinite(value):
        raise NeedsSlowPath("a number beyond the range of floats")
    if isinstance(value, float) and value.is_integer() and abs(value) >= 2**53:
        # An integer Arrow read as a float (another value of its key was one): maybe rounded.
        raise NeedsSlowPath("an integer past 2**53 among floats")
    return _number(value)


def _keys(t: pa.DataType) -> int:
    """Struct fields in ``t``, at any depth."""
    if pa.types.is_struct(t):
        return sum(1 + _keys(f.type) for f in t)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _keys(t.value_type)
    return 0


def _json_text(values: pa.Array) -> pa.Array:
    """JSON text of nested values; Python only for the non-empty ones."""
    t = values.type
    if _keys(t) > MAX_KEPT_KEYS:
        raise NeedsSlowPath(f"objects with {_keys(t)} different keys")
    if pa.types.is_list(t):
        lengths = pc.list_value_length(values)
        trivial = pc.fill_null(pc.equal(lengths, 0), False)
        out = pc.if_else(trivial, pa.scalar("[]"), pa.scalar(None, _STR))
    elif pa.types.is_struct(t) and t.num_fields == 0:
        return pc.if_else(pc.is_valid(values), pa.scalar("{}"), pa.scalar(None, _STR))
    else:
        trivial = pa.array(np.zeros(len(values), dtype=bool))
        out = pa.nulls(len(values), _STR)
    mask = pc.and_(pc.invert(trivial), pc.is_valid(values))
    rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    if len(rows) == 0:
        return out
    texts = [_dumps(value) for value in values.take(pa.array(rows)).to_pylist()]
    return pc.replace_with_mask(out, mask, pa.array(texts, _STR))


def _extra(
    struct: pa.StructArray | None,
    handled: frozenset[str],
    *,
    nested: tuple[pa.StructArray | None, frozenset[str]] | None = None,
) -> pa.Array:
    """JSON text of the fields the schema does not know (null where there are none)."""
    n = 0 if struct is None else len(struct)
    unknown: list[tuple[str, pa.Array]] = []
    if struct is not None:
        unknown += [(f.name, struct.field(f.name)) for f in struct.type if f.name not in handled]
    inner, inner_handled = nested if nested is not None else (None, frozenset())
    if inner is not None:
        unknown += [
            (f"breakdown.{f.name}", inner.field(f.name))
            for f in inner.type
            if f.name not in inner_handled
        ]
    unknown = [(k, v) for k, v in unknown if v.null_count < len(v)]
    if not unknown:
        return pa.nulls(n, _STR)
    if sum(1 + _keys(v.type) for _, v in unknown) > MAX_KEPT_KEYS:
        raise NeedsSlowPath("unknown fields with too many different keys")
    columns = [(k, v.to_pylist()) for k, v in unknown]
    texts: list[str | None] = []
    for i in range(n):
        present = {k: values[i] for k, values in columns if values[i] is not None}
        text = _dumps(present) if present else None
        texts.append(None if text == "{}" else text)
    return pa.array(texts, _STR)
