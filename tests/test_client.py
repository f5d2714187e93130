"""Unit tests of PartnerClient against fabricated responses (httpx.MockTransport)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import BASE, KEY, FakeApi, client_for, empty_page, json_response, make_orders
from ht_analytics import (
    ApiError,
    AuthenticationError,
    HTError,
    NotFoundError,
    PaginationError,
    PartnerClient,
    PayloadError,
    RateLimitError,
    ServerError,
)
from ht_analytics.sandbox import SandboxServer

# -- configuration ----------------------------------------------------------------------------


def test_key_from_argument_env_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The key comes from the argument, else HT_API_KEY, else ./.env; the argument wins."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Api-Key"])
        return json_response(200, {"status": "success", "skus": []})

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("# comment\nHT_API_KEY='from-dotenv'\n")
    PartnerClient(base_url=BASE, transport=httpx.MockTransport(handler)).list_skus()
    monkeypatch.setenv("HT_API_KEY", "from-env")
    PartnerClient(base_url=BASE, transport=httpx.MockTransport(handler)).list_skus()
    PartnerClient("from-arg", base_url=BASE, transport=httpx.MockTransport(handler)).list_skus()
    assert seen == ["from-dotenv", "from-env", "from-arg"]


def test_base_url_from_argument_env_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The base URL comes from the argument, else HT_BASE_URL, else HT_BASE_URL in ./.env,
    else the documented one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HT_BASE_URL", raising=False)
    assert PartnerClient("k").base_url == "https://apis.hellotech.com"
    (tmp_path / ".env").write_text("HT_API_KEY=k\nHT_BASE_URL=http://127.0.0.1:8765\n")
    assert PartnerClient().base_url == "http://127.0.0.1:8765"
    monkeypatch.setenv("HT_BASE_URL", "https://env.example.com")
    assert PartnerClient().base_url == "https://env.example.com"
    assert PartnerClient(base_url="https://arg.example.com").base_url == "https://arg.example.com"


def test_missing_key_is_a_clear_authentication_error() -> None:
    """No argument, no env var, no .env: AuthenticationError that says where to put the key."""
    with pytest.raises(AuthenticationError, match=r"HT_API_KEY.*\.env"):
        PartnerClient(base_url=BASE)


def test_base_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argument, else HT_BASE_URL, else the documented URL; trailing slash dropped."""
    assert PartnerClient(api_key=KEY).base_url == "https://apis.hellotech.com"
    monkeypatch.setenv("HT_BASE_URL", "https://staging.example.com/")
    assert PartnerClient(api_key=KEY).base_url == "https://staging.example.com"
    assert (
        PartnerClient(api_key=KEY, base_url="http://127.0.0.1:8765").base_url
        == "http://127.0.0.1:8765"
    )


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("https://x.example.com/api/partners", "https://x.example.com"),
        ("https://x.example.com/api/partners/", "https://x.example.com"),
        ("https://x.example.com/gw/api/partners", "https://x.example.com/gw"),
        ("https://x.example.com/api/partnersx", "https://x.example.com/api/partnersx"),
    ],
)
def test_a_base_url_ending_in_the_api_path_is_the_host(given: str, base: str) -> None:
    """A base URL copied with the API's path (``…/api/partners``) would double it in every
    request (``/api/partners/api/partners/orders``, a bare 404): the path is dropped."""
    assert PartnerClient(api_key=KEY, base_url=given).base_url == base


def test_a_base_url_with_the_api_path_reaches_the_sandbox() -> None:
    with (
        SandboxServer(orders=3) as srv,
        PartnerClient(api_key=srv.api_key, base_url=srv.url + "/api/partners/") as client,
    ):
        assert len(list(client.iter_orders())) == 3


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1", "http://localhost:9", "http://[::1]:80", "http://127.8.0.2"]
)
def test_plain_http_allowed_for_loopback(url: str) -> None:
    """The sandbox runs on loopback over plain http."""
    assert PartnerClient(api_key=KEY, base_url=url).base_url.startswith("http://")


@pytest.mark.parametrize(
    "url",
    [
        "http://apis.hellotech.com",
        "http://10.0.0.5:8000",
        "ftp://x.test",
        "not a url",
        "https://u:p@x.test",
        "https://apis..hellotech.com",
        "http://xn--localhost",
        "https://" + "a" * 64 + ".test",
    ],
)
def test_unsafe_or_invalid_base_url_refused(url: str) -> None:
    """Plain http to a remote host would send the key in clear: refused, like junk URLs."""
    with pytest.raises(HTError) as info:
        PartnerClient(api_key=KEY, base_url=url)
    assert "p@" not in str(info.value) or "credentials" in str(info.value)


