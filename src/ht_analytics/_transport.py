"""Sending one request: pacing, a deadline per attempt, retries, and errors without secrets.

``Requester`` is the machinery under :class:`~ht_analytics.PartnerClient`: the client's methods
describe *what* to ask; this module owns *how* a request gets through a flaky network.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpcore
import httpx
import stamina

from ._endpoints import ENDPOINTS, Endpoint
from ._exceptions import (
    ApiError,
    AuthenticationError,
    HTError,
    NotFoundError,
    PayloadError,
    RateLimitError,
    ServerError,
)
from ._ratelimit import RateLimiter
from ._responses import error_message, parse_json, parse_retry_after
from ._retry import RETRYABLE_STATUSES, RetryPolicy, TransientError
from ._secrets import Secret, redact, safe_url

__all__ = ["ClientStats", "Requester", "bound_by_deadlines"]

log = logging.getLogger("ht_analytics.client")


class _OwnRetries(logging.Filter):
    """Drops stamina's bare "stamina.retry_scheduled" warnings for the toolkit's own requests: the
    requester logs each of its retries itself, with the request and the reason, at INFO. Other
    code's stamina records pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(getattr(record, "stamina.caused_by", "")).startswith("ht_analytics.")


logging.getLogger("stamina").addFilter(_OwnRetries())

_LIVE: weakref.WeakSet[Requester] = weakref.WeakSet()
"""The requesters alive in this process: their keys are masked in httpx's and httpcore's log
records (httpcore logs response headers as received, and a server may echo a key in one)."""


class _MaskKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        live = list(_LIVE)
        if live:
            message = record.getMessage()
            masked = message
            for requester in live:
                masked = requester.scrub(masked)
            if masked != message:
                record.msg, record.args = masked, None
        return True


for _name in ("httpx", "httpcore", "httpcore.http11", "httpcore.http2", "httpcore.connection"):
    logging.getLogger(_name).addFilter(_MaskKeys())
T = TypeVar("T")


# -- a deadline per attempt, headers included --------------------------------------------------
# httpx's timeouts bound each socket operation: a server (or proxy) trickling its status line and
# headers a byte at a time could hold a request for hours. The requesting thread's deadline is
# applied to every socket operation under it instead, through a wrapper around httpcore's network
# backend (httpx offers no public hook for one): each operation may take at most the time left.

_DEADLINE = threading.local()


def _time_left(
    timeout: float | None, late: type[httpcore.TimeoutException] = httpcore.ReadTimeout
) -> float | None:
    """``timeout`` cut to the time left before this thread's deadline (none set: unchanged);
    ``late`` is raised when none is left (a connect timeout for a connection not made, so that
    the request is known not to have been sent)."""
    deadline: float | None = getattr(_DEADLINE, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the attempt's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_unix_socket(path, left, socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bound_by_deadlines(http: httpx.Client) -> bool:
    """Put every connection pool of ``http`` (its own and the proxies' of the environment)
    under the requesting thread's deadline; whether all could be (another httpx version keeps
    httpx's per-operation timeouts). Only for clients whose transports the toolkit made."""
    transports = [http._transport, *(t for t in http._mounts.values() if t is not None)]
    done = True
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend):
            if not isinstance(backend, _DeadlineBackend):
                pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
        else:
            done = False
    return done


MAX_BODY = 256 << 20
"""The most bytes a response may hold once decoded (a page of 500 orders is about 1 MiB): a small
gzip body that expands without end is refused instead of filling the memory."""

_ENCODING_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
_MAY_EXIST = (
    "the request may have reached the server, so it was not retried: check whether it took "
    "effect ({check}) before sending it again"
)
_CHECKS = {
    "create_order": "e.g. look the order up by its purchase_order_id",
    "create_client": "e.g. look the client up by email",
    "update_client": "get_client(id) shows what the client holds now",
}


