"""Paging through ``GET /orders``: the contract's keyset cursor, as one strategy with guards.

The contract (assumed): each page is ``{"status": "success", "orders": [...], "next_cursor": id}``
with ``next_cursor`` null on the last page; the next request sends ``cursor=<next_cursor>``. When a
server leaves ``next_cursor`` out, the contract says a page shorter than ``limit`` is the last one and
otherwise the cursor is "the largest order id seen". Two readings differ from the letter there, on
purpose: the cursor is the id of the page's *last* order (the keyset definition; in the default
``created_at ASC`` order it is the largest id, but not in ``DESC`` order), and a short page ends
paging only when it is shorter than a page already seen (a server may cap ``limit`` below what was
asked, and then every page is "short"); an empty page always ends it. This module is the one place
those rules live.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ._exceptions import PaginationError, PayloadError
from ._nesting import too_deep
from ._responses import parse_json

__all__ = ["CursorPaginator", "LightBody", "Page", "parse_page_light"]

log = logging.getLogger("ht_analytics.client")

NEXT_CURSOR_KEY = "next_cursor"
CURSOR_PARAM = "cursor"
LIMIT_PARAM = "limit"


@dataclass(frozen=True, slots=True, repr=False)
class Page:
    """One page of ``GET /orders`` as it came off the wire.

    Attributes:
        number: 1-based page number.
        orders: the parsed order dicts, in the server's order.
        raw: the response body bytes, exactly as received (what the loader parses fast).
        next_cursor: the cursor of the next page, ``None`` on the last page.
        request: the ``httpx.Request`` that fetched it (its URL carries no secret).
        response: the ``httpx.Response``.
    """

    number: int
    orders: list[dict[str, Any]]
    raw: bytes
    next_cursor: int | None
    request: httpx.Request
    response: httpx.Response

    def __repr__(self) -> str:
        return (
            f"Page(number={self.number}, orders={len(self.orders)}, bytes={len(self.raw)}, "
            f"next_cursor={self.next_cursor!r})"
        )


@dataclass(slots=True)
class CursorPaginator:
    """The keyset-cursor strategy, in three hooks: :meth:`init_request` (first request),
    :meth:`update_state` (read a page), :meth:`update_request` (prepare the next) and
    :attr:`has_next_page`.

    Guards: ids repeated within or across pages, a cursor that does not advance (comes back a
    second time), and an empty page that still carries a cursor each raise
    :class:`PaginationError` naming the page, so paging never loops or yields a duplicate.
    """

    limit: int
    has_next_page: bool = True
    cursor: int | None = None
    pages: int = 0
    _seen_ids: set[int] = field(default_factory=set)
    _used_cursors: set[int] = field(default_factory=set)
    _largest_page: int = 0
    _warned_fallback: bool = False

    def init_request(self, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Parameters of the first request: the filters plus ``limit``, no cursor."""
        return [*params, (LIMIT_PARAM, str(self.limit))]

    def update_request(self, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Parameters of the next request: the same, with the cursor."""
        base = [(k, v) for k, v in params if k != CURSOR_PARAM]
        return [*base, (CURSOR_PARAM, str(self.cursor))]

    def orders_of(self, body: Any, what: str = "") -> list[dict[str, Any]]:
        """The orders of a page body, checked to be a list of objects with an integer id
        (``what``: the request, named in the error)."""
        page = f"{what}: page {self.pages + 1}" if what else f"page {self.pages + 1}"
        if not isinstance(body, dict) or not isinstance(body.get("orders"), list):
            keys = sorted(body)[:10] if isinstance(body, dict) else type(body).__name__
            raise PayloadError(f"{page}: the response has no 'orders' list (got {keys})")
        orders: list[dict[str, Any]] = body["orders"]
        for index, order in enumerate(orders):
            if not isinstance(order, dict) or _order_id(order) is None:
                raise PayloadError(f"{page}: orders[{index}] has no integer 'id'")
        return orders

    def update_state(self, body: dict[str, Any], orders: list[dict[str, Any]]) -> int | None:
        """Read a page: check the guards, advance the cursor; return the next cursor. A page
        that fails a guard changes nothing (the same page may be asked for again)."""
        page = self.pages + 1
        ids = [_order_id(o) for o in orders]
        repeated = sorted({i for i in ids if i in self._seen_ids} | _dupes(ids))
        if repeated:
            shown = ", ".join(str(i) for i in repeated[:5]) + (" …" if len(repeated) > 5 else "")
            raise PaginationError(
                f"{len(repeated)} order id(s) already seen on an earlier page or repeated on "
                f"this one ({shown}); stopping rather than yield duplicates",
                page=page,
                cursor=self.cursor,
            )
        fallback = _no_cursor(body)
        next_cursor = self._next_cursor(body, orders, page)
        if next_cursor is None:
            self.pages = page
            self.has_next_page = False
            return None
        if not orders and not fallback:
            raise PaginationError(
                f"an empty page points to a next page (next_cursor={next_cursor}); stopping",
                page=page,
                cursor=self.cursor,
            )
        if next_cursor == self.cursor or next_cursor in self._used_cursors:
            raise PaginationError(
                f"the cursor does not advance (next_cursor={next_cursor} was already used); "
                "stopping rather than loop",
                page=page,
                cursor=self.cursor,
            )
        self.pages = page
        self._seen_ids.update(i for i in ids if i is not None)
        self._largest_page = max(self._largest_page, len(orders))
        if self.cursor is not None:
            self._used_cursors.add(self.cursor)
        self.cursor = next_cursor
        return next_cursor

    def _next_cursor(
        self, body: dict[str, Any], orders: list[dict[str, Any]], page: int
    ) -> int | None:
        if not _no_cursor(body):
            raw = body[NEXT_CURSOR_KEY]
            if raw is None:
                return None
            try:
                return _as_int(raw)
            except ValueError:
                raise PayloadError(f"page {page}: next_cursor {raw!r} is not an integer") from None
        # No next_cursor in the response (or a blank one, which is not the documented null: a
        # full page with one must not end the paging): fall back to the contract's rule, made safe against a
        # server that caps `limit` below what was asked (its maximum is undocumented): a short
        # page ends paging only once a longer page has shown the server's real page size;
        # otherwise one more request, answered by an empty page, confirms the end.
        if not self._warned_fallback:
            self._warned_fallback = True
            log.warning(
                "page %d has no %r: paging by the id of each page's last order",
                page,
                NEXT_CURSOR_KEY,
            )
        if not orders or len(orders) < self._largest_page:
            return None
        return _order_id(orders[-1])


def _no_cursor(body: dict[str, Any]) -> bool:
    """Whether the page has no ``next_cursor`` to follow or stop on: absent, or blank text."""
    raw = body.get(NEXT_CURSOR_KEY, "")
    return isinstance(raw, str) and not raw.strip()


def _order_id(order: dict[str, Any]) -> int | None:
    try:
        return _as_int(order.get("id"))
    except ValueError:
        return None


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(value)


def _dupes(ids: list[int | None]) -> set[int]:
    seen: set[int] = set()
    dupes: set[int] = set()
    for i in ids:
        if i is None:
            continue
        if i in seen:
            dupes.add(i)
        seen.add(i)
    return dupes


_TRAILING_CURSOR = re.compile(rb'"next_cursor"\s*:\s*(?:null|-?\d+)\s*}\s*$')


def _light_schema(*order_fields: pa.Field) -> pa.Schema:
    orders = pa.list_(pa.struct([pa.field("id", pa.int64()), *order_fields]))
    return pa.schema(
        [
            pa.field("status", pa.string()),
            pa.field("orders", orders),
            pa.field(NEXT_CURSOR_KEY, pa.int64()),
        ]
    )


_LIGHT_SCHEMAS = (
    _light_schema(
        pa.field("createdAt", pa.string()),
        pa.field(
            "created_at",
            pa.struct([pa.field("integer", pa.int64()), pa.field("iso", pa.string())]),
        ),
    ),
    _light_schema(),  # creation times of another shape: the ids alone
)
"""What the light parse reads, in turn: with the orders' creation times in the documented
shapes, else without them."""


class LightBody(dict[str, Any]):
    """A page body as :func:`parse_page_light` reads it, with the range of its orders' creation
    days (``None``: none readable)."""

    created_days: tuple[date, date] | None = None


def _creation_days(orders: pa.StructArray) -> tuple[date, date] | None:
    """The first and last UTC creation day among the orders, roughly: the date part of
    ``createdAt`` (or of ``created_at.iso``), or the day of ``created_at.integer`` (unix
    seconds), which wins. A hint for checking a page against its query before its cursor is
    followed (the typed frames are checked again, exactly), never a value the frames hold."""
    try:
        camel = pc.utf8_slice_codeunits(orders.field("createdAt"), 0, 10)
        snake = orders.field("created_at")
        text = pc.coalesce(camel, pc.utf8_slice_codeunits(snake.field("iso"), 0, 10))
        from_text = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
        from_seconds = snake.field("integer").cast(pa.timestamp("s"))
        days = pc.coalesce(from_seconds, from_text).cast(pa.date32())
        low, high = pc.min_max(days).values()
        if not low.is_valid:
            return None
        return low.as_py(), high.as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError, ValueError, KeyError):
        return None  # e.g. a year Python's dates cannot hold: no range, the page is not checked


def parse_page_light(content: bytes, *, what: str) -> Any:
    """A page body reduced to what pagination needs — ``status``, each order's ``id``,
    ``next_cursor``, and (as ``created_days``) the range of creation days — read by Arrow's
    JSON parser (which releases the GIL and builds no Python
    object per field). For callers that keep the raw bytes and type them later (the store).

    Anything unusual (not one compact JSON object, an id that is not an integer, no ``orders``
    list …) falls back to the full parse, so checks and messages are exactly the usual ones.
    """
    # Arrow would crash the process on a body nested too deeply, or on one that starts with
    # `null` (a segmentation fault): Arrow is only given an object; the full parse says what is
    # wrong with anything else.
    if content.lstrip()[:1] != b"{" or too_deep(content):
        return parse_json(content, what=what)
    for schema in _LIGHT_SCHEMAS:
        try:
            table = pj.read_json(
                pa.BufferReader(content),
                read_options=pj.ReadOptions(use_threads=False, block_size=len(content) + 1024),
                parse_options=pj.ParseOptions(
                    explicit_schema=schema, unexpected_field_behavior="ignore"
                ),
            )
            break
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, OSError):
            continue
    else:
        return parse_json(content, what=what)
    if table.num_rows != 1 or table["orders"].null_count:
        return parse_json(content, what=what)
    orders = pc.list_flatten(table["orders"].combine_chunks())
    ids = orders.field("id")
    if ids.null_count:
        return parse_json(content, what=what)
    body = LightBody(status=table["status"][0].as_py(), orders=[{"id": i} for i in ids.to_pylist()])
    if orders.type.get_field_index("createdAt") >= 0:
        body.created_days = _creation_days(orders)
    if _TRAILING_CURSOR.search(content[-80:]):  # the top-level key, just before the last brace
        body[NEXT_CURSOR_KEY] = table[NEXT_CURSOR_KEY][0].as_py()
    elif b'"next_cursor"' in content:  # somewhere else: let the full parse say where
        return parse_json(content, what=what)
    return body
