"""The order index: sorted views over the orders, for keyset pages and tag counts.

Kept apart from HTTP: :class:`OrderIndex` answers "which orders, in which order" for a
:class:`OrderQuery`, and counts orders per tag. It is built once over ``SandboxData.orders`` and then
kept up to date by :meth:`OrderIndex.add` (a new order) and :meth:`OrderIndex.update` (an order whose
``createdAt``, appointment, tags or client changed).

Each sort order is kept as a sorted list of integer keys (``bisect`` finds a cursor or a date bound in
O(log n)) with a parallel list of orders; a page scans forward from the cursor applying the filters
until ``limit`` orders (plus one, to know whether more follow) are collected. Without filters a page is
a plain slice.

How the filters, sort orders and cursor are read from the contract is described in ``_query``,
which parses query strings into an :class:`OrderQuery`.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from ._flavour import appointment_ms, created_ms
from ._model import Order

__all__ = ["OrderIndex", "OrderQuery", "UnknownCursorError"]

OrderBy = Literal["created_at", "appointment"]

_ID_BITS = 64
_MS_OFFSET = 1 << 52
"""Added to millisecond instants so that keys stay non-negative (instants before 1970 sort right)."""
_NO_APPOINTMENT = 1 << 54
"""Rank of orders without an appointment: after every real instant."""


class UnknownCursorError(LookupError):
    """The ``cursor`` names no existing order."""


def _key(rank: int, order_id: int) -> int:
    if not 0 <= order_id < 1 << _ID_BITS:
        raise ValueError(f"order id {order_id} is out of the sandbox's range")
    return (rank << _ID_BITS) | order_id


def _bound(ms: int | None) -> int | None:
    """The smallest created key at instant ``ms``."""
    return None if ms is None else _key(ms + _MS_OFFSET, 0)


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """One page request of ``GET /orders`` (or the filters of ``count_by_tag``), already validated."""

    tags: frozenset[str] = frozenset()
    created_from_ms: int | None = None
    """Inclusive lower bound on ``createdAt`` (unix ms)."""
    created_until_ms: int | None = None
    """Exclusive upper bound on ``createdAt`` (unix ms)."""
    client_id: int | None = None
    statuses: frozenset[int] | None = None
    order_by: OrderBy = "created_at"
    descending: bool = False
    cursor: int | None = None
    limit: int = 100

    @property
    def has_filters(self) -> bool:
        """True when anything other than the date window restricts the orders."""
        return bool(self.tags) or self.client_id is not None or self.statuses is not None


class _Sorted:
    """Orders sorted by an integer key, with the keys in a parallel list for ``bisect``."""

    __slots__ = ("keys", "orders")

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.orders: list[Order] = []

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, Order]]) -> _Sorted:
        """Sort ``(key, order)`` pairs."""
        made = cls()
        ordered = sorted(pairs, key=lambda pair: pair[0])
        made.keys = [k for k, _ in ordered]
        made.orders = [o for _, o in ordered]
        return made

    def insert(self, key: int, order: Order) -> None:
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.orders.append(order)
            return
        at = bisect_left(self.keys, key)
        self.keys.insert(at, key)
        self.orders.insert(at, order)

    def remove(self, key: int) -> None:
        at = bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            del self.keys[at]
            del self.orders[at]


class OrderIndex:
    """Sorted views over the orders, for fast filtered keyset pages and tag counts.

    Not thread-safe by itself: the app serialises calls with its lock.
    """

    def __init__(self, orders: Iterable[Order]) -> None:
        paused = gc.isenabled()
        gc.disable()  # millions of new small objects: generational GC passes would dominate
        try:
            self._build(orders)
        finally:
            if paused:
                gc.enable()

    def _build(self, orders: Iterable[Order]) -> None:
        self._by_id: dict[int, Order] = {}
        self._created: dict[int, int] = {}
        """id -> created key."""
        self._appointment: dict[int, int] = {}
        """id -> appointment key."""
        for order in orders:
            order_id = int(order["id"])
            if order_id in self._by_id:
                raise ValueError(f"duplicate order id {order_id}")
            self._by_id[order_id] = order
            self._created[order_id], self._appointment[order_id] = self._keys(order)
        self._by_created = _Sorted.of((self._created[i], o) for i, o in self._by_id.items())
        self._by_appointment = _Sorted.of((self._appointment[i], o) for i, o in self._by_id.items())
        self._by_tag: dict[str, _Sorted] = {}
        self._by_client: dict[int, _Sorted] = {}
        for order in self._by_created.orders:
            self._link(order)

    # -- maintenance -------------------------------------------------------------------------

    @staticmethod
    def _keys(order: Order) -> tuple[int, int]:
        order_id = int(order["id"])
        appointment = appointment_ms(order)
        rank = _NO_APPOINTMENT if appointment is None else appointment + _MS_OFFSET
        return _key(created_ms(order) + _MS_OFFSET, order_id), _key(rank, order_id)

    def _link(self, order: Order) -> None:
        key = self._created[int(order["id"])]
        for tag in set(order.get("tags") or ()):
            if tag not in self._by_tag:
                self._by_tag[tag] = _Sorted()
            self._by_tag[tag].insert(key, order)
        client_id = order.get("clientId")
        if isinstance(client_id, int):
            if client_id not in self._by_client:
                self._by_client[client_id] = _Sorted()
            self._by_client[client_id].insert(key, order)

    def _unlink(self, order_id: int, client_ids: Iterable[object]) -> None:
        key = self._created[order_id]
        for tagged in self._by_tag.values():
            tagged.remove(key)
        for client_id in set(client_ids):
            if isinstance(client_id, int) and client_id in self._by_client:
                self._by_client[client_id].remove(key)

    def add(self, order: Order) -> None:
        """Index a new order (its id must be new)."""
        order_id = int(order["id"])
        if order_id in self._by_id:
            raise ValueError(f"duplicate order id {order_id}")
        self._by_id[order_id] = order
        self._created[order_id], self._appointment[order_id] = self._keys(order)
        self._by_created.insert(self._created[order_id], order)
        self._by_appointment.insert(self._appointment[order_id], order)
        self._link(order)

    def update(self, order: Order, *, old_client_id: object = None) -> None:
        """Re-index an order that changed in place (pass its former ``clientId`` if that changed)."""
        order_id = int(order["id"])
        if order_id not in self._by_id:
            self.add(order)
            return
        self._unlink(order_id, (order.get("clientId"), old_client_id))
        self._by_created.remove(self._created[order_id])
        self._by_appointment.remove(self._appointment[order_id])
        del self._by_id[order_id]
        self.add(order)

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, order_id: int) -> Order | None:
        """The order with this id, or ``None``."""
        return self._by_id.get(order_id)

    def client_orders(self, client_id: int) -> list[Order]:
        """The client's orders in ``(createdAt, id)`` order."""
        found = self._by_client.get(client_id)
        return list(found.orders) if found else []

    def _source(self, query: OrderQuery) -> tuple[_Sorted, dict[int, int]]:
        """The smallest sorted list that holds every candidate, and the key map of its order."""
        if query.order_by == "appointment":
            if query.client_id is not None:
                found = self._by_client.get(query.client_id, _Sorted())
                pairs = ((self._appointment[int(o["id"])], o) for o in found.orders)
                return _Sorted.of(pairs), self._appointment
            return self._by_appointment, self._appointment
        if query.client_id is not None:
            return self._by_client.get(query.client_id, _Sorted()), self._created
        if len(query.tags) == 1:
            (tag,) = query.tags
            return self._by_tag.get(tag, _Sorted()), self._created
        return self._by_created, self._created

    def _predicate(self, query: OrderQuery, *, dates: bool) -> Callable[[Order], bool]:
        tags, statuses, client_id = query.tags, query.statuses, query.client_id
        low, high = _bound(query.created_from_ms), _bound(query.created_until_ms)
        created = self._created

        def match(order: Order) -> bool:
            if statuses is not None and _status_id(order) not in statuses:
                return False
            if client_id is not None and order.get("clientId") != client_id:
                return False
            if tags and tags.isdisjoint(order.get("tags") or ()):
                return False
            if dates:
                key = created[int(order["id"])]
                if (low is not None and key < low) or (high is not None and key >= high):
                    return False
            return True

        return match

    def _bounds(self, source: _Sorted, query: OrderQuery) -> tuple[int, int]:
        """Index range of ``source`` within the date window (the whole list for appointments)."""
        lo, hi = 0, len(source.keys)
        if query.order_by == "created_at":
            if (low := _bound(query.created_from_ms)) is not None:
                lo = bisect_left(source.keys, low)
            if (high := _bound(query.created_until_ms)) is not None:
                hi = bisect_left(source.keys, high)
        return lo, max(lo, hi)

    def select(self, query: OrderQuery) -> tuple[list[Order], int | None]:
        """One page: the matching orders after the cursor, and the next cursor (``None`` at the end).

        Raises :class:`UnknownCursorError` when the cursor names no order.
        """
        source, keymap = self._source(query)
        lo, hi = self._bounds(source, query)
        if query.cursor is not None:
            if query.cursor not in self._by_id:
                raise UnknownCursorError(query.cursor)
            cursor_key = keymap[query.cursor]
            if query.descending:
                hi = min(hi, bisect_left(source.keys, cursor_key))
            else:
                lo = max(lo, bisect_right(source.keys, cursor_key))
        if hi <= lo:
            return [], None
        dates = query.order_by == "appointment"
        needs_check = query.has_filters or (
            dates and (query.created_from_ms is not None or query.created_until_ms is not None)
        )
        limit = query.limit
        if not needs_check:
            if query.descending:
                page = source.orders[max(lo, hi - limit) : hi][::-1]
                more = hi - limit > lo
            else:
                page = source.orders[lo : min(hi, lo + limit)]
                more = lo + limit < hi
        else:
            found: list[Order] = []
            match = self._predicate(query, dates=dates)
            orders = source.orders
            for i in range(hi - 1, lo - 1, -1) if query.descending else range(lo, hi):
                if match(order := orders[i]):
                    found.append(order)
                    if len(found) > limit:
                        break
            page, more = found[:limit], len(found) > limit
        next_cursor = int(page[-1]["id"]) if more and page else None
        return page, next_cursor

    def count_by_tag(self, tags: Iterable[str], query: OrderQuery) -> dict[str, int]:
        """Per requested tag, how many orders carry it within the query's dates and statuses."""
        counts: dict[str, int] = {}
        for tag in tags:
            source = self._by_tag.get(tag, _Sorted())
            lo, hi = self._bounds(source, query)
            if query.statuses is None:
                counts[tag] = hi - lo
            else:
                statuses = query.statuses
                counts[tag] = sum(
                    1 for order in source.orders[lo:hi] if _status_id(order) in statuses
                )
        return counts


def _status_id(order: Order) -> int | None:
    value = order.get("statusId")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
