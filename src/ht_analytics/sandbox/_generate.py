"""Deterministic, realistic sandbox data: orders, clients, SKUs and tags.

``generate_dataset(n, seed, now=...)`` is a pure function of its arguments: the same ``(n, seed, now)``
gives identical data (``json.dumps`` equal), a different seed gives different data. All randomness
comes from one ``random.Random(seed)`` stream; no global random state is touched.

This module assembles the dataset: the clients, which client places each order and when, and the
follow-up links between orders. The rest of the generator lives next to it:

``_orders``
    the order factory: each order's timeline, status, appointment and wire object;
``_pricing``
    the SKU catalogue, service lines, fees, discounts and coupons, in integer cents;
``_clients``, ``_calendar``, ``_sampling``
    client drafts; order volume and campaigns per day; weighted random draws;
``_formats``
    money and time as written on the wire (:func:`format_money`);
``_mutations``
    what the app's create/update endpoints do (:func:`new_order`, :func:`new_client`,
    :func:`update_client_fields`, :func:`parse_address`).

Those public names, and :data:`DEFAULT_NOW`, are re-exported here.
"""

from __future__ import annotations

import gc
import random
from datetime import date, datetime, timedelta
from typing import Final

from ht_analytics.sandbox import _catalog as cat
from ht_analytics.sandbox._calendar import _day_weight
from ht_analytics.sandbox._clients import _ClientDraft
from ht_analytics.sandbox._formats import (
    _EPOCH_ORDINAL,
    _MS_DAY,
    _MS_HOUR,
    _noon_offset,
    _to_ms,
    format_money,
)
from ht_analytics.sandbox._model import (
    DEFAULT_NOW,
    FIRST_CLIENT_ID,
    FIRST_ORDER_ID,
    Client,
    Order,
    SandboxData,
)
from ht_analytics.sandbox._mutations import (
    new_client,
    new_order,
    parse_address,
    update_client_fields,
)
from ht_analytics.sandbox._orders import _NEVER, _OrderFactory
from ht_analytics.sandbox._pricing import _build_skus
from ht_analytics.sandbox._sampling import _cum, _draw

__all__ = [
    "DEFAULT_NOW",
    "ORDER_KEYS",
    "format_money",
    "generate_dataset",
    "generate_orders",
    "new_client",
    "new_order",
    "parse_address",
    "update_client_fields",
]

HISTORY_DAYS: Final = 730
"""Orders are created over the ~2 years that end at ``now``."""

CLIENTS_PER_ORDER: Final = 0.6

ORDER_KEYS: Final[tuple[str, ...]] = (
    "id",
    "token",
    "clientId",
    "clientName",
    "statusId",
    "progressStatusId",
    "createdAt",
    "remote",
    "workflow",
    "hasPartner",
    "partner",
    "clientZip",
    "appointmentStart",
    "appointmentStartDateTime",
    "startedAt",
    "completedAt",
    "standByTimes",
    "atRisk",
    "hasAuthError",
    "hasSetPassword",
    "breakdown",
    "childFollowUp",
    "parentFollowUp",
    "hasProducts",
    "hasOnlyProducts",
    "paymentSource",
    "timezone",
    "agent",
    "treatments",
    "orderSummaryUrl",
)
"""The 30 documented keys of the camelCase Order object, in documented order (plus ``"tags"``)."""