SK_KEY = "HTKEY-sk_live_9f8e7d6c5b4a3210-QWERTY"


@pytest.mark.parametrize(
    ("key", "url", "where"),
    [
        # a key pasted after "http://" (httpx lowers the host): not named
        (SK_KEY, "http://" + SK_KEY, "the base URL from base_url"),
        (SK_KEY, "http://" + SK_KEY + ":8080/", "the base URL from base_url"),
        # a host name or an address is named, to say which one
        (SK_KEY, "http://apis.hellotech.com", "apis.hellotech.com"),
        (SK_KEY, "http://10.0.0.5:8000", "10.0.0.5"),
        # a key that looks like a host name, in another case: masked
        ("Partner-7.Example.test", "http://partner-7.example.test", "***"),
    ],
    ids=["key-as-host", "key-as-host-with-port", "host-name", "address", "key-like-a-host"],
)
def test_refusing_plain_http_never_repeats_the_key(key: str, url: str, where: str) -> None:
    """The refusal of plain http:// names the host only when it looks like one, and never
    repeats the API key, whatever its case."""
    with pytest.raises(HTError) as info:
        PartnerClient(api_key=key, base_url=url)
    message = str(info.value)
    assert message == (
        f"refusing plain http:// for {where}: the API key would travel unencrypted; use "
        "https:// (http:// is allowed only for loopback hosts such as the sandbox)"
    )
    assert key.lower() not in message.lower()


