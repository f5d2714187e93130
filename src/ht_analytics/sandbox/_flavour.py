"""Wire flavours of an order: the documented camelCase object, or the snake_case payload.

The sandbox stores orders camelCase (``order.example.json``). The contract documents a second,
snake_case shape (seen on *Retrieve order*); :func:`to_snake` builds it from a stored order and its
client:

* keys snake_case, recursively (``clientId`` -> ``client_id``, ``breakdown.totalAmount`` ->
  ``breakdown.total_amount`` …); ``statusId`` becomes ``status`` (an integer, or for about a quarter
  of the orders, chosen by a hash of the id, the same number as a string: the contract says both
  occur), followed by ``status_label`` in a human form (``"Searching"``, ``"Cancelled by geek"``);
* ``created_at``, ``started_at``, ``completed_at`` and ``appointment_start_date_time`` become objects
  ``{"integer": <unix seconds>, "iso": "<ISO-8601 Z>"}`` (``null`` stays ``null``; the milliseconds of
  ``createdAt`` survive in ``iso`` only; an unreadable value gives ``{"integer": null, "iso": <raw>}``);
  ``appointment_start`` is kept as given;
* the client's ``email``, ``phone`` ``{"value", "formatted"}``, ``address`` (full address),
  ``client_street``, ``client_city``, ``client_state`` and ``client_zip`` (the order's own
  ``clientZip`` when it has one), plus ``service_description: null`` and ``events: []``.

``"mixed"`` picks camel or snake per order from a hash of its id (about half each), the same way in
list pages and in *Retrieve order*. Tags are left out of both shapes unless ``expose_tags``.

:class:`OrderEncoder` serialises orders to compact JSON bytes and caches them per order id; call
:meth:`OrderEncoder.invalidate` when an order (or its client, for the snake shape) changes.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .._statuses import OrderStatus
from ._model import Client, Order

__all__ = [
    "Flavour",
    "OrderEncoder",
    "appointment_ms",
    "created_ms",
    "format_phone",
    "order_flavour",
    "parse_instant",
    "snake_case",
    "status_is_string",
    "to_snake",
    "unix_ms",
]

Flavour = Literal["camel", "snake", "mixed"]

_TIMESTAMPS = ("createdAt", "startedAt", "completedAt", "appointmentStartDateTime")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MASK64 = (1 << 64) - 1


def parse_instant(value: object, zone: str | None = None) -> datetime | None:
    """A wire timestamp as an aware UTC datetime; ``None`` when it is empty or unreadable.

    ISO-8601 with ``Z``, an offset, or none (a naive value is read in ``zone``, an IANA name, when
    given, else as UTC); a JSON number is unix seconds.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        try:
            parsed = parsed.replace(tzinfo=ZoneInfo(zone) if zone else UTC)
        except (KeyError, ValueError):
            parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def unix_ms(moment: datetime) -> int:
    """An aware datetime as unix milliseconds (exact integer arithmetic)."""
    delta = moment - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def created_ms(order: Order) -> int:
    """``createdAt`` of an order in unix milliseconds (0 when missing or unreadable)."""
    moment = parse_instant(order.get("createdAt"))
    return 0 if moment is None else unix_ms(moment)


def appointment_ms(order: Order) -> int | None:
    """The order's appointment instant (``appointmentStartDateTime``, else ``appointmentStart`` in
    the order's ``timezone``) in unix milliseconds, or ``None`` without one."""
    zone = order.get("timezone") if isinstance(order.get("timezone"), str) else None
    for field in ("appointmentStartDateTime", "appointmentStart"):
        moment = parse_instant(order.get(field), zone)
        if moment is not None:
            return unix_ms(moment)
    return None


