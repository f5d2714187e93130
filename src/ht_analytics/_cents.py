"""Money columns as integer cents for fast exact arithmetic, and back to exact decimals.

A ``decimal128(18, 2)`` value is stored as its unscaled 128-bit integer — the amount in cents —
and 18 digits always fit in the low 64 bits, so the cents are read straight from the buffer.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa

from ._schema import MONEY

__all__ = ["cents", "money_array"]

MONEY_DTYPE = pd.ArrowDtype(MONEY)


def cents(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(cents, missing)``: int64 cents (0 where NA) and the NA mask of a money column."""
    arr = pa.array(series.array, from_pandas=True) if len(series) else pa.array([], MONEY)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != MONEY:
        arr = arr.cast(MONEY)
    n = len(arr)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    raw = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=2 * (arr.offset + n))
    values = raw[2 * arr.offset :: 2].copy()
    if arr.null_count:
        missing = ~np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        values[missing] = 0
    else:
        missing = np.zeros(n, dtype=bool)
    return values, missing


MAX_CENTS = 10**18 - 1
"""The largest amount ``decimal128(18, 2)`` holds, in cents."""


def money_array(values: Iterable[int | None]) -> pd.api.extensions.ExtensionArray:
    """Cents (``None`` for NA) as an exact money array (``decimal128(18, 2)``); ``ValueError``
    for an amount that does not fit."""
    decimals: list[Decimal | None] = []
    for v in values:
        if v is None:
            decimals.append(None)
            continue
        if abs(int(v)) > MAX_CENTS:
            raise ValueError(
                f"a sum of {Decimal(int(v)).scaleb(-2):,} does not fit the money type "
                "DECIMAL(18, 2) (at most 9,999,999,999,999,999.99)"
            )
        decimals.append(Decimal(int(v)).scaleb(-2))
    return pd.array(pa.array(decimals, MONEY), dtype=MONEY_DTYPE)