def test_refusing_plain_http_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key set as HT_BASE_URL by mistake: the message says where the URL came from."""
    monkeypatch.setenv("HT_BASE_URL", "http://" + SK_KEY)
    with pytest.raises(
        HTError, match=r"^refusing plain http:// for the base URL from HT_BASE_URL:"
    ):
        PartnerClient(api_key=SK_KEY)


@pytest.mark.parametrize(
    "url",
    [
        "https://apis..hellotech.com",  # an empty label: the resolver's IDNA codec fails
        "https://.x.test",
        "https://" + "a" * 64 + ".test",  # a label over 63 characters
        "http://xn--localhost",  # not punycode (httpx cannot decode it)
        "https://xn--zz.test",
    ],
)
def test_a_host_name_that_cannot_be_used_is_refused_at_once(url: str) -> None:
    """A host that no request could reach (each would fail with a UnicodeError) is refused
    when the client is made, with an HTError that says why without repeating the URL."""
    with pytest.raises(HTError) as info:
        PartnerClient(api_key=KEY, base_url=url)
    message = str(info.value)
    assert message == (
        "the base URL from base_url has a host name that cannot be used (an empty label, a label "
        "over 63 characters, or an xn-- label that is not valid punycode); expected "
        "https://host[:port]"
    )


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://münchen.test", "https://xn--mnchen-3ya.test"),
        ("https://xn--mnchen-3ya.test", "https://xn--mnchen-3ya.test"),
        ("https://trailing.test.", "https://trailing.test."),
        ("https://" + "a" * 63 + ".test", "https://" + "a" * 63 + ".test"),
    ],
)
def test_host_names_that_can_be_used_are_kept(url: str, base: str) -> None:
    """International names (as punycode), a trailing dot and 63-character labels are fine."""
    assert PartnerClient(api_key=KEY, base_url=url).base_url == base


# -- filters ------------------------------------------------------------------------------------


def test_filters_are_written_as_the_contract_says() -> None:
    """tags[] and status[] repeated, from/to as MM-DD-YYYY, client_id, order_by, sort, limit."""
    api = FakeApi(make_orders(3))
    client = PartnerClient(api_key=KEY, base_url=BASE, transport=api.transport, rate_limit=None)
    list(
        client.iter_orders(
            tags=["store_1", "campaign_x"],
            start=date(2024, 9, 25),
            end="2024-10-31T17:00:00-07:00",
            status=["COMPLETED", 5],
            client_id=42,
            order_by="appointment",
            sort="desc",
            page_size=250,
        )
    )
    params = api.requests[0].url.params
    assert params.get_list("tags[]") == ["store_1", "campaign_x"]
    assert params["from"] == "09-25-2024"
    assert params["to"] == "11-01-2024"  # 17:00 at -07:00 is midnight of Nov 1 in UTC
    assert params.get_list("status[]") == ["3", "5"]
    assert params["client_id"] == "42"
    assert (params["order_by"], params["sort"], params["limit"]) == ("appointment", "DESC", "250")
    assert "cursor" not in params


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (date(2024, 2, 29), "02-29-2024"),
        (datetime(2024, 3, 1, 5, 0, tzinfo=timezone(timedelta(hours=5))), "03-01-2024"),
        (datetime(2024, 3, 1), "03-01-2024"),
        ("2024-03-01", "03-01-2024"),
        ("2024-03-01T00:00:00Z", "03-01-2024"),
        ("03-01-2024", "03-01-2024"),
    ],
)
def test_date_filter_formats(value: Any, wire: str) -> None:
    """date, aware/naive datetime and ISO strings all become MM-DD-YYYY (UTC dates)."""
    api = FakeApi([])
    list(
        PartnerClient(api_key=KEY, base_url=BASE, transport=api.transport).iter_orders(start=value)
    )
    assert api.requests[0].url.params["from"] == wire


@pytest.mark.parametrize("status", [3.0, None, object()])
def test_a_status_that_is_not_one_is_named(status: object) -> None:
    """status=3.0 (or None inside iter_orders' status list): TypeError naming the value, not
    "'float' object is not iterable"."""
    from ht_analytics._params import status_ids

    with pytest.raises(TypeError, match="is not a status"):
        status_ids(status)  # type: ignore[arg-type]


def test_status_groups_expand() -> None:
    """status="open" sends every open status id."""
    api = FakeApi([])
    list(client_for(api).iter_orders(status="open"))
    assert api.requests[0].url.params.get_list("status[]") == [
        "0",
        "1",
        "2",
        "8",
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2024-13-45"}, "not a date"),
        ({"start": "2024-05-02", "end": "2024-05-01"}, "after end"),
        ({"status": "DONE"}, "unknown"),
        ({"order_by": "total"}, "order_by"),
        ({"sort": "up"}, "sort"),
        ({"page_size": 501}, "between 1 and 500"),
        ({"page_size": 0}, "between 1 and 500"),
        ({"tags": [""]}, "tags"),
        ({"tags": []}, "tags is an empty list"),
        ({"status": []}, "status is an empty list"),
        ({"end": datetime(2024, 3, 1, 23, 30, tzinfo=UTC)}, "has a time of day"),
        ({"start": "2024-03-01T10:00:00-05:00"}, "has a time of day"),
    ],
)
def test_bad_filters_fail_before_any_request(kwargs: dict[str, Any], message: str) -> None:
    """A bad filter raises a ValueError naming it, and nothing is sent."""
    api = FakeApi([])
    with pytest.raises(ValueError, match=message):
        client_for(api).iter_orders(**kwargs)
    assert api.requests == []


# -- pagination ---------------------------------------------------------------------------------


@pytest.mark.parametrize("with_next_cursor", [True, False])
@pytest.mark.parametrize(("n", "size"), [(0, 10), (1, 10), (10, 10), (11, 10), (95, 7)])
def test_every_order_exactly_once(n: int, size: int, with_next_cursor: bool) -> None:
    """With or without next_cursor, all orders come back once, in order."""
    orders = make_orders(n)
    api = FakeApi(orders, with_next_cursor=with_next_cursor)
    got = [o["id"] for o in client_for(api).iter_orders(page_size=size)]
    assert got == [o["id"] for o in orders]


def test_pages_carry_raw_bytes_request_and_response() -> None:
    """iter_pages yields the body bytes as received and the request without the key."""
    api = FakeApi(make_orders(5))
    pages = list(client_for(api).iter_pages(page_size=2))
    assert [p.number for p in pages] == [1, 2, 3]
    assert [p.next_cursor for p in pages] == [1001, 1003, None]
    assert json.loads(pages[0].raw)["orders"] == pages[0].orders
    assert pages[1].request.url.params["cursor"] == "1001"
    assert pages[1].response.status_code == 200
    assert "api-key" not in pages[0].request.headers
    assert "api-key" not in pages[0].response.request.headers
    assert "Page(number=1, orders=2" in repr(pages[0])


def _pages_handler(pages: list[dict[str, Any]]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        index = 0 if "cursor" not in request.url.params else None
        if index is None:
            index = next(
                i
                for i, p in enumerate(pages)
                if p.get("_after") == int(request.url.params["cursor"])
            )
        body = {k: v for k, v in pages[index].items() if k != "_after"}
        return json_response(200, {"status": "success", **body})

    return handler


def test_a_blank_next_cursor_on_a_full_page_does_not_end_the_paging() -> None:
    """`next_cursor: ""` is not the documented null: a full page with it goes on by the id of
    its last order (the contract's rule without a cursor), and every order is read."""
    pages = [
        {"orders": [{"id": 1}, {"id": 2}], "next_cursor": 2},
        {"_after": 2, "orders": [{"id": 3}, {"id": 4}], "next_cursor": ""},
        {"_after": 4, "orders": [{"id": 5}], "next_cursor": None},
    ]
    client = client_for(_pages_handler(pages), max_retries=0)
    got = [o["id"] for p in client.iter_pages(page_size=2) for o in p.orders]
    assert got == [1, 2, 3, 4, 5]
    light = [o["id"] for p in client._iter_raw_pages(page_size=2) for o in p.orders]
    assert light == [1, 2, 3, 4, 5]


def test_repeated_ids_across_pages_raise() -> None:
    """A page that repeats an id seen before stops paging with PaginationError naming page 2."""
    pages = [
        {"orders": [{"id": 1}, {"id": 2}], "next_cursor": 2},
        {"_after": 2, "orders": [{"id": 2}, {"id": 3}], "next_cursor": 3},
    ]
    client = client_for(_pages_handler(pages))
    got: list[int] = []
    with pytest.raises(PaginationError, match=r"page 2 .*already seen") as info:
        got.extend(o["id"] for o in client.iter_orders(page_size=2))
    assert info.value.page == 2
    assert got == [1, 2]  # nothing from the bad page was yielded


def test_cursor_that_does_not_advance_raises() -> None:
    """A next_cursor equal to the one just used is a loop: PaginationError, not an endless loop."""
    pages = [
        {"orders": [{"id": 1}, {"id": 2}], "next_cursor": 2},
        {"_after": 2, "orders": [{"id": 3}, {"id": 4}], "next_cursor": 2},
    ]
    with pytest.raises(PaginationError, match="does not advance") as info:
        list(client_for(_pages_handler(pages)).iter_orders(page_size=2, start="2025-01-01"))
    # It says which query's pages: the request, its filters and cursor included.
    assert str(info.value).startswith("GET ")
    assert "/api/partners/orders?" in str(info.value)
    assert "from=01-01-2025" in str(info.value)
    assert "cursor=2" in str(info.value)


def test_cursor_that_comes_back_raises() -> None:
    """A cursor that returns to an earlier value (a cycle) is caught too."""
    pages = [
        {"orders": [{"id": 1}], "next_cursor": 1},
        {"_after": 1, "orders": [{"id": 2}], "next_cursor": 2},
        {"_after": 2, "orders": [{"id": 3}], "next_cursor": 1},
    ]
    with pytest.raises(PaginationError, match="page 3"):
        list(client_for(_pages_handler(pages)).iter_orders(page_size=1))


def test_empty_page_with_cursor_raises() -> None:
    """An empty page that still points to a next page stops with a clear error."""
    pages = [
        {"orders": [{"id": 1}], "next_cursor": 1},
        {"_after": 1, "orders": [], "next_cursor": 9},
    ]
    with pytest.raises(PaginationError, match="empty page"):
        list(client_for(_pages_handler(pages)).iter_orders(page_size=1))


def test_page_without_orders_list_is_a_payload_error() -> None:
    """A 200 without the orders list is retried, then reported as PayloadError with the count."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response(200, {"status": "success", "data": []})

    with pytest.raises(
        PayloadError, match=r"GET .*/orders\?.*: page 1: .*no 'orders' list.*6 attempts"
    ):
        list(client_for(handler).iter_orders())
    assert len(calls) == 6


def test_order_without_id_is_a_payload_error() -> None:
    """Orders must carry an integer id (the cursor and the guards depend on it)."""
    handler = _pages_handler([{"orders": [{"id": 1}, {"name": "x"}], "next_cursor": None}])
    with pytest.raises(PayloadError, match=r"orders\[1\] has no integer 'id'"):
        list(client_for(handler, max_retries=0).iter_orders())


# -- retries ------------------------------------------------------------------------------------


def test_retries_through_5xx_429_network_and_bad_bodies() -> None:
    """Each kind of transient fault is retried and the page still arrives exactly once."""
    api = FakeApi(make_orders(4))
    api.faults = {
        1: lambda r: json_response(503, {"status": "error", "message": "busy"}),
        2: lambda r: httpx.Response(429, headers={"Retry-After": "0"}),
        3: lambda r: httpx.Response(502, text="<html><title>Bad Gateway</title></html>"),
        4: lambda r: httpx.Response(200, content=b'{"status": "success", "orders": [{"id": 10'),
        5: lambda r: httpx.Response(200, text="<html>maintenance</html>"),
    }

    def raising(request: httpx.Request) -> httpx.Response:
        if len(api.requests) in (5, 6):  # requests 6 and 7 fail on the network
            api.requests.append(request)
            raise (
                httpx.ReadTimeout("timed out", request=request)
                if len(api.requests) == 6
                else httpx.ConnectError("refused", request=request)
            )
        return api(request)

    client = client_for(raising, max_retries=8)
    ids = [o["id"] for o in client.iter_orders(page_size=2)]
    assert ids == [1000, 1001, 1002, 1003]
    assert client.stats.retries == 7
    assert client.stats.pages == 2


def test_gives_up_with_attempt_count() -> None:
    """After max_retries the error says how many attempts were made, with status and URL."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response(500, {"status": "error", "message": "boom"})

    with pytest.raises(ServerError) as info:
        client_for(handler, max_retries=3).get_order(7)
    assert len(calls) == 4
    assert info.value.attempts == 4
    assert info.value.status == 500
    assert "after 4 attempts" in str(info.value)
    assert "boom" in str(info.value)
    assert info.value.url == f"{BASE}/api/partners/orders/7"


def test_rate_limit_error_carries_retry_after() -> None:
    """Endless 429s end in RateLimitError with the server's Retry-After."""

    def handler(r):
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"})

    with pytest.raises(RateLimitError) as info:
        client_for(handler, max_retries=2).list_skus()
    assert info.value.retry_after == 7.0
    assert info.value.attempts == 3
    assert "slow down" in str(info.value)


def test_network_failure_gives_server_error_without_status() -> None:
    """A host that never answers ends in ServerError(status=None) naming the network error."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ServerError, match=r"ConnectError.*after 3 attempts") as info:
        client_for(handler, max_retries=2).get_order(1)
    assert info.value.status is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ApiError),
        (404, NotFoundError),
        (422, ApiError),
        (401, AuthenticationError),
        (403, AuthenticationError),
    ],
)
def test_client_errors_are_not_retried(status: int, kind: type[ApiError]) -> None:
    """4xx other than 408/429 fail at once with the server's message."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response(
            status, {"status": "error", "errors": [{"field": "id", "message": "is wrong"}]}
        )

    with pytest.raises(kind) as info:
        client_for(handler).get_order(5)
    assert len(calls) == 1
    assert info.value.status == status
    assert "id: is wrong" in str(info.value)
    assert type(info.value) is kind


def test_error_with_html_body() -> None:
    """A proxy's HTML error page gives a readable message, not a JSON error."""

    def handler(r):
        return httpx.Response(
            418, text="<html><head><title>I'm a teapot</title></head><body>x</body></html>"
        )

    with pytest.raises(ApiError, match="I'm a teapot"):
        client_for(handler).get_order(5)


ORDER_BODY = {"address": "1 Main St", "phone": "3105550123", "sku_ids": [10639], "client_id": 7}


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: json_response(500, {"message": "oops"}),
        lambda r: json_response(503, {"message": "oops"}),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("read timed out", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.RemoteProtocolError("peer closed", request=r)),
        lambda r: httpx.Response(201, content=b'{"status": "success", "order": {"id":'),
    ],
)
def test_create_order_is_not_retried_once_it_may_have_arrived(failure: Any) -> None:
    """A create that may have reached the server is never sent twice (no duplicate orders)."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return failure(request)

    with pytest.raises(HTError):
        client_for(handler).create_order(**ORDER_BODY)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: httpx.Response(429, headers={"Retry-After": "1"}),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.ConnectTimeout("connect timed out", request=r)),
    ],
)
def test_create_order_is_retried_when_it_surely_did_not_arrive(failure: Any) -> None:
    """Refused connections and 429s are safe to retry even for creates."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return failure(request)
        return json_response(201, {"status": "success", "order": {"id": 99}})

    assert client_for(handler).create_order(**ORDER_BODY) == {"id": 99}
    assert len(calls) == 2