def _mix(value: int) -> int:
    """SplitMix64 finaliser: a fast, well-spread, stable hash of an integer."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def order_flavour(order_id: int, flavour: Flavour) -> Literal["camel", "snake"]:
    """The shape one order is served in under an app-wide ``flavour``."""
    if flavour == "mixed":
        return "snake" if _mix(order_id) & 1 else "camel"
    return flavour


def status_is_string(order_id: int) -> bool:
    """True for the (about a quarter of the) orders whose snake ``status`` is a string like ``"1"``."""
    return _mix(order_id ^ 0x5DEECE66D) % 4 == 0


@lru_cache(maxsize=1024)
def snake_case(name: str) -> str:
    """``"originalTotalAmount"`` -> ``"original_total_amount"`` (already snake names are kept)."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def format_phone(phone: object) -> dict[str, str] | None:
    """A plain phone string as the order payload's ``{"value", "formatted"}`` object."""
    if not isinstance(phone, str) or not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return {"value": digits or phone, "formatted": phone}
    return {"value": digits, "formatted": f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"}


def _timestamp(value: object, zone: str | None) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    moment = parse_instant(value, zone)
    if moment is None:
        return {"integer": None, "iso": value}
    delta = moment - _EPOCH
    if moment.microsecond == 0:
        iso = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        spec = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
        iso = moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
    return {"integer": delta.days * 86_400 + delta.seconds, "iso": iso}


def _snake_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {snake_case(k): _snake_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_value(v) for v in value]
    return value


def _status_label(status: object) -> str | None:
    try:
        return OrderStatus(int(status)).name.replace("_", " ").capitalize()  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def to_snake(order: Order, client: Client | None, *, expose_tags: bool = False) -> dict[str, Any]:
    """The snake_case payload of a stored camelCase order (see the module docstring)."""
    order_id = int(order["id"])
    zone = order.get("timezone") if isinstance(order.get("timezone"), str) else None
    out: dict[str, Any] = {}
    for key, value in order.items():
        if key == "tags":
            if expose_tags:
                out["tags"] = list(value or ())
        elif key == "statusId":
            status = value
            if isinstance(value, int) and status_is_string(order_id):
                status = str(value)
            out["status"] = status
            out["status_label"] = _status_label(value)
        elif key in _TIMESTAMPS:
            out[snake_case(key)] = _timestamp(value, zone)
        else:
            out[snake_case(key)] = _snake_value(value)
    client = client or {}
    found = client.get("address")
    address: dict[str, Any] = found if isinstance(found, dict) else {}
    out["email"] = client.get("email")
    out["phone"] = format_phone(client.get("phone"))
    out["address"] = client.get("full_address")
    out["client_street"] = address.get("street")
    out["client_city"] = address.get("city")
    out["client_state"] = address.get("state")
    out["client_zip"] = order.get("clientZip") or address.get("zip")
    out["service_description"] = None
    out["events"] = []
    return out


class OrderEncoder:
    """Serialises orders in the app's flavour to compact JSON bytes, cached per order id."""

    def __init__(
        self, flavour: Flavour, clients: dict[int, Client], *, expose_tags: bool = False
    ) -> None:
        if flavour not in ("camel", "snake", "mixed"):
            raise ValueError(f"flavour must be 'camel', 'snake' or 'mixed', not {flavour!r}")
        self.flavour: Flavour = flavour
        self.expose_tags = expose_tags
        self._clients = clients
        self._cache: dict[int, bytes] = {}

    def payload(self, order: Order) -> dict[str, Any]:
        """The order as served (a new dict; the stored order is not changed)."""
        order_id = int(order["id"])
        if order_flavour(order_id, self.flavour) == "snake":
            client_id = order.get("clientId")
            client = self._clients.get(client_id) if isinstance(client_id, int) else None
            return to_snake(order, client, expose_tags=self.expose_tags)
        if self.expose_tags:
            return dict(order)
        return {k: v for k, v in order.items() if k != "tags"}

    def encode(self, order: Order) -> bytes:
        """The order as served, as compact UTF-8 JSON (cached until :meth:`invalidate`)."""
        order_id = int(order["id"])
        body = self._cache.get(order_id)
        if body is None:
            text = json.dumps(self.payload(order), separators=(",", ":"), ensure_ascii=False)
            body = text.encode()
            self._cache[order_id] = body
        return body

    def page_body(self, orders: list[Order], next_cursor: int | None) -> bytes:
        """``{"status":"success","orders":[...],"next_cursor":...}`` joined from cached bytes."""
        cursor = b"null" if next_cursor is None else str(next_cursor).encode()
        parts = b",".join([self.encode(order) for order in orders])
        return b'{"status":"success","orders":[' + parts + b'],"next_cursor":' + cursor + b"}"

    def order_body(self, order: Order) -> bytes:
        """``{"status":"success","order":{...}}``."""
        return b'{"status":"success","order":' + self.encode(order) + b"}"

    def invalidate(self, order_id: int) -> None:
        """Forget the cached bytes of one order."""
        self._cache.pop(order_id, None)

    def clear(self) -> None:
        """Forget every cached order."""
        self._cache.clear()
