"""The client's behaviour at the edges the contract leaves open: capped pages, trickling bodies,
429 storms with real waits, creates that may have arrived, and secrets in odd places."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from conftest import BASE, KEY, FakeApi, client_for, json_response, make_orders
from ht_analytics import (
    ApiError,
    AuthenticationError,
    HTError,
    OrderStore,
    PaginationError,
    PartnerClient,
    PayloadError,
    RateLimitError,
    ServerError,
)
from ht_analytics.sandbox import FaultConfig, SandboxServer
from ht_analytics.testing import no_waits, set_testing


class CappedApi(FakeApi):
    """A server that serves at most 100 orders a page whatever limit is asked, and no next_cursor."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        params["limit"] = str(min(int(params.get("limit", "100")), 100))
        return super().__call__(
            httpx.Request("GET", request.url.copy_with(params=params), headers=request.headers)
        )


def test_server_capping_the_page_size_loses_nothing() -> None:
    """Without next_cursor, a server that caps limit at 100 still yields all 1,000 orders."""
    api = CappedApi(make_orders(1000), with_next_cursor=False)
    ids = [o["id"] for o in client_for(api).iter_orders(page_size=500)]
    assert ids == [o["id"] for o in api.orders]
    # Ten full pages, then an empty one confirms the end (once: a server that sends no cursor is
    # paged by the last id, and that empty page is the one the client asks for after a full one).
    assert len(api.requests) == 11


def test_fallback_short_page_after_a_full_one_ends_paging() -> None:
    """Once a full page showed the page size, a shorter page is the last: no extra request."""
    api = FakeApi(make_orders(250), with_next_cursor=False)
    ids = [o["id"] for o in client_for(api).iter_orders(page_size=100)]
    assert len(ids) == 250
    assert len(api.requests) == 3


def test_api_key_in_the_wrong_argument_is_not_printed() -> None:
    """PartnerClient(base_url, key) swapped: the error does not repeat the key."""
    secret = "sk-live-SWAPPED-0042"
    with pytest.raises(HTError) as info:
        PartnerClient("https://apis.hellotech.com", secret)
    assert secret not in str(info.value)
    with pytest.raises(HTError) as info:
        PartnerClient(KEY, f"ftp://user:{secret}@host.test")
    assert secret not in str(info.value)


@pytest.mark.parametrize("bad", ["abc\ndef-SECRET", "with space", 'quo"te', "tab\there"])
def test_key_that_cannot_be_a_header_is_refused_without_echo(bad: str) -> None:
    """A key with whitespace or control characters fails at once, without being printed."""
    with pytest.raises(AuthenticationError) as info:
        PartnerClient(bad, BASE)
    assert bad not in str(info.value)
    assert repr(bad)[1:-1] not in str(info.value)
    assert "cannot be sent in a header" in str(info.value)


def test_json_error_body_without_message_is_not_copied() -> None:
    """An error body without a message field gives the reason phrase, not the body (it may hold tokens)."""
    token = "tok-LEAKY-99"
    handler = lambda r: json_response(
        409, {"client": {"authentication_token": token}, "errors": {"token": token}}
    )
    with pytest.raises(HTError) as info:
        client_for(handler).get_client(1)
    assert token not in str(info.value)
    assert "Conflict" in str(info.value)