def test_create_order_body_matches_the_documented_request() -> None:
    """The body has the documented keys; time windows are ISO UTC with milliseconds."""
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return json_response(201, {"status": "success", "order": {"id": 1}})

    start = datetime(2024, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=-7)))
    client_for(handler).create_order(
        address="719 Flower St, Los Angeles, CA 90017",
        phone="8888888888",
        sku_ids=[10639],
        first_name="John",
        last_name="Doe",
        email="johndoe1@hellotech.com",
        devices=["iPhone 13"],
        time_windows=[(start, start + timedelta(hours=1))],
        purchase_order_id="PO-1234",
    )
    documented = json.loads(
        (Path(__file__).parent / "data" / "create-order.request.example.json").read_text()
    )
    assert set(sent[0]) == set(documented)
    assert sent[0]["time_windows"] == documented["time_windows"][:1]
    assert sent[0]["sku_id"] == [10639]


def test_create_order_checks_arguments_first() -> None:
    """Missing client data or SKUs fail before a request is made."""
    with pytest.raises(ValueError, match="client_id"):
        client_for(lambda r: httpx.Response(500)).create_order(address="a", phone="1", sku_ids=[1])
    with pytest.raises(ValueError, match="sku_ids"):
        client_for(lambda r: httpx.Response(500)).create_order(
            address="a", phone="1", sku_ids=[], client_id=1
        )


