"""The sandbox app: every endpoint, filters, keyset paging, flavours, over real loopback HTTP."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ht_analytics._statuses import OrderStatus
from ht_analytics.sandbox import SandboxData, SandboxServer, generate_dataset
from ht_analytics.sandbox._generate import ORDER_KEYS

DATA_DIR = Path(__file__).parent / "data"
ORDERS = "/api/partners/orders"
KEY = "sandbox-test-key"
Order = dict[str, Any]


# ------------------------------------------------------------------------------- helpers


def parse(value: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def created_key(order: Order) -> tuple[datetime, int]:
    """The documented created_at sort key."""
    return parse(order["createdAt"]), order["id"]


def appointment_key(order: Order) -> tuple[int, datetime, int]:
    """The sandbox's appointment sort key: orders without one last."""
    value = order.get("appointmentStartDateTime")
    if value is None:
        return 1, datetime.min.replace(tzinfo=UTC), order["id"]
    return 0, parse(value), order["id"]


def expected_ids(
    orders: list[Order],
    match: Callable[[Order], bool] = lambda o: True,
    *,
    order_by: str = "created_at",
    descending: bool = False,
) -> list[int]:
    """Ids of the matching orders in the documented order, computed directly."""
    key = created_key if order_by == "created_at" else appointment_key
    ids = [o["id"] for o in sorted((o for o in orders if match(o)), key=key)]
    return ids[::-1] if descending else ids


Params = list[tuple[str, str | int | float | bool | None]]


