"""Secrets (API key, client token, client secret, ephemeral key) never show up in logs, errors or reprs."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import httpx
import pytest

from conftest import json_response
from ht_analytics import HTError, PartnerClient
from ht_analytics._secrets import Secret, redact, safe_url

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
