"""Create and update, as the app's endpoints do: new orders and clients, client updates.

:func:`new_order` is ``POST /orders``; :func:`new_client` and :func:`update_client_fields` are
``POST /clients`` and ``PUT /clients/{id}``; :func:`parse_address` reads a ``full_address``. New
records continue the generator's numbering (ids larger than every existing one), a new order is
inserted at its ``(createdAt, id)`` place, and its money is computed in integer cents.
"""

from __future__ import annotations

import random
import re
from bisect import insort
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from ht_analytics._statuses import OrderStatus
from ht_analytics.sandbox import _catalog as cat
from ht_analytics.sandbox._formats import (
    _fmt_minutes,
    _iso_utc,
    _money,
    _offset_str,
    _parse_cents,
    _parse_utc_ms,
    _to_ms,
)
from ht_analytics.sandbox._model import (
    DEFAULT_NOW,
    FIRST_CLIENT_ID,
    FIRST_ORDER_ID,
    FIRST_SERVICE_ID,
    Client,
    Order,
    SandboxData,
)

__all__ = ["new_client", "new_order", "parse_address", "update_client_fields"]

_S = OrderStatus

_ADDRESS = re.compile(
    r"^\s*(?P<street>[^,]+?)\s*,\s*(?P<city>[^,]+?)\s*,\s*(?P<state>[A-Za-z]{2})\s+"
    r"(?P<zip>\d{5})(?:-\d{4})?\s*$"
)
_PREFIX_ZONES: Final = {prefix: s.zone for s in cat.STATES for _, prefix, _ in s.cities}
_CLIENT_FIELDS: Final = ("external_id", "first_name", "last_name", "email", "full_address", "phone")


def parse_address(full_address: str | None) -> dict[str, str | None]:
    """``"719 Flower St, Los Angeles, CA 90017"`` -> ``{city, state, zip, street}``; every value is
    ``None`` when the text does not have that shape."""
    match = _ADDRESS.match(full_address or "")
    if match is None:
        return {"city": None, "state": None, "zip": None, "street": None}
    return {
        "city": match["city"],
        "state": match["state"].upper(),
        "zip": match["zip"],
        "street": match["street"],
    }