def _may_exist(name: str) -> str:
    return _MAY_EXIST.format(check=_CHECKS.get(name, "look it up"))


@dataclass(frozen=True, slots=True)
class ClientStats:
    """What a client has done so far: requests sent (attempts included), retries, pages read."""

    requests: int = 0
    retries: int = 0
    pages: int = 0
    waited: float = 0.0
    """Seconds spent waiting for the rate limiter."""


class _Counter:
    __slots__ = ("_lock", "pages", "requests", "retries", "waited")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = self.retries = self.pages = 0
        self.waited = 0.0

    def add(
        self, *, requests: int = 0, retries: int = 0, pages: int = 0, waited: float = 0
    ) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.pages += pages
            self.waited += waited

    def snapshot(self) -> ClientStats:
        with self._lock:
            return ClientStats(self.requests, self.retries, self.pages, self.waited)


class _Call:
    """The state of one logical request across its attempts."""

    __slots__ = (
        "attempts",
        "endpoint",
        "idempotent",
        "last",
        "parse",
        "request",
        "started",
        "what",
    )

    def __init__(
        self,
        endpoint: Endpoint,
        request: httpx.Request,
        idempotent: bool,
        parse: Callable[..., Any] = parse_json,
    ) -> None:
        self.endpoint = endpoint
        self.parse = parse
        self.request = request
        self.idempotent = idempotent
        self.what = f"{endpoint.method} {safe_url(request.url)}"
        self.attempts = 0
        self.last: TransientError | None = None
        self.started = time.monotonic()

    def __repr__(self) -> str:  # shown in stamina's retry records
        return f"<{self.what}>"


_ASCII_ESCAPE = re.compile(rb"\\u00[0-7][0-9a-fA-F]")
r"""A JSON escape of an ASCII character (``\u0070``): what a key written escaped holds."""


def _escaped_pattern(key: str) -> re.Pattern[bytes]:
    r"""The key inside a JSON string, in any case, each character as itself (JSON-escaped
    where it must be, ``/`` also as ``\/``) or as a ``\uXXXX`` escape in either case of hex
    digits."""
    parts = []
    for char in key:
        alternatives = []
        for variant in dict.fromkeys((char.lower(), char.upper()) if char.isalpha() else (char,)):
            alternatives.append(re.escape(json.dumps(variant)[1:-1].encode()))
            if variant == "/":
                alternatives.append(re.escape(b"\\/"))
            code = f"{ord(variant):04x}" if ord(variant) < 0x10000 else None
            if code is not None:
                hex_digits = b"".join(
                    f"[{d}{d.upper()}]".encode() if d.isalpha() else d.encode() for d in code
                )
                alternatives.append(rb"\\u" + hex_digits)
        parts.append(b"(?:" + b"|".join(alternatives) + b")")
    # From the start of a run of backslashes, the escaped ones (`\\`) kept: the key never
    # starts on the second backslash of one (`\\u0073…` is a backslash, then text), nor right
    # after one (`\\t`), nor among the hex digits of a `\\uXXXX` escape.
    inside_escape = rb"(?<!\\u)(?<!\\u[0-9a-fA-F])(?<!\\u[0-9a-fA-F]{2})(?<!\\u[0-9a-fA-F]{3})"
    return re.compile(rb"(?<!\\)((?:\\\\)*)" + inside_escape + b"".join(parts))