# -- other endpoints ----------------------------------------------------------------------------


def test_every_endpoint_hits_its_documented_path() -> None:
    """The 11 endpoints use the contract's methods and paths."""
    seen: list[tuple[str, str]] = []
    client_body = {"id": 5, "email": "a@example.com", "authentication_token": "tok-secret-123"}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        path = request.url.path
        if path.endswith("setup_intent"):
            return json_response(
                200, {"stripe_customer_id": "cus_1", "client_secret": "seti_secret_x"}
            )
        if path.endswith("ephemeral_key"):
            return json_response(
                200, {"stripe_customer_id": "cus_1", "ephemeral_key": "ek_secret_y"}
            )
        if path.endswith("check_zip"):
            return json_response(
                200,
                {
                    "status": "success",
                    "treatment": "on",
                    "zip": "90017",
                    "cbsa_id": 31080,
                    "cbsa": "LA",
                },
            )
        if "clients" in path:
            return json_response(200, {"status": "success", "client": client_body})
        if path.endswith("count_by_tag"):
            return json_response(200, {"status": "success", "counts": {"a": 2, "b": 0}})
        if path.endswith("skus"):
            return json_response(200, {"status": "success", "skus": [{"id": 1}]})
        if request.method == "POST":
            return json_response(201, {"status": "success", "order": {"id": 3}})
        if path.endswith("orders"):
            return empty_page()
        return json_response(200, {"status": "success", "order": {"id": 3}})

    c = client_for(handler)
    assert list(c.iter_orders()) == []
    assert c.get_order(3) == {"id": 3}
    assert c.count_by_tag(["a", "b"]) == {"a": 2, "b": 0}
    assert c.create_order(**ORDER_BODY) == {"id": 3}
    assert c.create_client(email="a@example.com").id == 5
    assert c.get_client(5).authentication_token is not None
    assert c.update_client(5, email="a@example.com", external_id="EXT-1").email == "a@example.com"
    assert c.create_setup_intent(5).client_secret.reveal() == "seti_secret_x"
    assert c.create_ephemeral_key(5).ephemeral_key.reveal() == "ek_secret_y"
    assert c.list_skus() == [{"id": 1}]
    check = c.check_zip(10639, "90017")
    assert (check.available, check.cbsa_id) == (True, 31080)
    assert seen == [
        ("GET", "/api/partners/orders"),
        ("GET", "/api/partners/orders/3"),
        ("GET", "/api/partners/orders/count_by_tag"),
        ("POST", "/api/partners/orders"),
        ("POST", "/api/partners/clients"),
        ("GET", "/api/partners/clients/5"),
        ("PUT", "/api/partners/clients/5"),
        ("POST", "/api/partners/clients/5/setup_intent"),
        ("POST", "/api/partners/clients/5/ephemeral_key"),
        ("GET", "/api/partners/skus"),
        ("POST", "/api/partners/skus/10639/check_zip"),
    ]


