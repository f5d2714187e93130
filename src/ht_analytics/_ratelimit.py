"""Client-side pacing: at most ``rate`` requests per second, shared by every thread of a client."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Spaces requests at least ``1 / rate`` seconds apart, across all threads that share it.

    Each caller reserves the next free slot under a lock and sleeps outside it, so threads queue
    fairly. A thread that wakes late (a busy machine) would bunch with the ones after it, so the
    instants requests are let go are also kept, and none goes while ``rate`` others went in the
    last second: the limit holds in any one-second window of real time, not only of slots.
    :meth:`defer` pushes every future slot back, which is how a server's ``Retry-After`` pauses
    all threads at once.
    """

    __slots__ = ("_clock", "_gone", "_interval", "_lock", "_next", "_sleep")

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
        # When the last ``rate`` requests were let go (none kept when unlimited).
        self._gone: deque[float] = deque(maxlen=max(1, math.floor(rate)) if rate else 0)

    @property
    def rate(self) -> float | None:
        """Requests per second, or ``None`` when unlimited."""
        return None if self._interval == 0 else 1.0 / self._interval

    def acquire(self) -> float:
        """Wait for the next slot (and until fewer than ``rate`` requests went in the last
        second); return the seconds waited."""
        if self._interval == 0:  # unlimited: only a deferral (Retry-After) holds requests back
            with self._lock:
                start = self._clock()
                wait = self._next - start
            if wait > 0:
                self._sleep(wait)
                return wait
            return 0.0
        with self._lock:
            start = self._clock()
            slot = max(start, self._next)
            self._next = slot + self._interval
        if slot > start:
            self._sleep(slot - start)
        while True:
            with self._lock:
                now = self._clock()
                full = len(self._gone) == self._gone.maxlen
                wait = self._gone[0] + 1.0 - now if full else 0.0
                if wait <= 0:
                    self._gone.append(now)
                    return max(now - start, 0.0)
            self._sleep(wait)

    def defer(self, seconds: float) -> None:
        """Let no request start for ``seconds`` from now (e.g. a server's ``Retry-After``)."""
        if seconds <= 0:
            return
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r})"
