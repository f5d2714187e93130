"""Tests of the sandbox data generator: shape, determinism, money, statuses, time, tags."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ht_analytics._statuses import OPEN_STATUSES, TERMINAL_STATUSES, OrderStatus
from ht_analytics.sandbox._generate import (
    DEFAULT_NOW,
    format_money,
    generate_dataset,
    generate_orders,
    new_client,
    new_order,
)
from ht_analytics.sandbox._model import Order, SandboxData

EXAMPLE = Path(__file__).parent / "data" / "order.example.json"  # a copy of shared/api/

# The documented Order object (order.example.json), written out so that the test does not depend
# on the file; when the file is there it is compared with this too.
ORDER_KEYS = {
    "id": int,
    "token": str,
    "clientId": int,
    "clientName": str,
    "statusId": int,
    "progressStatusId": int,
    "createdAt": str,
    "remote": bool,
    "workflow": str,
    "hasPartner": bool,
    "partner": str,
    "clientZip": str,
    "appointmentStart": str,
    "appointmentStartDateTime": str,
    "startedAt": str,
    "completedAt": str,
    "standByTimes": list,
    "atRisk": bool,
    "hasAuthError": bool,
    "hasSetPassword": bool,
    "breakdown": dict,
    "childFollowUp": str,
    "parentFollowUp": str,
    "hasProducts": bool,
    "hasOnlyProducts": bool,
    "paymentSource": str,
    "timezone": str,
    "agent": str,
    "treatments": dict,
    "orderSummaryUrl": str,
}
NULLABLE = {
    "appointmentStart",
    "appointmentStartDateTime",
    "startedAt",
    "completedAt",
    "childFollowUp",
    "parentFollowUp",
    "agent",
}
BREAKDOWN_KEYS = {"services": list, "adjustments": list, "coupon": str, "totalAmount": str}
SERVICE_KEYS = {
    "id": int,
    "skuId": int,
    "name": str,
    "amount": str,
    "price": str,
    "originalAmount": str,
    "prepaid": str,
    "totalAmount": str,
    "originalTotalAmount": str,
    "adjustments": list,
    "physicalProduct": bool,
    "image": str,
    "quantity": int,
    "priceType": str,
    "estimatedDuration": str,
    "duration": str,
}
SERVICE_ADJUSTMENT_KEYS = {"name": str, "details": str, "amount": str, "originalAmount": str}
ORDER_ADJUSTMENT_KEYS = {
    "name": str,
    "amount": str,
    "originalAmount": str,
    "type": str,
    "explanation": str,
    "feeId": int,
    "version": int,
    "originalAmountFormatted": str,
}

MONEY = re.compile(r"^(-)?\$(\d{1,3}(?:,\d{3})*)\.(\d{2})$")
ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
STATE_ZONE = {
    "CA": "America/Los_Angeles",
    "WA": "America/Los_Angeles",
    "OR": "America/Los_Angeles",
    "NY": "America/New_York",
    "FL": "America/New_York",
    "MA": "America/New_York",
    "TX": "America/Chicago",
    "IL": "America/Chicago",
    "AZ": "America/Phoenix",
    "CO": "America/Denver",
    "HI": "Pacific/Honolulu",
    "MI": "America/Detroit",
}

S = OrderStatus
NEVER_STARTED = {
    S.PENDING,
    S.PENDING_APPROVAL,
    S.SEARCHING,
    S.MASTER_CLIENT_APPROVAL,
    S.PENDING_SHIPPING,
    S.LATE_TECH,
    S.CANCELLED,
    S.ABANDONED,
    S.CANCELLED_BY_GEEK,
    S.UNSERVICEABLE,
}
EARLY_CANCEL = {S.CANCELLED, S.CANCELLED_BY_GEEK, S.UNSERVICEABLE}


def money(text: str) -> Decimal:
    """Parse a "$1,234.50" / "-$5.00" string independently of the generator."""
    match = MONEY.match(text)
    assert match, f"not a money string: {text!r}"
    value = Decimal(match[2].replace(",", "") + "." + match[3])
    return -value if match[1] else value


def utc(text: str) -> datetime:
    """Parse an ISO-8601 UTC instant with milliseconds and Z."""
    assert ISO_UTC_MS.match(text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def data() -> SandboxData:
    """20,000 orders with the default seed and anchor."""
    return generate_dataset(20_000, seed=7)


@pytest.fixture(scope="module")
def orders(data: SandboxData) -> list[Order]:
    """The orders of the shared dataset."""
    return data.orders


def dump(data: SandboxData) -> str:
    """Everything the generator made, as JSON text."""
    return json.dumps(
        {
            "orders": data.orders,
            "clients": {str(k): v for k, v in data.clients.items()},
            "skus": data.skus,
            "tags": data.tags,
            "net": {str(k): v for k, v in data.net_cents.items()},
        },
        sort_keys=True,
    )


def check_types(obj: dict[str, Any], spec: dict[str, type], nullable: set[str], where: str) -> None:
    """Exactly the keys of ``spec``, each with its JSON type (bool is not an int here)."""
    assert set(obj) == set(spec), f"{where}: keys differ: {set(obj) ^ set(spec)}"
    for key, kind in spec.items():
        value = obj[key]
        if value is None:
            assert key in nullable, f"{where}.{key} is null"
            continue
        assert type(value) is kind, f"{where}.{key}: {type(value).__name__}, want {kind.__name__}"


# ------------------------------------------------------------------------------------- tests


def test_same_arguments_give_identical_output() -> None:
    """Same (n, seed, now) -> identical JSON; another seed -> different data."""
    first = generate_dataset(800, seed=3)
    again = generate_dataset(800, seed=3)
    other = generate_dataset(800, seed=4)
    assert dump(first) == dump(again)
    assert dump(first) != dump(other)
    assert [o["token"] for o in first.orders] != [o["token"] for o in other.orders]


def test_generate_orders_is_dataset_orders() -> None:
    """generate_orders returns the orders of generate_dataset for the same arguments."""
    now = datetime(2025, 6, 15, 12, tzinfo=UTC)
    assert json.dumps(generate_orders(300, 5, now=now)) == json.dumps(
        generate_dataset(300, 5, now=now).orders
    )


def test_embedded_keys_match_the_documented_example() -> None:
    """The key lists embedded here are those of the documented order.example.json."""
    example = json.loads(EXAMPLE.read_text())
    assert list(example) == list(ORDER_KEYS)
    assert len(example) == 30
    breakdown = example["breakdown"]
    assert set(breakdown) == set(BREAKDOWN_KEYS)
    assert set(breakdown["services"][0]) == set(SERVICE_KEYS)
    assert set(breakdown["services"][0]["adjustments"][0]) == set(SERVICE_ADJUSTMENT_KEYS)
    assert set(breakdown["adjustments"][0]) == set(ORDER_ADJUSTMENT_KEYS)
    for key, kind in ORDER_KEYS.items():
        assert type(example[key]) is kind, key


def test_every_order_has_the_documented_keys_and_types(orders: list[Order]) -> None:
    """Each order: the 30 documented keys + tags, with their JSON types, nested ones too."""
    assert len(orders) == 20_000
    for order in orders:
        where = f"order {order['id']}"
        tags = order.pop("tags")
        try:
            check_types(order, ORDER_KEYS, NULLABLE, where)
        finally:
            order["tags"] = tags
        assert isinstance(tags, list)
        assert all(isinstance(t, str) for t in tags)
        breakdown = order["breakdown"]
        check_types(breakdown, BREAKDOWN_KEYS, {"coupon"}, where + ".breakdown")
        assert 1 <= len(breakdown["services"]) <= 3
        for service in breakdown["services"]:
            check_types(service, SERVICE_KEYS, set(), where + ".service")
            for adj in service["adjustments"]:
                check_types(adj, SERVICE_ADJUSTMENT_KEYS, set(), where + ".service.adjustment")
        for adj in breakdown["adjustments"]:
            check_types(adj, ORDER_ADJUSTMENT_KEYS, {"feeId"}, where + ".adjustment")
        for period in order["standByTimes"]:
            assert set(period) == {"start", "end"}
        assert order["treatments"] == {}
        assert order["hasPartner"] is True
        assert re.fullmatch(r"[0-9a-f]{32}", order["token"])
        assert order["orderSummaryUrl"] == (
            f"https://www.hellotech.com/orders/{order['token']}/summary"
        )
        assert order["workflow"] == ("remote" if order["remote"] else "standard")
        assert order["paymentSource"] in {"partner", "client"}
        assert ISO_UTC_MS.match(order["createdAt"])


def test_money_strings_add_up_exactly(data: SandboxData) -> None:
    """Recomputed from the strings with Decimal: every line and total, equal to net_cents."""
    skus = {sku["id"]: sku for sku in data.skus}
    assert set(data.net_cents) == {o["id"] for o in data.orders}
    for order in data.orders:
        breakdown = order["breakdown"]
        services_total = Decimal(0)
        for service in breakdown["services"]:
            price = money(service["price"])
            assert price == money(skus[service["skuId"]]["price"])
            assert service["name"] == skus[service["skuId"]]["name"]
            assert 1 <= service["quantity"] <= 3
            original = money(service["originalAmount"])
            assert original == price * service["quantity"]
            assert money(service["originalTotalAmount"]) == original
            adjusted = sum((money(a["amount"]) for a in service["adjustments"]), Decimal(0))
            amount = money(service["amount"])
            assert amount == original + adjusted
            assert amount >= 0
            prepaid = money(service["prepaid"])
            assert 0 <= prepaid <= amount
            assert money(service["totalAmount"]) == amount - prepaid
            services_total += amount - prepaid
        order_adjusted = Decimal(0)
        coupons = []
        for adj in breakdown["adjustments"]:
            amount = money(adj["amount"])
            assert adj["originalAmountFormatted"] == adj["originalAmount"]
            nominal = money(adj["originalAmount"])
            if adj["type"] == "fee":
                assert isinstance(adj["feeId"], int)
                assert amount == nominal > 0
            else:
                assert adj["type"] in {"discount", "coupon"}
                assert adj["feeId"] is None
                assert nominal <= amount <= 0  # a capped discount applies less than nominal
            if adj["type"] == "coupon":
                coupons.append(adj)
            order_adjusted += amount
        total = money(breakdown["totalAmount"])
        assert total == services_total + order_adjusted, order["id"]
        assert total >= 0
        assert total * 100 == data.net_cents[order["id"]]
        if breakdown["coupon"] is None:
            assert not coupons
        else:
            assert len(coupons) == 1
            assert breakdown["coupon"] in coupons[0]["name"]
    coupon_share = sum(o["breakdown"]["coupon"] is not None for o in data.orders) / len(data.orders)
    assert 0.05 < coupon_share < 0.15


def test_format_money() -> None:
    """Dollar strings with a sign, thousands separators and two decimals."""
    assert format_money(0) == "$0.00"
    assert format_money(5) == "$0.05"
    assert format_money(-500) == "-$5.00"
    assert format_money(9999) == "$99.99"
    assert format_money(123450) == "$1,234.50"
    assert format_money(-123456789) == "-$1,234,567.89"
    for cents in random.Random(1).sample(range(-(10**9), 10**9), 500):
        assert money(format_money(cents)) * 100 == cents


def test_statuses_agree_with_start_and_completion(data: SandboxData) -> None:
    """startedAt/completedAt/standByTimes as each status requires, nothing after now."""
    now = DEFAULT_NOW
    for order in data.orders:
        status = S(order["statusId"])
        created = utc(order["createdAt"])
        assert created < now
        started = utc(order["startedAt"]) if order["startedAt"] else None
        completed = utc(order["completedAt"]) if order["completedAt"] else None
        where = f"{order['id']} {status.name}"
        if status in (S.COMPLETED, S.PAID):
            assert started is not None, where
            assert completed is not None, where
        elif status in NEVER_STARTED:
            assert started is None, where
            assert completed is None, where
        else:  # ASSIGNED (maybe in progress), PAUSED, READY_TO_RESUME, INCOMPLETE
            assert completed is None, where
            if status in (S.READY_TO_RESUME, S.INCOMPLETE):
                assert started is not None, where
        if started is not None:
            assert created < started <= now, where
            appointment = datetime.fromisoformat(order["appointmentStartDateTime"])
            lateness = started - appointment
            assert timedelta(minutes=-30) <= lateness <= timedelta(minutes=90), where
        if completed is not None:
            assert started is not None
            assert started < completed <= now, where
            if not order["standByTimes"]:
                assert timedelta(minutes=30) <= completed - started <= timedelta(hours=4), where
        periods = order["standByTimes"]
        for period in periods:
            start = utc(period["start"])
            assert created < start <= now, where
            if period["end"] is not None:
                assert start < utc(period["end"]) <= now, where
        open_periods = [p for p in periods if p["end"] is None]
        if status == S.PAUSED:
            assert len(open_periods) == 1, where
        else:
            assert not open_periods, where
        if status == S.READY_TO_RESUME:
            assert periods, where
        if status == S.COMPLETED or status == S.PAID:
            assert order["progressStatusId"] == (6 if status == S.PAID else 5)


def test_status_mix_follows_age(data: SandboxData) -> None:
    """Future appointments are open (or cancelled early); old orders are mostly PAID/COMPLETED."""
    now = DEFAULT_NOW
    old: Counter[OrderStatus] = Counter()
    future: Counter[OrderStatus] = Counter()
    for order in data.orders:
        status = S(order["statusId"])
        if order["appointmentStartDateTime"] is None:
            if utc(order["createdAt"]) < now - timedelta(days=30):
                assert status.is_terminal, order["id"]
            continue
        appointment = datetime.fromisoformat(order["appointmentStartDateTime"])
        if appointment > now:
            future[status] += 1
            assert status in OPEN_STATUSES or status in EARLY_CANCEL, status
        elif appointment < now - timedelta(days=30):
            old[status] += 1
    assert sum(future[s] for s in EARLY_CANCEL) < 0.2 * sum(future.values())
    assert future[S.ASSIGNED] > 0
    assert future[S.SEARCHING] > 0
    total_old = sum(old.values())
    assert (old[S.PAID] + old[S.COMPLETED]) / total_old > 0.75
    assert old[S.PAID] > old[S.COMPLETED]
    for cancelled in (S.CANCELLED, S.ABANDONED, S.CANCELLED_BY_GEEK, S.UNSERVICEABLE):
        assert sum(1 for o in data.orders if o["statusId"] == cancelled) > 0, cancelled.name


def test_at_risk_only_on_open_orders(data: SandboxData) -> None:
    """atRisk is never set on a terminal order, and is set on some open ones."""
    at_risk_open = 0
    for order in data.orders:
        status = S(order["statusId"])
        if status in TERMINAL_STATUSES:
            assert order["atRisk"] is False, order["id"]
        elif order["atRisk"]:
            at_risk_open += 1
    assert at_risk_open > 0
    auth = sum(o["hasAuthError"] for o in data.orders) / len(data.orders)
    assert 0.003 < auth < 0.03


def test_appointments_are_local_daytime_in_the_order_zone(data: SandboxData) -> None:
    """Local 08:00-19:30 on the half hour, same instant with offset, 1-14 days after creation."""
    with_appointment = 0
    for order in data.orders:
        local_text = order["appointmentStart"]
        offset_text = order["appointmentStartDateTime"]
        assert (local_text is None) == (offset_text is None)
        client = data.clients[order["clientId"]]
        assert order["timezone"] == STATE_ZONE.get(client["address"]["state"], order["timezone"])
        zone = ZoneInfo(order["timezone"])
        if local_text is None:
            continue
        with_appointment += 1
        assert LOCAL.match(local_text), local_text
        assert WITH_OFFSET.match(offset_text), offset_text
        local = datetime.fromisoformat(local_text)
        assert (local.hour, local.minute) >= (8, 0)
        assert (local.hour, local.minute) <= (19, 30)
        assert local.minute in (0, 30)
        assert local.second == 0
        aware = datetime.fromisoformat(offset_text)
        assert aware.replace(tzinfo=None) == local
        localized = local.replace(tzinfo=zone)
        assert aware == localized
        assert aware.utcoffset() == localized.utcoffset()
        created_local = utc(order["createdAt"]).astimezone(zone)
        assert 1 <= (local.date() - created_local.date()).days <= 14
    assert with_appointment > 0.9 * len(data.orders)
    pending = [o for o in data.orders if o["statusId"] in (S.PENDING, S.PENDING_APPROVAL)]
    assert all(o["appointmentStart"] is None for o in pending)


def test_ids_unique_and_increasing_with_creation(data: SandboxData) -> None:
    """Order ids unique, increasing along (createdAt, id) order; clients match their orders."""
    ids = [o["id"] for o in data.orders]
    assert ids == sorted(set(ids))
    assert ids[0] >= 100_000
    created = [o["createdAt"] for o in data.orders]
    assert created == sorted(created)
    span = utc(created[-1]) - utc(created[0])
    assert timedelta(days=700) < span < timedelta(days=731)
    service_ids = [s["id"] for o in data.orders for s in o["breakdown"]["services"]]
    assert len(service_ids) == len(set(service_ids))
    for order in data.orders:
        client = data.clients[order["clientId"]]
        assert order["clientName"] == f"{client['first_name']} {client['last_name']}"
        assert order["clientZip"] == client["address"]["zip"]
    share = len(data.clients) / len(data.orders)
    assert 0.5 < share < 0.7
    assert {o["clientId"] for o in data.orders} == set(data.clients)


def test_follow_up_links_point_both_ways(data: SandboxData) -> None:
    """childFollowUp/parentFollowUp name each other, same client, child created later."""
    by_id = {o["id"]: o for o in data.orders}
    links = 0
    for order in data.orders:
        if order["childFollowUp"] is not None:
            links += 1
            child = by_id[int(order["childFollowUp"])]
            assert child["parentFollowUp"] == str(order["id"])
            assert child["clientId"] == order["clientId"]
            assert child["createdAt"] > order["createdAt"]
        if order["parentFollowUp"] is not None:
            assert by_id[int(order["parentFollowUp"])]["childFollowUp"] == str(order["id"])
    assert links > 0


def test_tags_zero_to_three_of_the_partner_tags(data: SandboxData) -> None:
    """0-3 distinct known tags per order; the partner's list has one tag no order uses."""
    assert 10 <= len(data.tags) <= 14
    assert len(set(data.tags)) == len(data.tags)
    counts: Counter[int] = Counter()
    used: Counter[str] = Counter()
    for order in data.orders:
        tags = order["tags"]
        assert len(tags) == len(set(tags)) <= 3
        assert set(tags) <= set(data.tags)
        counts[len(tags)] += 1
        used.update(tags)
    assert set(counts) == {0, 1, 2, 3}
    unused = set(data.tags) - set(used)
    assert unused == {"campaign_unused"}


