"""Order selection for the sandbox: filters, sort orders and keyset cursor pagination.

This module reads the query strings of ``GET /orders`` and ``GET /orders/count_by_tag`` into an
:class:`OrderQuery` (:func:`parse_order_query`); the index that answers it, :class:`OrderIndex`,
lives in ``_index`` and is re-exported here.

How the contract's assumptions are read here:

* Sort keys are ``(createdAt, id)`` for ``order_by=created_at`` and ``(appointment instant, id)`` for
  ``order_by=appointment``; ``DESC`` is the exact reverse of ``ASC``. Orders without an appointment
  sort after all others in ``ASC`` (hence before all others in ``DESC``).
* The appointment instant is ``appointmentStartDateTime``, else ``appointmentStart`` (parsed by
  :func:`parse_instant`; a naive value is read in the order's ``timezone``).
* ``cursor`` is the id of the last order of the previous page; the page holds the matching orders
  strictly after that order's key in the requested order. A cursor id that does not exist is an error.
* ``tags``: an order matches when it carries ANY of the given tags.
* ``from`` / ``to``: inclusive UTC calendar dates of ``createdAt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from .._statuses import OrderStatus
from ._flavour import unix_ms
from ._index import OrderIndex, OrderQuery, UnknownCursorError

__all__ = ["OrderIndex", "OrderQuery", "QueryError", "UnknownCursorError", "parse_order_query"]

_STATUS_IDS = frozenset(int(s) for s in OrderStatus)

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
"""``limit`` defaults to 100; larger values than 500 are served as 500."""
_ORDER_PARAMS = frozenset(
    {
        "tags[]",
        "from",
        "to",
        "client_id",
        "limit",
        "cursor",
        "status",
        "status[]",
        "order_by",
        "sort",
    }
)
_COUNT_PARAMS = frozenset({"tags[]", "from", "to", "status", "status[]"})
_DAY_MS = 86_400_000


class QueryError(ValueError):
    """Invalid query parameters; :attr:`errors` lists ``(field, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("Invalid query parameters")
        self.errors = errors


def _day_ms(text: str | None, field: str, errors: list[tuple[str, str]]) -> int | None:
    """Midnight UTC of an ``MM-DD-YYYY`` date, in unix ms."""
    if text is None:
        return None
    parts = text.strip().split("-")
    try:
        if [len(p) for p in parts] != [2, 2, 4] or not all(p.isdigit() for p in parts):
            raise ValueError(text)
        day = datetime(int(parts[2]), int(parts[0]), int(parts[1]), tzinfo=UTC)
    except ValueError:
        errors.append((field, "must be a date written MM-DD-YYYY"))
        return None
    return unix_ms(day)


def _integer(text: str | None, field: str, errors: list[tuple[str, str]]) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        errors.append((field, "must be a non-negative integer"))
        return None
    return int(text)


def _statuses(values: list[str], errors: list[tuple[str, str]]) -> frozenset[int] | None:
    """``status=1``, ``status[]=1&status[]=3`` and ``status=1,3`` alike."""
    if not values:
        return None
    found: set[int] = set()
    for piece in (p.strip() for value in values for p in value.split(",")):
        if piece.isascii() and piece.isdigit() and int(piece) in _STATUS_IDS:
            found.add(int(piece))
        else:
            errors.append(("status", f"unknown status id {piece!r}"))
    return frozenset(found)


def parse_order_query(
    pairs: Iterable[tuple[str, str]], *, count: bool = False
) -> tuple[OrderQuery, list[str]]:
    """Read the query string of ``GET /orders`` (or, with ``count``, of ``count_by_tag``).

    Returns the query and the requested tags in request order (without repeats). Raises
    :class:`QueryError` listing every problem: an unknown parameter, a date not ``MM-DD-YYYY``, a
    non-integer ``client_id`` / ``cursor`` / ``limit``, ``limit < 1``, an unknown status id, an
    ``order_by`` other than ``created_at`` / ``appointment``, a ``sort`` other than ``ASC`` /
    ``DESC`` (case-insensitive), an empty tag, or (``count``) no ``tags[]`` at all.
    """
    allowed = _COUNT_PARAMS if count else _ORDER_PARAMS
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    errors: list[tuple[str, str]] = []
    for name in sorted(set(values) - allowed):
        hint = f" (use {name}[])" if f"{name}[]" in allowed else ""
        errors.append((name, f"unknown parameter{hint}"))

    def last(name: str) -> str | None:
        return values[name][-1] if name in values else None

    tags = list(dict.fromkeys(values.get("tags[]", [])))
    if any(not tag.strip() for tag in tags):
        errors.append(("tags[]", "must not be empty"))
    if count and not tags:
        errors.append(("tags[]", "is required"))
    low = _day_ms(last("from"), "from", errors)
    high = _day_ms(last("to"), "to", errors)
    statuses = _statuses(values.get("status", []) + values.get("status[]", []), errors)
    client_id = _integer(last("client_id"), "client_id", errors)
    cursor = _integer(last("cursor"), "cursor", errors)
    limit = _integer(last("limit"), "limit", errors)
    if limit is not None and limit < 1:
        errors.append(("limit", "must be at least 1"))
    order_by = (last("order_by") or "created_at").strip().lower()
    if order_by not in ("created_at", "appointment"):
        errors.append(("order_by", "must be created_at or appointment"))
    sort = (last("sort") or "ASC").strip().upper()
    if sort not in ("ASC", "DESC"):
        errors.append(("sort", "must be ASC or DESC"))
    if errors:
        raise QueryError(errors)
    query = OrderQuery(
        tags=frozenset(tags),
        created_from_ms=low,
        created_until_ms=None if high is None else high + _DAY_MS,
        client_id=client_id,
        statuses=statuses,
        order_by="appointment" if order_by == "appointment" else "created_at",
        descending=sort == "DESC",
        cursor=cursor,
        limit=DEFAULT_LIMIT if limit is None else min(limit, MAX_LIMIT),
    )
    return query, tags