def test_created_but_unreadable_says_the_order_may_exist() -> None:
    """A 201 whose body is cut is not retried, and the error says to look the order up first."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, content=b'{"status": "success", "order": {"id": 5')

    with pytest.raises(PayloadError, match="may have reached the server") as info:
        client_for(handler).create_order(
            address="1 Main St", phone="3105550123", sku_ids=[1], client_id=2
        )
    assert len(calls) == 1
    assert "201" in str(info.value)


def test_create_after_5xx_says_it_may_have_arrived() -> None:
    """A 503 on create is not retried and the error tells the user to check before resending."""
    handler = lambda r: json_response(503, {"message": "overloaded"})
    with pytest.raises(ServerError, match="look the client up by email"):
        client_for(handler).create_client(email="a@example.com")
    with pytest.raises(ServerError, match="by its purchase_order_id"):
        client_for(handler).create_order(
            address="1 Main St", phone="3105550123", sku_ids=[1], client_id=2
        )


TOKEN = "Zq7WpLkX9mB2nR4t"


@pytest.mark.parametrize(
    "message",
    [
        f'Validation failed: {{"email"=>"a@b.c", "authentication_token"=>"{TOKEN}"}}',  # Rails
        f'Validation failed: {{"authentication_token" => "{TOKEN}"}}',  # Ruby 3.4
        f"No such setup intent: 'seti_1NvJ2xKcL_secret_{TOKEN}'",  # Stripe client secret
        "authentication_token=abcdefghijklmnopqrstu is invalid",  # no digit
    ],
)
def test_a_token_quoted_in_an_error_message_is_masked(message: str) -> None:
    """A server quoting a client's token or a Stripe secret in its message (in Ruby's hash forms,
    bare, or without a digit): the exception shows the message with the value masked."""
    handler = lambda r: json_response(422, {"message": message})
    with pytest.raises(HTError) as caught:
        client_for(handler).get_client(7)
    secret = message.split("=>")[-1].split("=")[-1].split("_secret_")[-1].strip("'\" }")
    secret = secret.split()[0].strip("'\"")
    assert len(secret) >= 16
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)
    assert "***" in str(caught.value)


def test_a_json_error_body_that_is_not_utf8_shows_only_its_message() -> None:
    """A Latin-1 JSON error body with a token beside its message: only the message is shown."""
    body = '{"message":"Client inválido","client":{"authentication_token":"abcdefghijklmnop"}}'
    handler = lambda r: httpx.Response(422, content=body.encode("latin-1"))
    with pytest.raises(HTError) as caught:
        client_for(handler).get_client(7)
    assert "Client inv" in str(caught.value)
    assert "abcdefghijklmnop" not in str(caught.value)
    assert "authentication_token" not in str(caught.value)


def test_no_piece_of_the_key_survives_at_the_cut_of_a_long_message() -> None:
    """The server echoes the key where the 300-character cut of its message falls: no piece of
    the key (no run of 5 of its characters) is left in the exception."""
    for start in range(280, 300):
        message = "." * start + f" key {KEY} rest"
        handler = lambda r, m=message: json_response(400, {"message": m})
        with pytest.raises(HTError) as caught:
            client_for(handler).get_client(7)
        for size in range(5, len(KEY) + 1):
            for i in range(len(KEY) - size + 1):
                assert KEY[i : i + size] not in str(caught.value), (start, KEY[i : i + size])


def test_attempts_count_the_retries_before_a_client_error() -> None:
    """Two 503s, then a 404: NotFoundError.attempts is 3."""
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if len(sent) < 3:
            return json_response(503, {"message": "busy"})
        return json_response(404, {"message": "no such order"})

    with no_waits(), pytest.raises(HTError) as caught:
        client_for(handler).get_order(9)
    assert len(sent) == 3
    assert getattr(caught.value, "attempts", None) == 3


@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_stripe_secret_is_a_payload_error_not_the_text_none(value: object) -> None:
    """``client_secret: null`` (or empty) is unreadable (retried, then PayloadError), never a
    Secret holding "None"."""
    handler = lambda r: json_response(
        200, {"status": "success", "stripe_customer_id": "cus_1", "client_secret": value}
    )
    with no_waits(), pytest.raises(PayloadError, match="client_secret"):
        client_for(handler).create_setup_intent(7)


@pytest.mark.parametrize(("external_id", "sent"), [(None, 1), ("EXT-9", 3)])
def test_update_client_is_retried_only_when_keyed(external_id: str | None, sent: int) -> None:
    """A PUT keyed on external_id is an idempotent upsert; without one it may create a client."""
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) < 3:
            return json_response(503, {"message": "busy"})
        return json_response(
            200, {"status": "success", "client": {"id": 4, "email": "a@example.com"}}
        )

    client = client_for(handler)
    if external_id is None:
        with pytest.raises(ServerError):
            client.update_client(4, email="a@example.com")
    else:
        assert client.update_client(4, email="a@example.com", external_id=external_id).id == 4
    assert len(bodies) == sent
    assert b"null" not in bodies[0]  # fields not given are left out, not erased


def _loopback_server(
    respond: Callable[[socket.socket, threading.Event], None],
    keep: list[bytes] | None = None,
) -> tuple[str, socket.socket, threading.Event]:
    """A raw HTTP server on loopback: for each connection, reads the request (appended to
    ``keep`` if given) and calls ``respond(connection, stop)``; ``stop.set()`` then closing the
    socket ends it."""
    sock = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                request = conn.recv(65536)
                if keep is not None:
                    keep.append(request)
                respond(conn, stop)

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", sock, stop


def _ok(body: bytes, *headers: bytes) -> bytes:
    """A whole HTTP/1.1 200 answer with a JSON ``body`` and extra ``headers`` (raw lines)."""
    lines = [b"HTTP/1.1 200 OK", b"Content-Type: application/json", *headers]
    lines += [b"Connection: close", b"Content-Length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _raw_server(answer: bytes) -> tuple[str, socket.socket, threading.Event]:
    """A loopback server answering every request with the bytes ``answer``."""
    return _loopback_server(lambda conn, stop: conn.sendall(answer))


def _trickle(conn: socket.socket, stop: threading.Event, data: bytes, delay: float) -> None:
    """Send ``data`` one byte every ``delay`` seconds (until ``stop`` or the peer hangs up)."""
    for byte in data:
        if stop.wait(delay):
            return
        try:
            conn.sendall(bytes([byte]))
        except OSError:
            return


def test_a_header_that_is_not_ascii_is_kept_not_a_crash() -> None:
    """HTTP allows header values of other bytes (`X-Note: café ÿ`): the page is read, and the
    header kept as it came, instead of a UnicodeEncodeError from inside httpx."""
    body = b'{"status": "success", "orders": [{"id": 7}], "next_cursor": null}'
    answer = _ok(body, b"X-Note: caf\xc3\xa9 \xff")
    url, sock, stop = _raw_server(answer)
    try:
        with PartnerClient(KEY, url, max_retries=0, rate_limit=None) as client:
            pages = list(client.iter_pages())
    finally:
        stop.set()
        sock.close()
    assert [o["id"] for o in pages[0].orders] == [7]
    assert (b"X-Note", b"caf\xc3\xa9 \xff") in pages[0].response.headers.raw


def _trickle_server(delay: float) -> tuple[str, socket.socket, threading.Event]:
    """A loopback server that sends headers, then one body byte every `delay` s."""
    body = b'{"status": "success", "skus": []}'
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
        body
    )

    def respond(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head)
        _trickle(conn, stop, body, delay)

    return _loopback_server(respond)


SLOW_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 200


@pytest.mark.parametrize(
    "server",
    [
        lambda: _trickle_server(0.2),  # headers, then one body byte every 0.2 s
        # the status line and headers one byte every 0.1 s (each read within httpx's timeout)
        lambda: _loopback_server(lambda conn, stop: _trickle(conn, stop, SLOW_HEAD, 0.1)),
    ],
    ids=["body", "headers"],
)
def test_an_answer_that_trickles_in_hits_the_attempt_deadline(
    server: Callable[[], tuple[str, socket.socket, threading.Event]],
) -> None:
    """A server trickling its answer cannot hold a request past the timeout: two attempts of
    about one second each, not 34 body bytes x 0.2 s or 260 header bytes x 0.1 s each."""
    url, sock, stop = server()
    try:
        started = time.monotonic()
        with (
            PartnerClient(KEY, url, timeout=1.0, max_retries=1, rate_limit=None) as client,
            pytest.raises(ServerError, match="more than 1 s in all"),
        ):
            client.list_skus()
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        sock.close()
    assert elapsed < 4.0


def test_every_connection_pool_is_under_the_attempt_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deadline reaches httpcore through a private hook: a version of httpx without it
    must fail here, not silently lose the deadline. Proxies from the environment count too."""
    from ht_analytics._transport import bound_by_deadlines

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with PartnerClient(KEY, BASE) as client:
        http = client._requester.http
        assert http._mounts  # the environment's proxy
        assert bound_by_deadlines(http)


