"""Weighted random draws for the generator: cumulative-weight tables and picks from them.

``_cum`` turns weights into a cumulative table; ``_draw`` draws an index from such a table and
``_pick`` a value from a ``(values, cumulative weights)`` table, each with one ``rng.random()`` of
the caller's stream.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


def _pick(rng: random.Random, table: tuple[list[int], list[float]]) -> int:
    """A weighted pick from a ``(values, cumulative weights)`` table."""
    values, cum = table
    return values[bisect_right(cum, rng.random() * cum[-1])]


def _cum(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def _draw(rng: random.Random, cum: list[float]) -> int:
    """Index drawn with the cumulative weights ``cum``."""
    return bisect_right(cum, rng.random() * cum[-1])
