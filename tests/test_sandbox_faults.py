"""Fault injection: every kind is visible from an httpx client, deterministic for a seed."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest

from ht_analytics.sandbox import FaultConfig, SandboxServer, generate_dataset

KEY = "fault-test-key"
ORDERS = "/api/partners/orders"
DATA = generate_dataset(300, seed=2)


@contextmanager
def faulty(faults: FaultConfig) -> Iterator[tuple[SandboxServer, httpx.Client]]:
    """A sandbox with these faults and an httpx client of it (no retries)."""
    with (
        SandboxServer(DATA, api_key=KEY, faults=faults) as srv,
        httpx.Client(base_url=srv.url, headers={"Api-Key": KEY}, timeout=10) as c,
    ):
        yield srv, c


def outcome(c: httpx.Client, path: str) -> str:
    """What a client sees: a status code, 'json' / 'not-json' for a 200, or the transport error."""
    try:
        response = c.get(path)
    except httpx.TransportError:
        # RemoteProtocolError as a rule; ReadError when the close arrives as a reset.
        return "transport-error"
    if response.status_code != 200:
        return str(response.status_code)
    try:
        json.loads(response.content)
    except ValueError:
        return "not-json"
    return "json"


def paths(n: int) -> list[str]:
    """n distinct list requests."""
    return [f"{ORDERS}?limit={1 + i}" for i in range(n)]


@pytest.mark.parametrize(
    "bad",
    [
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"error_rate": 0.6, "truncate_rate": 0.6},
        {"latency": -1.0},
        {"rate_limit": 0.0},
        {"retry_after_style": "minutes"},
    ],
)
def test_fault_config_is_checked(bad: dict[str, object]) -> None:
    """Out-of-range rates, rates adding up past 1, negative latency and unknown styles are refused."""
    with pytest.raises(ValueError, match=r"."):
        FaultConfig(**bad)  # type: ignore[arg-type]


def test_no_faults_by_default() -> None:
    """Without faults every request succeeds and is counted, with no fault recorded."""
    with faulty(FaultConfig()) as (srv, c):
        assert {outcome(c, p) for p in paths(10)} == {"json"}
        assert srv.stats.requests == 10
        assert sum(srv.stats.faults.values()) == 0


def test_server_errors_500_json_502_503_html() -> None:
    """error_rate: 500 with the JSON error body, 502/503 with an HTML page."""
    seen: dict[int, httpx.Response] = {}
    with faulty(FaultConfig(seed=1, error_rate=1.0)) as (srv, c):
        for path in paths(30):
            response = c.get(path)
            seen.setdefault(response.status_code, response)
        assert sum(srv.stats.faults.values()) == 30
    assert set(seen) == {500, 502, 503}
    assert seen[500].json()["status"] == "error"
    assert seen[500].json()["message"]
    for status in (502, 503):
        assert seen[status].headers["content-type"].startswith("text/html")
        assert seen[status].text.lstrip().startswith("<html>")


@pytest.mark.parametrize("style", ["seconds", "http-date", "zero"])
def test_random_429_carries_retry_after(style: str) -> None:
    """rate_limited_rate: 429 with Retry-After in delta seconds, an HTTP date, or 0."""
    faults = FaultConfig(rate_limited_rate=1.0, retry_after_style=style, retry_after=2)  # type: ignore[arg-type]
    with faulty(faults) as (srv, c):
        response = c.get(ORDERS)
        assert srv.stats.faults["rate_limited"] == 1
    assert response.status_code == 429
    assert response.json()["status"] == "error"
    value = response.headers["retry-after"]
    if style == "seconds":
        assert value == "2"
    elif style == "zero":
        assert value == "0"
    else:
        wait = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        assert 1 <= wait <= 4


def test_rate_limit_answers_429_above_the_rate() -> None:
    """rate_limit: a burst above the rate gets 429s with Retry-After; after a pause, 200 again."""
    with faulty(FaultConfig(rate_limit=5)) as (srv, c):
        statuses = [c.get(p).status_code for p in paths(12)]
        assert statuses[:5] == [200] * 5
        assert 429 in statuses[5:]
        limited = c.get(ORDERS)
        if limited.status_code == 429:
            assert int(limited.headers["retry-after"]) >= 1
        time.sleep(1.1)
        assert c.get(ORDERS).status_code == 200
        assert srv.stats.faults["rate_limit"] >= 1
        assert srv.stats.max_per_second >= 12


def test_drop_closes_without_a_response_and_never_reaches_the_app() -> None:
    """drop_rate: httpx sees a transport error (no response), and nothing was created."""
    with faulty(FaultConfig(drop_rate=1.0)) as (srv, c):
        clients = len(srv.data.clients)
        with pytest.raises(httpx.TransportError):
            c.get(ORDERS)
        body = {
            "external_id": "E-drop",
            "first_name": "A",
            "last_name": "B",
            "email": "a@example.com",
        }
        with pytest.raises(httpx.TransportError):
            c.post("/api/partners/clients", json=body)
        assert len(srv.data.clients) == clients
        assert srv.stats.faults["drop"] == 2
        # the client recovers on a fresh connection: the server itself is fine
        assert outcome(c, "/api/other") == "404"


def test_truncation_both_kinds() -> None:
    """truncate_rate: an incomplete body (transport error) or a complete body of cut JSON."""
    with faulty(FaultConfig(seed=3, truncate_rate=1.0)) as (srv, c):
        results = [outcome(c, p) for p in paths(20)]
        kinds = dict(srv.stats.faults)
    assert set(results) == {"transport-error", "not-json"}
    assert kinds["truncate"] == results.count("transport-error")
    assert kinds["truncate_json"] == results.count("not-json")


def test_cut_json_has_a_consistent_content_length() -> None:
    """The cut-JSON variant is a 200 whose Content-Length matches the (shorter) body."""
    with faulty(FaultConfig(seed=3, truncate_rate=1.0)) as (_, c):
        for path in paths(20):
            try:
                response = c.get(path)
            except httpx.TransportError:
                continue
            assert response.status_code == 200
            assert int(response.headers["content-length"]) == len(response.content)
            full = json.dumps({"status": "success"})[:2]
            assert response.content.startswith(full.encode()[:1])
            with pytest.raises(ValueError, match=r"."):
                json.loads(response.content)
            return
    raise AssertionError("no cut-JSON response among 20")


def test_malformed_bodies() -> None:
    """malformed_rate: 200 with an HTML page or a JSON body behind an anti-XSSI prefix."""
    types = set()
    with faulty(FaultConfig(seed=4, malformed_rate=1.0)) as (srv, c):
        for path in paths(16):
            response = c.get(path)
            assert response.status_code == 200
            with pytest.raises(ValueError, match=r"."):
                json.loads(response.content)
            types.add(response.headers["content-type"].split(";")[0])
        assert srv.stats.faults["malformed"] == 16
    assert types == {"text/html", "application/json"}


def test_latency_is_added() -> None:
    """latency: every response takes at least that long."""
    with faulty(FaultConfig(latency=0.15, latency_jitter=0.05)) as (_, c):
        started = time.perf_counter()
        for path in paths(3):
            assert c.get(path).status_code == 200
        assert time.perf_counter() - started >= 0.45


def test_paths_limit_where_faults_apply() -> None:
    """paths: only requests under the given prefixes are faulted."""
    with faulty(FaultConfig(error_rate=1.0, paths=("/api/partners/skus",))) as (_, c):
        assert c.get(ORDERS).status_code == 200
        assert c.get("/api/partners/skus").status_code in (500, 502, 503)


def test_fault_injection_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """Deliberately incomplete responses do not make uvicorn log errors."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        with faulty(FaultConfig(seed=5, drop_rate=0.5, truncate_rate=0.5)) as (srv, c):
            for path in paths(12):
                outcome(c, path)
            assert sum(srv.stats.faults.values()) == 12
    finally:
        logger.removeHandler(handler)
    assert [r for r in records if r.levelno >= logging.WARNING] == []


