"""load_orders on hand-written golden pages of both flavours; expected values worked out by hand."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ht_analytics import OrderFrames, PayloadError, load_orders
from ht_analytics._loader import DataProblemWarning
from ht_analytics._schema import TYPED

GOLDEN = Path(__file__).parent / "data" / "golden"
D = Decimal


def load_quiet(source: Any) -> OrderFrames:
    """Load a source that is known to have problems, expecting the warning."""
    with pytest.warns(DataProblemWarning):
        return load_orders(source)


@pytest.fixture(scope="module")
def camel() -> OrderFrames:
    """The camelCase golden page, loaded once."""
    with pytest.warns(DataProblemWarning, match=r"value\(s\) could not be read"):
        return load_orders(GOLDEN / "camel_page.json")


@pytest.fixture(scope="module")
def snake() -> OrderFrames:
    """The snake_case golden page, loaded once."""
    with pytest.warns(DataProblemWarning):
        return load_orders(GOLDEN / "snake_page.json")


def row(frame: pd.DataFrame, **where: Any) -> pd.Series:
    """The one row matching the conditions."""
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        mask &= frame[key] == value
    assert mask.sum() == 1, (where, int(mask.sum()))
    return frame.loc[mask].iloc[0]


def test_every_column_has_its_contract_dtype(camel: OrderFrames, snake: OrderFrames) -> None:
    """Columns and dtypes of all five tables, one by one, for both flavours."""
    for frames in (camel, snake):
        for name, expected in TYPED.items():
            frame = getattr(frames, name)
            assert list(frame.columns) == list(expected), name
            for column, dtype in expected.items():
                assert frame[column].dtype == pd.api.types.pandas_dtype(dtype), (
                    f"{name}.{column}: {frame[column].dtype}"
                )
    assert str(camel.orders["total_amount"].dtype) == "decimal128(18, 2)[pyarrow]"
    assert str(camel.orders["created_at"].dtype) == "datetime64[us, UTC]"


def test_camel_orders_values(camel: OrderFrames) -> None:
    """Ids, status, flags, instants and money of the camelCase orders, as worked out by hand."""
    o = camel.orders
    assert list(o["order_id"]) == [501, 502, 503]
    a = row(o, order_id=501)
    assert (a["client_id"], a["client_name"], a["status_id"], a["status"]) == (
        77,
        "Ann Lee",
        5,
        "PAID",
    )
    assert a["created_at"] == pd.Timestamp("2025-03-10T14:15:22.123Z")
    assert a["appointment_start"] == pd.Timestamp("2025-03-12T17:00:00Z")
    assert a["appointment_start_local"] == pd.Timestamp("2025-03-12T10:00:00")
    assert a["timezone"] == "America/Los_Angeles"
    assert a["started_at"] == pd.Timestamp("2025-03-12T17:05:00Z")
    assert a["completed_at"] == pd.Timestamp("2025-03-12T18:35:00Z")
    assert a["total_amount"] == D("1198.98")
    assert a["coupon"] == "SAVE20"
    assert bool(a["has_set_password"]) is True
    assert bool(a["at_risk"]) is False
    assert a["flavour"] == "camel"
    b = row(o, order_id=502)
    assert b["created_at"] == pd.Timestamp("2025-03-11T07:00:00Z")  # +02:00 offset
    assert pd.isna(b["appointment_start"])
    assert pd.isna(b["appointment_start_local"])
    assert b["total_amount"] == D("0.00")
    assert bool(b["at_risk"]) is True
    assert json.loads(b["extra"]) == {"newField": {"x": 1}}  # unknown fields are kept
    # kept as sent, but for keys whose value is null ("end": null): Arrow cannot tell those from
    # keys another order has and this one does not, so no path keeps them
    assert json.loads(b["stand_by_times"]) == [{"start": "2025-03-11T08:00:00Z"}]
    assert b["agent"] == "Kim"
    c = row(o, order_id=503)
    assert c["status_id"] == 99
    assert pd.isna(c["status"])  # unknown id: kept, label empty, recorded
    # 01:30 on 2024-11-03 in New York happens twice; the first occurrence (EDT, -04:00) is taken.
    assert c["appointment_start"] == pd.Timestamp("2024-11-03T05:30:00Z")
    assert c["appointment_start_local"] == pd.Timestamp("2024-11-03T01:30:00")


def test_camel_services_and_adjustments(camel: OrderFrames) -> None:
    """Line items and both levels of adjustments, with exact money."""
    s = camel.services
    assert list(zip(s["order_id"], s["line_no"], s["service_id"], strict=True)) == [
        (501, 1, 9001),
        (501, 2, 9002),
        (503, 1, 9003),
    ]
    tv = row(s, service_id=9001)
    assert (tv["price"], tv["quantity"], tv["original_total_amount"], tv["total_amount"]) == (
        D("99.99"),
        2,
        D("199.98"),
        D("189.98"),
    )
    wifi = row(s, service_id=9002)
    assert (wifi["price"], wifi["prepaid"], wifi["total_amount"]) == (
        D("1234.50"),
        D("234.50"),
        D("1000.00"),
    )
    printer = row(s, service_id=9003)
    assert pd.isna(printer["price"])
    assert pd.isna(printer["amount"])
    assert pd.isna(printer["prepaid"])
    a = camel.adjustments
    assert len(a) == 3
    fee = row(a, name="Trip charge")
    assert (fee["level"], fee["type"], fee["amount"], fee["fee_id"]) == (
        "order",
        "fee",
        D("29.00"),
        3,
    )
    assert pd.isna(fee["service_id"])
    coupon = row(a, name="SAVE20")
    assert coupon["amount"] == D("-20.00")  # parentheses are negative
    bundle = row(a, name="Bundle discount")
    assert (bundle["level"], bundle["service_id"], bundle["line_no"], bundle["amount"]) == (
        "service",
        9001,
        1,
        D("-10.00"),
    )


def test_camel_problems_name_each_bad_value(camel: OrderFrames) -> None:
    """Every unreadable value is one problems row; the valid orders have none."""
    p = camel.problems
    found = {(r.order_id, r.table, r.field, r.raw_value) for r in p.itertuples()}
    assert (503, "orders", "statusId", "99") in found
    assert (503, "services", "price", "€5") in found
    assert (503, "services", "amount", "1.234,50") in found
    assert (
        503,
        "orders",
        "appointmentStart",
        "2024-11-03T01:30:00",
    ) in found  # ambiguous local time
    mismatch = [r for r in p.itertuples() if r.field == "breakdown.totalAmount"]
    assert [(r.order_id, r.raw_value) for r in mismatch] == [(503, "12.00")]
    assert "does not add up" in mismatch[0].reason
    assert set(p["order_id"]) == {503}
    assert len(p) == 5


def test_tags_from_the_payload(camel: OrderFrames) -> None:
    """A tags array in the payload becomes (order_id, tag) rows."""
    assert sorted(zip(camel.tags["order_id"], camel.tags["tag"], strict=True)) == [
        (501, "channel_web"),
        (501, "store_1"),
    ]


def test_snake_flavour_into_the_same_columns(snake: OrderFrames) -> None:
    """snake_case orders: {integer, iso} instants, string status, numbers as money, phone object."""
    o = snake.orders
    a = row(o, order_id=601)
    assert (a["status_id"], a["status"], a["status_label_sent"]) == (5, "PAID", "Paid")
    assert a["created_at"] == pd.Timestamp("2024-03-25T00:00:00Z")  # the integer wins
    assert a["started_at"] == pd.Timestamp("2024-03-25T20:53:20Z")
    assert a["appointment_start"] == pd.Timestamp("2024-03-25T20:00:00Z")
    assert a["appointment_start_local"] == pd.Timestamp("2024-03-25T13:00:00")  # PDT
    assert (a["client_email"], a["client_phone"], a["client_city"]) == (
        "jane@example.com",
        "3105550123",
        "Los Angeles",
    )
    assert a["total_amount"] == D("101.75")
    assert a["flavour"] == "snake"
    svc = row(snake.services, order_id=601)
    assert (svc["price"], svc["amount"], svc["prepaid"], svc["original_total_amount"]) == (
        D("100.00"),
        D("100.50"),
        D("0.00"),
        D("100.50"),
    )
    fee = row(snake.adjustments, order_id=601)
    assert (fee["level"], fee["amount"]) == ("order", D("1.25"))
    b = row(o, order_id=602)
    assert (b["status_id"], b["status"]) == (2, "ASSIGNED")
    assert b["created_at"] == pd.Timestamp("2024-03-25T00:00:00Z")
    p = snake.problems
    assert list(zip(p["order_id"], p["field"], strict=True)) == [(602, "created_at.iso")]
    assert "disagrees" in p["reason"].iloc[0]


def test_both_flavours_mixed_in_one_source(camel: OrderFrames, snake: OrderFrames) -> None:
    """Pages of both flavours in one call give the union, typed the same."""
    pages = [(GOLDEN / "camel_page.json").read_bytes(), (GOLDEN / "snake_page.json").read_bytes()]
    both = load_quiet(pages)
    assert list(both.orders["order_id"]) == [501, 502, 503, 601, 602]
    assert both.net_total == camel.net_total + snake.net_total
    assert len(both.problems) == len(camel.problems) + len(snake.problems)


def test_strict_raises_naming_order_field_and_value() -> None:
    """strict=True: PayloadError with the order, the field and the raw value of the first value
    that cannot be read (order 503's unknown status id 99 is kept, a note: not raised)."""
    with pytest.raises(PayloadError, match=r"order 503, services field price: '€5'"):
        load_orders(GOLDEN / "camel_page.json", strict=True)


def test_strict_names_a_breakdown_field_by_its_path_and_says_the_value_once() -> None:
    """An order total of '1.234,50' (a European format): the message names
    breakdown.totalAmount and quotes the value once."""
    order = {
        "id": 1,
        "statusId": 3,
        "createdAt": "2024-05-01T12:00:00Z",
        "timezone": "UTC",
        "breakdown": {"services": [], "adjustments": [], "totalAmount": "1.234,50"},
    }
    with pytest.raises(PayloadError) as caught:
        load_orders([order], strict=True)
    message = str(caught.value)
    assert "order 1, orders field breakdown.totalAmount" in message
    assert message.count("1.234,50") == 1


def test_valid_orders_load_without_problems_or_warning(camel: OrderFrames) -> None:
    """Orders 501 and 502 alone: no problem, no warning (warnings are errors in this suite)."""
    page = json.loads((GOLDEN / "camel_page.json").read_text())
    page["orders"] = page["orders"][:2]
    frames = load_orders(json.dumps(page).encode())
    assert len(frames.problems) == 0
    assert frames.net_total == D("1198.98")
    frames.check_schema()


@pytest.mark.parametrize(
    "form", ["dicts", "bytes", "jsonl", "jsonl.gz", "json.gz", "order-lines", "array"]
)
def test_every_source_form_gives_the_same_frames(tmp_path: Path, form: str) -> None:
    """Dicts, bytes, .json(.gz), .jsonl(.gz), one order a line and a JSON array load alike."""
    page = json.loads((GOLDEN / "camel_page.json").read_text())
    page["orders"] = page["orders"][:2]
    orders = page["orders"]
    compact = json.dumps(page).encode()
    source: Any
    if form == "dicts":
        source = orders
    elif form == "bytes":
        source = compact
    elif form == "jsonl":
        source = tmp_path / "p.jsonl"
        source.write_bytes(compact + b"\n")
    elif form == "jsonl.gz":
        source = tmp_path / "p.jsonl.gz"
        source.write_bytes(gzip.compress(compact))
    elif form == "json.gz":
        source = tmp_path / "p.json.gz"
        source.write_bytes(gzip.compress(json.dumps(page, indent=2).encode()))
    elif form == "order-lines":
        source = tmp_path / "o.ndjson"
        source.write_text("\n".join(json.dumps(o) for o in orders))
    else:
        source = tmp_path / "a.json"
        source.write_text(json.dumps(orders))
    frames = load_orders(source)
    reference = load_orders(compact)
    for name in ("orders", "services", "adjustments", "tags", "problems"):
        pd.testing.assert_frame_equal(
            getattr(frames, name), getattr(reference, name), check_like=False
        )


def test_not_json_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    """Garbage and a missing path raise clear errors, not pyarrow internals."""
    with pytest.raises(PayloadError, match="is not JSON"):
        load_orders(b"<html>oops</html>")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_orders(tmp_path / "nope.json")
    with pytest.raises(TypeError, match="cannot read"):
        load_orders(42)


def test_duplicate_orders_keep_the_last_and_say_so() -> None:
    """The same order twice: one row (the last), one problem."""
    page = json.loads((GOLDEN / "camel_page.json").read_text())
    first = dict(page["orders"][1])
    second = dict(first, clientName="Bo Park-Lee")
    frames = load_quiet([first, second])
    assert list(frames.orders["client_name"]) == ["Bo Park-Lee"]
    assert "more than once" in frames.problems["reason"].iloc[0]


def test_repr_and_html(camel: OrderFrames) -> None:
    """The notebook view shows counts, date range, net total and problems."""
    text = repr(camel)
    assert "orders=3" in text
    assert "problems=5" in text
    assert "net $1,210.98" in text
    html = camel._repr_html_()
    assert "2024-11-02 – 2025-03-11" in html
    assert "$1,210.98" in html


def test_filter_keeps_children_consistent(camel: OrderFrames) -> None:
    """filter() restricts every table to the kept orders."""
    only = camel.filter(status="PAID")
    assert list(only.orders["order_id"]) == [501]
    assert set(only.services["order_id"]) == {501}
    assert set(only.adjustments["order_id"]) == {501}
    assert list(only.tags["tag"].sort_values()) == ["channel_web", "store_1"]


def test_filter_reads_statuses_as_the_metrics_do(camel: OrderFrames) -> None:
    """Orders 501 (PAID, 5), 502 (SEARCHING, 1) and 503 (unknown id 99): groups, names in any
    case and ids select as in the metrics ("open" takes the unknown id too); an unknown name is
    a ValueError, never an empty result."""
    ids = lambda **kw: list(camel.filter(**kw).orders["order_id"])
    assert ids(status="open") == [502, 503]
    assert ids(status="terminal") == [501]
    assert ids(status="paid") == [501]
    assert ids(status=1) == [502]
    assert ids(status=["PAID", 1]) == [501, 502]
    assert ids(status="all") == [501, 502, 503]
    assert ids(status=list(camel.orders["status"].unique())) == [501, 502, 503]  # NaN: 503
    assert ids(status=[None]) == [503]
    with pytest.raises(ValueError, match="unknown status 'completd'"):
        camel.filter(status="completd")


def test_to_polars_keeps_exact_types(camel: OrderFrames) -> None:
    """Polars gets Decimal(18, 2) money and µs UTC instants."""
    import polars as pl

    frames = camel.to_polars()
    assert frames["orders"].schema["total_amount"] == pl.Decimal(18, 2)
    assert frames["orders"].schema["created_at"] == pl.Datetime("us", "UTC")
    assert frames["orders"]["total_amount"].sum() == D("1210.98")


def test_filter_by_dates_is_inclusive(camel: OrderFrames) -> None:
    """A date as end includes that whole day; aware timestamps are compared in UTC."""
    assert list(camel.filter(start="2025-03-10", end="2025-03-10").orders["order_id"]) == [501]
    assert list(camel.filter(start="2025-03-11T08:00:00+01:00").orders["order_id"]) == [502]
    assert list(camel.filter(end="2024-12-31").orders["order_id"]) == [503]


def test_a_bad_line_is_a_problem_and_the_other_lines_load(tmp_path: Path) -> None:
    """A .jsonl with a byte-order mark, a blank line and a line that is not JSON: the good lines
    load, the bad one is named in problems."""
    good = [{"id": 1, "statusId": 3, "createdAt": "2025-01-01T00:00:00Z"}, {"id": 2, "statusId": 3}]
    path = tmp_path / "orders.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps(good[0]).encode()
        + b"\n\n{bad\n"
        + json.dumps(good[1]).encode()
    )
    frames = load_quiet(path)
    assert list(frames.orders["order_id"]) == [1, 2]
    assert list(frames.problems["field"]) == ["line 3"]
    assert list(frames.problems["raw_value"]) == ["{bad"]
    with pytest.raises(PayloadError, match="not JSON"):
        load_orders(b"{bad\n{worse")


