"""Switches for tests and notebooks that exercise faults: turn every retry wait off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import stamina

__all__ = ["no_waits", "set_testing"]


def set_testing(enabled: bool) -> None:
    """Turn retry back-off and ``Retry-After`` waits off (``True``) or back on (``False``).

    The number of attempts is left as each client configured it. Client-side pacing
    (``rate_limit``) still applies: give the client ``rate_limit=None`` to lift it.
    """
    stamina.set_testing(enabled, attempts=1_000_000, cap=True)


@contextmanager
def no_waits() -> Iterator[None]:
    """Within the block, retries happen at once (see :func:`set_testing`)."""
    before = stamina.is_testing()
    set_testing(True)
    try:
        yield
    finally:
        set_testing(before)
