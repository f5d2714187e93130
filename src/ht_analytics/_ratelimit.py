"""Client-side pacing: at most ``rate`` requests per second, shared by every thread of a client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Spaces requests at least ``1 / rate`` seconds apart, across all threads that share it.

    Each caller reserves the next free slot under a lock and sleeps outside it, so threads queue
    fairly and the limit holds in any one-second window. :meth:`defer` pushes every future slot back,
    which is how a server's ``Retry-After`` pauses all threads at once.
    """

    __slots__ = ("_clock", "_interval", "_lock", "_next", "_sleep")

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and not rate > 0:
            raise ValueError(
                f"rate_limit must be a positive number of requests per second or None, got {rate!r}"
            )
        self._interval = 0.0 if rate is None else 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    @property
    def rate(self) -> float | None:
        """Requests per second, or ``None`` when unlimited."""
        return None if self._interval == 0 else 1.0 / self._interval

    def acquire(self) -> float:
        """Wait for the next slot; return the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def defer(self, seconds: float) -> None:
        """Let no request start for ``seconds`` from now (e.g. a server's ``Retry-After``)."""
        if seconds <= 0:
            return
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r})"