def test_filter_end_at_an_instant_is_that_instant_midnight_included() -> None:
    """Order 1 is created at 2025-03-10T00:00Z, order 2 at noon that day. An end of
    2025-03-09T20:00 in New York (EDT from 02:00 that day, UTC-4: exactly midnight UTC) and
    every other spelling of midnight UTC hold order 1 only; the date
    2025-03-10 (any spelling) holds the whole day; a number is refused, as the store does."""
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    frames = load_orders(
        [
            {"id": 1, "createdAt": "2025-03-10T00:00:00Z"},
            {"id": 2, "createdAt": "2025-03-10T12:00:00Z"},
        ]
    )
    instants = [
        datetime(2025, 3, 9, 20, 0, tzinfo=ZoneInfo("America/New_York")),
        datetime(2025, 3, 10, tzinfo=UTC),
        datetime(2025, 3, 10),
        pd.Timestamp("2025-03-10T01:00:00+01:00"),
        "2025-03-10T00:00:00Z",
        "2025-03-10 00:00",
    ]
    for end in instants:
        assert list(frames.filter(end=end).orders["order_id"]) == [1], end
    for end in (date(2025, 3, 10), "2025-03-10", "03-10-2025"):
        assert list(frames.filter(end=end).orders["order_id"]) == [1, 2], end
    with pytest.raises(ValueError, match="not a date or a timestamp"):
        frames.filter(end=20250310)
