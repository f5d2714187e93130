"""Edge cases found by an adversarial review: nothing crashes, nothing vanishes unnamed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ht_analytics import OrderFrames, load_orders
from ht_analytics._loader import DataProblemWarning

BASE = json.loads((Path(__file__).parent / "data" / "golden" / "camel_page.json").read_text())[
    "orders"
][0]
PAGE = json.dumps({"status": "success", "orders": [BASE], "next_cursor": None}).encode()


def load(source: Any) -> OrderFrames:
    """Load, tolerating the problems warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataProblemWarning)
        return load_orders(source)


@pytest.mark.parametrize(
    ("source", "problems"),
    [
        (b"null", 1),
        (b"null\nnull", 2),
        (b'{"status":"success","orders":[],"next_cursor":null}', 0),
        (b"", 0),
        (b"[]", 0),
        (b"{}", 1),
        (b"true", 1),
        (b'{"id":null}', 1),
        (b'{"orders":[1,2]}', 2),
    ],
)
def test_sources_without_orders_give_empty_frames(source: bytes, problems: int) -> None:
    """No orders (an empty last page, a bare null …) is an empty, typed result, never a crash."""
    frames = load(source)
    assert len(frames.orders) == 0
    assert len(frames.problems) == problems
    assert "orders=0" in repr(frames)
    frames.check_schema()


def test_lines_that_are_not_pages_are_read_not_dropped() -> None:
    """An `order` envelope is loaded; an order without id and an error body are named."""
    envelope = json.dumps({"status": "success", "order": dict(BASE, id=7)}).encode()
    assert list(load([PAGE, envelope]).orders["order_id"]) == [501, 7]
    no_id = load(PAGE + b'\n{"createdAt":"2024-01-01T00:00:00Z","token":"zz"}')
    assert list(no_id.orders["order_id"]) == [501]
    assert "has no id" in no_id.problems["reason"].iloc[-1]
    error = load(PAGE + b'\n{"status":"error","message":"rate limited"}')
    assert len(error.problems) == 1


def test_repr_when_no_creation_time_is_readable() -> None:
    """The notebook view copes with orders whose created_at is NA."""
    frames = load([{"id": 1}])
    assert "created —" in repr(frames)
    assert "—" in frames._repr_html_()


def test_stray_string_in_a_list_of_orders_is_a_problem() -> None:
    """A string among order dicts is not taken for a file name."""
    frames = load([BASE, "oops"])
    assert list(frames.orders["order_id"]) == [501]
    assert list(frames.problems["reason"]) == ["item 1 is not an order object"]


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o["breakdown"]["services"].append(None),
        lambda o: o["breakdown"]["adjustments"].insert(0, None),
        lambda o: o.update(tags=["a", None, 3]),
        lambda o: o.update(bar=None),
        lambda o: o["breakdown"].update(totalAmount=1198.980),
    ],
    ids=["null-service", "null-adjustment", "odd-tags", "null-unknown", "number-with-zeros"],
)
def test_fast_and_slow_paths_agree(change: Any) -> None:
    """The same orders as page bytes (Arrow) and as dicts (Python) give the same five tables."""
    order = json.loads(json.dumps(BASE))
    change(order)
    from_bytes = load(json.dumps({"status": "success", "orders": [order]}).encode())
    from_dicts = load([order])
    for name in ("orders", "services", "adjustments", "tags", "problems"):
        pd.testing.assert_frame_equal(getattr(from_bytes, name), getattr(from_dicts, name))


def test_text_that_is_not_utf8_or_unicode() -> None:
    """A page with invalid UTF-8 is named and the others load; a lone surrogate does not crash."""
    frames = load(
        b'{"orders":[{"id":1,"clientName":"Jos\xe9"}]}\n{"orders":[{"id":2,"clientName":"Ok"}]}'
    )
    assert list(frames.orders["order_id"]) == [2]
    assert "not UTF-8" in frames.problems["reason"].iloc[0]
    assert list(load([{"id": 1, "clientName": "\ud800"}]).orders["client_name"]) == ["?"]


def test_skipped_items_keep_the_others_positions_and_are_named_where_they_are() -> None:
    """A null order adjustment leaves the others at positions 2 and 3; a service's adjustments
    that are not a list are reported under that service."""
    order = json.loads(json.dumps(BASE))
    order["breakdown"]["adjustments"].insert(0, None)
    order["breakdown"]["services"][0]["adjustments"] = "x"
    frames = load([order])
    assert list(zip(frames.adjustments["position"], frames.adjustments["name"], strict=True)) == [
        (2, "Trip charge"),
        (3, "SAVE20"),
    ]
    assert set(frames.problems["field"]) == {
        "breakdown.services[1].adjustments",
        "breakdown.adjustments",
    }


def test_secrets_in_unknown_fields_are_redacted_on_both_paths() -> None:
    """Unknown fields are kept as JSON text, but a value under a key that suggests a secret
    (a client's authentication_token, an api_key) is replaced, at any depth, by either path."""
    import json as _json

    from ht_analytics import load_orders

    order = {
        "id": 7,
        "statusId": 3,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "client": {"name": "Ann", "authentication_token": "tok-SECRET-1"},
        "api_key": "key-SECRET-2",
        "breakdown": {
            "services": [{"id": 1, "totalAmount": "$1.00", "secret_note": "s-3"}],
            "totalAmount": "$1.00",
        },
    }
    page = _json.dumps({"status": "success", "orders": [order]}).encode()
    for source in (page, [order]):
        frames = load_orders(source)
        text = frames.orders["extra"].iloc[0] + frames.services["extra"].iloc[0]
        assert "SECRET" not in text
        assert "s-3" not in text
        assert '"name":"Ann"' in text
        assert "[redacted]" in text
