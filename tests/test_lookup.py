"""``positions_of``: the join from lines, adjustments and tags to their orders, checked against
pandas' own ``Index.get_indexer`` (an independent oracle) on dense, sparse and extreme ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ht_analytics._lookup import member_of, positions_of

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def oracle(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.Index(keys).get_indexer(values), dtype=np.int64)


def test_dense_ids_found_and_missing() -> None:
    keys = np.array([105, 101, 103, 102], dtype=np.int64)
    values = np.array([101, 104, 105, 100, 106, 103, 101], dtype=np.int64)
    got = positions_of(keys, values)
    assert got.dtype == np.int64
    assert got.tolist() == [1, -1, 0, -1, -1, 2, 1]  # worked out by hand


def test_ids_at_the_ends_of_int64() -> None:
    low, high = -(2**63), 2**63 - 1
    keys = np.array([5, 6, 7], dtype=np.int64)
    values = np.array([low, high, 7, low + 1, high - 1, 5], dtype=np.int64)
    assert positions_of(keys, values).tolist() == [-1, -1, 2, -1, -1, 0]
    sparse = np.array([low, high, 0], dtype=np.int64)  # too sparse for a table
    assert positions_of(sparse, values).tolist() == [0, 1, -1, -1, -1, -1]


def test_repeated_key_raises_like_get_indexer() -> None:
    keys = np.array([1, 2, 2], dtype=np.int64)
    with pytest.raises(pd.errors.InvalidIndexError):
        positions_of(keys, np.array([2], dtype=np.int64))


@pytest.mark.parametrize(
    ("keys", "values"),
    [
        (np.array([], np.int64), np.array([1, 2], np.int64)),
        (np.array([1, 2], np.int64), np.array([], np.int64)),
        (np.array([3, 1], np.int32), np.array([1, 3, 2], np.int64)),
        (np.array([3, 1], np.int64), np.array([1.0, 3.0, 2.5])),
    ],
)
def test_empty_and_other_dtypes(keys: np.ndarray, values: np.ndarray) -> None:
    got = positions_of(keys, values)
    assert got.dtype == np.int64
    assert got.tolist() == oracle(keys, values).tolist()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(INT64 | st.integers(0, 60), unique=True, max_size=40),
    st.lists(INT64 | st.integers(-5, 65), max_size=60),
)
def test_same_as_get_indexer(keys: list[int], values: list[int]) -> None:
    k, v = np.array(keys, dtype=np.int64), np.array(values, dtype=np.int64)
    assert positions_of(k, v).tolist() == oracle(k, v).tolist()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(INT64 | st.integers(0, 60), max_size=40),
    st.lists(INT64 | st.integers(-5, 65), max_size=60),
)
def test_member_of_same_as_isin(keys: list[int], values: list[int]) -> None:
    k, v = np.array(keys, dtype=np.int64), np.array(values, dtype=np.int64)
    assert member_of(k, v).tolist() == np.isin(v, k).tolist()


def test_member_of_repeated_keys() -> None:
    keys = np.array([7, 3, 7, 5], dtype=np.int64)
    got = member_of(keys, np.array([3, 4, 7, 8, 2, 5], dtype=np.int64))
    assert got.tolist() == [True, False, True, False, False, True]
