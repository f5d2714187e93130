"""Flow tests: PartnerClient against the sandbox over real loopback HTTP."""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from ht_analytics import (
    AuthenticationError,
    HTError,
    NotFoundError,
    OrderStatus,
    PartnerClient,
    ServerError,
)
from ht_analytics.sandbox import FaultConfig, SandboxServer


def wire(order: dict[str, Any]) -> dict[str, Any]:
    """An order as the sandbox serves it: the generator's record without its private tags."""
    return {k: v for k, v in order.items() if k != "tags"}


def created_day(order: dict[str, Any]) -> date:
    """UTC calendar date of createdAt."""
    return datetime.fromisoformat(order["createdAt"]).astimezone(UTC).date()


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox with 3,000 orders, shared by the read-only tests of this module."""
    with SandboxServer(orders=3_000, seed=3) as srv:
        yield srv


@pytest.fixture
def client(server: SandboxServer) -> Iterator[PartnerClient]:
    """A client of the shared sandbox without pacing."""
    with PartnerClient(api_key=server.api_key, base_url=server.url, rate_limit=None) as c:
        yield c


def test_every_order_exactly_once_field_by_field(
    server: SandboxServer, client: PartnerClient
) -> None:
    """Paging returns each of the generator's orders once, in (createdAt, id) order, unchanged."""
    got = list(client.iter_orders(page_size=97))
    expected = sorted(server.data.orders, key=lambda o: (o["createdAt"], o["id"]))
    assert [o["id"] for o in got] == [o["id"] for o in expected]
    assert got == [wire(o) for o in expected]