def test_retry_after_zero_storm_is_survived_with_real_waits() -> None:
    """With real back-off, "Retry-After: 0" is a floor: a 429 storm does not burn the retries."""
    set_testing(False)
    try:
        faults = FaultConfig(rate_limit=8, retry_after_style="zero")
        with (
            SandboxServer(orders=400, seed=12, faults=faults) as srv,
            PartnerClient(
                api_key=srv.api_key, base_url=srv.url, rate_limit=None, max_retries=6
            ) as c,
        ):
            ids = [o["id"] for o in c.iter_orders(page_size=25)]
            retries = c.stats.retries
    finally:
        set_testing(True)
    assert sorted(ids) == sorted(o["id"] for o in srv.data.orders)
    assert retries > 0


def test_rate_limit_error_after_storm_names_the_wait() -> None:
    """A server that only ever answers 429 ends in RateLimitError with its Retry-After."""
    handler = lambda r: httpx.Response(429, headers={"Retry-After": "3"})
    with pytest.raises(RateLimitError) as info:
        client_for(handler, max_retries=1).list_skus()
    assert info.value.retry_after == 3.0


def test_final_error_does_not_chain_to_the_request() -> None:
    """The raised error has no chained httpx exception (whose request holds the Api-Key header)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ServerError) as info:
        client_for(handler, max_retries=1).get_order(1)
    chain = []
    error: BaseException | None = info.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert chain == [info.value]


def test_retry_after_floor_in_the_hook() -> None:
    """The back-off hook waits at least the exponential back-off even when Retry-After says 0."""
    from ht_analytics._retry import RetryPolicy, TransientError

    policy = RetryPolicy(wait_initial=0.5, wait_jitter=0.0)
    error = TransientError("x", status=429, retry_after=0.0)
    error.attempt = 3
    assert policy.should_retry(error, idempotent=True) == 2.0
    error.retry_after = 9.0
    assert policy.should_retry(error, idempotent=True) == 9.0


def test_get_client_refuses_another_clients_answer() -> None:
    """Asked for client 7, the server answers client 8 (a cache mixing answers up): retried,
    then a PayloadError naming both, never client 8's record as if it were 7's."""
    handler = lambda r: json_response(
        200, {"status": "success", "client": {"id": 8, "email": "b@example.com"}}
    )
    with no_waits(), pytest.raises(PayloadError, match="client 8, not 7"):
        client_for(handler).get_client(7)


@pytest.mark.parametrize(
    "message",
    [
        "token: ExpiredSignatureError",
        "Bearer token invalid_or_expired_token",
        "Invalid credentials: AuthenticationFailedException",
        "password: must_contain_at_least_one_digit",
        "See token_url=https://auth.example.com/oauth/token for help",
    ],
)
def test_error_codes_and_urls_after_a_secret_word_stay_readable(message: str) -> None:
    """Words after "token", "password" … are not secrets: the message is shown as sent."""
    handler = lambda r: json_response(422, {"message": message})
    with pytest.raises(HTError) as caught:
        client_for(handler).get_client(7)
    assert message in str(caught.value)


def test_a_key_after_a_long_run_of_blank_lines_is_masked_whole() -> None:
    """The key comes after 1,160 newlines (which collapse into one space): no piece of it is
    left in the message."""
    message = "Unknown partner for the key sent:" + "\n" * 1160 + " " + KEY
    handler = lambda r: json_response(401, {"message": message})
    with pytest.raises(HTError) as caught:
        client_for(handler).get_client(7)
    text = str(caught.value)
    for i in range(len(KEY) - 4):
        assert KEY[i : i + 5] not in text, KEY[i : i + 5]


def test_check_zip_keeps_a_zip_sent_as_a_number_whole() -> None:
    """``"zip": 2134`` (a JSON number) is ZIP 02134; ``"cbsa_id": 14460.0`` is 14460."""
    handler = lambda r: json_response(
        200, {"status": "success", "treatment": "on", "zip": 2134, "cbsa_id": 14460.0}
    )
    checked = client_for(handler).check_zip(1, "02134")
    assert checked.zip == "02134"
    assert checked.cbsa_id == 14460


def test_no_traceback_local_holds_a_key_echoed_in_an_error_body() -> None:
    """A 200 `{"status": "error"}` echoing the key: the message is masked, and no frame of the
    error's traceback keeps the body in its locals (pytest -l, Sentry and rich show them)."""
    body = b'{"status": "error", "message": "bad key ' + KEY.encode() + b'"}'
    answer = _ok(body)
    url, sock, stop = _raw_server(answer)
    try:
        with (
            PartnerClient(KEY, url, max_retries=0, rate_limit=None) as client,
            pytest.raises(HTError) as caught,
        ):
            client.get_order(1)
    finally:
        stop.set()
        sock.close()
    shown = traceback.TracebackException.from_exception(caught.value, capture_locals=True)
    ours = [f for f in shown.stack if "ht_analytics" in f.filename]
    assert ours  # the client's own frames are there, with their locals
    text = "\n".join(f"{k}={v}" for f in ours for k, v in (f.locals or {}).items())
    assert "bad key" in str(caught.value)
    assert KEY not in text
    assert KEY[:8] not in text