def generate_dataset(n: int, seed: int = 0, *, now: datetime | None = None) -> SandboxData:
    """Generate ``n`` orders with their clients, the SKU catalogue and the partner's tags.

    Args:
        n: number of orders (``>= 0``); about ``0.6 * n`` clients are made, each with at least one
            order.
        seed: seeds the single random stream; the same ``(n, seed, now)`` gives identical data.
        now: the instant the data describes (aware; a naive value is taken as UTC). Orders are
            created over the 730 days before it and their statuses are what their timelines reach
            at ``now``. Defaults to :data:`DEFAULT_NOW` so output never depends on the clock.

    Returns:
        ``SandboxData`` with ``orders`` sorted by ``(createdAt, id)`` (ids increase with
        ``createdAt``), ``clients`` keyed by id, ``skus``, ``tags`` (all 12 partner tags, one of
        them carried by no order), ``seed`` and ``net_cents`` (order id -> totalAmount in cents).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    now_ms = _to_ms(DEFAULT_NOW if now is None else now)
    # Millions of long-lived containers: the cyclic GC would only rescan them (about +45% time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(n, seed, now_ms)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(n: int, seed: int, now_ms: int) -> SandboxData:
    """The body of :func:`generate_dataset`."""
    rng = random.Random(seed)
    skus = _build_skus(rng)
    factory = _OrderFactory(rng, skus, now_ms)

    # Clients, and which client places each order (every client has at least one order).
    n_clients = min(n, max(1, round(CLIENTS_PER_ORDER * n))) if n else 0
    state_cum = _cum([s.weight for s in cat.STATES])
    drafts = [_ClientDraft(rng, state_cum) for _ in range(n_clients)]
    owner = list(range(n_clients))
    owner.extend(rng.randrange(n_clients) for _ in range(n - n_clients))
    rng.shuffle(owner)

    # Creation instants: a day by seasonal weight, a local hour by daily rhythm.
    last_day = now_ms // _MS_DAY
    first_day = last_day - HISTORY_DAYS
    start = date.fromordinal(_EPOCH_ORDINAL + first_day)
    day_cum = _cum(
        [
            _day_weight(start + timedelta(days=k), start, HISTORY_DAYS)
            for k in range(HISTORY_DAYS + 1)
        ]
    )
    hour_cum = _cum(cat.CREATION_HOUR_WEIGHTS)
    stamped: list[tuple[int, int, int]] = []
    for client_index in owner:
        zone = drafts[client_index].zone
        for _attempt in range(50):
            day = first_day + _draw(rng, day_cum)
            local_ms = (day * 86_400 + _draw(rng, hour_cum) * 3600) * 1000
            created = local_ms + rng.randrange(_MS_HOUR) - _noon_offset(zone, day) * 1000
            if created < now_ms:
                break
        else:  # pragma: no cover - only with an extreme `now`
            created = now_ms - 1 - rng.randrange(_MS_DAY)
            day = (created + _noon_offset(zone, created // _MS_DAY) * 1000) // _MS_DAY
        stamped.append((created, day, client_index))
    stamped.sort()

    # Orders in creation order; client ids in order of their first order.
    orders: list[Order] = []
    net_cents: dict[int, int] = {}
    client_ids: list[int] = [0] * n_clients
    clients: dict[int, Client] = {}
    follow: list[tuple[int, int]] = []
    next_order_id = FIRST_ORDER_ID
    next_client_id = FIRST_CLIENT_ID
    for created, day, client_index in stamped:
        draft = drafts[client_index]
        client_id = client_ids[client_index]
        repeat = client_id != 0
        if not repeat:
            client_id = client_ids[client_index] = next_client_id
            clients[client_id] = draft.to_client(client_id, len(clients) + 1, rng)
            next_client_id += 1 if rng.random() < 0.9 else 1 + rng.randrange(1, 4)
        order, net, follow_from = factory.build(
            next_order_id, created, day, client_id, draft, repeat
        )
        if follow_from != _NEVER:
            follow.append((len(orders), follow_from))
        orders.append(order)
        net_cents[next_order_id] = net
        next_order_id += 1 if rng.random() < 0.85 else 1 + rng.randrange(1, 5)

    _link_follow_ups(orders, stamped, follow)
    return SandboxData(
        orders=orders,
        clients=clients,
        skus=skus,
        tags=list(cat.ALL_TAGS),
        seed=seed,
        net_cents=net_cents,
    )


def _link_follow_ups(
    orders: list[Order], stamped: list[tuple[int, int, int]], follow: list[tuple[int, int]]
) -> None:
    """Link an incomplete (or rarely a completed) order to the same client's next order created
    after it ended: ``childFollowUp`` / ``parentFollowUp`` hold the other order's id as a string."""
    if not follow:
        return
    next_of: list[int] = [-1] * len(orders)
    latest: dict[int, int] = {}
    for index in range(len(orders) - 1, -1, -1):
        client_index = stamped[index][2]
        next_of[index] = latest.get(client_index, -1)
        latest[client_index] = index
    for index, not_before in follow:
        child = next_of[index]
        if child < 0 or stamped[child][0] < not_before or orders[child]["parentFollowUp"]:
            continue
        orders[index]["childFollowUp"] = str(orders[child]["id"])
        orders[child]["parentFollowUp"] = str(orders[index]["id"])


def generate_orders(n: int, seed: int = 0, *, now: datetime | None = None) -> list[Order]:
    """The orders of :func:`generate_dataset` (same arguments, same orders)."""
    return generate_dataset(n, seed, now=now).orders