def test_seasonality_and_weekly_rhythm(data: SandboxData) -> None:
    """More orders per month in Nov+Dec than in Jun+Jul; fewer on Sundays (local time)."""
    months: Counter[int] = Counter()
    month_spans: Counter[int] = Counter()
    weekdays: Counter[int] = Counter()
    for order in data.orders:
        local = utc(order["createdAt"]).astimezone(ZoneInfo(order["timezone"]))
        months[local.month] += 1
        weekdays[local.weekday()] += 1
    for month in range(1, 13):  # how many times each month occurs in the 2-year window
        month_spans[month] = 2
    winter = (months[11] + months[12]) / (month_spans[11] + month_spans[12])
    summer = (months[6] + months[7]) / (month_spans[6] + month_spans[7])
    assert winter > 1.3 * summer
    weekday_mean = sum(weekdays[d] for d in range(6)) / 6
    assert weekdays[6] < 0.8 * weekday_mean


def test_catalogue_and_clients_look_real(data: SandboxData) -> None:
    """~40 SKUs in categories with money prices and ZIP prefixes; clients as documented."""
    assert 35 <= len(data.skus) <= 50
    assert len({s["category"] for s in data.skus}) >= 7
    assert any(s["remote"] for s in data.skus)
    for sku in data.skus:
        assert set(sku) == {"id", "name", "category", "price", "remote", "zips"}
        assert sku["id"] >= 10_000
        assert money(sku["price"]) > 0
        assert sku["zips"]
        assert all(re.fullmatch(r"\d{3}", z) for z in sku["zips"])
    mounting = next(s for s in data.skus if s["name"].startswith("TV Mounting (up to 55"))
    assert mounting["price"] == "$99.99"
    for client in list(data.clients.values())[:2000]:
        assert set(client) == {
            "id",
            "external_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "full_address",
            "address",
            "authentication_token",
        }
        assert re.fullmatch(r"EXT-\d{6}", client["external_id"])
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org)", client["email"])
        assert re.fullmatch(r"\d{3}555\d{4}", client["phone"])
        assert re.fullmatch(r"[0-9a-f]{40}", client["authentication_token"])
        address = client["address"]
        assert client["full_address"] == (
            f"{address['street']}, {address['city']}, {address['state']} {address['zip']}"
        )
    emails = [c["email"] for c in data.clients.values()]
    assert len(emails) == len(set(emails))


