"""Shared fixtures: no retry waits in tests, a clean environment, and a fake paginated API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ht_analytics import PartnerClient
from ht_analytics.testing import no_waits

KEY = "test-key-4f1d9c2a"
TABLE_KEYS = {
    "orders": ["order_id"],
    "services": ["order_id", "line_no"],
    "adjustments": ["order_id", "level", "line_no", "position"],
    "tags": ["order_id", "tag"],
    "problems": ["order_id", "table", "field", "reason"],
}
"""The key columns of each table of OrderFrames: sort by them to compare frames row by row."""
BASE = "https://api.test"


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    """Retries happen at once in tests; pacing is set per client."""
    with no_waits():
        yield


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No key or base URL leaks in from the machine, and no .env in the working directory."""
    monkeypatch.delenv("HT_API_KEY", raising=False)
    monkeypatch.delenv("HT_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    """A JSON response as the API sends it."""
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
    )


def empty_page() -> httpx.Response:
    """The API's last page with no order (what a cache replaying an empty answer sends)."""
    return json_response(200, {"status": "success", "orders": [], "next_cursor": None})


def make_orders(n: int, start_id: int = 1000) -> list[dict[str, Any]]:
    """n minimal orders with increasing ids."""
    return [
        {"id": start_id + i, "statusId": 3, "createdAt": f"2025-01-01T00:00:{i % 60:02d}.000Z"}
        for i in range(n)
    ]


class FakeApi:
    """A fake paginated ``GET /orders`` that serves real shapes, for ``httpx.MockTransport``.

    ``faults`` maps a request number (1-based) to a response served instead of the real one.
    """

    def __init__(self, orders: list[dict[str, Any]], *, with_next_cursor: bool = True) -> None:
        self.orders = orders
        self.with_next_cursor = with_next_cursor
        self.requests: list[httpx.Request] = []
        self.faults: dict[int, Callable[[httpx.Request], httpx.Response]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        fault = self.faults.get(len(self.requests))
        if fault is not None:
            return fault(request)
        if request.headers.get("Api-Key") != KEY:
            return json_response(401, {"status": "error", "message": "Invalid API key"})
        params = request.url.params
        limit = int(params.get("limit", "100"))
        cursor = params.get("cursor")
        start = 0
        if cursor is not None:
            ids = [o["id"] for o in self.orders]
            start = ids.index(int(cursor)) + 1
        page = self.orders[start : start + limit]
        body: dict[str, Any] = {"status": "success", "orders": page}
        if self.with_next_cursor:
            more = start + limit < len(self.orders)
            body["next_cursor"] = page[-1]["id"] if more and page else None
        return json_response(200, body)

    @property
    def transport(self) -> httpx.MockTransport:
        """The transport to give ``PartnerClient``."""
        return httpx.MockTransport(self)


@pytest.fixture
def fake_api() -> Callable[..., FakeApi]:
    """Factory of fake APIs."""
    return FakeApi


def client_for(handler: Any, **kwargs: Any) -> PartnerClient:
    """A client on a mock transport (``handler(request) -> response``), without pacing."""
    kwargs.setdefault("rate_limit", None)
    return PartnerClient(
        api_key=KEY, base_url=BASE, transport=httpx.MockTransport(handler), **kwargs
    )
