"""The client-side rate limiter: spacing, sharing across threads, and Retry-After pauses."""

from __future__ import annotations

import itertools
import statistics
import threading
import time

import pytest

from ht_analytics._ratelimit import RateLimiter


class FakeClock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        """Current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the fake time."""
        self.sleeps.append(seconds)
        self.now += seconds


def test_requests_are_spaced_by_the_interval() -> None:
    """At 10/s, back-to-back acquisitions start 0.1 s apart."""
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock.time, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        limiter.acquire()
        starts.append(clock.now)
    assert starts == pytest.approx([100.0, 100.1, 100.2, 100.3, 100.4])


def test_defer_pauses_everyone() -> None:
    """After defer(2), the next slot is 2 s away."""
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock.time, sleep=clock.sleep)
    limiter.acquire()
    limiter.defer(2.0)
    limiter.acquire()
    assert clock.now == pytest.approx(102.0)


def test_unlimited_never_sleeps() -> None:
    """rate=None means no pacing at all."""
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock.time, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire()
    assert clock.sleeps == []
    assert limiter.rate is None


def test_unlimited_still_honours_a_retry_after_pause() -> None:
    """rate=None paces nothing, but a server's Retry-After (defer) holds every request back:
    after defer(2) the next request waits 2 s, and the ones after it none."""
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock.time, sleep=clock.sleep)
    limiter.acquire()
    limiter.defer(2.0)
    limiter.acquire()
    limiter.acquire()
    assert clock.sleeps == [pytest.approx(2.0)]
    assert clock.now == pytest.approx(102.0)


@pytest.mark.parametrize("rate", [0, -1.0])
def test_bad_rate_is_refused(rate: float) -> None:
    """A non-positive rate is a clear ValueError."""
    with pytest.raises(ValueError, match="rate_limit"):
        RateLimiter(rate)


def acquired_by_threads(limiter: RateLimiter, *, threads: int, each: int) -> list[float]:
    """The instants (sorted) at which ``threads`` threads, ``each`` times, got through."""
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(each):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return sorted(stamps)


def test_shared_by_threads_in_real_time() -> None:
    """Four threads sharing a 40/s limiter start their requests an interval apart. The stamps
    are taken when each thread gets going again, so one woken late by a busy machine makes one
    gap short and the next long: the typical (median) gap and the whole span are checked, not
    the shortest gap (the one-second-window limit is checked exactly below)."""
    stamps = acquired_by_threads(RateLimiter(40), threads=4, each=5)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) == 20
    assert statistics.median(gaps) >= 0.025 - 0.005  # the interval, less scheduler jitter
    # 20 requests at 40/s take 19 intervals from the first to the last (less jitter).
    assert stamps[-1] - stamps[0] >= 19 / 40 - 0.05


def test_late_wakeups_do_not_bunch_requests_over_the_limit() -> None:
    """Threads that wake late from their sleep (a busy machine) would go out together with the
    ones after them; the limiter still lets at most ``rate`` go in any one-second window."""
    import bisect

    rate = 20
    calls = itertools.count()

    def oversleeping(seconds: float) -> None:  # every 5th sleep wakes 0.3 s late
        time.sleep(seconds + (0.3 if next(calls) % 5 == 0 else 0.0))

    times = acquired_by_threads(RateLimiter(rate, sleep=oversleeping), threads=4, each=15)
    peak = max(bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times))
    assert len(times) == 60
    assert peak <= rate + 1