def fetch_all(client: httpx.Client, params: Params, limit: int) -> list[int]:
    """Page through GET /orders, checking every page's cursor; return the ids in order."""
    ids: list[int] = []
    cursor: int | None = None
    for _ in range(100_000):
        query: Params = [*params, ("limit", str(limit))]
        if cursor is not None:
            query.append(("cursor", str(cursor)))
        response = client.get(ORDERS, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        page = [o["id"] for o in body["orders"]]
        cursor = body["next_cursor"]
        ids += page
        if cursor is None:
            return ids
        assert page
        assert cursor == page[-1]
        assert len(page) == min(limit, 500)
    raise AssertionError("paging did not end")


def utc_day(order: Order) -> str:
    """The UTC calendar date of createdAt as MM-DD-YYYY."""
    return parse(order["createdAt"]).strftime("%m-%d-%Y")


def hand_order(order_id: int, created: str, **fields: Any) -> Order:
    """An order shaped like order.example.json (all 30 fields) plus tags."""
    order: Order = json.loads((DATA_DIR / "order.example.json").read_text())
    order.update(
        id=order_id,
        token=f"tok{order_id}",
        clientId=1,
        statusId=1,
        createdAt=created,
        appointmentStart=None,
        appointmentStartDateTime=None,
        startedAt=None,
        completedAt=None,
        timezone="America/Los_Angeles",
        tags=[],
    )
    order.update(fields)
    return order


def hand_data() -> SandboxData:
    """Orders with createdAt ties, missing appointments and an unsorted list."""
    client = {
        "id": 1,
        "external_id": "EXT-1",
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@example.com",
        "phone": "3105550123",
        "full_address": "123 Main St, Los Angeles, CA 90001",
        "address": {"city": "Los Angeles", "state": "CA", "zip": "90001", "street": "123 Main St"},
        "authentication_token": "f" * 40,
    }
    orders = [
        hand_order(
            30, "2025-01-02T10:00:00.000Z", appointmentStartDateTime="2025-01-05T09:00:00-08:00"
        ),
        hand_order(10, "2025-01-02T10:00:00.000Z", tags=["a"]),
        hand_order(
            20, "2025-01-02T10:00:00.000Z", appointmentStartDateTime="2025-01-04T09:00:00-08:00"
        ),
        hand_order(5, "2025-01-03T23:59:59.999Z", tags=["a", "b"], statusId=3),
        hand_order(
            40, "2025-01-01T00:00:00.000Z", appointmentStartDateTime="2025-01-04T09:00:00-08:00"
        ),
        hand_order(50, "2025-01-04T00:00:00.000Z", tags=["b"], statusId=5, clientId=2),
    ]
    return SandboxData(orders=orders, clients={1: client}, skus=[], tags=["a", "b", "c"])


@contextmanager
def serving(data: SandboxData, **options: Any) -> Iterator[httpx.Client]:
    """A client of a sandbox of its own serving ``data``."""
    with (
        SandboxServer(data, api_key=KEY, **options) as srv,
        httpx.Client(base_url=srv.url, headers={"Api-Key": KEY}, timeout=30) as c,
    ):
        yield c


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A read-only sandbox of 1,500 generated orders over real loopback HTTP."""
    with SandboxServer(orders=1_500, seed=7, api_key=KEY) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx client of the shared sandbox, with the key."""
    with httpx.Client(base_url=server.url, headers={"Api-Key": KEY}, timeout=30) as c:
        yield c


@pytest.fixture
def fresh() -> Iterator[tuple[SandboxServer, httpx.Client]]:
    """A small sandbox of its own, for tests that change data."""
    with (
        SandboxServer(orders=120, seed=3, api_key=KEY) as srv,
        httpx.Client(base_url=srv.url, headers={"Api-Key": KEY}, timeout=30) as c,
    ):
        yield srv, c


# ------------------------------------------------------------------------ list and paging


def test_curl_equivalent_two_camel_orders(server: SandboxServer, client: httpx.Client) -> None:
    """GET /orders?limit=2 returns 2 camelCase orders (30 documented keys) and a next_cursor."""
    body = client.get(f"{ORDERS}?limit=2").json()
    assert body["status"] == "success"
    assert len(body["orders"]) == 2
    assert all(list(o) == list(ORDER_KEYS) for o in body["orders"])
    assert body["next_cursor"] == body["orders"][1]["id"]
    first_two = expected_ids(server.data.orders)[:2]
    assert [o["id"] for o in body["orders"]] == first_two


def test_default_limit_and_clamp(client: httpx.Client) -> None:
    """limit defaults to 100; values above 500 are served as 500."""
    assert len(client.get(ORDERS).json()["orders"]) == 100
    assert len(client.get(ORDERS, params={"limit": 10_000}).json()["orders"]) == 500


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", ""])
def test_bad_limit_is_400(client: httpx.Client, limit: str) -> None:
    """A limit that is not an integer >= 1 is a 400 naming the field."""
    response = client.get(ORDERS, params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert "limit" in {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("order_by", "sort", "limit"),
    [
        ("created_at", "ASC", 7),
        ("created_at", "DESC", 100),
        ("created_at", "asc", 500),
        ("appointment", "ASC", 64),
        ("appointment", "DESC", 7),
        ("appointment", "Desc", 1000),
    ],
)
def test_paging_visits_every_order_once_in_order(
    server: SandboxServer, client: httpx.Client, order_by: str, sort: str, limit: int
) -> None:
    """Both sort keys and directions page through all orders exactly once, in the right order."""
    got = fetch_all(client, [("order_by", order_by), ("sort", sort)], limit)
    want = expected_ids(server.data.orders, order_by=order_by, descending=sort.upper() == "DESC")
    assert got == want
    assert len(set(got)) == len(server.data.orders)


def _filters(data: SandboxData) -> list[tuple[str, Params, Callable[[Order], bool]]]:
    """Filter cases: (name, query, direct predicate)."""
    orders = sorted(data.orders, key=created_key)
    low, high = utc_day(orders[300]), utc_day(orders[700])
    by_client: dict[int, int] = {}
    for o in data.orders:
        by_client[o["clientId"]] = by_client.get(o["clientId"], 0) + 1
    regular = max(by_client, key=lambda c: by_client[c])

    def in_window(o: Order) -> bool:
        day = parse(o["createdAt"]).date()
        return (
            datetime.strptime(low, "%m-%d-%Y").date()
            <= day
            <= datetime.strptime(high, "%m-%d-%Y").date()
        )

    return [
        ("tag", [("tags[]", "channel_phone")], lambda o: "channel_phone" in o["tags"]),
        (
            "any-of-tags",
            [("tags[]", "store_0412"), ("tags[]", "campaign_holiday")],
            lambda o: bool({"store_0412", "campaign_holiday"} & set(o["tags"])),
        ),
        ("unused-tag", [("tags[]", "campaign_unused")], lambda o: False),
        ("dates", [("from", low), ("to", high)], in_window),
        (
            "from-only",
            [("from", high)],
            lambda o: (
                parse(o["createdAt"]).strftime("%Y%m%d")
                >= datetime.strptime(high, "%m-%d-%Y").strftime("%Y%m%d")
            ),
        ),
        ("client", [("client_id", str(regular))], lambda o: o["clientId"] == regular),
        ("status", [("status", "3")], lambda o: o["statusId"] == 3),
        ("status[]", [("status[]", "1"), ("status[]", "13")], lambda o: o["statusId"] in (1, 13)),
        ("status-csv", [("status", "3,5")], lambda o: o["statusId"] in (3, 5)),
        (
            "combined",
            [("tags[]", "channel_web"), ("status[]", "5"), ("from", low), ("to", high)],
            lambda o: "channel_web" in o["tags"] and o["statusId"] == 5 and in_window(o),
        ),
    ]


@pytest.mark.parametrize("case", range(10))
@pytest.mark.parametrize("order_by", ["created_at", "appointment"])
def test_each_filter_returns_exactly_the_right_set(
    server: SandboxServer, client: httpx.Client, case: int, order_by: str
) -> None:
    """Every list filter returns exactly the orders a direct Python filter selects, in order."""
    name, query, match = _filters(server.data)[case]
    for sort in ("ASC", "DESC"):
        got = fetch_all(client, [*query, ("order_by", order_by), ("sort", sort)], 37)
        want = expected_ids(server.data.orders, match, order_by=order_by, descending=sort == "DESC")
        assert got == want, name
    if name != "unused-tag":
        assert want, f"{name}: the case should select something"


def test_ties_and_missing_appointments_page_consistently() -> None:
    """Equal createdAt sorts by id; orders without appointment go last in ASC, first in DESC."""
    with serving(hand_data()) as tc:
        assert fetch_all(tc, [], 2) == [40, 10, 20, 30, 5, 50]
        assert fetch_all(tc, [("sort", "DESC")], 4) == [50, 5, 30, 20, 10, 40]
        assert fetch_all(tc, [("order_by", "appointment")], 1) == [20, 40, 30, 5, 10, 50]
        assert fetch_all(tc, [("order_by", "appointment"), ("sort", "DESC")], 3) == [
            50,
            10,
            5,
            30,
            40,
            20,
        ]
        # from/to are inclusive UTC dates; the last millisecond of a day belongs to it
        assert fetch_all(tc, [("from", "01-03-2025"), ("to", "01-03-2025")], 5) == [5]
        assert fetch_all(tc, [("tags[]", "a"), ("tags[]", "b")], 1) == [10, 5, 50]
        assert fetch_all(tc, [("client_id", "2")], 5) == [50]
        # a cursor whose order does not match the filter still marks the position
        body = tc.get(ORDERS, params={"tags[]": "b", "cursor": "10"}).json()
        assert [o["id"] for o in body["orders"]] == [5, 50]


def test_cursor_errors(client: httpx.Client) -> None:
    """An unknown or non-integer cursor is a 400; the last page has a null next_cursor."""
    assert client.get(ORDERS, params={"cursor": 1}).status_code == 400
    assert client.get(ORDERS, params={"cursor": "x"}).status_code == 400
    last = client.get(ORDERS, params={"sort": "DESC", "limit": 1}).json()["orders"][0]["id"]
    body = client.get(ORDERS, params={"cursor": last}).json()
    assert body == {"status": "success", "orders": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"order_by": "price"}, "order_by"),
        ({"sort": "up"}, "sort"),
        ({"from": "2024-09-25"}, "from"),
        ({"to": "9-25-2024"}, "to"),
        ({"from": "13-01-2024"}, "from"),
        ({"status": "99"}, "status"),
        ({"status[]": "x"}, "status"),
        ({"client_id": "abc"}, "client_id"),
        ({"tags": "channel_web"}, "tags"),
        ({"page": "2"}, "page"),
    ],
)
def test_bad_list_parameters_are_400(
    client: httpx.Client, params: dict[str, str], field: str
) -> None:
    """Invalid or unknown query parameters are a 400 whose errors name the parameter."""
    response = client.get(ORDERS, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["message"]
    assert field in {e["field"] for e in body["errors"]}


# ------------------------------------------------------------------------- single order


def test_get_order_and_not_found(server: SandboxServer, client: httpx.Client) -> None:
    """GET /orders/{id} returns the stored order without tags; unknown or bad ids are 404 JSON."""
    stored = server.data.orders[17]
    body = client.get(f"{ORDERS}/{stored['id']}").json()
    assert body["status"] == "success"
    assert body["order"] == {k: v for k, v in stored.items() if k != "tags"}
    for bad in ("1", "abc", "-5"):
        response = client.get(f"{ORDERS}/{bad}")
        assert response.status_code == 404
        assert response.json()["status"] == "error"


# ------------------------------------------------------------------------- count by tag


def test_count_by_tag_equals_a_direct_count(server: SandboxServer, client: httpx.Client) -> None:
    """Counts equal direct counts, also within dates and statuses; every requested tag is there."""
    tags = [*server.data.tags, "no_such_tag"]
    body = client.get(f"{ORDERS}/count_by_tag", params=[("tags[]", t) for t in tags]).json()
    assert body["status"] == "success"
    assert body["counts"] == {t: sum(t in o["tags"] for o in server.data.orders) for t in tags}
    assert body["counts"]["campaign_unused"] == 0
    orders = sorted(server.data.orders, key=created_key)
    low, high = utc_day(orders[100]), utc_day(orders[900])
    params: Params = [
        ("tags[]", "channel_web"),
        ("tags[]", "store_0587"),
        ("from", low),
        ("to", high),
    ]
    params += [("status[]", "3"), ("status[]", "5")]
    got = client.get(f"{ORDERS}/count_by_tag", params=params).json()["counts"]
    lo, hi = datetime.strptime(low, "%m-%d-%Y").date(), datetime.strptime(high, "%m-%d-%Y").date()
    for tag in ("channel_web", "store_0587"):
        want = sum(
            tag in o["tags"]
            and o["statusId"] in (3, 5)
            and lo <= parse(o["createdAt"]).date() <= hi
            for o in server.data.orders
        )
        assert got[tag] == want > 0


def test_count_by_tag_needs_tags(client: httpx.Client) -> None:
    """count_by_tag without tags[] (or with an unknown parameter) is a 400."""
    assert client.get(f"{ORDERS}/count_by_tag").status_code == 400
    response = client.get(f"{ORDERS}/count_by_tag", params={"tags[]": "x", "limit": "5"})
    assert response.status_code == 400


# ---------------------------------------------------------------------------------- auth


ENDPOINTS = [
    ("GET", ORDERS),
    ("GET", f"{ORDERS}/100001"),
    ("GET", f"{ORDERS}/count_by_tag?tags[]=a"),
    ("POST", ORDERS),
    ("POST", "/api/partners/clients"),
    ("GET", "/api/partners/clients/50001"),
    ("PUT", "/api/partners/clients/50001"),
    ("POST", "/api/partners/clients/50001/setup_intent"),
    ("POST", "/api/partners/clients/50001/ephemeral_key"),
    ("GET", "/api/partners/skus"),
    ("POST", "/api/partners/skus/10639/check_zip"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_the_key(server: SandboxServer, method: str, path: str) -> None:
    """Missing key -> 401; wrong key -> 401 "Invalid API key", never echoing the key."""
    with httpx.Client(base_url=server.url) as anonymous:
        missing = anonymous.request(method, path, json={})
        wrong = anonymous.request(method, path, json={}, headers={"Api-Key": "guess-XYZ-123"})
    assert missing.status_code == 401
    assert missing.json()["status"] == "error"
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Invalid API key"
    assert "guess-XYZ-123" not in wrong.text
    assert KEY not in wrong.text


def test_unknown_route_and_method(client: httpx.Client) -> None:
    """Unknown routes are a 404 and wrong methods a 405, both with the JSON error body."""
    response = client.get("/api/partners/invoices")
    assert response.status_code == 404
    assert response.json()["status"] == "error"
    response = client.delete(ORDERS)
    assert response.status_code == 405
    assert response.json()["status"] == "error"


# --------------------------------------------------------------------------- create order


def order_request(**changes: Any) -> dict[str, Any]:
    """The documented create-order example body, changed."""
    body: dict[str, Any] = json.loads((DATA_DIR / "create-order.request.example.json").read_text())
    body.update(changes)
    return body


def test_create_order_is_listed_and_retrievable(fresh: tuple[SandboxServer, httpx.Client]) -> None:
    """POST /orders -> 201 SEARCHING order that sorts last, is listed, retrievable and stored."""
    srv, c = fresh
    before = len(srv.data.orders)
    last = max(parse(o["createdAt"]) for o in srv.data.orders)
    client_id = srv.data.orders[0]["clientId"]
    response = c.post(ORDERS, json=order_request(client_id=client_id, devices=["TV"]))
    assert response.status_code == 201, response.text
    order = response.json()["order"]
    assert list(order) == list(ORDER_KEYS)
    assert order["statusId"] == OrderStatus.SEARCHING
    assert order["clientId"] == client_id
    assert parse(order["createdAt"]) > last
    assert parse(order["createdAt"]) >= datetime.now(UTC) - timedelta(
        minutes=5
    ) or last > datetime.now(UTC)
    assert len(srv.data.orders) == before + 1
    assert fetch_all(c, [], 50)[-1] == order["id"]
    assert fetch_all(c, [("client_id", str(client_id))], 50)[-1] == order["id"]
    assert c.get(f"{ORDERS}/{order['id']}").json()["order"] == order
    second = c.post(ORDERS, json=order_request(client_id=client_id)).json()["order"]
    assert parse(second["createdAt"]) > parse(order["createdAt"])
    assert second["id"] > order["id"]


def test_create_order_makes_a_client_and_charges_extra_devices(
    fresh: tuple[SandboxServer, httpx.Client],
) -> None:
    """Without client_id a client is created; each device beyond the first adds $20.00."""
    srv, c = fresh
    clients = len(srv.data.clients)
    one = c.post(ORDERS, json=order_request(devices=["TV"])).json()["order"]
    three = c.post(ORDERS, json=order_request(devices=["TV", "Phone", "Tablet"])).json()["order"]
    assert len(srv.data.clients) == clients + 2
    made = srv.data.clients[one["clientId"]]
    assert (made["first_name"], made["last_name"], made["email"]) == (
        "John",
        "Doe",
        "johndoe1@hellotech.com",
    )
    assert one["clientZip"] == "90017"

    def cents(money: str) -> int:
        return round(float(money.replace("$", "").replace(",", "")) * 100)

    assert cents(three["breakdown"]["totalAmount"]) == cents(one["breakdown"]["totalAmount"]) + 4000
    assert srv.data.net_cents[three["id"]] == cents(three["breakdown"]["totalAmount"])


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"address": None, "phone": "", "sku_id": []}, {"address", "phone", "sku_id"}),
        ({"sku_id": [1, 10639]}, {"sku_id"}),
        ({"sku_id": "10639"}, {"sku_id"}),
        ({"client_id": 1}, {"client_id"}),
        ({"client_id": None, "email": None, "first_name": None}, {"email", "first_name"}),
        ({"phone": "12345"}, {"phone"}),
        ({"devices": "TV"}, {"devices"}),
        (
            {
                "time_windows": [
                    {
                        "start_time": "2024-11-03T16:00:00.000Z",
                        "end_time": "2024-11-03T18:00:00.000Z",
                    }
                ]
            },
            {"time_windows[0].end_time"},
        ),
    ],
)
def test_create_order_validation_is_422(
    fresh: tuple[SandboxServer, httpx.Client], changes: dict[str, Any], fields: set[str]
) -> None:
    """An invalid create-order body is a 422 listing the invalid fields, and creates nothing."""
    srv, c = fresh
    before = (len(srv.data.orders), len(srv.data.clients))
    response = c.post(ORDERS, json=order_request(**changes))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == fields
    assert (len(srv.data.orders), len(srv.data.clients)) == before


