"""The store's light page parse gives pagination exactly what the full parse would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ht_analytics import PayloadError
from ht_analytics._pagination import parse_page_light
from ht_analytics._responses import parse_json

WHAT = "GET /api/partners/orders"


def light_view(body: Any) -> Any:
    """What pagination reads from a fully parsed body: status, order ids, next_cursor."""
    if not isinstance(body, dict) or not isinstance(body.get("orders"), list):
        return body
    view = {"status": body.get("status"), "orders": [{"id": o.get("id")} for o in body["orders"]]}
    if "next_cursor" in body:
        view["next_cursor"] = body["next_cursor"]
    return view


PAGES = [
    {"status": "success", "orders": [{"id": 1, "x": {"y": [1, 2]}}, {"id": 2}], "next_cursor": 2},
    {"status": "success", "orders": [{"id": 3}], "next_cursor": None},
    {"status": "success", "orders": []},
    {"next_cursor": 9, "orders": [{"id": 7, "next_cursor": 1}], "status": "success"},
    {"status": "success", "orders": [{"id": 5, "meta": {"next_cursor": 3}}]},
    {"status": "error", "message": "nope"},
    {"status": "success", "orders": [{"id": "12"}], "next_cursor": 12},
    {"status": "success", "orders": [{"token": "t"}], "next_cursor": None},
    {"status": "success", "orders": {"id": 1}},
]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("indent", [None, 2])
def test_light_parse_agrees_with_the_full_parse(page: dict[str, Any], indent: int | None) -> None:
    """Compact or pretty-printed, usual or odd: the light body holds the same status, ids and
    next_cursor (present or absent) as the full parse."""
    content = json.dumps(page, indent=indent).encode()
    full = parse_json(content, what=WHAT)
    light = parse_page_light(content, what=WHAT)
    assert light_view(light) == light_view(full)


def test_unreadable_bodies_raise_as_usual() -> None:
    """A body that is not JSON raises the same PayloadError either way."""
    for content in (b"<html>502</html>", b'{"status": "success", "orders": [', b""):
        with pytest.raises(PayloadError) as full:
            parse_json(content, what=WHAT)
        with pytest.raises(PayloadError) as light:
            parse_page_light(content, what=WHAT)
        assert str(light.value) == str(full.value)