def test_count_by_tag_rejects_nonsense_counts() -> None:
    """A count that is not a non-negative integer is a payload problem, not a number."""
    handler = lambda r: json_response(200, {"status": "success", "counts": {"a": "many"}})
    with pytest.raises(PayloadError, match="count of 'a'"):
        client_for(handler, max_retries=0).count_by_tag("a")


def test_count_by_tag_refuses_an_answer_about_other_tags() -> None:
    """An answer counting only tags not asked for is another query's (a cache or proxy mixing
    answers up): retried, then a PayloadError naming them, never read as a count of 0. A tag
    asked for and left out counts 0 (a server may list only the tags it found); counts of
    other tags beside those asked for are ignored (a server may list every tag)."""
    answers = iter(
        [
            {"status": "success", "counts": {"web": 12}},  # the answer to ?tags[]=web
            {"status": "success", "counts": {"phone": 3}},
        ]
    )
    client = client_for(lambda r: json_response(200, next(answers)), max_retries=1)
    assert client.count_by_tag("phone") == {"phone": 3}
    other = lambda r: json_response(200, {"status": "success", "counts": {"web": 12}})
    with pytest.raises(PayloadError, match=r"counts 'web', which was not asked for"):
        client_for(other, max_retries=1).count_by_tag("phone")
    only_found = lambda r: json_response(200, {"status": "success", "counts": {"a": 12}})
    assert client_for(only_found, max_retries=0).count_by_tag(["a", "b"]) == {"a": 12, "b": 0}
    every_tag = {"status": "success", "counts": {"a": 3, "b": 0, "zz": 7}}  # all tags listed
    listing = lambda r: json_response(200, every_tag)
    assert client_for(listing, max_retries=0).count_by_tag(["a", "b"]) == {"a": 3, "b": 0}