def test_create_order_bad_json_is_400(client: httpx.Client) -> None:
    """A body that is not a JSON object is a 400."""
    assert client.post(ORDERS, content=b"{not json").status_code == 400
    assert client.post(ORDERS, json=[1, 2]).status_code == 400


def test_concurrent_creates_are_safe(fresh: tuple[SandboxServer, httpx.Client]) -> None:
    """Orders created from several threads at once all get distinct ids and are all listed."""
    srv, _ = fresh
    made: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        with httpx.Client(base_url=srv.url, headers={"Api-Key": KEY}) as own:
            for _ in range(8):
                order = own.post(ORDERS, json=order_request(client_id=50001)).json()["order"]
                with lock:
                    made.append(order["id"])

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 32
    with httpx.Client(base_url=srv.url, headers={"Api-Key": KEY}) as c:
        listed = fetch_all(c, [], 500)
    assert listed[-32:] == sorted(made)
    assert listed == expected_ids(srv.data.orders)


# -------------------------------------------------------------------------------- clients

CLIENTS = "/api/partners/clients"
NEW_CLIENT = {
    "external_id": "EXT-NEW-1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "(415) 555-0199",
    "full_address": "1 Market St, San Francisco, CA 94105",
}
CLIENT_KEYS = {
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


def test_create_and_get_client(fresh: tuple[SandboxServer, httpx.Client]) -> None:
    """POST /clients -> 201 with the documented client; GET returns it; a taken external_id is 422."""
    srv, c = fresh
    response = c.post(CLIENTS, json=NEW_CLIENT)
    assert response.status_code == 201
    made = response.json()["client"]
    assert set(made) == CLIENT_KEYS
    assert made["phone"] == "4155550199"
    assert made["address"] == {
        "city": "San Francisco",
        "state": "CA",
        "zip": "94105",
        "street": "1 Market St",
    }
    assert srv.data.clients[made["id"]]["email"] == "ada@example.com"
    assert c.get(f"{CLIENTS}/{made['id']}").json() == {"status": "success", "client": made}
    assert c.post(CLIENTS, json=NEW_CLIENT).status_code == 422
    assert c.get(f"{CLIENTS}/999999").status_code == 404
    assert c.get(f"{CLIENTS}/abc").status_code == 404


def test_create_client_requires_client_params(client: httpx.Client) -> None:
    """POST /clients needs a valid email (the one required ClientParam); the rest is optional."""
    response = client.post(CLIENTS, json={"first_name": "Ada", "email": "not-an-email"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"email"}
    assert (
        client.post(CLIENTS, json={"first_name": 7, "email": "ada@example.com"}).status_code == 400
    )
    made = client.post(CLIENTS, json={"email": "only.email@example.com"})
    assert made.status_code == 201
    assert made.json()["client"]["external_id"] is None


def test_update_client_upserts_on_external_id(fresh: tuple[SandboxServer, httpx.Client]) -> None:
    """PUT updates the client with the body's external_id, else client {id}, else creates one."""
    srv, c = fresh
    existing = next(iter(srv.data.clients.values()))
    response = c.put(
        f"{CLIENTS}/{existing['id']}",
        json={"external_id": existing["external_id"], "email": "renamed@example.com"},
    )
    assert response.status_code == 200
    assert response.json()["client"]["id"] == existing["id"]
    assert srv.data.clients[existing["id"]]["email"] == "renamed@example.com"
    count = len(srv.data.clients)
    created = c.put(f"{CLIENTS}/424242", json={**NEW_CLIENT, "external_id": "EXT-PUT"}).json()[
        "client"
    ]
    assert len(srv.data.clients) == count + 1
    assert created["external_id"] == "EXT-PUT"
    assert created["id"] != 424242
    again = c.put(f"{CLIENTS}/424242", json={"external_id": "EXT-PUT", "email": "x@example.com"})
    assert again.json()["client"]["id"] == created["id"]
    assert len(srv.data.clients) == count + 1


def test_update_client_errors(fresh: tuple[SandboxServer, httpx.Client]) -> None:
    """PUT without email is 400; without external_id for an unknown client it is 404."""
    _, c = fresh
    response = c.put(f"{CLIENTS}/50001", json={"first_name": "No Email"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"email"}
    assert c.put(f"{CLIENTS}/999999", json={"email": "a@example.com"}).status_code == 404


def test_payment_helpers(client: httpx.Client) -> None:
    """setup_intent and ephemeral_key return Stripe-like secrets; unknown clients are 404."""
    intent = client.post(f"{CLIENTS}/50001/setup_intent").json()
    assert intent["status"] == "success"
    assert intent["stripe_customer_id"].startswith("cus_")
    assert intent["client_secret"].startswith("seti_")
    assert "_secret_" in intent["client_secret"]
    key = client.post(f"{CLIENTS}/50001/ephemeral_key").json()
    assert key["ephemeral_key"].startswith("ek_test_")
    assert key["stripe_customer_id"] == intent["stripe_customer_id"]
    assert (
        client.post(f"{CLIENTS}/50001/setup_intent").json()["client_secret"]
        != intent["client_secret"]
    )
    assert client.post(f"{CLIENTS}/999999/setup_intent").status_code == 404
    assert client.post(f"{CLIENTS}/999999/ephemeral_key").status_code == 404


# ----------------------------------------------------------------------------------- SKUs


def test_skus_and_check_zip(server: SandboxServer, client: httpx.Client) -> None:
    """GET /skus hides zips; check_zip answers on/off with the metro; 404 and 400 as documented."""
    skus = client.get("/api/partners/skus").json()["skus"]
    assert skus == [{k: v for k, v in s.items() if k != "zips"} for s in server.data.skus]
    partial = next(s for s in server.data.skus if len(s["zips"]) < 30)
    inside = partial["zips"][0] + "17"
    outside = next(
        z for z in ("900", "100", "606", "770", "981", "021", "303") if z not in partial["zips"]
    )
    url = f"/api/partners/skus/{partial['id']}/check_zip"
    on = client.post(url, json={"zip": inside}).json()
    assert on["status"] == "success"
    assert on["treatment"] == "on"
    assert on["zip"] == inside
    assert isinstance(on["cbsa_id"], int)
    assert on["cbsa_id"] > 0
    assert on["cbsa"]
    assert client.post(url, json={"zip": outside + "01"}).json()["treatment"] == "off"
    nowhere = client.post(url, json={"zip": "59901"}).json()
    assert (nowhere["treatment"], nowhere["cbsa_id"]) == ("off", 0)
    missing = client.post("/api/partners/skus/1/check_zip", json={"zip": "90017"})
    assert missing.status_code == 404
    assert missing.json()["message"] == "Record Not Found"
    for bad in ({}, {"zip": "9001"}, {"zip": 90017}, {"zip": "abcde"}):
        assert client.post(url, json=bad).status_code == 400


# -------------------------------------------------------------------------------- flavours


def assert_snake(order: dict[str, Any], stored: Order, client: dict[str, Any] | None) -> None:
    """Check one snake_case order against the stored camelCase one."""

    def keys(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)

    assert all(k == k.lower() for k in keys(order))
    assert "tags" not in order
    assert int(order["status"]) == stored["statusId"]
    assert (
        order["status_label"] == OrderStatus(stored["statusId"]).name.replace("_", " ").capitalize()
    )
    created = parse(stored["createdAt"])
    assert order["created_at"]["integer"] == int(created.timestamp())
    assert parse(order["created_at"]["iso"]) == created
    for camel, snake in (("startedAt", "started_at"), ("completedAt", "completed_at")):
        if stored[camel] is None:
            assert order[snake] is None
        else:
            assert parse(order[snake]["iso"]) == parse(stored[camel])
    if stored["appointmentStartDateTime"]:
        moment = datetime.fromisoformat(stored["appointmentStartDateTime"])
        assert order["appointment_start_date_time"]["integer"] == int(moment.timestamp())
    assert order["appointment_start"] == stored["appointmentStart"]
    assert order["client_id"] == stored["clientId"]
    assert order["breakdown"]["total_amount"] == stored["breakdown"]["totalAmount"]
    assert order["service_description"] is None
    assert order["events"] == []
    assert order["client_zip"] == stored["clientZip"]
    if client is not None:
        assert order["email"] == client["email"]
        assert order["phone"]["value"] == client["phone"]
        assert (
            order["phone"]["formatted"]
            == f"({client['phone'][:3]}) {client['phone'][3:6]}-{client['phone'][6:]}"
        )
        assert order["address"] == client["full_address"]
        assert order["client_city"] == client["address"]["city"]


def test_snake_flavour_shape() -> None:
    """flavour="snake": snake keys, status int or "1", timestamp objects, client fields."""
    data = generate_dataset(300, seed=4)
    with serving(data, flavour="snake") as tc:
        orders = tc.get(ORDERS, params={"limit": 300}).json()["orders"]
        single = tc.get(f"{ORDERS}/{orders[5]['id']}").json()["order"]
    stored = {o["id"]: o for o in data.orders}
    for order in orders:
        assert_snake(order, stored[order["id"]], data.clients.get(stored[order["id"]]["clientId"]))
    kinds = {type(o["status"]) for o in orders}
    assert kinds == {int, str}
    assert single == orders[5]
    assert any(
        o["created_at"]["iso"].endswith("Z") and "." in o["created_at"]["iso"] for o in orders
    )


def test_mixed_flavour_is_stable_per_order() -> None:
    """flavour="mixed": about half of each shape, the same shape in list pages and get_order."""
    data = generate_dataset(400, seed=5)
    with serving(data, flavour="mixed") as tc:
        orders = tc.get(ORDERS, params={"limit": 400}).json()["orders"]
        snake = [o for o in orders if "created_at" in o]
        camel = [o for o in orders if "createdAt" in o]
        assert len(snake) + len(camel) == 400
        assert 120 < len(snake) < 280
        for order in orders[:40]:
            assert tc.get(f"{ORDERS}/{order['id']}").json()["order"] == order


def test_snake_flavour_follows_client_updates() -> None:
    """After PUT /clients the snake orders of that client show the new e-mail (cache invalidated)."""
    data = generate_dataset(100, seed=6)
    order = data.orders[3]
    client_id = order["clientId"]
    with serving(data, flavour="snake") as tc:
        assert (
            tc.get(f"{ORDERS}/{order['id']}").json()["order"]["email"]
            == data.clients[client_id]["email"]
        )
        tc.put(f"{CLIENTS}/{client_id}", json={"email": "changed@example.com"})
        assert tc.get(f"{ORDERS}/{order['id']}").json()["order"]["email"] == "changed@example.com"


def test_expose_tags() -> None:
    """expose_tags=True adds each order's tags to the payload."""
    data = generate_dataset(50, seed=1)
    with serving(copy.deepcopy(data), expose_tags=True) as tc:
        orders = tc.get(ORDERS, params={"limit": 50}).json()["orders"]
    assert [o["tags"] for o in orders] == [o["tags"] for o in sorted(data.orders, key=created_key)]


# ---------------------------------------------------------------------------------- server


def test_server_lifecycle() -> None:
    """start() binds a free port and serves; stop() ends it; a port is refused twice."""
    srv = SandboxServer(orders=20, seed=1)
    with pytest.raises(RuntimeError):
        _ = srv.url
    srv.start()
    port = srv.port
    try:
        assert srv.url == f"http://127.0.0.1:{srv.port}"
        response = httpx.get(f"{srv.url}{ORDERS}", headers={"Api-Key": "sandbox"})
        assert response.status_code == 200
        assert srv.stats.requests == 1
        with pytest.raises(RuntimeError), SandboxServer(orders=1, port=srv.port):
            pass
    finally:
        srv.stop()
    assert not srv.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}{ORDERS}", timeout=2)


def test_update_order_changes_what_is_served() -> None:
    """SandboxServer.update_order changes the stored order, the filters and the served bytes."""
    with SandboxServer(orders=60, seed=2, api_key=KEY) as srv:
        with httpx.Client(base_url=srv.url, headers={"Api-Key": KEY}) as c:
            order = srv.data.orders[10]
            assert c.get(f"{ORDERS}/{order['id']}").json()["order"]["statusId"] == order["statusId"]
            srv.update_order(order["id"], statusId=13, atRisk=True)
            served = c.get(f"{ORDERS}/{order['id']}").json()["order"]
            assert (served["statusId"], served["atRisk"]) == (13, True)
            assert order["id"] in fetch_all(c, [("status", "13")], 10)
            later = "2030-01-01T00:00:00.000Z"
            srv.update_order(order["id"], createdAt=later)
            assert fetch_all(c, [], 100)[-1] == order["id"]
        with pytest.raises(KeyError):
            srv.update_order(1, statusId=3)


def test_run_and_serve_block_until_stopped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """run() serves until stop(); serve() prints the URL and runs the server."""
    srv = SandboxServer(orders=5, seed=1)
    runner = threading.Thread(target=srv.run)
    runner.start()
    for _ in range(500):
        if srv.running and srv._port is not None:
            break
        time.sleep(0.01)
    response = httpx.get(f"{srv.url}{ORDERS}", headers={"Api-Key": "sandbox"})
    assert response.status_code == 200
    srv.stop()
    runner.join(timeout=10)
    assert not runner.is_alive()

    seen: list[str] = []

    def fake_run(self: SandboxServer) -> None:
        seen.append(self.url)
        assert (
            httpx.get(f"{self.url}{ORDERS}", headers={"Api-Key": "key-SECRET-99"}).status_code
            == 200
        )
        self.stop()

    monkeypatch.setattr(SandboxServer, "run", fake_run)
    from ht_analytics.sandbox import serve

    serve(port=0, orders=5, seed=1, api_key="key-SECRET-99", flavour="snake")
    out = capsys.readouterr().out
    assert seen
    assert f"HT_BASE_URL={seen[0]} " in out
    assert "key-SECRET-99" not in out
    with pytest.raises(ValueError, match="flavour"):
        serve(port=0, orders=5, flavour="kebab")
