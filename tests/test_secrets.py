"""Secrets (API key, client token, client secret, ephemeral key) never show up in logs, errors or reprs."""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import httpx
import pytest

from conftest import client_for, json_response
from ht_analytics import HTError, PartnerClient
from ht_analytics._secrets import Secret, is_sensitive, redact, safe_url

KEY = "sk-live-SECRET-9d8e7f"
TOKEN = "auth-TOKEN-abcdef123456"
CLIENT_SECRET = "seti_123_secret_CLIENTSECRET"
EPHEMERAL = "ek_test_EPHEMERALKEY42"
SECRETS = (KEY, TOKEN, CLIENT_SECRET, EPHEMERAL)


def handler(request: httpx.Request) -> httpx.Response:
    """An API that echoes the key in its errors and hands out tokens."""
    path = request.url.path
    if path.endswith("/orders/1"):
        return json_response(
            401, {"status": "error", "message": f"Invalid API key {request.headers['Api-Key']}"}
        )
    if path.endswith("/orders/2"):
        return json_response(503, {"message": f"overloaded for key {request.headers['Api-Key']}"})
    if path.endswith("/orders/3"):
        raise httpx.ConnectError(
            f"cannot connect (key={request.headers['Api-Key']})", request=request
        )
    if path.endswith("setup_intent"):
        return json_response(200, {"stripe_customer_id": "cus_1", "client_secret": CLIENT_SECRET})
    if path.endswith("ephemeral_key"):
        return json_response(200, {"stripe_customer_id": "cus_1", "ephemeral_key": EPHEMERAL})
    if "/clients" in path:
        return json_response(
            200,
            {
                "status": "success",
                "client": {"id": 4, "email": "a@example.com", "authentication_token": TOKEN},
            },
        )
    if path.endswith("/orders"):
        return json_response(200, {"status": "success", "orders": [{"id": 1}], "next_cursor": None})
    return json_response(404, {"message": "nope"})