@pytest.mark.parametrize("page_size", [1, 100, 500])
def test_page_sizes_change_nothing_but_the_page_count(
    server: SandboxServer, client: PartnerClient, page_size: int
) -> None:
    """Any page size gives the same orders; the page count is ceil(n / size)."""
    if page_size == 1:
        pages = list(client.iter_pages(page_size=1, client_id=server.data.orders[0]["clientId"]))
        n = sum(o["clientId"] == server.data.orders[0]["clientId"] for o in server.data.orders)
    else:
        pages = list(client.iter_pages(page_size=page_size))
        n = len(server.data.orders)
    assert sum(len(p.orders) for p in pages) == n
    assert len(pages) == max(1, -(-n // page_size))
    assert pages[-1].next_cursor is None


def test_tag_filter(server: SandboxServer, client: PartnerClient) -> None:
    """tags=[a, b] returns exactly the orders that carry a or b."""
    a, b = server.data.tags[0], server.data.tags[3]
    got = {o["id"] for o in client.iter_orders(tags=[a, b])}
    assert got == {o["id"] for o in server.data.orders if {a, b} & set(o["tags"])}
    assert got


def test_date_filter_is_inclusive_on_utc_dates(
    server: SandboxServer, client: PartnerClient
) -> None:
    """start/end select orders created on those UTC dates, both ends included."""
    days = sorted({created_day(o) for o in server.data.orders})
    start, end = days[len(days) // 3], days[len(days) // 3 + 20]
    got = {o["id"] for o in client.iter_orders(start=start, end=end.isoformat())}
    assert got == {o["id"] for o in server.data.orders if start <= created_day(o) <= end}
    assert any(created_day(o) == end for o in server.data.orders if o["id"] in got)


def test_status_filter(server: SandboxServer, client: PartnerClient) -> None:
    """status accepts names, ids and the "open" group, and selects exactly those orders."""
    got = {o["id"] for o in client.iter_orders(status=["COMPLETED", 5])}
    assert got == {o["id"] for o in server.data.orders if o["statusId"] in (3, 5)}
    opened = {o["id"] for o in client.iter_orders(status="open")}
    assert opened == {
        o["id"] for o in server.data.orders if not OrderStatus(o["statusId"]).is_terminal
    }
    assert got
    assert opened


def test_client_filter_combined_with_status(server: SandboxServer, client: PartnerClient) -> None:
    """Filters combine: one client's completed-or-paid orders."""
    client_id = max(
        {o["clientId"] for o in server.data.orders},
        key=lambda c: sum(o["clientId"] == c for o in server.data.orders),
    )
    got = {o["id"] for o in client.iter_orders(client_id=client_id, status=[3, 5])}
    assert got == {
        o["id"]
        for o in server.data.orders
        if o["clientId"] == client_id and o["statusId"] in (3, 5)
    }


@pytest.mark.parametrize(
    ("order_by", "sort"), [("created_at", "DESC"), ("appointment", "ASC"), ("appointment", "DESC")]
)
def test_sort_orders_page_through_everything_once(
    server: SandboxServer, client: PartnerClient, order_by: str, sort: str
) -> None:
    """Both sort keys, both directions: every order once, keys in order."""
    got = list(client.iter_orders(order_by=order_by, sort=sort, page_size=250))
    assert sorted(o["id"] for o in got) == sorted(o["id"] for o in server.data.orders)
    field = "createdAt" if order_by == "created_at" else "appointmentStartDateTime"
    keys = [datetime.fromisoformat(o[field]).timestamp() for o in got if o[field]]
    assert keys == sorted(keys, reverse=sort == "DESC")


def test_count_by_tag_matches_a_direct_count(server: SandboxServer, client: PartnerClient) -> None:
    """The server's counts equal counting tags on the generator's records, and listing by tag."""
    tags = server.data.tags
    counts = client.count_by_tag(tags)
    assert counts == {t: sum(t in o["tags"] for o in server.data.orders) for t in tags}
    assert counts[tags[1]] == sum(1 for _ in client.iter_orders(tags=tags[1], page_size=500))
    assert 0 in counts.values()  # the sandbox keeps one unused tag


def test_get_order_and_not_found(server: SandboxServer, client: PartnerClient) -> None:
    """get_order returns the record; an unknown id is NotFoundError."""
    order = server.data.orders[17]
    assert client.get_order(order["id"]) == wire(order)
    with pytest.raises(NotFoundError):
        client.get_order(1)


def test_bad_key_is_an_authentication_error(server: SandboxServer) -> None:
    """A wrong key fails every call with AuthenticationError, not retried."""
    with PartnerClient(api_key="wrong-key", base_url=server.url, rate_limit=None) as bad:
        with pytest.raises(AuthenticationError) as info:
            next(iter(bad.iter_orders()))
        assert info.value.status in (401, 403)
        assert info.value.attempts == 1
        assert "wrong-key" not in str(info.value)
        with pytest.raises(AuthenticationError):
            bad.list_skus()


def test_skus_and_check_zip(server: SandboxServer, client: PartnerClient) -> None:
    """The catalogue comes back, and check_zip answers for a known SKU and 404s an unknown one."""
    skus = client.list_skus()
    assert {s["id"] for s in skus} == {s["id"] for s in server.data.skus}
    zip_code = server.data.orders[0]["clientZip"]
    assert client.check_zip(skus[0]["id"], zip_code).treatment in ("on", "off")
    with pytest.raises(NotFoundError):
        client.check_zip(1, "90017")


def test_clients_and_created_orders_change_the_data() -> None:
    """create/update client and create_order change the sandbox; a created order is then listed."""
    with (
        SandboxServer(orders=200, seed=5) as srv,
        PartnerClient(api_key=srv.api_key, base_url=srv.url, rate_limit=None) as c,
    ):
        made = c.create_client(
            email="new.person@example.com",
            first_name="New",
            last_name="Person",
            external_id="EXT-T1",
        )
        assert c.get_client(made.id).email == "new.person@example.com"
        updated = c.update_client(made.id, email="renamed@example.com", external_id="EXT-T1")
        assert updated.id == made.id
        assert c.get_client(made.id).email == "renamed@example.com"
        assert made.authentication_token is not None
        assert c.create_setup_intent(made.id).client_secret.reveal()
        assert c.create_ephemeral_key(made.id).ephemeral_key.reveal()
        sku = srv.data.skus[0]["id"]
        order = c.create_order(
            address="719 Flower St, Los Angeles, CA 90017",
            phone="3105550123",
            sku_ids=[sku],
            client_id=made.id,
        )
        assert order["statusId"] == OrderStatus.SEARCHING
        listed = list(c.iter_orders())
        assert listed[-1]["id"] == order["id"]
        assert len(listed) == 201
        assert c.get_order(order["id"])["id"] == order["id"]


def test_twenty_thousand_orders_through_ten_percent_faults() -> None:
    """With 10% of responses faulted (429s with Retry-After, and 5xx), every order arrives once."""
    faults = FaultConfig(
        seed=11, error_rate=0.05, rate_limited_rate=0.05, retry_after_style="seconds"
    )
    with SandboxServer(orders=20_000, seed=2, faults=faults) as srv:
        with PartnerClient(
            api_key=srv.api_key, base_url=srv.url, rate_limit=None, max_retries=8
        ) as c:
            ids = [o["id"] for o in c.iter_orders(page_size=100)]
            stats = c.stats
        injected = srv.stats
    assert len(ids) == len(set(ids)) == 20_000
    assert ids == [
        o["id"] for o in sorted(srv.data.orders, key=lambda o: (o["createdAt"], o["id"]))
    ]
    assert stats.pages == 200
    assert stats.retries > 5  # faults really happened and were retried
    assert stats.requests == stats.pages + stats.retries
    assert _faults_injected(injected) == stats.retries


def _faults_injected(stats: Any) -> int:
    """Total faults the sandbox says it injected."""
    by_kind = stats["faults"] if isinstance(stats, dict) else stats.faults
    return int(sum(by_kind.values()))


@pytest.mark.parametrize(
    "faults",
    [
        FaultConfig(seed=1, drop_rate=0.15),
        FaultConfig(seed=2, truncate_rate=0.15),
        FaultConfig(seed=3, malformed_rate=0.15),
        FaultConfig(seed=4, rate_limited_rate=0.2, retry_after_style="http-date"),
        FaultConfig(seed=5, rate_limited_rate=0.2, retry_after_style="zero"),
    ],
    ids=["dropped", "truncated", "malformed", "retry-after-date", "retry-after-zero"],
)
def test_each_fault_kind_is_survived(faults: FaultConfig) -> None:
    """Dropped connections, truncated and malformed bodies and 429s are retried to a complete read."""
    with (
        SandboxServer(orders=2_000, seed=4, faults=faults) as srv,
        PartnerClient(api_key=srv.api_key, base_url=srv.url, rate_limit=None, max_retries=8) as c,
    ):
        ids = [o["id"] for o in c.iter_orders(page_size=50)]
        retries = c.stats.retries
    assert sorted(ids) == sorted(o["id"] for o in srv.data.orders)
    assert len(ids) == len(set(ids))
    assert retries > 0


def test_persistent_failure_gives_up_with_a_clear_error() -> None:
    """When every response is a 5xx, the client stops after max_retries with the attempt count."""
    with (
        SandboxServer(orders=10, faults=FaultConfig(error_rate=1.0)) as srv,
        PartnerClient(api_key=srv.api_key, base_url=srv.url, rate_limit=None, max_retries=3) as c,
        pytest.raises(ServerError, match="after 4 attempts") as info,
    ):
        list(c.iter_orders())
    assert info.value.status in (500, 502, 503)
    assert info.value.url is not None
    assert info.value.url.startswith(srv.url)


@pytest.mark.parametrize("flavour", ["snake", "mixed"])
def test_snake_and_mixed_flavours_page_the_same(flavour: str) -> None:
    """The snake_case flavour pages through the same ids."""
    with (
        SandboxServer(orders=500, seed=8, flavour=flavour) as srv,  # type: ignore[arg-type]
        PartnerClient(api_key=srv.api_key, base_url=srv.url, rate_limit=None) as c,
    ):
        got = list(c.iter_orders(page_size=64))
    assert [o["id"] for o in got] == [
        o["id"] for o in sorted(srv.data.orders, key=lambda o: (o["createdAt"], o["id"]))
    ]
    if flavour == "snake":
        assert all("created_at" in o and "createdAt" not in o for o in got)
    else:
        assert any("created_at" in o for o in got)
        assert any("createdAt" in o for o in got)


def test_threads_share_the_rate_limit() -> None:
    """Four threads on one client never go over its rate limit: at most ``rate`` (+1 for the
    window's edge) requests leave the client in any one-second window. The server's own count
    of arrivals is checked more loosely: an in-process server that stalls (the GIL) queues
    requests and then handles them in a bunch."""
    rate = 20.0
    sent: list[float] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(time.monotonic())
            return super().handle_request(request)

    with SandboxServer(orders=3_000, seed=6) as srv:
        days = sorted({created_day(o) for o in srv.data.orders})
        quarters = [days[i * len(days) // 4 : (i + 1) * len(days) // 4] for i in range(4)]
        got: list[int] = []
        lock = threading.Lock()
        with PartnerClient(
            api_key=srv.api_key, base_url=srv.url, rate_limit=rate, transport=Recording()
        ) as c:

            def fetch(window: list[date]) -> None:
                ids = [
                    o["id"] for o in c.iter_orders(start=window[0], end=window[-1], page_size=50)
                ]
                with lock:
                    got.extend(ids)

            threads = [threading.Thread(target=fetch, args=(q,)) for q in quarters]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            requests = c.stats.requests
        peak = (
            srv.stats["max_per_second"] if isinstance(srv.stats, dict) else srv.stats.max_per_second
        )
    assert sorted(got) == sorted(o["id"] for o in srv.data.orders)
    assert requests >= 60  # enough requests for the limit to matter
    times = sorted(sent)
    client_peak = max(bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times))
    assert client_peak <= rate + 1
    assert peak <= rate * 1.5


def test_no_secret_in_logs_over_real_http(caplog: pytest.LogCaptureFixture) -> None:
    """DEBUG logs of every library during real requests hold neither the key nor client tokens."""
    key = "sk-flow-SECRET-7731"
    caplog.set_level(logging.DEBUG)
    with (
        SandboxServer(orders=300, seed=9, api_key=key) as srv,
        PartnerClient(api_key=key, base_url=srv.url, rate_limit=None) as c,
    ):
        list(c.iter_orders(page_size=50))
        record = c.get_client(srv.data.orders[0]["clientId"])
        intent = c.create_setup_intent(record.id)
        ek = c.create_ephemeral_key(record.id)
        with pytest.raises(HTError) as info:
            c.get_order(1)
        with (
            PartnerClient(api_key=key + "x", base_url=srv.url, rate_limit=None) as bad,
            pytest.raises(AuthenticationError) as denied,
        ):
            bad.get_order(1)
    token = record.authentication_token.reveal() if record.authentication_token else ""
    assert token
    texts = [f"{r.getMessage()} {r.__dict__}" for r in caplog.records]
    texts += [
        repr(record),
        str(record),
        str(info.value),
        repr(info.value),
        str(denied.value),
        repr(intent),
        repr(ek),
        repr(c),
    ]
    text = "\n".join(texts)
    assert caplog.records
    for secret in (key, token, intent.client_secret.reveal(), ek.ephemeral_key.reveal()):
        assert secret not in text
