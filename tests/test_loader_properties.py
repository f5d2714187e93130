"""Property tests of load_orders: garbage never crashes non-strict loading; totals are exact."""

from __future__ import annotations

import copy
import json
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ht_analytics import load_orders
from ht_analytics._loader import DataProblemWarning

GOLDEN = Path(__file__).parent / "data" / "golden"
BASE = json.loads((GOLDEN / "camel_page.json").read_text())["orders"][0]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += paths(child, (*prefix, index))
    return out


PATHS = paths(BASE)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def set_path(document: Any, path: tuple[Any, ...], value: Any) -> None:
    """Replace the value at path."""
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=json_values, as_bytes=st.booleans())
def test_garbage_anywhere_never_crashes(path: tuple[Any, ...], value: Any, as_bytes: bool) -> None:
    """Any value at any place of an order: loading goes through, the order is kept or named."""
    order = copy.deepcopy(BASE)
    set_path(order, path, value)
    source: Any = (
        json.dumps({"status": "success", "orders": [order]}).encode() if as_bytes else [order]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataProblemWarning)
        frames = load_orders(source)
    if len(frames.orders) == 0:
        assert len(frames.problems) >= 1  # an order left out is always named
    elif path == ("id",):
        assert list(frames.orders["order_id"]) == [int(value)]  # a readable id is the id
    else:
        assert list(frames.orders["order_id"]) == [501]


BIG_INTEGERS = [2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 2**64, 10**20]


@pytest.mark.parametrize("value", BIG_INTEGERS)
@pytest.mark.parametrize("field", ["createdAt", "startedAt", "completedAt", "appointmentStart"])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_integers_beyond_float_precision_in_time_fields(
    field: str, value: int, as_bytes: bool
) -> None:
    """Integers where a time belongs, just past 2**53 (where a float64 cast fails) and beyond
    64 bits: the order loads, the value is NA and named (once found only by chance by the
    property test above)."""
    order = dict(copy.deepcopy(BASE), **{field: value})
    source: Any = (
        json.dumps({"status": "success", "orders": [order]}).encode() if as_bytes else [order]
    )
    with pytest.warns(DataProblemWarning):
        frames = load_orders(source)
    assert list(frames.orders["order_id"]) == [501]
    assert any(str(value) in reason for reason in frames.problems["reason"])


def fmt(cents: int, style: int) -> Any:
    """Cents written in one of the accepted wire styles."""
    sign, whole, frac = ("-" if cents < 0 else ""), abs(cents) // 100, abs(cents) % 100
    grouped = f"{whole:,}"
    if style == 0:
        return f"{sign}${grouped}.{frac:02d}"
    if style == 1:
        return f"{sign}{whole}.{frac:02d}"
    if style == 2:
        return f"${sign}{whole}.{frac:02d}"
    if style == 3:
        return f"(${grouped}.{frac:02d})" if cents < 0 else f"${grouped}.{frac:02d}"
    return cents // 100 if cents % 100 == 0 else float(f"{sign}{whole}.{frac:02d}")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-(10**11), 10**11), st.integers(0, 4)), min_size=1, max_size=40)
)
def test_net_total_is_the_exact_decimal_sum(amounts: list[tuple[int, int]]) -> None:
    """Σ total_amount equals a decimal.Decimal sum of the raw values, whatever their style."""
    orders = []
    for i, (cents, style) in enumerate(amounts):
        orders.append(
            {
                "id": i + 1,
                "statusId": 3,
                "createdAt": "2025-01-01T00:00:00Z",
                "breakdown": {"totalAmount": fmt(cents, style)},
            }
        )
    page = json.dumps({"status": "success", "orders": orders}).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataProblemWarning)  # orders without services do not add up
        frames = load_orders(page)
    assert frames.net_total == sum((Decimal(c) / 100 for c, _ in amounts), Decimal(0))
    assert set(frames.problems["field"]) <= {"breakdown.totalAmount"}
    assert all("does not add up" in r for r in frames.problems["reason"])