def _normalize_phone(phone: str) -> str:
    """Keep the 10 digits of a US phone number (``"(310) 555-0123"`` -> ``"3105550123"``)."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else phone


def update_client_fields(client: Client, params: Mapping[str, Any]) -> Client:
    """Apply ClientParams (``external_id``, ``first_name``, ``last_name``, ``email``,
    ``full_address``, ``phone``) to a client in place and return it.

    Only keys present in ``params`` change; unknown keys are ignored. ``full_address`` also
    refreshes ``address``; ``phone`` is normalised to 10 digits when it has them. Raises
    ``ValueError`` when a given value is not a string (or null)."""
    for key in _CLIENT_FIELDS:
        if key not in params:
            continue
        value = params[key]
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be a string")
        if key == "phone" and value is not None:
            value = _normalize_phone(value)
        client[key] = value
        if key == "full_address":
            client["address"] = parse_address(value)
    return client


def new_client(
    data: SandboxData, params: Mapping[str, Any], rng: random.Random | None = None
) -> Client:
    """Create a client from ClientParams, store it in ``data.clients`` and return it.

    ``email`` is required (``ValueError`` otherwise, as for a non-string value). The new id is
    one more than the largest existing client id; ``authentication_token`` is 40 hex digits from
    ``rng`` (default: a stream derived from ``data.seed`` and the new id, so it is reproducible).
    Missing fields are ``None``; ``address`` is parsed from ``full_address``.
    """
    email = params.get("email")
    if not isinstance(email, str) or not email.strip():
        raise ValueError("email is required")
    client_id = max(data.clients, default=FIRST_CLIENT_ID - 1) + 1
    if rng is None:
        rng = random.Random(f"client:{data.seed}:{client_id}")
    client: Client = {
        "id": client_id,
        "external_id": None,
        "first_name": None,
        "last_name": None,
        "email": None,
        "phone": None,
        "full_address": None,
        "address": parse_address(None),
        "authentication_token": f"{rng.getrandbits(160):040x}",
    }
    update_client_fields(client, params)
    data.clients[client_id] = client
    return client


def _order_key(order: Order) -> tuple[str, int]:
    return order["createdAt"], order["id"]


def new_order(
    data: SandboxData,
    *,
    client_id: int,
    sku_ids: Sequence[int],
    devices: Sequence[str] = (),
    created_at: datetime | None = None,
    rng: random.Random | None = None,
    appointment_start: datetime | None = None,
    zip_code: str | None = None,
    tags: Sequence[str] = (),
) -> Order:
    """Create an order in SEARCHING status (what ``POST /orders`` does), store it and return it.

    Args:
        data: the sandbox data; the order is inserted into ``data.orders`` at its
            ``(createdAt, id)`` place and its total is recorded in ``data.net_cents``.
        client_id: an existing client (``KeyError`` when unknown).
        sku_ids: the request's ``sku_id`` list (``ValueError`` when empty or a SKU is unknown);
            a SKU repeated in the list becomes one service line with that quantity.
        devices: the request's ``devices``; more than one adds an "Additional device" adjustment
            of $20.00 per extra device to the first service that is not a physical product.
        created_at: creation instant (aware; naive = UTC). Default: 1 s after the latest
            ``createdAt``. An instant not after the latest ``createdAt`` is moved to 1 ms after
            it, so that ids keep increasing with ``createdAt`` and keyset pagination stays valid.
        rng: random stream for the token and service ids' gaps (default: derived from
            ``data.seed`` and the new id, so the result is reproducible).
        appointment_start: optional appointment instant (aware); it is written in the order's
            zone as ``appointmentStart`` / ``appointmentStartDateTime``. Default: no appointment
            (both ``None``), as for any SEARCHING order not scheduled yet.
        zip_code: the ZIP of the service address (default: the client's); it sets ``clientZip``.
            ``timezone`` follows the ZIP prefix when the catalogue knows it, else the client's
            state, else ``"America/New_York"``.
        tags: the partner's tags for the order.

    The new id is larger than every existing order id. Money is computed in integer cents: no
    prepaid amount, no order-level adjustments, ``coupon`` ``None``.
    """
    client = data.clients[client_id]
    if not sku_ids:
        raise ValueError("sku_id must list at least one SKU")
    by_id = {sku["id"]: sku for sku in data.skus}
    unknown = [sku_id for sku_id in sku_ids if sku_id not in by_id]
    if unknown:
        raise ValueError(f"unknown sku_id: {', '.join(map(str, unknown))}")
    # Invariant kept by the generator and by this function: the last order has the largest
    # order id, the largest service ids and the latest createdAt.
    last = data.orders[-1] if data.orders else None
    order_id = FIRST_ORDER_ID if last is None else last["id"] + 1
    if rng is None:
        rng = random.Random(f"order:{data.seed}:{order_id}")
    last_ms = None if last is None else _parse_utc_ms(last["createdAt"])
    if created_at is None:
        created_ms = _to_ms(DEFAULT_NOW) if last_ms is None else last_ms + 1000
    else:
        created_ms = _to_ms(created_at)
    if last_ms is not None and created_ms <= last_ms:
        created_ms = last_ms + 1

    address = client.get("address") or {}
    zip_value = zip_code or address.get("zip") or ""
    zone = _PREFIX_ZONES.get(zip_value[:3]) or cat.STATE_ZONES.get(
        address.get("state") or "", "America/New_York"
    )

    quantities: dict[int, int] = {}
    for sku_id in sku_ids:
        quantities[sku_id] = quantities.get(sku_id, 0) + 1
    specs = {spec.id: spec for spec in cat.SKUS}
    last_services = [] if last is None else last["breakdown"]["services"]
    service_id = 1 + max((s["id"] for s in last_services), default=FIRST_SERVICE_ID - 1)
    extra_devices = max(0, len(devices) - 1)
    services: list[dict[str, Any]] = []
    net = 0
    for sku_id, quantity in quantities.items():
        sku = by_id[sku_id]
        spec = specs.get(sku_id)
        unit = _parse_cents(sku["price"])
        physical = spec.physical_product if spec else False
        minutes = spec.minutes if spec else 60
        original = unit * quantity
        adjustments: list[dict[str, str]] = []
        if extra_devices and not physical:
            extra = 2000 * extra_devices
            adjustments.append(
                {
                    "name": "Additional device",
                    "details": f"{extra_devices} more device(s): " + ", ".join(devices[1:]),
                    "amount": _money(extra),
                    "originalAmount": _money(extra),
                }
            )
            extra_devices = 0
            amount = original + extra
        else:
            amount = original
        net += amount
        services.append(
            {
                "id": service_id,
                "skuId": sku_id,
                "name": sku["name"],
                "amount": _money(amount),
                "price": _money(unit),
                "originalAmount": _money(original),
                "prepaid": _money(0),
                "totalAmount": _money(amount),
                "originalTotalAmount": _money(original),
                "adjustments": adjustments,
                "physicalProduct": physical,
                "image": f"https://example.com/skus/{sku_id}.png",
                "quantity": quantity,
                "priceType": spec.price_type if spec else "fixed",
                "estimatedDuration": _fmt_minutes(minutes),
                "duration": _fmt_minutes(minutes * quantity),
            }
        )
        service_id += 1

    appt_local: str | None = None
    appt_offset: str | None = None
    if appointment_start is not None:
        local = appointment_start.astimezone(ZoneInfo(zone))
        offset = local.utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        appt_local = local.strftime("%Y-%m-%dT%H:%M:%S")
        appt_offset = appt_local + _offset_str(seconds)

    remote = all(by_id[s]["remote"] for s in quantities)
    physical_flags = [s["physicalProduct"] for s in services]
    token = f"{rng.getrandbits(128):032x}"
    first_name = client.get("first_name") or ""
    last_name = client.get("last_name") or ""
    order: Order = {
        "id": order_id,
        "token": token,
        "clientId": client_id,
        "clientName": f"{first_name} {last_name}".strip(),
        "statusId": int(_S.SEARCHING),
        "progressStatusId": 1,
        "createdAt": _iso_utc(created_ms),
        "remote": remote,
        "workflow": "remote" if remote else "standard",
        "hasPartner": True,
        "partner": cat.PARTNER_NAME,
        "clientZip": zip_value,
        "appointmentStart": appt_local,
        "appointmentStartDateTime": appt_offset,
        "startedAt": None,
        "completedAt": None,
        "standByTimes": [],
        "atRisk": False,
        "hasAuthError": False,
        "hasSetPassword": False,
        "breakdown": {
            "services": services,
            "adjustments": [],
            "coupon": None,
            "totalAmount": _money(net),
        },
        "childFollowUp": None,
        "parentFollowUp": None,
        "hasProducts": any(physical_flags),
        "hasOnlyProducts": all(physical_flags),
        "paymentSource": "partner",
        "timezone": zone,
        "agent": None,
        "treatments": {},
        "orderSummaryUrl": f"https://www.hellotech.com/orders/{token}/summary",
        "tags": list(tags),
    }
    insort(data.orders, order, key=_order_key)
    data.net_cents[order_id] = net
    return order
