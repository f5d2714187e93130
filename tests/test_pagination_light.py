"""The store's light page parse gives pagination exactly what the full parse would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ht_analytics import PayloadError
from ht_analytics._pagination import LightBody, parse_page_light
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


@pytest.mark.parametrize(
    ("orders", "days"),
    [
        # camelCase text: its date part
        ([{"id": 1, "createdAt": "2026-03-05T23:59:59.999Z"}], ("2026-03-05", "2026-03-05")),
        # snake_case object: the integer wins (1772755200 = 2026-03-06 00:00 UTC) over the iso
        (
            [
                {"id": 1, "created_at": {"integer": 1772755200, "iso": "2020-01-01T00:00:00Z"}},
                {"id": 2, "createdAt": "2026-03-01T10:00:00Z"},
                {"id": 3, "created_at": {"integer": None, "iso": "2026-03-09T10:00:00Z"}},
            ],
            ("2026-03-01", "2026-03-09"),
        ),
        # nothing readable: no range (the page is not checked by its days)
        ([{"id": 1}, {"id": 2, "createdAt": "yesterday"}], None),
    ],
)
def test_the_light_parse_reads_the_range_of_creation_days(
    orders: list[dict[str, Any]], days: tuple[str, str] | None
) -> None:
    """The range of the page's creation days, which the store checks against a window's dates
    before following the page's cursor."""
    page = json.dumps({"status": "success", "orders": orders, "next_cursor": None}).encode()
    body = parse_page_light(page, what=WHAT)
    got = body.created_days
    assert (None if got is None else (str(got[0]), str(got[1]))) == days


@pytest.mark.parametrize(
    "order",
    [
        {"id": 1, "created_at": "2026-03-05"},  # snake_case creation time as text
        {"id": 1, "created_at": {"integer": 1.5e9, "iso": None}},  # a float integer
        {"id": 1, "createdAt": 1772755200},  # camelCase as a unix number
        {"id": 1, "createdAt": "0000-01-01T00:00:00.000Z"},  # a year Python cannot hold
        {"id": 1, "created_at": {"integer": 10**15, "iso": None}},  # past the year 9999
    ],
)
def test_creation_times_of_other_shapes_keep_the_light_parse(order: dict[str, Any]) -> None:
    """Creation times the light schema does not read (other shapes, years out of range) leave
    the page light, with its ids and no range of days; never an error, never the slow parse."""
    page = {"status": "success", "orders": [order, {"id": 2}], "next_cursor": 2}
    body = parse_page_light(json.dumps(page).encode(), what=WHAT)
    assert isinstance(body, LightBody)
    assert light_view(body) == light_view(page)
    assert body.created_days is None