class Requester:
    """Sends requests for one client: shared pacing, retries, a deadline per attempt."""

    def __init__(
        self,
        http: httpx.Client,
        key: Secret,
        limiter: RateLimiter,
        policy: RetryPolicy,
        timeout: float,
    ) -> None:
        self.http = http
        self.limiter = limiter
        self.policy = policy
        self.timeout = timeout
        self.counter = _Counter()
        self._key = key
        value = key.reveal()
        # The forms the key takes inside a JSON string (JSON-escaped, also with `/` as `\/`, and
        # URL-escaped): replacing one keeps the JSON valid. A key too short, or all digits, could
        # not be told from data (a number holding it), so it is not looked for.
        escaped = json.dumps(value)[1:-1]
        forms = {escaped, escaped.replace("/", "\\/"), quote(value, safe="")}
        if len(value) < 8 or value.isdigit():
            forms = set()
        # Looked for in any case (a server may echo the key lowered): in the body lowered.
        self._body_forms = sorted({f.encode().lower() for f in forms}, key=len, reverse=True)
        # The key as it is, or with any of its characters a `\uXXXX` escape (the same text once
        # read), in any case: replaced where a form above is found, or where the body holds an
        # escape of an ASCII character (a key is ASCII: the client refuses any other), which
        # pages seldom do (a non-ASCII name is `\u00e9` …, not one of these).
        self._escaped_key = _escaped_pattern(value) if forms else None
        url = quote(value, safe="").encode()  # (no JSON escape spells this form)
        self._url_form = (
            re.compile(re.escape(url), re.IGNORECASE)
            if forms and url not in {escaped.encode(), value.encode()}
            else None
        )
        _LIVE.add(self)

    def scrub_body(self, content: bytes) -> bytes:
        """A response body without the API key, should the server echo it (in an order's field,
        an error message): nothing built from a response — frames, the store, reports — holds it.
        The key is found in any case (a server may lower it): a byte search per form in the body
        lowered, fast enough for every page; where one is found (or an escape that may spell the
        key), one pass that replaces the key only where it starts a character of the text, never
        inside an escape (``\\t``, ``\\u00ab``): the JSON stays valid."""
        if self._escaped_key is None:
            return content
        lowered = content.lower()  # (a copy: about 0.5 ms for a page of 500 orders)
        if any(form in lowered for form in self._body_forms) or _ASCII_ESCAPE.search(content):
            content = self._escaped_key.sub(rb"\1***", content)
            if self._url_form is not None:
                content = self._url_form.sub(b"***", content)
        return content

    def scrub(self, text: str) -> str:
        """``text`` without the API key in any form."""
        return redact(text, (self._key,))

    def call(
        self,
        name: str,
        *,
        id: int | str | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        json: Any = None,
        read: Callable[[Any, str], T],
        idempotent: bool | None = None,
        parse: Callable[..., Any] = parse_json,
    ) -> tuple[T, httpx.Request, httpx.Response]:
        """Send one request with pacing and retries; ``read(body, what)`` turns the JSON body into
        the result inside the attempt, so an unreadable body is retried like a network fault.
        ``parse(content, what=...)`` reads the body (default: the whole JSON document).

        The error raised at the end carries no chained exception (the httpx exceptions underneath
        hold the request, and with it the ``Api-Key`` header) and no traceback of the frames
        below this one (their locals hold the body, which may echo the key).
        """
        endpoint = ENDPOINTS[name]
        request = self.http.build_request(
            endpoint.method, endpoint.url_path(id), params=list(params or ()), json=json
        )
        call = _Call(
            endpoint, request, endpoint.idempotent if idempotent is None else idempotent, parse
        )
        caller = stamina.RetryingCaller(
            attempts=self.policy.attempts,
            timeout=self.policy.total_timeout,
            wait_initial=self.policy.wait_initial,
            wait_max=self.policy.wait_max,
            wait_jitter=self.policy.wait_jitter,
        ).on(lambda exc: self.policy.should_retry(exc, idempotent=call.idempotent))
        failure: HTError | None = None
        try:
            response, result = caller(self._attempt, call, read)
        except TransientError as exc:
            failure = self._gave_up(exc, call)
        except HTError as exc:
            failure = exc
        if failure is not None:
            failure.__context__ = None
            raise failure.with_traceback(None)
        return result, request, response

    def _attempt(self, call: _Call, read: Callable[[Any, str], T]) -> tuple[httpx.Response, T]:
        call.attempts += 1
        if call.attempts > 1:
            self.counter.add(retries=1)
            reason = call.last.reason if call.last else "?"
            log.info(
                "retrying %s (attempt %d of %d) after: %s",
                call.what,
                call.attempts,
                self.policy.attempts,
                reason,
            )
        try:
            response, result = self._exchange(call, read)
        except TransientError as exc:
            exc.attempt = call.attempts
            call.last = exc
            if exc.retry_after and call.attempts < self.policy.attempts:
                wait = min(exc.retry_after, self.policy.max_retry_after)
                left = self.policy.total_timeout - (time.monotonic() - call.started)
                if wait > left:  # no attempt may start after total_timeout: give up now
                    exc.final = True
                    asked = f"{exc.retry_after:,.0f} s" if exc.retry_after < 1e15 else "forever"
                    if exc.retry_after > self.policy.max_retry_after:
                        asked += f", more than the {wait:.0f} s this client waits at most"
                    exc.reason += (
                        f" (the server asks to wait {asked}; {max(left, 0):.0f} s were left "
                        "of the retry timeout)"
                    )
                elif not stamina.is_testing():
                    # Everyone sharing this client waits, not just this thread.
                    self.limiter.defer(wait)
            raise
        return response, result

    def _exchange(self, call: _Call, read: Callable[[Any, str], T]) -> tuple[httpx.Response, T]:
        waited = self.limiter.acquire()
        self.counter.add(requests=1, waited=waited)
        started = time.monotonic()
        failure: Exception | None = None
        try:
            response = self._receive(call, started)
        except httpx.TransportError as exc:
            failure = self.policy.classify(exc, self.scrub)
        except httpx.DecodingError as exc:  # a corrupt compressed body
            failure = TransientError(
                f"the response body could not be decoded: {self.scrub(str(exc))}"
            )
        except httpx.RequestError as exc:
            message = self.scrub(f"{type(exc).__name__}: {exc}")
            failure = ApiError(message, url=safe_url(call.request.url), method=call.endpoint.method)
        except ValueError as exc:
            # httpx itself failed on the answer: a redirect's Location naming a host it cannot
            # decode (an IDNA error; it builds the next request even when not following) …
            detail = self.scrub(f"{type(exc).__name__}: {exc}")
            failure = self._bad_answer(
                call,
                f"{call.what}: the answer could not be read ({detail}); a redirect to a host "
                "name that is not valid gives this: check the base URL",
                status=None,
            )
        if failure is not None:
            log.debug("%s -> %s", call.what, type(failure).__name__)
            failure.__context__ = None
            raise failure
        log.debug(
            "%s -> %s (%d bytes, %.0f ms)",
            call.what,
            response.status_code,
            len(response.content),
            (time.monotonic() - started) * 1000,
        )
        return response, self._interpret(call, response, read)

    def _receive(self, call: _Call, started: float) -> httpx.Response:
        """Send and read the whole response within ``timeout`` seconds in all (httpx's timeouts
        alone bound each socket operation, not headers or a body that trickle in)."""
        late = httpx.ReadTimeout(
            f"the response took more than {self.timeout:g} s in all", request=call.request
        )
        _DEADLINE.at = started + self.timeout
        try:
            response = self.http.send(call.request, stream=True)
            try:
                chunks = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY:
                        raise PayloadError(
                            f"{call.what}: the response is over {MAX_BODY >> 20} MiB once "
                            "decoded (a compression bomb?); not read further"
                        )
                    if time.monotonic() - started > self.timeout:
                        raise late
            finally:
                response.close()
        except (httpx.ReadTimeout, httpx.WriteTimeout):
            # (a connect or pool timeout stays what it is: the request was not sent)
            if time.monotonic() - started >= self.timeout:
                raise late from None
            raise
        finally:
            _DEADLINE.at = None
        # As received (bytes): a header that is not ASCII, which HTTP allows, stays as it came.
        headers = [
            (k, v) for k, v in response.headers.raw if k.lower().decode() not in _ENCODING_HEADERS
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=self.scrub_body(b"".join(chunks)),
            request=without_key(call.request),
            extensions={"http_version": response.http_version.encode()},
        )

    def _interpret(self, call: _Call, response: httpx.Response, read: Callable[[Any, str], T]) -> T:
        status = response.status_code
        if status in RETRYABLE_STATUSES or status >= 500:
            raise TransientError(
                error_message(response, self.scrub),
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                reached_server=status != 429,
            )
        if status >= 400:
            raise self._api_error(call, response)
        if 300 <= status < 400:
            target = self.scrub(safe_url(response.headers.get("Location", "?")))
            raise ApiError(
                f"unexpected redirect to {target}; check the base URL",
                status=status,
                url=safe_url(call.request.url),
                method=call.endpoint.method,
            )
        try:
            body = call.parse(response.content, what=call.what)
            if isinstance(body, dict) and body.get("status") == "error":
                raise self._api_error(call, response)
            return read(body, call.what)
        except PayloadError as exc:
            raise self._bad_answer(call, str(exc), status=status) from None

    def _bad_answer(self, call: _Call, reason: str, *, status: int | None) -> Exception:
        """An answer that cannot be read: retried when the request is idempotent (a
        :class:`PayloadError` once retries run out), else a :class:`PayloadError` at once that
        says to check whether the request took effect before resending it."""
        if call.idempotent:
            return TransientError(reason, status=status, unreadable=True)
        answered = (  # (a 2xx, or no status: httpx failed on the answer)
            "the server answered"
            if status is None
            else f"the server answered {status}, so it accepted the request"
        )
        return PayloadError(f"{reason} — {answered}; {_may_exist(call.endpoint.name)}")

    def _api_error(self, call: _Call, response: httpx.Response) -> ApiError:
        status = response.status_code
        message = error_message(response, self.scrub)
        kind: type[ApiError] = ApiError
        if status in (401, 403):
            kind = AuthenticationError
            message = f"the server refused the API key: {message}"
        elif status == 404:
            kind = NotFoundError
        elif status < 300 and not call.idempotent:  # a 2xx whose body says status=error
            message = (
                f"{message} — the server answered {status} with an error in the body; "
                + _may_exist(call.endpoint.name)
            )
        return kind(
            message,
            status=status,
            url=safe_url(call.request.url),
            method=call.endpoint.method,
            attempts=call.attempts,
        )

    def _gave_up(self, exc: TransientError, call: _Call) -> HTError:
        url = safe_url(call.request.url)
        method = call.endpoint.method
        attempts = call.attempts
        if exc.status == 429:
            return RateLimitError(
                f"rate limited: {exc.reason}",
                retry_after=exc.retry_after,
                url=url,
                method=method,
                attempts=attempts,
            )
        if exc.unreadable:
            return PayloadError(f"{exc.reason} (gave up after {attempts} attempts)")
        reason = exc.reason
        if not call.idempotent and exc.reached_server:
            reason = f"{reason}; {_may_exist(call.endpoint.name)}"
        if exc.status is None and not exc.reached_server:  # never connected
            where = call.request.url  # (no user info: it may hold a secret)
            origin = f"{where.scheme}://{where.host}" + (f":{where.port}" if where.port else "")
            reason = (
                f"{reason}; nothing answered at {origin}: is the server running, and is the base "
                "URL (base_url= or HT_BASE_URL) right?"
            )
        return ServerError(reason, status=exc.status, url=url, method=method, attempts=attempts)


def without_key(request: httpx.Request) -> httpx.Request:
    """A copy of the request without the ``Api-Key`` header, safe to hand to users."""
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "api-key"]
    return httpx.Request(request.method, request.url, headers=headers)
