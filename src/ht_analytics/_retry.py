"""When to try a request again, and how long to wait: the client's retry policy.

Retried: timeouts, connection errors, 429 and 5xx, and a 200 whose body cannot be read (a truncated
or malformed page), each with jittered exponential back-off (by stamina) that honours
``Retry-After`` as the least wait. Not retried: other 4xx. A request that is not idempotent (creating an order or a
client) is retried only when it surely did not reach the server: the connection could not be
opened, or the server refused it with 429.

``stamina.set_testing(True, attempts=..., cap=True)`` (or :func:`ht_analytics.testing.no_waits`)
turns every wait off, including the pause a ``Retry-After`` puts on the rate limiter.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "TransientError"]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Failures after which a request surely did not reach the server's application.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class TransientError(Exception):
    """A failure worth another attempt (internal; surfaces as an :class:`ApiError` when retries
    run out)."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        reached_server: bool = True,
        unreadable: bool = False,
    ) -> None:
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.reached_server = reached_server
        self.unreadable = unreadable
        """The server answered, but the answer could not be read (a ``PayloadError`` when
        retries run out)."""
        self.attempt = 0
        """Which attempt failed (1-based); set by the requester."""
        self.final = False
        """No retry: the wait asked for would end after the retry timeout."""
        super().__init__(reason)

    def __repr__(self) -> str:
        # The module prefix lets the requester's log filter recognise its own retries.
        return f"ht_analytics.TransientError(status={self.status!r}, reason={self.reason!r})"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts, how long in all, and how to back off.

    Attributes:
        max_retries: retries after the first attempt (so ``max_retries + 1`` attempts at most).
        total_timeout: seconds after which no new attempt starts.
        wait_initial, wait_max, wait_jitter: the exponential back-off (seconds).
        max_retry_after: the longest ``Retry-After`` honoured; longer requests are capped to it.
    """

    max_retries: int = 5
    total_timeout: float = 120.0
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    @property
    def attempts(self) -> int:
        """The largest number of attempts one request gets."""
        return self.max_retries + 1

    def should_retry(self, error: Exception, *, idempotent: bool) -> bool | float:
        """The stamina back-off hook: False to give up, True for the default back-off, or the
        seconds to wait (a server's ``Retry-After``)."""
        if not isinstance(error, TransientError) or error.final:
            return False
        if not idempotent and error.reached_server and error.status != 429:
            return False
        if error.retry_after is not None:
            # Retry-After is a floor, not a replacement: "0" must not turn a 429 storm into a
            # burst of immediate retries.
            return max(min(error.retry_after, self.max_retry_after), self.backoff(error.attempt))
        return True

    def backoff(self, attempt: int) -> float:
        """The jittered exponential wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.wait_max, self.wait_initial * 2.0 ** max(attempt - 1, 0))
        return base + random.uniform(0, self.wait_jitter)

    @staticmethod
    def classify(exc: httpx.TransportError, scrub: Callable[[str], str]) -> TransientError:
        """A network failure as a transient error, noting whether it may have reached the server.
        ``scrub`` removes secrets from the exception's text."""
        kind = type(exc).__name__
        detail = scrub(str(exc)) or kind
        return TransientError(
            f"network error: {kind}: {detail}", reached_server=not isinstance(exc, _NOT_SENT)
        )