class Replaying(httpx.BaseTransport):
    """Passes requests to the sandbox, but answers list requests number ``at`` (1-based) with
    the body of request ``source`` (an earlier answer, replayed by a proxy or cache)."""

    def __init__(self, at: set[int], source: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.at, self.source = at, source
        self.bodies: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        self.bodies.append(body)
        if len(self.bodies) in self.at:
            body = self.bodies[self.source - 1]
        return httpx.Response(response.status_code, content=body, headers=response.headers)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("light", [False, True])
def test_a_replayed_page_is_asked_for_again(light: bool) -> None:
    """Request 3 is answered with page 2's body (its ids were seen already): the page is asked
    for once more and the paging ends with every order once. Replayed on both askings, paging
    stops with a PaginationError, as before."""
    with SandboxServer(orders=1200, seed=3) as srv:
        want = sorted(o["id"] for o in srv.data.orders)
        for at, ok in (({3}, True), ({3, 4}, False)):
            transport = Replaying(at, source=2)
            with PartnerClient(
                srv.api_key, srv.url, rate_limit=None, transport=transport
            ) as client:
                pages = client._iter_raw_pages if light else client.iter_pages
                if ok:
                    got = [o["id"] for p in pages(page_size=200) for o in p.orders]
                    assert sorted(got) == want
                    assert len(transport.bodies) == 7  # 6 pages, page 3 asked for twice
                else:
                    with pytest.raises(PaginationError, match="already seen"):
                        list(pages(page_size=200))


@pytest.mark.parametrize("at", [3, 5])
def test_a_sync_survives_a_page_of_another_window(tmp_path: Path, at: int) -> None:
    """A backfill at concurrency 4 whose request ``at`` is answered with the first page of
    another window (request 2): the page fails its check against the window's dates (or its
    ids repeat), is asked for again, and the store holds every order of the sandbox once."""
    with SandboxServer(orders=3000, seed=5) as srv:
        transport = Replaying({at}, source=2)
        with PartnerClient(srv.api_key, srv.url, rate_limit=None, transport=transport) as c:
            report = OrderStore(tmp_path / f"s{at}").sync(c, concurrency=4, progress=False)
        assert report.ok, report.error
        frames = OrderStore(tmp_path / f"s{at}").load()
        assert sorted(frames.orders["order_id"]) == sorted(o["id"] for o in srv.data.orders)
        net = sum(srv.data.net_cents.values())
        assert int(frames.orders["total_amount"].map(lambda d: int(d * 100)).sum()) == net


def test_a_connect_that_times_out_is_known_not_sent_and_retried() -> None:
    """A connection never accepted (the listener's queue is full) times out at the attempt
    deadline as a connect timeout: the request was not sent, so even a create is retried, and
    the error does not say the order may exist."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the accept queue: further connection attempts go unanswered
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        with (
            PartnerClient(
                KEY, f"http://127.0.0.1:{port}", timeout=0.5, max_retries=2, rate_limit=None
            ) as client,
            pytest.raises(ServerError) as caught,
        ):
            client.create_order(client_id=1, address="1 Main St", phone="5125550100", sku_ids=[1])
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    assert caught.value.attempts == 3
    assert "ConnectTimeout" in str(caught.value)
    assert "may have reached" not in str(caught.value)


def test_nothing_listening_says_what_to_check() -> None:
    """A server that is not running (connection refused): after the retries, the error says
    nothing answered at that origin and to check the base URL."""
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with (
        PartnerClient(KEY, f"http://127.0.0.1:{port}", max_retries=1) as client,
        pytest.raises(ServerError) as caught,
    ):
        client.get_order(1)
    message = str(caught.value)
    assert f"nothing answered at http://127.0.0.1:{port}: is the server running" in message
    assert "HT_BASE_URL" in message
    with pytest.raises(HTError, match=r"ht-analytics demo"):
        PartnerClient(base_url=f"http://127.0.0.1:{port}")


def test_a_compression_bomb_is_refused_not_read_into_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A small gzip body that expands past the limit (here 1 MiB, for speed; 256 MiB by default)
    is refused with a PayloadError once decoding passes the limit, never read whole."""
    import gzip

    from ht_analytics import _transport

    monkeypatch.setattr(_transport, "MAX_BODY", 1 << 20)
    bomb = gzip.compress(b'{"status": "success", "orders": [' + b" " * (8 << 20) + b"]}")
    assert len(bomb) < 64 << 10
    answer = _ok(bomb, b"Content-Encoding: gzip")
    url, sock, stop = _raw_server(answer)
    try:
        with (
            PartnerClient(KEY, url, max_retries=2, rate_limit=None) as client,
            pytest.raises(PayloadError, match=r"over 1 MiB once decoded \(a compression bomb\?\)"),
        ):
            client.get_order(1)
    finally:
        stop.set()
        sock.close()
    assert client.stats.requests == 1  # not retried: the same bytes would expand again


@pytest.mark.parametrize(
    ("key", "body", "kept"),
    [
        # all digits: it cannot be told from a number holding it, so it is not looked for
        ("1736000000", b'{"created_at":{"integer":1736000000}}', True),
        # a backslash: only its JSON-escaped form (inside a string) is replaced; JSON stays valid
        ("abcdefgh\\", b'{"a":"abcdefgh\\"quoted","b":"abcdefgh\\\\"}', False),
        # `/` escaped as `\/`
        ("ab/cdefgh-1", b'{"a":"ab\\/cdefgh-1"}', False),
        # text that only looks like the key from inside an escape: kept, the JSON valid
        ("abcdefgh-12", b'{"a":"\\u00abcdefgh\\u002d12"}', True),
        ("test-key-4f1d9c2a", b'{"a":"x\\test-key-4f1d9c2a"}', True),
        ("4f1d9c2a77e0b5c1", b'{"a":"\\u4f1d9c2a77e0b5c1"}', True),
        # an escaped backslash, then text: not the key, and the JSON stays valid
        ("sk_live_4f9a8b7c", b'{"a":"\\\\u0073k_live_4f9a8b7c"}', True),
        # an escaped backslash, then the key written escaped: cleared, the backslash kept
        ("sk_live_4f9a8b7c", b'{"a":"\\\\\\u0073k_live_4f9a8b7c"}', False),
        # any character as a `\uXXXX` escape, hex digits in either case, mixed with the rest
        ("abcdefgh-12", b'{"a":"x \\u0061bcdefgh-12 y"}', False),
        (
            "abcdefgh-12",
            b'{"a":"\\u0061\\u0062\\u0063\\u0064\\u0065\\u0066\\u0067\\u0068\\u002D\\u0031\\u0032"}',
            False,
        ),
        ("ab/cdefgh-1", b'{"a":"ab\\u002fcdefgh\\u002d1"}', False),
        # escapes that spell another text: kept
        ("abcdefgh-12", b'{"a":"\\u0061bcdefgh-13"}', True),
        # the key in another case: lowered, uppered, mixed, escaped, in the URL form
        ("AbCdEfGh-12", b'{"a":"x abcdefgh-12 y"}', False),
        ("abcdefgh-12", b'{"a":"ABCDEFGH-12"}', False),
        ("abcdefgh-12", b'{"a":"aBcDeFgH-12"}', False),
        ("abcdefgh-12", b'{"a":"\\u0041BCdefgh\\u002d12"}', False),
        ("ab/cdefgh-1", b'{"a":"AB\\/CDEFGH-1"}', False),
        ("ab/cdefgh+1", b'{"a":"AB%2fCDEFGH%2B1"}', False),
        # another text in another case: kept
        ("abcdefgh-12", b'{"a":"ABCDEFGH-13"}', True),
    ],
)
def test_clearing_the_key_from_bodies_keeps_them_valid(key: str, body: bytes, kept: bool) -> None:
    """What `scrub_body` does to a body echoing the key: valid JSON before, valid after."""
    import json

    with PartnerClient(key, BASE) as client:
        cleared = client._requester.scrub_body(body)
    values = json.loads(cleared)  # still valid JSON
    assert (cleared == body) is kept
    if not kept:
        assert b"***" in cleared
        # the key, decoded, is gone in any case
        assert all(key.lower() not in str(v).lower() for v in values.values())


@pytest.mark.parametrize("body", [b"null", b" null", b"\n null \n", b"nulll"])
def test_a_body_that_starts_with_null_is_a_payload_error_not_a_crash(
    body: bytes, tmp_path: Path
) -> None:
    """A 200 whose body is `null` (Arrow's JSON reader crashes the process on it): paging ends
    with a PayloadError naming the request, a sync with a failed report saying the same, and
    the store is left as it was (empty)."""
    from ht_analytics import OrderStore, PayloadError

    url, sock, stop = _raw_server(_ok(body))
    try:
        with PartnerClient(KEY, url, max_retries=0, rate_limit=None) as client:
            with pytest.raises(
                PayloadError, match=r"GET http://127\.0\.0\.1:\d+/api/partners/orders"
            ):
                list(client._iter_raw_pages(page_size=500))
            store = OrderStore(tmp_path / "store")
            report = store.sync(client, progress=False)
    finally:
        stop.set()
        sock.close()
    assert not report.ok
    assert "/api/partners/orders" in str(report.error)
    assert "not valid JSON" in str(report.error) or "no 'orders' list" in str(report.error)
    assert len(store.load().orders) == 0


@pytest.mark.parametrize(
    "order", [b'{"id":5,"createdAt":"garbage"}', b'{"id":5}', b'{"id":5,"createdAt":null}']
)
def test_a_listing_of_one_page_with_no_creation_time_is_stored(
    order: bytes, tmp_path: Path
) -> None:
    """The whole listing is one page whose one order has no readable creation time: the
    backfill stores it (with the problem, if any) instead of failing on an empty minimum."""
    from ht_analytics import OrderStore

    body = b'{"status":"success","orders":[' + order + b'],"next_cursor":null}'
    url, sock, stop = _raw_server(_ok(body))
    try:
        with PartnerClient(KEY, url, max_retries=0, rate_limit=None) as client:
            report = OrderStore(tmp_path / "store").sync(client, progress=False)
    finally:
        stop.set()
        sock.close()
    assert report.ok, report.error
    frames = OrderStore(tmp_path / "store").load()
    assert frames.orders["order_id"].tolist() == [5]
    assert frames.orders["created_at"].isna().all()
    assert (len(frames.problems) == 1) == (b"garbage" in order)


@pytest.mark.parametrize(
    ("header", "said"),
    [
        (b"99999999", "asks to wait 99,999,999 s, more than the 120 s this client waits at most"),
        (b"inf", "asks to wait forever, more than the 120 s this client waits at most"),
        (b"30", "asks to wait 30 s;"),
    ],
)
def test_a_retry_after_past_the_retry_timeout_is_quoted_as_asked(header: bytes, said: str) -> None:
    """A 429 asking for a wait longer than the retry timeout has left: the client gives up at
    once and says what the server asked for (not the wait it would have capped it to)."""
    answer = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: " + header
    answer += b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    url, sock, stop = _raw_server(answer)
    try:
        with (
            PartnerClient(KEY, url, max_retries=3, rate_limit=None, retry_timeout=10) as client,
            pytest.raises(RateLimitError) as info,
        ):
            client.list_skus()
    finally:
        stop.set()
        sock.close()
    assert said in str(info.value)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_page_that_is_not_utf8_is_retried_then_a_clear_error(
    encoding: str, tmp_path: Path
) -> None:
    """A 200 whose JSON is UTF-16 or UTF-32: Python's parser would take it, the loader would
    not (the whole sync failed on "document 1"). It is an unreadable answer: asked again, and in
    the end an error naming the request and the encoding; the store is left as it was."""
    from ht_analytics import OrderStore, PayloadError

    body = json.dumps({"status": "success", "orders": [], "next_cursor": None}).encode(encoding)
    url, sock, stop = _raw_server(_ok(body))
    try:
        with PartnerClient(KEY, url, max_retries=1, rate_limit=None) as client:
            with pytest.raises(PayloadError, match=r"orders.*not UTF-8") as raised:
                list(client.iter_pages(page_size=500))
            assert client.stats.retries == 1
            report = OrderStore(tmp_path / "store").sync(client, progress=False)
    finally:
        stop.set()
        sock.close()
    assert encoding[:6].upper() in str(raised.value)
    assert not report.ok
    assert "not UTF-8" in str(report.error)
    assert not list((tmp_path / "store").rglob("*.parquet"))


@pytest.mark.parametrize(
    "body", [b'\x00{"status": "success"}', b"\x00\x00\x00\x00", b'{\x00"a": 1}']
)
def test_a_stray_nul_is_not_taken_for_utf16(body: bytes) -> None:
    from ht_analytics._responses import parse_json

    with pytest.raises(PayloadError, match="not valid JSON"):
        parse_json(body, what="GET /x")


def test_a_short_listing_of_a_server_without_cursors_takes_two_requests() -> None:
    """No ``next_cursor`` at all: one short page, then the empty page the client asks for (it
    cannot know the server's page size) ends the listing, asked once."""
    api = FakeApi(make_orders(40), with_next_cursor=False)
    ids = [o["id"] for o in client_for(api).iter_orders(page_size=100)]
    assert len(ids) == 40
    assert len(api.requests) == 2


def test_an_empty_last_page_asked_again_may_meet_a_replay_and_still_end() -> None:
    """The re-ask of an empty last page is not one of the page's two tries: answered then with
    an earlier page (a replay), the page is asked a third time, and its empty answer ends the
    listing."""
    pages = [
        {"status": "success", "orders": make_orders(2, 1), "next_cursor": 2},
        {"status": "success", "orders": [], "next_cursor": None},
        {"status": "success", "orders": make_orders(2, 1), "next_cursor": 2},  # a replay
        {"status": "success", "orders": [], "next_cursor": None},
    ]
    answers = iter(pages)

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(200, next(answers))

    client = PartnerClient(KEY, BASE, transport=httpx.MockTransport(handler), rate_limit=None)
    with client:
        assert [o["id"] for o in client.iter_orders()] == [1, 2]
        assert client.stats.requests == 4


def _capturing_proxy() -> tuple[str, list[bytes], Callable[[], None]]:
    """A loopback server playing an HTTP proxy that answers every request 502 and keeps the
    bytes it received (a request line and headers, the ``Api-Key`` among them if sent)."""
    received: list[bytes] = []
    answer = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def respond(conn: socket.socket, stop: threading.Event) -> None:
        with contextlib.suppress(OSError):  # the client may leave before the answer
            conn.sendall(answer)

    url, sock, stop = _loopback_server(respond, keep=received)

    def close() -> None:
        stop.set()
        sock.close()

    return url, received, close


def _proxies_in_the_environment(monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    """HTTP_PROXY, HTTPS_PROXY and ALL_PROXY (both cases) point at ``proxy``; no NO_PROXY."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
        monkeypatch.setenv(name.upper(), proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_a_loopback_base_url_is_reached_directly_not_through_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With proxies set in the environment (a corporate proxy), the sandbox on loopback is
    asked directly: the proxy never sees a request (the Api-Key would cross it unencrypted),
    and every order arrives."""
    proxy, received, close = _capturing_proxy()
    _proxies_in_the_environment(monkeypatch, proxy)
    try:
        with (
            SandboxServer(orders=30, api_key=KEY) as srv,
            PartnerClient(KEY, srv.url, max_retries=0, rate_limit=None) as client,
        ):
            ids = [order["id"] for order in client.iter_orders()]
    finally:
        close()
    assert len(ids) == len(set(ids)) == 30
    assert received == []


def test_an_https_base_url_keeps_the_environments_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real API's host is still asked through the environment's proxy (CONNECT to it),
    where a corporate network requires one; the key stays inside the tunnel."""
    proxy, received, close = _capturing_proxy()
    _proxies_in_the_environment(monkeypatch, proxy)
    try:
        with (
            PartnerClient(KEY, "https://api.test", max_retries=0, rate_limit=None) as client,
            pytest.raises(HTError),
        ):
            client.list_skus()
    finally:
        close()
    assert len(received) == 1
    assert received[0].startswith(b"CONNECT api.test:443 HTTP/1.1\r\n")
    assert KEY.encode() not in received[0]


def _redirect_to(location: bytes) -> bytes:
    return (
        b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n"
        b"Connection: close\r\n\r\n"
    )


def test_a_redirect_to_a_host_httpx_cannot_decode_is_a_payload_error(tmp_path: Path) -> None:
    """A 302 to `http://xn--localhost/` (not punycode: httpx raises an IDNA error while it
    builds the next request, even when not following): a bad answer, retried, then a
    PayloadError naming the request; a sync returns a failed report, the store left empty."""
    url, sock, stop = _raw_server(_redirect_to(b"http://xn--localhost/"))
    try:
        with PartnerClient(KEY, url, max_retries=2, rate_limit=None) as client:
            with pytest.raises(PayloadError) as info:
                client.get_order(1)
            assert client.stats.requests == 3  # retried like any unreadable answer
            store = OrderStore(tmp_path / "store")
            report = store.sync(client, progress=False)
    finally:
        stop.set()
        sock.close()
    message = str(info.value)
    assert message.startswith(f"GET {url}/api/partners/orders/1: the answer could not be read (")
    assert "InvalidCodepoint" in message
    assert message.endswith("check the base URL (gave up after 3 attempts)")
    assert not report.ok
    assert "the answer could not be read (InvalidCodepoint" in str(report.error)
    with pytest.raises(PayloadError):
        report.raise_for_error()
    assert len(store.load().orders) == 0


def test_a_create_answered_by_a_redirect_httpx_cannot_decode_is_not_resent() -> None:
    """The same answer to a create: not retried (the order may exist), and the error says to
    check before sending it again."""
    url, sock, stop = _raw_server(_redirect_to(b"http://xn--localhost/"))
    try:
        with (
            PartnerClient(KEY, url, max_retries=2, rate_limit=None) as client,
            pytest.raises(PayloadError) as info,
        ):
            client.create_order(address="1 Main St", phone="3105550123", sku_ids=[1], client_id=7)
    finally:
        stop.set()
        sock.close()
    assert client.stats.requests == 1
    message = str(info.value)
    assert message.startswith(f"POST {url}/api/partners/orders: the answer could not be read (")
    assert message.endswith(
        "— the server answered; the request may have reached the server, so it was not "
        "retried: check whether it took effect (e.g. look the order up by its "
        "purchase_order_id) before sending it again"
    )


def _answer(status: bytes, body: bytes) -> bytes:
    """A whole HTTP/1.1 answer with status line ``status`` and a JSON ``body``."""
    return _ok(body).replace(b"HTTP/1.1 200 OK", b"HTTP/1.1 " + status, 1)


_CHECK_FIRST = (
    "the request may have reached the server, so it was not retried: check whether it took "
    "effect ({check}) before sending it again"
)


@pytest.mark.parametrize(
    ("call", "method", "path", "check"),
    [
        (
            lambda c: c.create_order(
                address="1 Main St", phone="3105550123", sku_ids=[1], client_id=7
            ),
            "POST",
            "/api/partners/orders",
            "e.g. look the order up by its purchase_order_id",
        ),
        (
            lambda c: c.create_client(email="a@example.com"),
            "POST",
            "/api/partners/clients",
            "e.g. look the client up by email",
        ),
        (
            lambda c: c.update_client(5, email="a@example.com"),
            "PUT",
            "/api/partners/clients/5",
            "get_client(id) shows what the client holds now",
        ),
    ],
    ids=["create_order", "create_client", "update_client"],
)
def test_an_error_in_a_2xx_answer_to_a_create_says_to_check_before_resending(
    call: Callable[[PartnerClient], object], method: str, path: str, check: str
) -> None:
    """A 201 whose body says `{"status": "error"}` to a request that is not safe to resend:
    an ApiError (sent once) that says the request may have taken effect and how to check,
    as every other ambiguous answer to such a request does."""
    body = b'{"status": "error", "message": "something failed"}'
    url, sock, stop = _raw_server(_answer(b"201 Created", body))
    try:
        with (
            PartnerClient(KEY, url, max_retries=3, rate_limit=None) as client,
            pytest.raises(ApiError) as info,
        ):
            call(client)
    finally:
        stop.set()
        sock.close()
    assert client.stats.requests == 1
    assert info.value.status == 201
    assert info.value.message == (
        "something failed — the server answered 201 with an error in the body; "
        + _CHECK_FIRST.format(check=check)
    )
    assert str(info.value) == f"{info.value.message} (HTTP 201, {method} {url}{path})"


def test_an_error_in_a_2xx_answer_to_a_safe_request_has_no_such_advice() -> None:
    """An update keyed on `external_id` (safe to resend) and a read: the server's message
    alone, as before."""
    body = b'{"status": "error", "message": "something failed"}'
    url, sock, stop = _raw_server(_answer(b"200 OK", body))
    try:
        with PartnerClient(KEY, url, max_retries=0, rate_limit=None) as client:
            with pytest.raises(ApiError) as update:
                client.update_client(5, email="a@example.com", external_id="crm-5")
            with pytest.raises(ApiError) as read:
                client.get_client(5)
    finally:
        stop.set()
        sock.close()
    assert update.value.message == read.value.message == "something failed"


class EchoingInAnyCase(httpx.BaseTransport):
    """Passes requests to the sandbox, but writes the request's API key into each listed order,
    lowered (its partner), uppered (a service's name) and in mixed case with its letters
    `\\uXXXX` escapes (a field the loader does not know): a server echoing what it was sent."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/orders"):
            return response
        key = request.headers["Api-Key"]
        body = json.loads(response.read())
        for order in body["orders"]:
            order["partner"] = "partner LOWER-MARK"
            order["customNote"] = {"seen": "ESCAPED-MARK"}
            for line in order.get("breakdown", {}).get("services", []):
                line["name"] = f"{line.get('name')} (UPPER-MARK)"
        mixed = "".join(
            (f"\\u{ord(c.upper()):04x}" if i % 2 else c.lower()) if c.isalpha() else c
            for i, c in enumerate(key)
        )
        content = json.dumps(body)
        content = content.replace("LOWER-MARK", key.lower()).replace("UPPER-MARK", key.upper())
        content = content.replace("ESCAPED-MARK", mixed)
        return httpx.Response(
            response.status_code,
            content=content.encode(),
            headers={"Content-Type": "application/json"},
        )

    def close(self) -> None:
        self.inner.close()


def test_a_key_echoed_in_another_case_reaches_no_page_frame_or_file(tmp_path: Path) -> None:
    """A server echoing the API key in the orders lowered, uppered or in mixed case with JSON
    escapes: every page's raw bytes are cleared of it, in any case, and so are the frames
    and every file of a store synced from those pages."""
    import json

    from ht_analytics import load_orders

    key = "sk-live-ECHOED-0123456789"
    with (
        SandboxServer(orders=120, seed=2, api_key=key) as srv,
        PartnerClient(key, srv.url, rate_limit=None, transport=EchoingInAnyCase()) as client,
    ):
        pages = list(client.iter_pages(page_size=50))
        report = OrderStore(tmp_path / "cache").sync(client, progress=False)
    assert report.ok, report.error
    assert [len(page.orders) for page in pages] == [50, 50, 20]
    for page in pages:
        assert b"partner ***" in page.raw
        assert key.lower().encode() not in page.raw.lower()
        decoded = json.dumps(json.loads(page.raw), ensure_ascii=False)
        assert key.lower() not in decoded.lower()  # nor spelled with escapes
    frames = load_orders(pages)
    assert set(frames.orders["partner"]) == {"partner ***"}
    stored = OrderStore(tmp_path / "cache").load()
    assert len(stored.orders) == 120
    for frame in (frames, stored):
        text = (frame.orders.to_csv() + frame.services.to_csv()).lower()
        assert key.lower() not in text
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert key.lower().encode() not in path.read_bytes().lower(), path