def test_orders_use_skus_available_at_their_zip(data: SandboxData) -> None:
    """Every service's SKU is available at the order's ZIP prefix; remote = all SKUs remote."""
    skus = {sku["id"]: sku for sku in data.skus}
    for order in data.orders[:5000]:
        lines = [skus[s["skuId"]] for s in order["breakdown"]["services"]]
        assert all(order["clientZip"][:3] in sku["zips"] for sku in lines)
        assert order["remote"] == all(sku["remote"] for sku in lines)
        products = [s["physicalProduct"] for s in order["breakdown"]["services"]]
        assert order["hasProducts"] == any(products)
        assert order["hasOnlyProducts"] == all(products)


def test_now_moves_the_window() -> None:
    """Orders are created in the 730 days before `now`, with statuses as of `now`."""
    now = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)
    data = generate_dataset(2000, seed=1, now=now)
    for order in data.orders:
        created = utc(order["createdAt"])
        assert now - timedelta(days=731) < created < now
        for key in ("startedAt", "completedAt"):
            if order[key]:
                assert utc(order[key]) <= now


def test_small_sizes() -> None:
    """n=0 gives no orders and no clients but the catalogue; n=1 one order and one client."""
    empty = generate_dataset(0)
    assert empty.orders == []
    assert empty.clients == {}
    assert empty.skus
    assert empty.tags
    one = generate_dataset(1, seed=9)
    assert len(one.orders) == 1
    assert len(one.clients) == 1
    with pytest.raises(ValueError, match="n must be"):
        generate_dataset(-1)


