"""The slow path of extraction: order dicts to raw columns, value by value.

It takes anything the Arrow fast path (:mod:`._extract`) would not take without guessing — JSON
floats as money, objects where text belongs, null items in lists — and produces the same
:class:`~._extract.RawBlock`, recording what it cannot use as problems.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from ._extract import _STR, _TAGS, RawBlock, kept_json
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

__all__ = ["NotOrders", "from_dicts"]


@dataclass(frozen=True, slots=True)
class NotOrders:
    """Something in a source that holds no order (an API error response, a page whose
    ``orders`` is not a list): :func:`from_dicts` names it as a problem."""

    raw: Any
    reason: str


def from_dicts(orders: Iterable[Any], *, where: Callable[[int], str] | None = None) -> RawBlock:
    """Raw columns from order dicts, value by value (anything the fast path would not take).

    ``where``: how a problem names the item at an index that is not an order (``item 3``)."""
    block = RawBlock()
    o_cols: dict[str, list[Any]] = {}
    s_cols: dict[str, list[Any]] = {}
    a_cols: dict[str, list[Any]] = {}
    for index, order in enumerate(orders):
        # Every column of a table gets one value per row: a row count per table is the state.
        rows = [len(cols.get("extra", ())) for cols in (o_cols, s_cols, a_cols)]
        problems = len(block.problems)
        try:
            _one(where(index) if where else f"item {index}", order, block, o_cols, s_cols, a_cols)
            # Which row of the block the order's problems belong to (when the same order comes
            # twice, the problems of the occurrence that is not kept are dropped with it).
            row = rows[0] if len(o_cols.get("order_id", ())) > rows[0] else None
            for problem in block.problems[problems:]:
                problem["order_row"] = row
        except RecursionError:  # a value nested too deeply: the order is left out, named
            for cols, before in zip((o_cols, s_cols, a_cols), rows, strict=True):
                for values in cols.values():
                    del values[before:]
            del block.problems[problems:]
            block.problems.append(
                _problem(
                    order.get("id") if isinstance(order, dict) else None,
                    "orders",
                    "",
                    "(not shown)",
                    "the order holds a value nested too deeply to read; it was left out",
                )
            )
    replaced: dict[str, list[str]] = {"orders": [], "services": [], "adjustments": []}
    block.orders = _arrays(o_cols, ORDER_FIELDS, ("flavour", "extra"), replaced["orders"])
    block.services = _arrays(s_cols, SERVICE_FIELDS, ("extra", "order_id"), replaced["services"])
    block.services["line_no"] = pa.array(s_cols.get("line_no", []), pa.int64())
    block.services["order_row"] = pa.array(s_cols.get("order_row", []), pa.int64())
    block.adjustments = _arrays(
        a_cols,
        ADJUSTMENT_FIELDS,
        ("extra", "order_id", "service_id", "level"),
        replaced["adjustments"],
    )
    for table, cols in (("orders", o_cols), ("services", s_cols), ("adjustments", a_cols)):
        if replaced[table]:  # rare: only columns that held such text are looked at again
            columns = {name: cols[name] for name in replaced[table]}
            _name_replaced_text(table, columns, cols.get("order_id", []), block)
    block.adjustments["line_no"] = pa.array(a_cols.get("line_no", []), pa.int64())
    block.adjustments["position"] = pa.array(a_cols.get("position", []), pa.int64())
    block.adjustments["order_row"] = pa.array(a_cols.get("order_row", []), pa.int64())
    return block


def _one(
    item: str,
    order: Any,
    block: RawBlock,
    o_cols: dict[str, list[Any]],
    s_cols: dict[str, list[Any]],
    a_cols: dict[str, list[Any]],
) -> None:
    """One item of :func:`from_dicts` into the columns (or a problem)."""
    if isinstance(order, NotOrders):
        block.problems.append(_problem(None, "orders", "", scrub(order.raw), order.reason))
        return
    if not isinstance(order, dict):
        block.problems.append(_problem(None, "orders", "", order, f"{item} is not an order object"))
        return
    breakdown = _get(order, "breakdown", "breakdown")
    if not isinstance(breakdown, dict):
        if breakdown is not None:
            block.problems.append(
                _problem(
                    order.get("id"),
                    "orders",
                    "breakdown",
                    breakdown,
                    "breakdown is not an object",
                )
            )
        breakdown = {}
    for f in ORDER_FIELDS:
        _put(o_cols, f, breakdown if f.in_breakdown else order)
    tags = _get(order, "tags", "tags")
    if tags is not None and not (
        isinstance(tags, list) and all(isinstance(t, str) or t is None for t in tags)
    ):
        block.problems.append(
            _problem(
                order.get("id"),
                "orders",
                "tags",
                scrub(tags),
                "tags is not a list of texts (only its texts were kept)"
                if isinstance(tags, list)
                else f"tags is {_type_name(tags)}, not a list of texts (nothing kept)",
            )
        )
    o_cols.setdefault("flavour", []).append(
        "camel"
        if order.get("createdAt") is not None
        else "snake"
        if order.get("created_at") is not None
        else None
    )
    extra = {k: v for k, v in order.items() if k not in ORDER_KEYS_HANDLED and v is not None}
    for f in ORDER_FIELDS:  # keys a known object does not use are kept too, never dropped
        known = _OBJECT_KEYS.get(f.kind if f.column != "client_phone" else "phone")
        value = None if known is None or f.in_breakdown else _get(order, f.camel, f.snake)
        if isinstance(value, dict) and known is not None:
            name = f.camel if f.camel in order else f.snake
            extra |= {
                f"{name}.{k}": v for k, v in value.items() if k not in known and v is not None
            }
    extra |= {
        f"breakdown.{k}": v
        for k, v in breakdown.items()
        if k not in BREAKDOWN_KEYS_HANDLED and v is not None
    }
    o_cols.setdefault("extra", []).append(_dump(extra))
    order_id = o_cols["order_id"][-1]
    services = _items(breakdown, "services", block, order_id)
    for line_no, service in services:
        for f in SERVICE_FIELDS:
            _put(s_cols, f, service)
        s_cols.setdefault("extra", []).append(
            _dump({k: v for k, v in service.items() if k not in SERVICE_KEYS_HANDLED})
        )
        s_cols.setdefault("order_id", []).append(order_id)
        s_cols.setdefault("line_no", []).append(line_no)
        s_cols.setdefault("order_row", []).append(len(o_cols["order_id"]) - 1)
        for position, adj in _items(
            service, "adjustments", block, order_id, f"breakdown.services[{line_no}]"
        ):
            _put_adjustment(
                a_cols, adj, order_id, s_cols["service_id"][-1], line_no, position, "service"
            )
            a_cols.setdefault("order_row", []).append(len(o_cols["order_id"]) - 1)
    for position, adj in _items(breakdown, "adjustments", block, order_id):
        _put_adjustment(a_cols, adj, order_id, None, None, position, "order")
        a_cols.setdefault("order_row", []).append(len(o_cols["order_id"]) - 1)


_OBJECT_KEYS = {
    "instant": frozenset({"integer", "iso"}),
    "local": frozenset({"integer", "iso"}),
    "phone": frozenset({"value", "formatted"}),
}
"""The keys the loader reads from a field given as an object (a snake timestamp, a phone)."""


def _get(obj: dict[str, Any], camel: str | None, snake: str | None) -> Any:
    value = obj.get(camel) if camel else None
    if value is None and snake:
        value = obj.get(snake)
    return value


def _put(cols: dict[str, list[Any]], f: WireField, obj: dict[str, Any]) -> None:
    value = _get(obj, f.camel, f.snake)
    if f.kind in ("instant", "local"):
        # A local time may come as the snake flavour's timestamp object too.
        text = unix = iso = None
        if isinstance(value, dict):
            unix, iso = _text(value.get("integer")), _text(value.get("iso"))
            if unix is None and iso is None and value:  # an object without either: named
                text = _dump(value)
        elif (
            f.kind == "instant"
            and isinstance(value, int | float | Decimal)
            and not isinstance(value, bool)
        ):  # a bare number: unix seconds, as the integer of the timestamp object is read
            unix = _text(value)
        else:
            text = _text(value)
        cols.setdefault(f.column, []).append(text)
        cols.setdefault(f"{f.column}__unix", []).append(unix)
        cols.setdefault(f"{f.column}__iso", []).append(iso)
        return
    if f.kind == "tags":  # texts and empty items (the typing names the empty ones)
        tags = (
            [t for t in value if isinstance(t, str) or t is None]
            if isinstance(value, list)
            else None
        )
        cols.setdefault(f.column, []).append(tags)
        return
    if f.column == "client_phone" and isinstance(value, dict):
        # {"value", "formatted"}: the value, else the formatted text (never dropped).
        value = value.get("value") if value.get("value") is not None else value.get("formatted")
    cols.setdefault(f.column, []).append(
        kept_json(value, default=_plain) if f.kind == "json" and value is not None else _text(value)
    )
    if f.compared:  # the snake_case value where the camelCase one was sent too
        other = obj.get(f.snake or "") if obj.get(f.camel or "") is not None else None
        cols.setdefault(f"{f.column}__alt", []).append(None if other is None else _text(other))


def _put_adjustment(
    cols: dict[str, list[Any]],
    adj: dict[str, Any],
    order_id: Any,
    service_id: Any,
    line_no: int | None,
    position: int,
    level: str,
) -> None:
    for f in ADJUSTMENT_FIELDS:
        _put(cols, f, adj)
    cols.setdefault("extra", []).append(
        _dump({k: v for k, v in adj.items() if k not in ADJUSTMENT_KEYS_HANDLED})
    )
    cols.setdefault("order_id", []).append(order_id)
    cols.setdefault("service_id", []).append(service_id)
    cols.setdefault("line_no", []).append(line_no)
    cols.setdefault("position", []).append(position)
    cols.setdefault("level", []).append(level)


def _items(
    parent: dict[str, Any], key: str, block: RawBlock, order_id: Any, where: str = "breakdown"
) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a list field with their 1-based positions in it (kept even when another
    item is skipped); anything else in it is named in problems (at ``where.key``)."""
    value = parent.get(key)
    if value is None:
        return []
    name = f"{where}.{key}"
    if not isinstance(value, list):
        block.problems.append(_problem(order_id, "orders", name, value, f"{key} is not a list"))
        return []
    for v in value:
        if not isinstance(v, dict):
            reason = f"an item of {key} is not an object"
            block.problems.append(_problem(order_id, "orders", name, v, reason))
    return [(i, v) for i, v in enumerate(value, start=1) if isinstance(v, dict)]