def test_success_status_error_in_body_is_an_api_error() -> None:
    """A 200 whose body says status=error is reported, not read as data."""
    handler = lambda r: json_response(200, {"status": "error", "message": "partner disabled"})
    with pytest.raises(ApiError, match="partner disabled"):
        client_for(handler).get_order(1)


def test_client_uses_its_transport_and_closes() -> None:
    """The client is a context manager; its repr shows the base URL and rate only."""
    with client_for(
        lambda r: json_response(200, {"status": "success", "skus": []}), rate_limit=5
    ) as c:
        assert c.list_skus() == []
        assert repr(c) == f"PartnerClient(base_url='{BASE}', rate_limit=5.0)"


def test_unwrapped_client_object_is_accepted() -> None:
    """A client returned without the envelope is read as well."""

    def handler(r):
        return json_response(
            200, {"id": 8, "email": "x@example.com", "phone": {"value": "3105550123"}}
        )

    record = client_for(handler).get_client(8)
    assert (record.id, record.phone) == (8, "3105550123")


def test_retry_after_http_date_is_honoured_as_seconds() -> None:
    """The back-off hook returns the server's wait, from an HTTP date as well as seconds."""
    from ht_analytics._retry import RetryPolicy, TransientError

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    from ht_analytics._responses import parse_retry_after

    wait = parse_retry_after(when)
    assert wait is not None
    assert 28 <= wait <= 30
    policy = RetryPolicy(max_retry_after=10)
    assert (
        policy.should_retry(TransientError("x", status=429, retry_after=3.0), idempotent=True)
        == 3.0
    )
    assert (
        policy.should_retry(TransientError("x", status=429, retry_after=300.0), idempotent=True)
        == 10
    )
    assert policy.should_retry(TransientError("x", status=503), idempotent=True) is True
    assert policy.should_retry(ValueError("x"), idempotent=True) is False