MIXED = FaultConfig(
    seed=42,
    error_rate=0.2,
    rate_limited_rate=0.1,
    drop_rate=0.1,
    truncate_rate=0.1,
    malformed_rate=0.1,
)


def run_sequence(faults: FaultConfig, urls: list[str], attempts: int) -> dict[str, list[str]]:
    """Each URL requested ``attempts`` times in a row; outcomes per URL."""
    with faulty(faults) as (_, c):
        return {url: [outcome(c, url) for _ in range(attempts)] for url in urls}


def test_faults_are_deterministic_for_a_seed() -> None:
    """The same seed gives the same outcomes; retries draw afresh; another seed differs."""
    urls = paths(15)
    first = run_sequence(MIXED, urls, 3)
    assert run_sequence(MIXED, urls, 3) == first
    assert any(len(set(results)) > 1 for results in first.values())  # a retry gets a fresh draw
    other = dataclasses.replace(MIXED, seed=7)
    assert run_sequence(other, urls, 3) != first


def test_faults_do_not_depend_on_concurrency() -> None:
    """Requests sent from many threads at once meet the same faults as sent one by one."""
    urls = paths(12)
    sequential = run_sequence(MIXED, urls, 2)
    concurrent: dict[str, list[str]] = {}
    with faulty(MIXED) as (srv, _):

        def worker(url: str) -> None:
            with httpx.Client(base_url=srv.url, headers={"Api-Key": KEY}, timeout=10) as own:
                concurrent[url] = [outcome(own, url) for _ in range(2)]

        threads = [threading.Thread(target=worker, args=(u,)) for u in urls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert srv.stats.requests == 24
        assert srv.stats.max_per_second >= 2
    assert concurrent == sequential


def test_stats_snapshot() -> None:
    """stats.snapshot() reports requests, faults by kind and the busiest second as plain data."""
    with faulty(FaultConfig(seed=9, error_rate=0.5)) as (srv, c):
        results = [outcome(c, p) for p in paths(20)]
        snap = srv.stats.snapshot()
    assert snap["requests"] == 20
    faults = snap["faults"]
    assert isinstance(faults, dict)
    assert sum(faults.values()) == sum(r != "json" for r in results) > 0
    assert set(faults) <= {"error_500", "error_502", "error_503"}
    assert snap["max_per_second"] == 20 or 1 <= int(str(snap["max_per_second"])) <= 20