def _text(value: Any) -> str | None:
    """A wire value as raw text: strings as they are, numbers exactly, anything else as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _plain_number(value)
    # An object or list where a value belongs, as JSON; ``{}`` too (read as no value, it would
    # vanish without a problem).
    return kept_json(value, default=_plain)


PLAIN_DIGITS = 40


def _plain_number(value: float | Decimal) -> str:
    """An exact plain decimal string ("1234.5", never "1.2345E+3"); floats via their shortest repr.
    A number of more than 40 digits before or after the point stays in exponent form as sent
    ("1E+20000000" would otherwise become twenty million digits)."""
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not number.is_finite() or abs(number.adjusted()) > PLAIN_DIGITS:
        return str(value)
    text = format(number, "f")
    # 12.300 -> "12.3", 12.0 -> "12": trailing zeros of a JSON number are not decimals that matter
    # (string arithmetic: no Decimal context, so no rounding and no precision limit).
    return text.rstrip("0").rstrip(".") if "." in text else text


def _plain(value: Any) -> Any:
    """JSON for what ``json`` cannot write: a number read as ``Decimal`` (to keep money exact)
    is written back as a number, as the fast path writes it; anything else as text."""
    if isinstance(value, Decimal):
        number = float(value)
        return number if math.isfinite(number) else str(value)  # no Infinity: not JSON
    return str(value)


def _dump(value: Any) -> str | None:
    if value is None or value == {}:
        return None
    text = kept_json(value, default=_plain)
    return None if text == "{}" else text


def _arrays(
    cols: dict[str, list[Any]],
    fields: tuple[WireField, ...],
    others: tuple[str, ...],
    replaced: list[str],
) -> dict[str, pa.Array]:
    """The columns as Arrow text (or tags); ``replaced`` gets the names of those that held text
    that is not valid Unicode."""
    out: dict[str, pa.Array] = {}
    names: list[str] = []
    for f in fields:
        names += (
            [f.column, f"{f.column}__unix", f"{f.column}__iso"]
            if f.kind in ("instant", "local")
            else [f.column]
        )
        if f.compared:
            names.append(f"{f.column}__alt")
    for name in [*names, *others]:
        kind_tags = any(f.column == name and f.kind == "tags" for f in fields)
        try:
            out[name] = pa.array(cols.get(name, []), _TAGS if kind_tags else _STR)
        except UnicodeEncodeError:  # a lone surrogate from a JSON escape: replaced, and named
            out[name] = _safe_array(cols[name], _TAGS if kind_tags else _STR)
            replaced.append(name)
    return out


def _type_name(value: Any) -> str:
    """The Python type a value has when given as a dict (a number of bytes is read as Decimal)."""
    return "float" if isinstance(value, Decimal) else type(value).__name__


def _problem(order_id: Any, table: str, field_name: str, raw: Any, reason: str) -> dict[str, Any]:
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        text = str(_text(raw))  # exactly, and the same whether read from dicts or bytes
    else:
        text = json.dumps(scrub(raw), default=_plain)
    return {
        "order_id": _problem_id(order_id),
        "table": table,
        "field": field_name,
        "raw_value": text[:200],
        "reason": reason,
    }


def _problem_id(order_id: Any) -> int | None:
    """The order id a problem row names, read as the orders table reads it (``5``, ``"5"``,
    ``5.0``, ``1e3``)."""
    if isinstance(order_id, int) and not isinstance(order_id, bool):
        value = order_id
    elif isinstance(order_id, str) and _ASCII_INTEGER.fullmatch(order_id):
        value = int(order_id)  # ASCII digits only: "١٢٣" is no id (int() would read it as 123)
    elif (
        isinstance(order_id, float | Decimal)
        and math.isfinite(order_id)
        and order_id == int(order_id)
    ):
        value = int(order_id)
    else:
        return None
    return value if _INT64_MIN <= value <= _INT64_MAX else None  # beyond int64: no id


_ASCII_INTEGER = re.compile(r"\s*-?[0-9]+\s*", re.ASCII)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _name_replaced_text(
    table: str, cols: dict[str, list[Any]], ids: list[Any], block: RawBlock
) -> None:
    """A note for each text that is not valid Unicode (a lone surrogate from a JSON escape, such
    as ``"\\ud800"``): :func:`_safe_array` writes it with replacement characters."""
    for name, values in cols.items():
        for row, value in enumerate(values):
            if isinstance(value, str) and not value.isascii() and _has_surrogate(value):
                block.problems.append(
                    _problem(
                        ids[row] if row < len(ids) else None,
                        table,
                        name,
                        _clean(value),
                        "text with an invalid character (a lone surrogate), replaced by '?'",
                    )
                )


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _safe_array(values: list[Any], kind: pa.DataType) -> pa.Array:
    """``pa.array``, with text that is not valid Unicode (a lone surrogate from a JSON escape)
    written with U+FFFD replacement characters instead of failing the load."""
    try:
        return pa.array(values, kind)
    except UnicodeEncodeError:
        return pa.array([_clean(v) for v in values], kind)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