def test_corrupt_compressed_body_is_retried() -> None:
    """A gzip body that cannot be decoded is a transient fault, retried like a truncated one."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(
                200, content=b"\x1f\x8bnot-gzip", headers={"Content-Encoding": "gzip"}
            )
        return json_response(200, {"status": "success", "skus": [{"id": 2}]})

    assert client_for(handler).list_skus() == [{"id": 2}]
    assert len(calls) == 2


def test_redirect_is_reported_not_followed() -> None:
    """A 3xx is not followed (the key would travel along) and says to check the base URL."""
    handler = lambda r: httpx.Response(
        301, headers={"Location": "https://elsewhere.test/x?token=abc"}
    )
    with pytest.raises(ApiError, match=r"unexpected redirect to https://elsewhere\.test/x") as info:
        client_for(handler).list_skus()
    assert info.value.status == 301
    assert "abc" not in str(info.value)


def test_each_retry_is_logged_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    """A retry leaves an INFO line naming the request, the attempt and what went wrong."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return json_response(503, {"message": "maintenance window"})
        return json_response(200, {"status": "success", "skus": []})

    caplog.set_level(logging.INFO, logger="ht_analytics.client")
    client_for(handler).list_skus()
    messages = [r.getMessage() for r in caplog.records if r.name == "ht_analytics.client"]
    assert messages == [
        f"retrying GET {BASE}/api/partners/skus (attempt 2 of 6) after: maintenance window"
    ]


def test_stamina_warnings_for_own_retries_are_replaced_by_ours(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Our retries log one informative INFO line each, not stamina's bare WARNING; other code's
    stamina records still pass."""
    import stamina

    caplog.set_level(logging.DEBUG)
    handler = lambda r: json_response(502, {"message": "bad gateway"})
    with pytest.raises(ServerError):
        client_for(handler, max_retries=2).list_skus()
    assert not [r for r in caplog.records if r.name == "stamina"]
    assert len([r for r in caplog.records if r.getMessage().startswith("retrying GET")]) == 2

    @stamina.retry(on=ValueError, attempts=2)
    def flaky() -> None:
        raise ValueError("x")

    with pytest.raises(ValueError, match="x"):
        flaky()
    assert [r for r in caplog.records if r.name == "stamina"]


def test_get_order_refuses_the_answer_for_another_order() -> None:
    """``GET /orders/7`` answered with order 8 (a proxy mixing answers up) is a bad body: retried,
    and when it stays wrong, an error naming both ids — never order 8 returned as order 7."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        wrong = len(calls) == 1
        return json_response(200, {"status": "success", "order": {"id": 8 if wrong else 7}})

    with client_for(handler) as c:
        assert c.get_order(7) == {"id": 7}
        assert len(calls) == 2
    with (
        client_for(lambda r: json_response(200, {"status": "success", "order": {"id": 8}})) as c,
        pytest.raises(PayloadError, match="the answer is order 8, not 7"),
    ):
        c.get_order(7)


def test_a_wait_longer_than_the_retry_timeout_gives_up_at_once() -> None:
    """A 429 asking to wait a day (capped to 120 s) when only 5 s of ``retry_timeout`` are left:
    no wait, one attempt, a RateLimitError that says why."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"Retry-After": "86400"}, json={"message": "later"})

    with client_for(handler, retry_timeout=5) as c, pytest.raises(RateLimitError) as caught:
        c.get_order(7)
    assert len(calls) == 1
    assert "asks to wait 86,400 s, more than the 120 s this client waits at most" in str(
        caught.value
    )
    assert caught.value.retry_after == 86400


class EndsWithAnEmptyPage(httpx.BaseTransport):
    """A sandbox whose listing ends the way some APIs end one that fills its pages exactly: the
    last full page carries a cursor, and the page after it is empty (every time it is asked)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.empty_asked = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "999999999":
            self.empty_asked += 1
            return empty_page()
        response = self.inner.handle_request(request)
        body = json.loads(response.read())
        if body.get("next_cursor") is None:
            body["next_cursor"] = 999_999_999
        return json_response(response.status_code, body)

    def close(self) -> None:
        self.inner.close()


def test_an_empty_last_page_is_asked_for_once_more_then_ends_the_listing() -> None:
    """An empty page that ends a listing after a page with a cursor is asked for once more (a
    cache replaying another query's empty answer looks the same and would end the listing
    early); empty again, it is the end: every order once, one request more."""
    transport = EndsWithAnEmptyPage()
    with (
        SandboxServer(orders=700) as srv,
        PartnerClient(api_key=srv.api_key, base_url=srv.url, transport=transport) as client,
    ):
        ids = [o["id"] for o in client.iter_orders(page_size=500)]
        assert len(ids) == len(set(ids)) == 700
        assert transport.empty_asked == 2
        assert client.stats.requests == 4  # 500, 200, the empty page twice