def test_new_order_is_searching_consistent_and_last(data: SandboxData) -> None:
    """new_order: SEARCHING, new largest id, money consistent, net_cents and list updated."""
    copy = generate_dataset(200, seed=2)
    before = max(o["id"] for o in copy.orders)
    last_created = copy.orders[-1]["createdAt"]
    client_id = next(iter(copy.clients))
    order = new_order(
        copy,
        client_id=client_id,
        sku_ids=[10639, 10639, 10902],
        devices=['LG 65" OLED TV', 'Sony 75" Bravia', "Ring Video Doorbell"],
        created_at=datetime(2020, 1, 1, tzinfo=UTC),  # too early: moved after the last order
        rng=random.Random(1),
    )
    assert order is copy.orders[-1]
    assert order["id"] > before
    assert order["createdAt"] > last_created
    assert order["statusId"] == S.SEARCHING
    assert order["appointmentStart"] is None
    assert order["startedAt"] is None
    assert order["completedAt"] is None
    tags = order.pop("tags")
    check_types(order, ORDER_KEYS, NULLABLE, "new order")
    order["tags"] = tags
    services = order["breakdown"]["services"]
    assert [(s["skuId"], s["quantity"]) for s in services] == [(10639, 2), (10902, 1)]
    assert money(services[0]["amount"]) == Decimal("199.98") + Decimal("40.00")
    total = sum((money(s["totalAmount"]) for s in services), Decimal(0))
    assert money(order["breakdown"]["totalAmount"]) == total
    assert copy.net_cents[order["id"]] == total * 100
    ids = [s["id"] for o in copy.orders for s in o["breakdown"]["services"]]
    assert len(ids) == len(set(ids))

    scheduled = new_order(
        copy,
        client_id=client_id,
        sku_ids=[10801],
        appointment_start=datetime(2026, 11, 5, 17, 0, tzinfo=UTC),
    )
    zone = ZoneInfo(scheduled["timezone"])
    local = datetime.fromisoformat(scheduled["appointmentStart"])
    assert local.replace(tzinfo=zone) == datetime(2026, 11, 5, 17, 0, tzinfo=UTC)
    assert datetime.fromisoformat(scheduled["appointmentStartDateTime"]) == local.replace(
        tzinfo=zone
    )
    assert scheduled["id"] > order["id"]

    with pytest.raises(ValueError, match="unknown sku_id"):
        new_order(copy, client_id=client_id, sku_ids=[1])
    with pytest.raises(ValueError, match="at least one"):
        new_order(copy, client_id=client_id, sku_ids=[])
    with pytest.raises(KeyError):
        new_order(copy, client_id=-5, sku_ids=[10639])


def test_new_client_gets_a_new_id_and_a_token() -> None:
    """new_client: new largest id, 40-hex token, address parsed, email required."""
    data = generate_dataset(50, seed=4)
    client = new_client(
        data,
        {
            "external_id": "PO-77",
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "jane.doe@example.com",
            "full_address": "719 Flower St, Los Angeles, CA 90017",
            "phone": "(310) 555-0123",
        },
    )
    assert client["id"] > max(k for k in data.clients if k != client["id"])
    assert data.clients[client["id"]] is client
    assert re.fullmatch(r"[0-9a-f]{40}", client["authentication_token"])
    assert client["phone"] == "3105550123"
    assert client["address"] == {
        "city": "Los Angeles",
        "state": "CA",
        "zip": "90017",
        "street": "719 Flower St",
    }
    order = new_order(data, client_id=client["id"], sku_ids=[10639])
    assert order["timezone"] == "America/Los_Angeles"
    assert order["clientZip"] == "90017"
    assert order["clientName"] == "Jane Doe"
    with pytest.raises(ValueError, match="email"):
        new_client(data, {"first_name": "No", "last_name": "Mail"})
