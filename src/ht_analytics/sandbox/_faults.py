"""Fault injection for the sandbox: a pure ASGI middleware that misbehaves like a real network.

:class:`FaultMiddleware` sits in front of the app (like a proxy) and, for requests under
``FaultConfig.paths``, can add latency, answer 429 (over a rate limit, or at random) with a
``Retry-After`` header, answer 500 (JSON body) / 502 / 503 (HTML page), drop the connection, truncate a
body, or serve a malformed one.

Determinism: each request's fate is drawn from a hash of ``(seed, method, path?query, n)`` where ``n``
counts how many times that exact request was seen before. A retried request gets a fresh draw, and a
run is reproducible whatever the concurrency. Only the rate limit (a token bucket of ``rate_limit``
requests per second, burst ``max(1, rate_limit)``) depends on timing.

How the connection-level faults are made (documented because they rely on server behaviour):

* **drop** — the middleware sends ``http.response.start`` with a header value containing a line feed.
  uvicorn (h11 and httptools alike) marks the response as started, then refuses the header *before
  writing a byte*; the middleware swallows that error and returns, and uvicorn closes the connection.
  The client sees the connection closed with no response at all: httpx raises
  ``httpx.RemoteProtocolError("Server disconnected without sending a response.")``. The request never
  reaches the app (no side effects). Under a server that does not validate headers (an in-process
  transport), the middleware raises :class:`ConnectionDropped` instead.
* **truncate** (half of the truncations) — the app's response is sent with its full ``Content-Length``
  but only part of the body, and the middleware returns: uvicorn closes the connection and httpx raises
  ``httpx.RemoteProtocolError`` (incomplete body).
* **truncate_json** (the other half) — a consistent, shorter ``Content-Length`` with the body cut
  mid-way: a complete 200 response whose body is not valid JSON.
* **malformed** — a 200 that is either an HTML page (``text/html``) or the JSON body behind an
  anti-XSSI prefix ``)]}',`` (still labelled ``application/json``).

uvicorn logs an error for each response an app leaves incomplete; those deliberate ones are filtered
out of the ``uvicorn.error`` logger (only within the request that injected the fault).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import threading
import time
from collections import Counter, deque
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import formatdate
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ConnectionDropped", "FaultConfig", "FaultMiddleware", "FaultStats"]

RetryAfterStyle = Literal["seconds", "http-date", "zero"]
FAULT_KINDS = (
    "rate_limit",
    "rate_limited",
    "error_500",
    "error_502",
    "error_503",
    "drop",
    "truncate",
    "truncate_json",
    "malformed",
)
"""Every kind counted in :attr:`FaultStats.faults`."""

_QUIET: ContextVar[bool] = ContextVar("ht_sandbox_quiet", default=False)
_XSSI = b")]}',\n"
_HTML = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What the sandbox does wrong, and how often. Rates are shares of requests in ``[0, 1]``."""

    seed: int = 0
    latency: float = 0.0
    """Seconds added to every response."""
    latency_jitter: float = 0.0
    """Up to this many more seconds, drawn per request."""
    error_rate: float = 0.0
    """Share answered 500 (JSON body), 502 or 503 (HTML page), a third each."""
    rate_limit: float | None = None
    """Requests per second the server accepts; above it: 429 with ``Retry-After``."""
    retry_after_style: RetryAfterStyle = "seconds"
    """``Retry-After`` as delta-seconds, as an HTTP date, or always ``0``."""
    retry_after: float = 1.0
    """Seconds advertised on the random 429s (``rate_limited_rate``)."""
    rate_limited_rate: float = 0.0
    """Share answered 429 regardless of load."""
    drop_rate: float = 0.0
    """Share whose connection is closed without a response."""
    truncate_rate: float = 0.0
    """Share whose body is cut mid-way (either kind of truncation)."""
    malformed_rate: float = 0.0
    """Share answered 200 with a body that is not JSON."""
    paths: tuple[str, ...] = ("/api/partners/",)
    """Path prefixes the faults apply to."""

    def __post_init__(self) -> None:
        rates = {
            "error_rate": self.error_rate,
            "rate_limited_rate": self.rate_limited_rate,
            "drop_rate": self.drop_rate,
            "truncate_rate": self.truncate_rate,
            "malformed_rate": self.malformed_rate,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {rate}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("the fault rates add up to more than 1")
        if self.latency < 0 or self.latency_jitter < 0 or self.retry_after < 0:
            raise ValueError("latency, latency_jitter and retry_after must not be negative")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(f"rate_limit must be positive, got {self.rate_limit}")
        if self.retry_after_style not in ("seconds", "http-date", "zero"):
            raise ValueError(f"unknown retry_after_style {self.retry_after_style!r}")

    def applies_to(self, path: str) -> bool:
        """True when faults apply to this request path."""
        return any(path.startswith(prefix) for prefix in self.paths)


class FaultStats:
    """Counters a test can read: requests seen, faults injected by kind, busiest second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self.requests = 0
        """Requests seen (all paths)."""
        self.faults: Counter[str] = Counter()
        """Faults injected, by kind (see ``FAULT_KINDS``)."""
        self.max_per_second = 0
        """Most requests that arrived within any 1-second window."""

    def record_request(self, now: float) -> None:
        """Count one arriving request at monotonic time ``now``."""
        with self._lock:
            self.requests += 1
            self._window.append(now)
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            self.max_per_second = max(self.max_per_second, len(self._window))

    def record_fault(self, kind: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, object]:
        """A copy of the counters as plain data."""
        with self._lock:
            return {
                "requests": self.requests,
                "faults": dict(self.faults),
                "max_per_second": self.max_per_second,
            }

    def reset(self) -> None:
        """Start counting afresh."""
        with self._lock:
            self.requests = 0
            self.faults.clear()
            self.max_per_second = 0
            self._window.clear()


class ConnectionDropped(ConnectionError):  # noqa: N818 - it names the event, like ConnectionReset
    """Raised to end a response abruptly when the server would not abort it for us."""


class _QuietInjectedFaults(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _QUIET.get()


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietInjectedFaults) for f in logger.filters):
        logger.addFilter(_QuietInjectedFaults())


class _TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self, now: float) -> float:
        """0 when a request is admitted, else the seconds until it would be."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def _draw(seed: int, method: str, target: str, n: int) -> tuple[float, float, float]:
    """Three uniform numbers in [0, 1) for the n-th sight of a request: fault, variant, latency."""
    digest = hashlib.blake2b(f"{seed}\0{method}\0{target}\0{n}".encode(), digest_size=24).digest()
    a, b, c = (int.from_bytes(digest[i : i + 8], "big") / 2.0**64 for i in (0, 8, 16))
    return a, b, c


def _headers(pairs: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in pairs if k.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


class FaultMiddleware:
    """Pure ASGI middleware injecting the faults of a :class:`FaultConfig` (see the module doc)."""

    def __init__(
        self, app: ASGIApp, config: FaultConfig | None = None, stats: FaultStats | None = None
    ) -> None:
        self.app = app
        self.config = config or FaultConfig()
        self.stats = stats if stats is not None else FaultStats()
        self._seen: Counter[tuple[str, str]] = Counter()
        self._bucket = (
            None if self.config.rate_limit is None else _TokenBucket(self.config.rate_limit)
        )
        _install_log_filter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        self.stats.record_request(now)
        config = self.config
        if not config.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + ("?" + query if query else "")
        n = self._seen[(method, target)]
        self._seen[(method, target)] = n + 1
        u_fault, u_variant, u_latency = _draw(config.seed, method, target, n)
        delay = config.latency + config.latency_jitter * u_latency
        if delay > 0:
            await asyncio.sleep(delay)
        if self._bucket is not None:
            wait = self._bucket.take(time.monotonic())
            if wait > 0:
                self.stats.record_fault("rate_limit")
                await self._too_many(send, wait)
                return
        kind = self._choose(u_fault, u_variant)
        if kind is None:
            await self.app(scope, receive, send)
            return
        self.stats.record_fault(kind)
        if kind == "rate_limited":
            await self._too_many(send, config.retry_after)
        elif kind.startswith("error_"):
            await self._server_error(send, int(kind[-3:]))
        elif kind == "drop":
            await self._drop(send)
        else:
            status, headers, body = await self._capture(scope, receive)
            await self._mangle(send, kind, status, headers, body, u_variant)

    def _choose(self, u_fault: float, u_variant: float) -> str | None:
        c = self.config
        edge = 0.0
        for kind, rate in (
            ("rate_limited", c.rate_limited_rate),
            ("error", c.error_rate),
            ("drop", c.drop_rate),
            ("truncate", c.truncate_rate),
            ("malformed", c.malformed_rate),
        ):
            edge += rate
            if u_fault < edge:
                if kind == "error":
                    return ("error_500", "error_502", "error_503")[min(2, int(u_variant * 3))]
                if kind == "truncate":
                    return "truncate" if u_variant < 0.5 else "truncate_json"
                return kind
        return None

    def _retry_after(self, seconds: float) -> bytes:
        whole = max(0, math.ceil(seconds))
        style = self.config.retry_after_style
        if style == "zero":
            return b"0"
        if style == "http-date":
            return formatdate(time.time() + whole + 1, usegmt=True).encode()
        return str(whole).encode()

    async def _too_many(self, send: Send, seconds: float) -> None:
        body = _error_body("Too many requests: slow down and retry later")
        headers = [(b"retry-after", self._retry_after(seconds))]
        await _respond(send, 429, b"application/json", body, headers)

    @staticmethod
    async def _server_error(send: Send, status: int) -> None:
        if status == 500:
            await _respond(send, 500, b"application/json", _error_body("Internal server error"))
            return
        reason = "Bad Gateway" if status == 502 else "Service Temporarily Unavailable"
        page = _HTML.format(code=status, reason=reason).encode()
        await _respond(send, status, b"text/html", page)

    @staticmethod
    async def _drop(send: Send) -> None:
        start: Message = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"x-sandbox-fault", b"drop\n")],
        }
        _QUIET.set(True)
        try:
            await send(start)
        except Exception:
            return  # the server refused the header, sent nothing, and closes the connection
        raise ConnectionDropped("connection dropped by the sandbox's fault injection")

    async def _capture(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        return status, headers, b"".join(chunks)

    @staticmethod
    async def _mangle(
        send: Send,
        kind: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        u_variant: float,
    ) -> None:
        if kind == "malformed":
            if u_variant < 0.5:
                page = _HTML.format(code=200, reason="OK").encode()
                await _respond(send, 200, b"text/html", page)
            else:
                await _respond(send, 200, b"application/json", _XSSI + body)
            return
        cut = min(len(body) - 1, max(1, int(len(body) * (0.2 + 0.6 * u_variant))))
        cut = max(cut, 0)
        if kind == "truncate_json":
            start: Message = {
                "type": "http.response.start",
                "status": status,
                "headers": _headers(headers, cut),
            }
            await send(start)
            await send({"type": "http.response.body", "body": body[:cut]})
            return
        start = {
            "type": "http.response.start",
            "status": status,
            "headers": _headers(headers, len(body)),
        }
        await send(start)
        await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
        _QUIET.set(True)  # leave the response incomplete: the server closes the connection


def _error_body(message: str) -> bytes:
    payload = {"status": "error", "message": message, "errors": []}
    return json.dumps(payload, separators=(",", ":")).encode()


async def _respond(
    send: Send,
    status: int,
    content_type: bytes,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