def test_no_secret_in_debug_logs_errors_reprs_or_warnings(caplog: pytest.LogCaptureFixture) -> None:
    """Exercise every path with DEBUG logging on all loggers; no secret appears anywhere."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = PartnerClient(
            KEY,
            "https://api.test",
            transport=httpx.MockTransport(handler),
            rate_limit=None,
            max_retries=1,
        )
        texts += [repr(client), str(client.stats)]
        for order_id in (1, 2, 3, 99):
            with pytest.raises(HTError) as info:
                client.get_order(order_id)
            assert info.value.__cause__ is None
            assert info.value.__context__ is None  # httpx errors underneath hold the key header
            texts += [str(info.value), repr(info.value)]
        pages = list(client.iter_pages())
        texts += [repr(p) for p in pages]
        texts += [
            repr(pages[0].request),
            repr(pages[0].request.headers),
            repr(pages[0].response.request.headers),
        ]
        record = client.get_client(4)
        intent = client.create_setup_intent(4)
        ek = client.create_ephemeral_key(4)
        texts += [repr(record), str(record), repr(intent), str(intent), repr(ek), str(ek)]
        texts += [repr(record.authentication_token), str(record.authentication_token)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(r.__dict__) for r in caplog.records]
    texts += [str(w.message) for w in caught]
    assert caplog.records, "DEBUG logging produced no record at all: the test would prove nothing"
    assert any("retrying" in r.getMessage() for r in caplog.records), "no retry was logged"
    blob = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in blob
    # ...while the values stay reachable on purpose:
    assert record.authentication_token is not None
    assert record.authentication_token.reveal() == TOKEN
    assert intent.client_secret.reveal() == CLIENT_SECRET


def test_echoed_key_is_masked_in_error_message() -> None:
    """The server echoing the key in its message gives '***' in the exception."""
    client = PartnerClient(
        KEY, "https://api.test", transport=httpx.MockTransport(handler), rate_limit=None
    )
    with pytest.raises(HTError) as info:
        client.get_order(1)
    assert "Invalid API key ***" in str(info.value)


def test_secret_helpers() -> None:
    """Secret masks itself; redact and safe_url scrub text and URLs."""
    s = Secret("abc123")
    assert (repr(s), str(s), f"{s}") == ("Secret('***')", "***", "***")
    assert redact("key abc123 here", [s, None, "zz"]) == "key *** here"
    url = safe_url("https://u:p@x.test/a?token=t0k&limit=5&api_key=k")
    assert "t0k" not in url
    assert "u:p" not in url
    assert "=k" not in url
    assert "limit=5" in url


def test_secret_is_not_pickled_into_text() -> None:
    """Formatting containers of secrets does not reveal them either."""
    data: dict[str, Any] = {"token": Secret(TOKEN)}
    assert TOKEN not in f"{data} {[Secret(KEY)]}"


def test_unreadable_body_with_a_token_is_not_quoted_in_the_error() -> None:
    """A truncated client body that contains a token gives a PayloadError without an excerpt."""
    body = (
        '{"status": "success", "client": {"id": 6, "authentication_token": "' + TOKEN + '", "em'
    ).encode()
    client = PartnerClient(
        KEY,
        "https://api.test",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)),
        rate_limit=None,
        max_retries=1,
    )
    with pytest.raises(HTError) as info:
        client.get_client(6)
    assert "not valid JSON" in str(info.value)
    assert "2 attempts" in str(info.value)
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)


# -- a second audit -------------------------------------------------------------------------------


def test_the_key_is_masked_in_every_form_a_server_may_echo_it() -> None:
    """URL-encoded, HTML-escaped, base64, upper case, or an 8-character piece of it."""
    import base64
    import html
    from urllib.parse import quote

    key = "sk-AUDIT+/=%&'#!~Qw3Er5Ty7"
    forms = [
        key,
        quote(key, safe=""),
        html.escape(key),
        base64.b64encode(key.encode()).decode(),
        key.upper(),
        key[:10] + "****",
        "…" + key[-9:],
    ]
    for form in forms:
        masked = redact(f"error for {form} here", [key])
        assert masked.startswith("error for ")
        for piece in (key[i : i + 8] for i in range(len(key) - 7)):
            assert piece.lower() not in masked.lower(), (form, masked)


def test_an_echoed_key_in_a_redirect_or_a_server_page_is_masked() -> None:
    """A redirect to a URL carrying the key (URL-encoded), an HTML 503 page quoting it escaped:
    neither error message shows it."""
    import html
    from urllib.parse import quote

    key = "sk-AUDIT+/=%&'Zq7Wm4Kx9Tb2"

    def echo(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orders/1"):
            return httpx.Response(302, headers={"Location": f"https://x.test/login?k={quote(key)}"})
        page = f"<html><title>{html.escape(key)}</title></html>"
        return httpx.Response(503, text=page, headers={"content-type": "text/html"})

    with PartnerClient(
        api_key=key,
        base_url="https://api.test",
        rate_limit=None,
        max_retries=0,
        transport=httpx.MockTransport(echo),
    ) as c:
        for order_id in (1, 2):
            with pytest.raises(HTError) as caught:
                c.get_order(order_id)
            text = f"{caught.value} {caught.value!r}"
            assert "Zq7Wm4Kx" not in text, text


def test_httpcore_debug_records_do_not_show_an_echoed_key(caplog: pytest.LogCaptureFixture) -> None:
    """httpcore logs response headers as they arrive; a header echoing the key is masked."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"status": "success", "order": {"id": 5}}'
            self.send_response(200)
            self.send_header("X-Echo", self.headers["Api-Key"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with (
            caplog.at_level(logging.DEBUG),
            PartnerClient(
                api_key=KEY, base_url=f"http://127.0.0.1:{server.server_port}", rate_limit=None
            ) as c,
        ):
            assert c.get_order(5) == {"id": 5}
    finally:
        server.shutdown()
        server.server_close()
    headers = [
        r for r in caplog.records if r.name.startswith("httpcore") and "X-Echo" in r.getMessage()
    ]
    assert headers, "httpcore logged no response headers: the test checks nothing"
    assert KEY not in caplog.text


def test_secrets_nested_in_a_client_record_are_masked() -> None:
    from ht_analytics._models import ClientRecord

    record = ClientRecord.from_wire(
        {
            "id": 1,
            "email": "a@b.c",
            "payment": {"client_secret": "NESTED-SECRET", "ok": 1},
            "sessions": [{"auth_token": "NESTED-TOKEN"}, {"jwt": "NESTED-JWT"}],
        }
    )
    text = repr(record)
    assert "NESTED" not in text
    assert record.extra["payment"]["ok"] == 1


def test_an_invalid_key_is_not_kept_in_the_traceback() -> None:
    """Tools that print a traceback's local variables (Sentry, ``pytest -l``) find no key."""
    bad = "sk-live-Zq7Wm4Kx9Tb2 has a space"
    with pytest.raises(HTError) as caught:
        PartnerClient(api_key=bad, base_url="https://api.test")
    tb = caught.value.__traceback__.tb_next  # past this test's own frame
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            assert bad not in repr(value)
        tb = tb.tb_next
    for odd in (b"sk-bytes-key", 12345):
        with pytest.raises(HTError, match="is not text"):
            PartnerClient(api_key=odd, base_url="https://api.test")  # type: ignore[arg-type]


def test_requests_kept_in_a_traceback_hold_no_key() -> None:
    """The requests the client builds carry no Api-Key (it goes on a copy as it is sent), so the
    frames of an error's traceback — which Sentry and ``pytest -l`` show — hold none; the server
    still got the key."""
    seen = []

    def failing(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Api-Key"))
        return json_response(404, {"status": "error", "message": "no such order"})

    with (
        PartnerClient(
            api_key=KEY, base_url="https://api.test", transport=httpx.MockTransport(failing)
        ) as c,
        pytest.raises(HTError) as caught,
    ):
        c.get_order(9)
    assert seen == [KEY]
    requests = []
    tb = caught.value.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            if isinstance(value, httpx.Request):
                requests.append(value)
            inner = getattr(value, "request", None)
            if isinstance(inner, httpx.Request):
                requests.append(inner)
        tb = tb.tb_next
    assert requests, "no request in the traceback: the test checks nothing"
    for request in requests:
        assert "api-key" not in {k.lower() for k in request.headers}


@pytest.mark.parametrize(
    ("message", "hidden", "kept"),
    [
        ("authentication_token CLITOK0123456789 expired", "CLITOK0123456789", "expired"),
        ("client_secret=seti_abc_secret_123 is wrong", "seti_abc_secret_123", "is wrong"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "eyJhbGci", "Authorization"),
        ("Invalid token provided", None, "Invalid token provided"),
    ],
)
def test_a_token_quoted_in_a_server_message_is_masked(
    message: str, hidden: str | None, kept: str
) -> None:
    """A server's error may quote a client's token after its name: the error shows the name, not
    the value (words after the name, as in "invalid token provided", stay)."""
    with (
        client_for(lambda r: json_response(400, {"status": "error", "message": message})) as c,
        pytest.raises(HTError) as caught,
    ):
        c.get_order(1)
    text = str(caught.value)
    assert kept in text
    if hidden is not None:
        assert hidden not in text


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        *[
            (n, True)
            for n in (
                "api_key", "apiKey", "X-Api-Key", "KEY", "authentication_token", "accessToken",
                "apikey", "accesstoken", "client_secret", "Password", "session", "session_id",
                "sessionToken", "ephemeralKey", "Authorization", "Set-Cookie", "credentials",
                "privateKey", "refreshtoken", "tokens", "passwd", "authenticationtoken",
                "AUTHENTICATIONTOKEN", "userpassword", "passwordhash", "webhooksecret",
                "csrftoken", "encryptionkey", "accesskeyid", "awssecretaccesskey",
                "clientsecretvalue", "xapikey", "JSESSIONID", "APIkey", "pin", "otp",
            )
        ],
        *[
            (n, False)
            for n in (
                "keywords", "turkey", "sessionCount", "donkeyRide", "monkey", "hockey",
                "sessions_count", "notes", "created_at", "hasAuthError", "pinned",
            )
        ],
    ],
)  # fmt: skip
def test_a_secret_is_named_by_a_whole_word(name: str, secret: bool) -> None:
    """A field is masked when its name says secret, run together or not (``authenticationtoken``,
    ``JSESSIONID``), but not when a word merely holds ``key`` (an unknown ``keywords`` field is
    kept as sent)."""
    assert is_sensitive(name) is secret


def test_unknown_fields_that_only_look_like_secrets_are_kept() -> None:
    from ht_analytics import load_orders

    order = {"id": 1, "statusId": 3, "keywords": ["tv"], "turkey": "gobble", "sessionCount": 3}
    extra = json.loads(load_orders([order]).orders["extra"].iloc[0])
    assert extra == {"keywords": ["tv"], "turkey": "gobble", "sessionCount": 3}
