"""Where each of many integer ids sits in a list of unique ids: the join at the heart of every
metric (a service line, an adjustment or a tag to its order)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["member_of", "positions_of"]

DIRECT_SPAN = 8
"""A direct table is used while the ids span at most this many slots per id (plus a million):
order ids are dense in practice, and the table is then a few bytes per id."""


def positions_of(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The position of each of ``values`` in ``keys`` (unique integers), -1 where it is not
    there, as ``int64``: what ``pd.Index(keys).get_indexer(values)`` gives (and, for keys
    that are not unique, raises), about three times faster for dense ids — a table indexed
    by the id instead of a hash table."""
    keys = np.asarray(keys)
    values = np.asarray(values)
    if len(keys) == 0 or len(values) == 0 or keys.dtype != np.int64 or values.dtype != np.int64:
        return _hashed(keys, values)
    low, high = int(keys.min()), int(keys.max())
    span = high - low + 1
    if span > DIRECT_SPAN * len(keys) + 1_000_000:
        return _hashed(keys, values)
    table = np.full(span, -1, dtype=np.int64)
    table[keys - low] = np.arange(len(keys), dtype=np.int64)
    if np.count_nonzero(table >= 0) != len(keys):  # a repeated id: as get_indexer says
        return _hashed(keys, values)
    inside = (values >= low) & (values <= high)
    out = np.full(len(values), -1, dtype=np.int64)
    out[inside] = table[values[inside] - low]
    return out


def member_of(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` is one of ``keys`` (repeats allowed): ``np.isin`` through a
    table indexed by the id where the ids are dense integers."""
    keys = np.asarray(keys)
    values = np.asarray(values)
    if len(keys) == 0 or len(values) == 0 or keys.dtype != np.int64 or values.dtype != np.int64:
        return np.isin(values, keys)
    low, high = int(keys.min()), int(keys.max())
    span = high - low + 1
    if span > DIRECT_SPAN * len(keys) + 1_000_000:
        return np.isin(values, keys)
    table = np.zeros(span, dtype=bool)
    table[keys - low] = True
    inside = (values >= low) & (values <= high)
    out = np.zeros(len(values), dtype=bool)
    out[inside] = table[values[inside] - low]
    return out


def _hashed(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.Index(keys).get_indexer(values), dtype=np.int64)
