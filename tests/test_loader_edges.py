"""Edge cases found by an adversarial review: nothing crashes, nothing vanishes unnamed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ht_analytics import OrderFrames, PayloadError, load_orders
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


def test_lines_that_are_not_orders_are_named_by_line(tmp_path: Path) -> None:
    """In a file of one order a line, a line holding no order is named by its line number
    (and an item of a list on a line by both), not as "item 0" of every line."""
    line = json.dumps(BASE)
    (tmp_path / "orders.jsonl").write_text(
        "\n".join([line, "42", '"text"', json.dumps(dict(BASE, id=502)), "[1, 2]", "null"]) + "\n"
    )
    frames = load(tmp_path / "orders.jsonl")
    assert list(frames.orders["order_id"]) == [501, 502]
    named = frames.problems[frames.problems["reason"].str.endswith("is not an order object")]
    assert list(named["reason"]) == [
        "line 2 is not an order object",
        "line 3 is not an order object",
        "line 5, item 0 is not an order object",
        "line 5, item 1 is not an order object",
        "line 6 is not an order object",
    ]


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


NOT_UTF8 = (
    "bytes that are not UTF-8 ({}) were read as U+FFFD ('\ufffd') in the values that hold them"
)


def test_text_that_is_not_utf8_or_unicode() -> None:
    """Bytes that are not UTF-8 in a text are read as U+FFFD and named, and their order and page
    load like the others; a lone surrogate does not crash."""
    frames = load(
        b'{"orders":[{"id":1,"clientName":"Jos\xe9"}]}\n{"orders":[{"id":2,"clientName":"Ok"}]}'
    )
    assert list(frames.orders["order_id"]) == [1, 2]
    assert list(frames.orders["client_name"]) == ["Jos\ufffd", "Ok"]
    assert frames.problems["reason"].tolist() == [
        f"line 1: {NOT_UTF8.format('at byte 36')}"
    ]  # at \xe9
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


# -- found by a second adversarial review (hand-made payloads; expected values worked by hand) ----


def _snake(order_id: int, **over: Any) -> dict[str, Any]:
    """A snake_case order as the contract shows it (timestamps as objects)."""
    order: dict[str, Any] = {
        "id": order_id,
        "status": 3,
        "created_at": {"integer": 1711324800, "iso": "2024-03-25T00:00:00Z"},
        "timezone": "America/Los_Angeles",
        "breakdown": {
            "services": [{"id": 5, "total_amount": "$50.00", "adjustments": []}],
            "adjustments": [],
            "total_amount": "$50.00",
        },
    }
    order.update(over)
    return order


def _as_sources(orders: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    lines = "\n".join(json.dumps(o) for o in orders)
    (tmp_path / "orders.jsonl").write_text(lines)
    page = {"status": "success", "orders": orders, "next_cursor": None}
    return {
        "dicts": orders,
        "page": json.dumps(page).encode(),
        "lines": lines.encode(),
        "jsonl file": tmp_path / "orders.jsonl",
    }


def test_snake_status_survives_every_source_form(tmp_path: Path) -> None:
    """The snake flavour's ``status`` is the order's status id, also one order per line
    (it was once dropped there with the page keys, silently)."""
    orders = [_snake(1), _snake(2, status="5")]
    for name, source in _as_sources(orders, tmp_path).items():
        frames = load_orders(source)  # no problem, so no warning (warnings are errors here)
        assert frames.orders["status_id"].tolist() == [3, 5], name
        assert frames.orders["status"].astype(str).tolist() == ["COMPLETED", "PAID"], name


def test_snake_appointment_as_a_timestamp_object(tmp_path: Path) -> None:
    """``appointment_start`` as ``{"integer", "iso"}`` (snake timestamps are objects):
    1711357200 is 2024-03-25T09:00:00Z, 02:00 in Los Angeles (PDT, UTC-7)."""
    start = {"integer": 1711357200, "iso": "2024-03-25T09:00:00Z"}
    for name, source in _as_sources([_snake(1, appointment_start=start)], tmp_path).items():
        frames = load_orders(source)
        got = frames.orders.iloc[0]
        assert got["appointment_start"] == pd.Timestamp("2024-03-25T09:00:00Z"), name
        assert got["appointment_start_local"] == pd.Timestamp("2024-03-25T02:00:00"), name


def test_snake_iso_without_offset_is_read_in_the_orders_zone() -> None:
    """``started_at: {"iso": "2024-03-26T09:05:00"}`` in America/New_York (EDT, UTC-4) is
    13:05Z, as the camel flavour's ``startedAt`` with the same text."""
    snake = load_orders(
        [_snake(1, timezone="America/New_York", started_at={"iso": "2024-03-26T09:05:00"})]
    )
    camel = dict(BASE, id=2, timezone="America/New_York", startedAt="2024-03-26T09:05:00")
    camel_frames = load(json.dumps({"status": "success", "orders": [camel]}).encode())
    assert snake.orders["started_at"].iloc[0] == pd.Timestamp("2024-03-26T13:05:00Z")
    assert camel_frames.orders["started_at"].iloc[0] == pd.Timestamp("2024-03-26T13:05:00Z")


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "0001-01-01T00:30:00+01:00"]
)
def test_instants_outside_years_1_to_9999_are_problems(text: str) -> None:
    """An offset can push a year-9999 (or year-1) time out of what pandas and Python can show:
    a problem and NA, and the frames and metrics still work."""
    from ht_analytics import revenue_breakdown, tag_counts

    frames = load(_as_page([dict(BASE, createdAt=text)]))
    assert frames.orders["created_at"].isna().all()
    mine = frames.problems[frames.problems["field"] == "createdAt"]
    assert mine["reason"].tolist() == [f"'{text}' is outside the years 0001-9999 in UTC"]
    repr(frames)
    revenue_breakdown(frames, by="month", statuses="all")
    tag_counts(frames, by="M")


def test_the_last_instant_of_year_9999_is_kept() -> None:
    frames = load_orders(_as_page([dict(BASE, createdAt="9999-12-31T23:59:59.999999Z")]))
    assert frames.orders["created_at"].iloc[0] == pd.Timestamp("9999-12-31T23:59:59.999999Z")


def _as_page(orders: list[dict[str, Any]]) -> bytes:
    return json.dumps({"status": "success", "orders": orders, "next_cursor": None}).encode()


def test_notes_on_kept_values_are_not_called_unreadable_and_strict_accepts_them() -> None:
    """An ambiguous local time (2026-11-01 01:30 in New York happens twice; the first, EDT, is
    05:30Z) and an unknown status id are kept with a note: the warning says so, and strict mode
    does not raise on them; an unreadable value is still raised in strict mode."""
    order = dict(
        BASE,
        statusId=99,
        timezone="America/New_York",
        appointmentStart="2026-11-01T01:30:00",
        appointmentStartDateTime=None,
    )
    with pytest.warns(DataProblemWarning) as caught:
        frames = load_orders(_as_page([order]))
    message = str(caught[0].message)
    assert "could not be read" not in message
    assert "2 note(s) on values kept as sent" in message
    assert frames.orders["appointment_start"].iloc[0] == pd.Timestamp("2026-11-01T05:30:00Z")
    assert frames.orders["status_id"].iloc[0] == 99
    with pytest.warns(DataProblemWarning, match="kept as sent"):
        strict = load_orders(_as_page([order]), strict=True)
    assert len(strict.problems) == 2
    bad = dict(order, createdAt="yesterday")
    with pytest.raises(PayloadError, match=r"orders field createdAt: 'yesterday'"):
        load_orders(_as_page([bad]), strict=True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"status": "error", "message": "Invalid API key"},
            "an API response without orders (status 'error': Invalid API key)",
        ),
        (
            {"status": "success", "orders": None, "next_cursor": None},
            "a page whose 'orders' is null, not a list of orders",
        ),
        (
            {"status": "success", "orders": {}},
            "a page whose 'orders' is dict, not a list of orders",
        ),
    ],
)
def test_responses_without_orders_are_named_not_taken_for_orders(
    body: dict[str, Any], reason: str
) -> None:
    """An error body or a page without an orders list is one problem saying so (not "an order
    without id"), beside the orders of a good page."""
    for source in (json.dumps(body).encode() + b"\n" + PAGE, [body, json.loads(PAGE)]):
        frames = load(source)
        assert frames.orders["order_id"].tolist() == [BASE["id"]]
        assert frames.problems["reason"].tolist()[:1] == [reason]
    with pytest.raises(PayloadError, match=r"^the source orders: .*" + reason[:20]):
        load_orders(json.dumps(body).encode(), strict=True)


@pytest.mark.parametrize(
    ("tags", "kept", "problems"),
    [
        (["a", "b"], ["a", "b"], 0),
        (["a", 5], ["a"], 1),
        (["a", None], ["a"], 1),
        (["a", ""], ["a"], 1),
        ("a", [], 1),
        ({"t": 1}, [], 1),
    ],
)
def test_tags_that_are_not_texts_are_named(tags: Any, kept: list[str], problems: int) -> None:
    """Whatever the path (dicts, a page), a tag that is not a non-empty text is a problem."""
    order = dict(BASE, tags=tags)
    for source in ([order], _as_page([order])):
        frames = load(source)
        assert sorted(frames.tags["tag"]) == kept
        mine = frames.problems[frames.problems["field"] == "tags"]
        assert len(mine) == problems, (source if isinstance(source, list) else "page", mine)


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("score", "12.5"),
        ("updatedAt", '"2024-03-25T10:00:00"'),
        ("updatedAt", '"2024-03-25"'),
        ("when", '{"integer": 1711324800, "iso": "2024-03-25T00:00:00+05:30"}'),
        ("nested", '{"a": [1, 0.25, "2024-01-01 00:00"]}'),
    ],
)
def test_unknown_fields_are_kept_as_sent_on_every_path(key: str, raw: str) -> None:
    """``extra`` holds the value as sent: Arrow's guesses (text that looks like a date became a
    timestamp, losing its form and offset) and the slow path's exact decimals (a number became
    text) do not show through."""
    order = json.dumps(BASE)[:-1] + f', "{key}": {raw}}}'
    page = f'{{"status":"success","orders":[{order}]}}'.encode()
    sent = json.loads(raw)
    for source in (page, order.encode(), json.dumps(json.loads(page), indent=1).encode()):
        extra = json.loads(load(source).orders["extra"].iloc[0])
        assert extra[key] == sent
        assert json.dumps(extra[key]) == json.dumps(sent)  # same types (12.5 is no "12.5")


def test_the_last_occurrence_wins_in_source_order_across_dicts_and_bytes() -> None:
    older = dict(BASE, clientName="OLDER")
    newer = dict(BASE, clientName="NEWER")
    for source in ([older, _as_page([newer])], [_as_page([older]), newer]):
        frames = load(source)
        assert frames.orders["client_name"].tolist() == ["NEWER"]


def test_json_text_given_as_a_str_is_read() -> None:
    assert load(PAGE.decode()).orders["order_id"].tolist() == [BASE["id"]]
    assert load(json.dumps(BASE)).orders["order_id"].tolist() == [BASE["id"]]


def test_a_byte_order_mark_on_any_page_is_ignored() -> None:
    second = dict(BASE, id=BASE["id"] + 1)
    frames = load([PAGE, b"\xef\xbb\xbf" + _as_page([second])])
    assert frames.orders["order_id"].tolist() == [BASE["id"], BASE["id"] + 1]
    assert len(frames.problems) == len(load(PAGE).problems)


DEEP = "[" * 30_000 + "]" * 30_000  # Arrow's parser overflows its stack some 20,000 levels down


def test_deep_nesting_is_an_error_or_a_problem_never_a_crash() -> None:
    """Run in a child process: a regression would kill the interpreter, not fail an assert."""
    import subprocess
    import sys

    script = f"""
import json, warnings
from ht_analytics import PayloadError, load_orders
from ht_analytics._pagination import parse_page_light
base = json.loads({json.dumps(json.dumps(BASE))})
deep_order = json.dumps(base)[:-1] + ', "deep": {DEEP}}}'
good = dict(base, id=base["id"] + 1)
page = ('{{"status":"success","orders":[' + deep_order + ']}}').encode()
warnings.simplefilter("ignore")
both = ('{{"status":"success","orders":[' + deep_order + ',' + json.dumps(good) + ']}}').encode()
read = load_orders(both)
print("page:", read.orders["order_id"].tolist(), read.problems["reason"].tolist()[-1])
lines = load_orders(deep_order.encode() + b"\\n" + json.dumps(good).encode())
print("lines:", lines.orders["order_id"].tolist(), len(lines.problems))
deep = x = []
for _ in range(5000):
    y = []; x.append(y); x = y
dicts = load_orders([dict(base, deep=deep), good])
print("dicts:", dicts.orders["order_id"].tolist(), dicts.problems["reason"].tolist()[-1])
try:
    parse_page_light(page, what="page 1")
except PayloadError as exc:
    print("client:", str(exc).replace(str(len(page)), "N"))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.splitlines()
    good_id = BASE["id"] + 1
    assert out == [
        f"page: [{good_id}] the order holds a value nested too deeply to read; it was left out",
        f"lines: [{good_id}] 1",
        f"dicts: [{good_id}] the order holds a value nested too deeply to read; it was left out",
        "client: page 1: the response is nested too deeply to read (N bytes)",
    ]


def _read_in_a_child(setup: str, reads: dict[str, str]) -> list[str]:
    """Run ``setup`` in a child process (a crash kills it, not the tests), then each read
    expression: ``"<name> True"`` for a PayloadError saying "nested too deeply", ``"<name>
    read"`` when it was read."""
    import subprocess
    import sys

    lines = [
        "from ht_analytics import PayloadError, load_orders",
        "from ht_analytics._pagination import parse_page_light",
        setup,
    ]
    for name, expression in reads.items():
        lines += [
            "try:",
            f"    {expression}",
            f"    print({name!r}, 'read')",
            "except PayloadError as exc:",
            f"    print({name!r}, 'nested too deeply' in str(exc))",
        ]
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_a_big_page_nested_deep_is_an_error_never_a_crash() -> None:
    """A page over 8 MiB (a 9 MiB text field) with a field nested 100,000 objects deep: the
    depth of pages of any size is checked, so Arrow never sees it (it would kill the process)."""
    setup = f"""
import json
base = json.loads({json.dumps(json.dumps(BASE))})
deep = '{{"a":' * 100_000 + '1' + '}}' * 100_000
order = json.dumps(dict(base, pad="x" * (9 << 20)))[:-1] + ', "deep": ' + deep + '}}'
page = ('{{"status":"success","orders":[' + order + '],"next_cursor":null}}').encode()
assert len(page) > 9 << 20
"""
    reads = {
        "client": 'parse_page_light(page, what="page 1")',
        "loader": "assert 'left out' in load_orders(page).problems['reason'].iloc[-1]",
    }
    # The loader (never raising for a bad value) leaves the order out, named.
    assert _read_in_a_child(setup, reads) == ["client True", "loader read"]


def test_depth_hidden_in_pieces_or_behind_brackets_in_text_is_caught() -> None:
    """Two ways past a bracket count, never a crash: one document given as pieces that are
    shallow alone (joined, they nest 120,000 deep), and closing brackets inside a string that
    would hide real depth after them. The loader leaves the order out, named; the client's page
    parse raises."""
    setup = """
n = 300
pieces = [b'{"id":1,"x":' + b'[' * 400] + [b'[' * 400] * n + [b']' * 400] * (n + 1) + [b'}']
d = 100_000
hidden = b'{"id":1,"s":"' + b']' * (d + 10) + b'","x":' + b'[' * d + b']' * d + b'}'
page = b'{"status":"success","orders":[' + hidden + b'],"next_cursor":null}'
marked = [b'{"x":' + b'[' * 500 + b'{}'] * 100  # each "{ ... }", 502 deep, none closed
"""
    left_out = "assert 'left out' in load_orders({}).problems['reason'].iloc[-1]"
    reads = {
        "pieces": left_out.format("pieces"),
        "hidden": left_out.format("hidden"),
        "client": 'parse_page_light(page, what="page 1")',
        "marked": "load_orders(marked)",
    }
    # Pieces that are each an object ({ … }) are not checked joined: a document cannot go on
    # from one to the next, so Arrow stops at the second piece (not JSON), never 50,000 deep.
    got = _read_in_a_child(setup, reads)
    assert got == ["pieces read", "hidden read", "client True", "marked False"]


# -- from a review of the fixes above ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"status": "error", "error": {"api_key": "SEKRET-1"}},
        {"status": "error", "errors": [{"authentication_token": "SEKRET-1"}]},
    ],
)
def test_no_secret_in_the_problems_of_an_error_body(body: dict[str, Any]) -> None:
    for source in ([body], json.dumps(body).encode()):
        frames = load(source)
        assert "SEKRET-1" not in frames.problems.to_csv()
        with pytest.raises(PayloadError) as caught:
            load_orders(source, strict=True)
        assert "SEKRET-1" not in str(caught.value)


def test_deep_lists_and_bodies_are_problems_not_crashes() -> None:
    """Deep nesting where no order is (a list of lists, an error body's errors) is named."""
    deep: list[Any] = []
    inner = deep
    for _ in range(3000):
        inner.append([])
        inner = inner[0]
    lists = load([deep, BASE])
    assert lists.orders["order_id"].tolist() == [BASE["id"]]
    assert "lists nested more than 512 deep" in lists.problems["reason"].tolist()
    body = load([{"status": "error", "errors": deep}, BASE])
    assert body.orders["order_id"].tolist() == [BASE["id"]]
    assert len(body.problems) == 1


def test_a_kept_snake_timestamp_with_a_note_is_not_unreadable() -> None:
    """The integer wins over a disagreeing iso: the value is there, so the problem is a note
    (no "could not be read", and strict mode loads)."""
    order = _snake(1, started_at={"integer": 1711357200, "iso": "2024-03-26T09:00:00Z"})
    with pytest.warns(DataProblemWarning, match=r"^1 note\(s\) on values kept as sent"):
        frames = load_orders([order])
    assert frames.orders["started_at"].iloc[0] == pd.Timestamp("2024-03-25T09:00:00Z")
    assert frames.problems["field"].tolist() == ["started_at.iso"]
    with pytest.warns(DataProblemWarning):
        load_orders([order], strict=True)


def test_the_dst_rule_is_noted_for_snake_isos_too() -> None:
    """2026-11-01 01:30 happens twice in New York: read as the first (EDT, 05:30Z), and said,
    whether it came as camel text or as a snake iso."""
    snake = _snake(1, timezone="America/New_York", started_at={"iso": "2026-11-01T01:30:00"})
    with pytest.warns(DataProblemWarning, match="note"):
        frames = load_orders([snake])
    assert frames.orders["started_at"].iloc[0] == pd.Timestamp("2026-11-01T05:30:00Z")
    assert frames.problems["field"].tolist() == ["started_at.iso"]
    assert "ambiguous in America/New_York" in frames.problems["reason"].iloc[0]


def test_an_order_with_an_unknown_orders_field_is_an_order() -> None:
    order = dict(BASE, orders=None)
    for source in ([order], _as_page([order])):
        frames = load(source)
        assert frames.orders["order_id"].tolist() == [BASE["id"]]


def test_a_number_beyond_floats_in_an_unknown_field_is_kept_as_written() -> None:
    order = json.dumps(BASE)[:-1] + ', "score": 1E+400}'
    for source in (order.encode(), f'{{"status":"success","orders":[{order}]}}'.encode()):
        extra = json.loads(load(source).orders["extra"].iloc[0])  # valid JSON: no Infinity
        assert extra["score"] == "1E+400"


def test_a_file_name_that_starts_like_json_is_a_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"\[2024\] orders\.json"):
        load_orders("[2024] orders.json")
    (tmp_path / "[2024] orders.json").write_bytes(PAGE)
    assert load(str(tmp_path / "[2024] orders.json")).orders["order_id"].tolist() == [BASE["id"]]


def test_a_deep_page_among_many_is_a_problem_even_past_the_checked_size() -> None:
    """Pages given as a list are checked one by one, so a run of pages larger than the size
    checked at once still never reaches Arrow's parser with the deep one (child process: a
    regression would kill the interpreter)."""
    import subprocess
    import sys

    script = f"""
import json, warnings
warnings.simplefilter("ignore")
from ht_analytics import load_orders
base = json.loads({json.dumps(json.dumps(BASE))})
filler = json.dumps({{"status": "success", "orders": [dict(base, id=i) for i in range(1, 5001)]}})
deep = json.dumps(base)[:-1] + ', "deep": {DEEP}}}'
pages = [filler.encode(), ('{{"status":"success","orders":[' + deep + ']}}').encode()]
assert sum(map(len, pages)) > 8 << 20, sum(map(len, pages))
frames = load_orders(pages)
print(len(frames.orders), frames.problems["reason"].tolist()[-1])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == (
        "5000 the order holds a value nested too deeply to read; it was left out"
    )


# -- a second adversarial review ------------------------------------------------------------------

C = "2024-01-01T00:00:00Z"


def as_sources(*orders: dict[str, Any]) -> list[Any]:
    """The same orders as dicts, as one page of bytes, and as one order a line (JSONL)."""
    page = json.dumps({"status": "success", "orders": list(orders), "next_cursor": None})
    lines = "\n".join(json.dumps(o) for o in orders)
    return [list(orders), page.encode(), lines.encode()]


def test_nested_secrets_never_reach_frames_or_problems() -> None:
    """A token inside an object column, and inside a value that is not what the field should
    be (a problem's raw value), is redacted on every path."""
    order = {
        "id": 1,
        "createdAt": C,
        "treatments": {"authentication_token": "SECRET-1", "ok": 1},
        "standByTimes": [{"start": C, "session_secret": "SECRET-2"}],
        "breakdown": {"services": {"authentication_token": "SECRET-3"}, "totalAmount": "1.00"},
    }
    for source in as_sources(order):
        frames = load(source)
        text = "".join(
            getattr(frames, t).astype(str).to_csv()
            for t in ("orders", "services", "adjustments", "problems")
        )
        assert "SECRET" not in text
        assert json.loads(frames.orders["treatments"].iloc[0]) == {
            "authentication_token": "[redacted]",
            "ok": 1,
        }


def test_object_columns_are_the_same_text_from_every_source() -> None:
    """Objects whose keys differ from order to order, numbers that are integers in one order and
    not in another, text where an object may come: the same JSON text from dicts and bytes."""
    a = {"id": 1, "createdAt": C, "treatments": {"a": 1}, "events": "x", "extra1": {"v": 1}}
    b = {"id": 2, "createdAt": C, "treatments": {"b": 2.5}, "extra1": {"v": 1.5}}
    frames = [load(s).orders for s in as_sources(a, b)]
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)
    assert list(frames[0]["treatments"]) == ['{"a":1}', '{"b":2.5}']
    assert frames[0]["events"].iloc[0] == '"x"'
    assert json.loads(frames[0]["extra"].iloc[0]) == {"extra1": {"v": 1}}


def test_many_different_keys_in_an_object_column_stay_linear() -> None:
    """2,000 orders each with their own key: Arrow would read them as one struct of 2,000 fields
    per order; the loader reads such a block value by value instead (same frames as dicts)."""
    orders = [{"id": i, "createdAt": C, "treatments": {f"k{i}": i}} for i in range(1, 2001)]
    got = load(json.dumps({"orders": orders}).encode()).orders
    assert got["treatments"].iloc[6] == '{"k7":7}'
    pd.testing.assert_frame_equal(got, load(orders).orders)


def test_a_value_nested_deep_in_an_unknown_field_keeps_its_order() -> None:
    """600 levels of lists in an unknown field (past Python's recursion limit for a naive walk):
    the order and its other values are kept, the field too."""
    deep = "[" * 600 + "]" * 600
    text = f'{{"id":1,"createdAt":"{C}","x":{deep},"breakdown":{{"totalAmount":"$5.00"}}}}'
    for source in (text.encode(), [json.loads(text)]):
        frames = load(source)
        assert list(frames.orders["order_id"]) == [1]
        assert str(frames.orders["total_amount"].iloc[0]) == "5.00"
        assert frames.orders["extra"].iloc[0].startswith('{"x":[[[')


def test_a_huge_exponent_is_a_short_problem() -> None:
    """1e20000000 as money: out of range, and its raw value stays as short as it was sent."""
    text = f'{{"id":1,"createdAt":"{C}","breakdown":{{"totalAmount":1e20000000}}}}'
    problems = load(text.encode()).problems
    row = problems[problems["field"] == "totalAmount"].iloc[0]
    assert row["raw_value"] == "1E+20000000"
    assert "out of range" in row["reason"]


@pytest.mark.parametrize("value", [10**18, 2**63 - 1, -(2**63)])
def test_nineteen_digit_integers_that_fit_int64_are_read(value: int) -> None:
    for source in as_sources({"id": 1, "createdAt": C, "clientId": value}):
        assert load(source).orders["client_id"].tolist() == [value]


def test_an_integer_past_int64_is_a_problem() -> None:
    frames = load([{"id": 1, "createdAt": C, "clientId": 2**63}])
    assert frames.orders["client_id"].isna().all()
    assert frames.problems["raw_value"].tolist() == [str(2**63)]


def test_localtime_is_not_a_time_zone() -> None:
    """ "localtime" is a file of the zone database meaning "this machine's zone": an order in it
    would read differently elsewhere, so it is a problem like any unknown zone."""
    frames = load(
        [{"id": 1, "createdAt": C, "timezone": "localtime", "appointmentStart": "2024-01-02T10:00"}]
    )
    assert "timezone" in set(frames.problems["field"])
    assert frames.orders["appointment_start"].isna().all()


def test_an_integer_time_out_of_range_names_the_integer() -> None:
    """createdAt 1704067200000 (milliseconds, not the seconds the contract uses): the problem is
    on the integer, with the integer as raw value."""
    frames = load([{"id": 1, "createdAt": 1704067200000}])
    row = frames.problems.iloc[0]
    assert row["field"] == "created_at.integer"
    assert row["raw_value"] == "1704067200000"


def test_a_timestamp_object_without_integer_or_iso_is_a_problem() -> None:
    """{"integr": …} (a typo) is not a time: NA and a problem naming the object, on every path."""
    order = {"id": 2, "created_at": {"integr": 1704067200}}
    for source in as_sources(order):
        frames = load(source)
        assert frames.orders["created_at"].isna().all()
        assert frames.problems["raw_value"].tolist() == ['{"integr":1704067200}']


def test_keys_a_known_object_does_not_use_are_kept_in_extra() -> None:
    """A snake timestamp with a "tz", a phone with an "ext": the loader reads integer/iso and
    value, and keeps the rest in extra (as <field>.<key>) on every path."""
    order = {
        "id": 5,
        "created_at": {"integer": 1704067200, "iso": C, "tz": "Asia/Tokyo"},
        "phone": {"value": "3105550123", "formatted": "(310) 555-0123", "ext": "42"},
    }
    for source in as_sources(order):
        row = load(source).orders.iloc[0]
        assert row["created_at"] == pd.Timestamp(C)
        assert row["client_phone"] == "3105550123"
        assert json.loads(row["extra"]) == {"created_at.tz": "Asia/Tokyo", "phone.ext": "42"}


def test_one_line_the_fast_path_cannot_read_leaves_the_other_lines_to_it() -> None:
    """600 orders a line, one with its total as a JSON number (the fast path does not take it):
    the lines are read in runs, the run holding that line order by order — the same frames as
    from dicts, with the number read exactly."""
    orders = [dict(BASE, id=1000 + i) for i in range(600)]
    orders[300] = dict(orders[300], breakdown=dict(BASE["breakdown"], totalAmount=109.98))
    lines = b"\n".join(json.dumps(o).encode() for o in orders)
    got, want = load(lines), load(orders)
    for name in ("orders", "services", "adjustments", "tags", "problems"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))
    assert str(got.orders.set_index("order_id").loc[1300, "total_amount"]) == "109.98"


def test_text_with_a_lone_surrogate_is_replaced_and_named() -> None:
    """ "A\\ud800B" cannot be stored as Unicode: it becomes "A?B", and a problem says so."""
    order = {"id": 1, "createdAt": C, "clientName": "A\ud800B"}
    for source in ([order], json.dumps({"orders": [order]}).encode()):
        frames = load(source)
        assert frames.orders["client_name"].tolist() == ["A?B"]
        assert frames.problems["field"].tolist() == ["client_name"]
        assert "lone surrogate" in frames.problems["reason"].iloc[0]


def test_the_problems_of_an_occurrence_not_kept_go_with_it() -> None:
    """Order 1 twice: the first with a bad service item and a bad total, the last clean. The
    last occurrence is kept, so only the duplicate note remains and strict mode has nothing to
    raise; the other way round, the kept occurrence's problems are all listed."""
    bad = {"id": 1, "createdAt": C, "breakdown": {"services": [5], "totalAmount": "abc"}}
    clean = {"id": 1, "createdAt": C}
    pages = [json.dumps({"orders": [o]}).encode() for o in (bad, clean)]
    for source in ([bad, clean], pages):
        frames = load(source)
        assert frames.problems["reason"].tolist() == [
            "the order appears more than once; its last occurrence was kept"
        ]
        with pytest.warns(DataProblemWarning, match="1 note"):  # the note does not raise
            assert len(load_orders(source, strict=True).orders) == 1
    reasons = load([clean, bad]).problems["field"].tolist()
    assert sorted(reasons) == ["breakdown.services", "id", "totalAmount"]


def test_kept_json_text_is_the_same_from_dicts_and_bytes() -> None:
    """Order 1 sends treatments {b, a} and an unknown {q, p}; order 2 the keys the other way
    round and a stand-by {end, start}. Arrow reorders keys as it first met them; the text keeps
    them sorted, so dicts and bytes give the same frames. An integer past 2**53 under a key
    where another order has a float stays the exact integer."""
    a = {"id": 1, "createdAt": "2024-01-01T00:00:00Z", "treatments": {"b": 1, "a": 2}}
    a |= {"zz": {"q": 1, "p": 2}, "partnerRef": 9007199254740993}
    b = {"id": 2, "createdAt": "2024-01-01T00:00:00Z", "treatments": {"a": 3, "b": 4}}
    b |= {"zz": {"p": 3, "q": 4}, "partnerRef": 1.5}
    b["standByTimes"] = [{"end": "2024-01-02T00:00:00Z", "start": "2024-01-01T00:00:00Z"}]
    cols = ["order_id", "treatments", "stand_by_times", "extra"]
    dicts = load([a, b]).orders[cols]
    raw = load(_as_page([a, b])).orders[cols]
    pd.testing.assert_frame_equal(dicts, raw)
    assert list(raw["treatments"]) == ['{"a":2,"b":1}', '{"a":3,"b":4}']
    assert raw["stand_by_times"].iloc[1] == (
        '[{"end":"2024-01-02T00:00:00Z","start":"2024-01-01T00:00:00Z"}]'
    )
    assert raw["extra"].iloc[0] == '{"partnerRef":9007199254740993,"zz":{"p":2,"q":1}}'


def test_problems_of_an_order_with_a_float_id_name_it() -> None:
    """Order id 5.0 (a JSON float) is order 5, in the orders table and in its problem rows;
    strict mode names it."""
    order = {"id": 5.0, "createdAt": "2024-01-01T00:00:00Z", "breakdown": "oops"}
    frames = load([order])
    assert list(frames.orders["order_id"]) == [5]
    assert set(frames.problems["order_id"]) == {5}
    with pytest.raises(PayloadError, match=r"^order 5, orders field breakdown"):
        load_orders([order], strict=True)


def test_an_order_whose_adjustments_are_unreadable_is_not_also_called_unreconciled() -> None:
    """``adjustments`` sent as an object: that is the problem; the order's parts are incomplete,
    so no "does not add up" note is added beside it."""
    order = {
        "id": 1,
        "createdAt": "2024-01-01T00:00:00Z",
        "breakdown": {
            "services": [{"id": 1, "totalAmount": "$90.00"}],
            "adjustments": {"type": "fee", "amount": "$5.00"},
            "totalAmount": "$95.00",
        },
    }
    problems = load([order]).problems
    assert list(problems["field"]) == ["breakdown.adjustments"]
    assert "does not add up" not in " ".join(problems["reason"])


def test_a_phone_object_with_only_its_formatted_text_keeps_it() -> None:
    """``{"formatted": "(310) 555-0123"}`` without ``value``: the formatted text is the phone
    (before, it vanished with no trace); with a value, the value wins; dicts and bytes agree."""
    orders = [
        {"id": 1, "createdAt": "2024-01-01T00:00:00Z", "phone": {"formatted": "(310) 555-0123"}},
        {"id": 2, "createdAt": "2024-01-01T00:00:00Z", "phone": {"value": "+1", "formatted": "x"}},
    ]
    dicts = load(orders).orders["client_phone"]
    raw = load(_as_page(orders)).orders["client_phone"]
    assert list(dicts) == ["(310) 555-0123", "+1"]
    assert list(raw) == list(dicts)


def test_tags_sent_as_one_text_say_nothing_was_kept() -> None:
    """``"tags": "vip"`` keeps no tag, and the problem says so; a list with a number keeps its
    texts and says that."""
    frames = load(
        [
            {"id": 1, "createdAt": "2024-01-01T00:00:00Z", "tags": "vip"},
            {"id": 2, "createdAt": "2024-01-01T00:00:00Z", "tags": ["a", 3]},
        ]
    )
    assert list(frames.tags["tag"]) == ["a"]
    reasons = dict(zip(frames.problems["order_id"], frames.problems["reason"], strict=True))
    assert reasons[1] == "tags is str, not a list of texts (nothing kept)"
    assert reasons[2] == "tags is not a list of texts (only its texts were kept)"


def test_strict_raises_on_the_first_bad_value_in_the_source() -> None:
    """Order 1 (first) has a bad service price, order 2 a bad clientId: strict names order 1's,
    whatever table each value is in."""
    one = {
        "id": 1,
        "createdAt": "2024-01-01T00:00:00Z",
        "breakdown": {"services": [{"id": 1, "price": "€5"}], "adjustments": []},
    }
    two = {"id": 2, "createdAt": "2024-01-01T00:00:00Z", "clientId": "abc"}
    with pytest.raises(PayloadError, match=r"^order 1, services field price: '€5'"):
        load_orders([one, two], strict=True)


# -- a third adversarial review -------------------------------------------------------------------


def _lines(*documents: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(d) for d in documents).encode()


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("orders", [], '{"orders":[]}'),
        ("orders", [1, 2], '{"orders":[1,2]}'),
        ("order", {"ref": "A-17"}, '{"order":{"ref":"A-17"}}'),
        ("next_cursor", 7, '{"next_cursor":7}'),
    ],
)
def test_an_order_with_a_field_named_like_a_page_key_is_an_order(
    field: str, value: Any, kept: str
) -> None:
    """An object with an id is an order, even when it has a field named `orders`, `order` or
    `next_cursor`: the order loads from every source form, the field kept in `extra`."""
    order = {"id": 1, "createdAt": C, field: value}
    for source in [*as_sources(order), json.dumps(order).encode()]:
        frames = load(source)
        assert frames.orders["order_id"].tolist() == [1], source
        assert frames.orders["extra"].tolist() == [kept], source
        assert len(frames.problems) == 0, source


def test_an_order_holding_orders_is_one_order_in_every_form() -> None:
    """JSONL whose first line is an order with an unknown `orders` field: as bytes and as dicts,
    that line is order 99 (not a page of order 1), and the next line is order 3."""
    first = {"id": 99, "createdAt": C, "orders": [{"id": 1, "createdAt": C}]}
    second = {"id": 3, "createdAt": C}
    for source in ([first, second], _lines(first, second)):
        assert load(source).orders["order_id"].tolist() == [99, 3]


def test_pages_and_envelopes_without_an_id_are_still_read() -> None:
    """The rule above leaves pages and `order` envelopes as they were."""
    page = {"status": "success", "orders": [{"id": 5, "createdAt": C}], "next_cursor": None}
    envelope = {"status": "success", "order": {"id": 6, "createdAt": C}}
    for source in ([page, envelope], _lines(page, envelope)):
        assert load(source).orders["order_id"].tolist() == [5, 6]


@pytest.mark.parametrize(
    ("wire", "field", "reason"),
    [
        ("clientId", "clientId", "'{}' is not an integer"),
        ("atRisk", "atRisk", "'{}' is not true or false"),
        ("statusId", "statusId", "'{}' is not an integer"),
        (
            "timezone",
            "timezone",
            "not a known IANA time zone (kept as sent; the order has no local times: "
            "times sent without an offset are NA, metrics count its periods in UTC)",
        ),
        ("clientName", None, None),  # text: kept as the JSON text "{}"
    ],
)
def test_an_empty_object_where_a_value_belongs_is_a_problem(
    wire: str, field: str | None, reason: str | None
) -> None:
    """`{}` in a scalar field is not the same as no value: it is named in problems (NA), from
    every source form, as `{"a": 1}` already was."""
    order = {"id": 1, "createdAt": C, wire: {}}
    for source in as_sources(order):
        frames = load(source)
        rows = frames.problems[["field", "raw_value", "reason"]].to_dict("records")
        if field is None:
            assert rows == []
            assert frames.orders["client_name"].tolist() == ["{}"]
        else:
            assert rows == [{"field": field, "raw_value": "{}", "reason": reason}], source


def test_an_empty_object_as_a_money_amount_is_a_problem() -> None:
    order = {"id": 1, "createdAt": C, "breakdown": {"totalAmount": {}}}
    for source in as_sources(order):
        frames = load(source)
        assert frames.orders["total_amount"].isna().all()
        assert frames.problems["reason"].tolist() == ["'{}' is not a US dollar amount"]


def test_an_order_left_out_for_an_unreadable_id_says_so() -> None:
    """An id that is not an integer: the order is left out, and its problem says that."""
    for source in as_sources({"id": "abc", "createdAt": C}, {"id": 2, "createdAt": C}):
        frames = load(source)
        assert frames.orders["order_id"].tolist() == [2]
        assert frames.problems["reason"].tolist() == [
            "'abc' is not an integer; the order was left out"
        ]


@pytest.mark.parametrize(
    ("field", "value", "raw", "reason"),
    [
        ("breakdown", 1.5, "1.5", "breakdown is not an object"),
        ("breakdown", 1e20, "100000000000000000000", "breakdown is not an object"),
        ("breakdown", [1.5, {"a": 2.5}], '[1.5, {"a": 2.5}]', "breakdown is not an object"),
        ("tags", 1.5, "1.5", "tags is float, not a list of texts (nothing kept)"),
    ],
)
def test_a_number_in_a_problem_reads_the_same_from_dicts_and_bytes(
    field: str, value: Any, raw: str, reason: str
) -> None:
    """A JSON number where an object or a list belongs is shown as the number (not as a quoted
    text, not in another notation), and named by the same type, from every source form."""
    order = {"id": 1, "createdAt": C, field: value}
    for source in as_sources(order):
        rows = load(source).problems[["field", "raw_value", "reason"]].to_dict("records")
        assert rows == [{"field": field, "raw_value": raw, "reason": reason}], source


def test_bytes_that_are_not_utf8_leave_the_rest_of_their_page() -> None:
    """A bad byte in one order's text, tag, unknown field or key: every order of the page loads,
    from bytes and a list of pages, and one problem names the bytes; bytes that are not UTF-8
    outside a text still make the document an error that says so; strict raises."""
    orders = [
        {"id": 1, "createdAt": C, "clientName": "AXX", "tags": ["tXX"], "note": "nXX"},
        {"id": 2, "createdAt": C, "kXX": 1},
    ]
    page = json.dumps({"status": "success", "orders": orders, "next_cursor": None}).encode()
    bad = page.replace(b"XX", b"\xff")
    other = json.dumps({"status": "success", "orders": [{"id": 3, "createdAt": C}]}).encode()
    for source, ids, line in ((bad, [1, 2], ""), ([bad, other], [1, 2, 3], "item 1: ")):
        frames = load(source)
        assert frames.orders["order_id"].tolist() == ids
        assert frames.orders["client_name"].tolist()[0] == "A\ufffd"
        assert frames.tags["tag"].tolist() == ["t\ufffd"]
        assert frames.orders["extra"].tolist()[:2] == ['{"note":"n\\ufffd"}', '{"k\\ufffd":1}']
        assert frames.problems["reason"].tolist() == [
            line + NOT_UTF8.format("4 U+FFFD in all, the first at byte 96")
        ]
    with pytest.raises(PayloadError, match="not UTF-8"):
        load_orders(bad, strict=True)
    with pytest.raises(PayloadError, match=r"not JSON .*bytes that are not UTF-8"):
        load(b'{"orders":[{"id":1}]\xff}')


@pytest.mark.parametrize(
    "source",
    [
        b'{"status":"error","message":"bad \xff"}\n{"id":2,"createdAt":"2024-01-01T00:00:00Z"}',
        b'{"orders":["a\xff",{"id":2,"createdAt":"2024-01-01T00:00:00Z"}]}',
    ],
)
def test_bytes_that_are_not_utf8_in_what_holds_no_order_are_named_not_a_crash(
    source: bytes,
) -> None:
    frames = load(source)
    assert frames.orders["order_id"].tolist() == [2]
    assert "not UTF-8" in frames.problems["reason"].iloc[0]


def test_bytes_that_are_not_utf8_on_jsonl_lines_are_named_by_line(tmp_path: Path) -> None:
    """Two JSONL lines with bad bytes, among good ones: each problem names its line (the offset
    counts from the start of that line), and every order loads."""
    lines = [
        json.dumps({"id": i, "createdAt": C, "clientName": f"n{i}XX"}).encode() for i in range(4)
    ]
    lines[1] = lines[1].replace(b"XX", b"\xff")
    lines[3] = lines[3].replace(b"XX", b"\xfe")
    offset = lines[1].index(b"\xff")  # the same in both lines
    path = tmp_path / "orders.jsonl"
    path.write_bytes(b"\n".join(lines))
    for source in (path, b"\n".join(lines)):
        frames = load(source)
        assert frames.orders["order_id"].tolist() == [0, 1, 2, 3]
        assert frames.problems["reason"].tolist() == [
            f"line 2: {NOT_UTF8.format(f'at byte {offset}')}",
            f"line 4: {NOT_UTF8.format(f'at byte {offset}')}",
        ]


def test_bytes_that_are_not_utf8_next_to_a_secret_do_not_show_it() -> None:
    """The problem naming bytes that are not UTF-8 shows those bytes alone, not the text around
    them, which may hold a token (redacted everywhere else)."""
    page = (
        b'{"orders":[{"id":1,"createdAt":"2024-01-01T00:00:00Z","client_secret":"sekret-abc\xff",'
        b'"clientEmail":"a@b.com"}]}'
    )
    frames = load(page)
    assert frames.problems["raw_value"].tolist() == ["\\xff"]
    assert "sekret" not in frames.problems.to_string()
    assert "sekret" not in frames.orders["extra"].iloc[0]


def test_bytes_that_are_not_utf8_are_counted_and_placed_in_the_source_as_given() -> None:
    """Pretty-printed pages read together: one problem counts every place (a U+FFFD sent as
    such is no place), its offset counts from the first byte given (leading space and a
    byte-order mark included); the warning says the text was kept, not that it is NA."""
    pages = [
        json.dumps(
            {"orders": [{"id": i, "createdAt": C, "clientName": f"n{i}XX", "note": "\ufffd"}]},
            indent=1,
        ).encode()
        for i in range(3)
    ]
    pages[0] = pages[0].replace(b"XX", b"\xe9")
    pages[2] = pages[2].replace(b"XX", b"\xff\xfe")  # two bytes that start nothing: two
    source = b" \n\xef\xbb\xbf\n" + b"\n".join(pages)
    first = source.index(b"\xe9")
    with pytest.warns(DataProblemWarning) as caught:
        frames = load_orders(source)
    assert frames.orders["client_name"].tolist() == ["n0\ufffd", "n1XX", "n2\ufffd\ufffd"]
    assert frames.problems["raw_value"].tolist() == ["\\xe9"]
    assert frames.problems["reason"].tolist() == [
        NOT_UTF8.format(f"3 U+FFFD in all, the first at byte {first}")
    ]
    assert [str(w.message) for w in caught] == [
        "1 part(s) of the source hold bytes that are not UTF-8 (read as U+FFFD): listed in "
        ".problems"
    ]
    line = b'  {"id":5,"createdAt":"2024-01-01T00:00:00Z","clientName":"x\xe9"}'
    frames = load(b'{"id":4,"createdAt":"2024-01-01T00:00:00Z"}\n' + line)
    at = line.index(b"\xe9")  # within the line, its leading space included
    assert frames.problems["reason"].tolist() == [f"line 2: {NOT_UTF8.format(f'at byte {at}')}"]
    lead = b'\xef\xbb\xbf {"id":6,"createdAt":"2024-01-01T00:00:00Z","clientName":"y\xff"}'
    frames = load(lead + b"\n" + line)  # line 1 keeps its byte-order mark and space
    assert frames.problems["reason"].tolist() == [
        f"line 1: {NOT_UTF8.format(f'at byte {lead.index(0xFF)}')}",
        f"line 2: {NOT_UTF8.format(f'at byte {at}')}",
    ]


def test_a_null_line_where_arrow_starts_a_block_is_read_not_a_crash() -> None:
    """Orders filling Arrow's first block exactly, then `null` lines: Arrow's reader crashes the
    process on a block that starts with `null`. As bytes and as a list of pieces, the orders
    load (the `null` lines are problems)."""
    setup = """
from ht_analytics._loader import _MIN_BLOCK
order = b'{"id":%d,"statusId":3,"createdAt":"2026-01-01T00:00:00.000Z"}'
lines, size, i = [], 0, 0
while size < _MIN_BLOCK - 100:
    line = order % i
    lines.append(line)
    size += len(line) + 1
    i += 1
lines.append(b'{"id":99999999,"x":"' + b"a" * max(0, _MIN_BLOCK - size - 41) + b'"}')
pieces = lines + [b"null"] * 5 + [order % 10**7]
joined = b"\\n".join(pieces)
"""
    reads = {"bytes": "load_orders(joined)", "pieces": "load_orders(pieces)"}
    assert _read_in_a_child(setup, reads) == ["bytes read", "pieces read"]


def test_a_value_nested_too_deep_for_python_costs_only_its_order() -> None:
    """A page whose order 1 holds a list 1,000 deep (past Python's parser too) and whose order 2
    is plain: order 2 loads; order 1 is left out, named (strict: the error names it)."""
    page = b'{"orders":[{"id":1,"x":' + b"[" * 1000 + b"]" * 1000 + b'},{"id":2}]}'
    frames = load(page)
    assert frames.orders["order_id"].tolist() == [2]
    named = frames.problems[frames.problems["order_id"] == 1]
    assert named["reason"].tolist() == [
        "the order holds a value nested too deeply to read; it was left out"
    ]
    with pytest.raises(PayloadError, match="order 1"):
        load_orders(page, strict=True)


def test_a_field_sent_in_both_flavours_with_different_values_is_named() -> None:
    """Order 1 sends statusId 3 and status 4, clientId 5 and client_id 6, atRisk true and at_risk
    false, and a line's totalAmount "$1.00" and total_amount "$2.00": the camelCase values are
    kept, each snake_case one is a note with its value. Order 2 sends both keys with equal
    values written differently ("$1.00" and 1, 3 and "3"): no note. On every path."""
    one = {
        "id": 1, "statusId": 3, "status": 4, "clientId": 5, "client_id": 6, "atRisk": True,
        "at_risk": False,
        "breakdown": {
            "totalAmount": "$1.00",
            "services": [{"id": 9, "totalAmount": "$1.00", "total_amount": "$2.00"}],
        },
    }  # fmt: skip
    two = {
        "id": 2, "statusId": 3, "status": "3", "clientId": 5, "client_id": 5,
        "breakdown": {"totalAmount": "$1.00", "total_amount": 1},
    }  # fmt: skip
    for source in as_sources(one, two):
        frames = load(source)
        orders = frames.orders.set_index("order_id")
        assert orders.loc[1, ["status_id", "client_id", "at_risk"]].tolist() == [3, 5, True]
        assert str(frames.services["total_amount"].iloc[0]) == "1.00"
        notes = frames.problems[frames.problems["reason"].str.startswith("sent as both")]
        got = sorted(
            zip(notes["order_id"], notes["table"], notes["field"], notes["raw_value"], strict=True)
        )
        assert got == [
            (1, "orders", "at_risk", "false"),
            (1, "orders", "client_id", "6"),
            (1, "orders", "status", "4"),
            (1, "services", "total_amount", "$2.00"),
        ]


def test_a_problem_names_the_key_that_was_sent() -> None:
    """A snake_case order's unreadable client_id, status and total_amount (and its line's) are
    named by their snake_case keys; a camelCase order's by theirs; strict says client_id."""
    snake = {
        "id": 1, "status": "x", "client_id": "abc",
        "created_at": {"integer": 1711324800, "iso": "2024-03-25T00:00:00Z"},
        "breakdown": {"total_amount": "abc", "services": [{"id": 2, "total_amount": "zz"}]},
    }  # fmt: skip
    camel = {
        "id": 2, "statusId": "x", "clientId": "abc", "createdAt": C,
        "breakdown": {"totalAmount": "abc"},
    }  # fmt: skip
    for source in as_sources(snake, camel):
        problems = load(source).problems
        got = sorted(zip(problems["order_id"], problems["table"], problems["field"], strict=True))
        assert got == [
            (1, "orders", "client_id"),
            (1, "orders", "status"),
            (1, "orders", "total_amount"),
            (1, "services", "total_amount"),
            (2, "orders", "clientId"),
            (2, "orders", "statusId"),
            (2, "orders", "totalAmount"),
        ]
    with pytest.raises(PayloadError, match="order 1, orders field client_id: 'abc'"):
        load_orders([snake], strict=True)


def test_an_order_is_left_out_for_its_own_depth_only() -> None:
    """Order 1 holds a list 600 deep (Python reads it), order 2 one 1,500 deep (past Python's
    parser), order 3 nothing, order 4 a text that looks like the loader's own marker: in one
    page or as lines, only order 2 is left out."""

    def deep(n: int) -> str:
        return "[" * n + "]" * n

    orders = [
        '{"id":1,"x":' + deep(600) + "}",
        '{"id":2,"x":' + deep(1500) + "}",
        '{"id":3}',
        '{"id":4,"x":"\\u0000ht: nested too deeply\\u0000"}',
    ]
    page = ('{"orders":[' + ",".join(orders) + "]}").encode()
    for source in (page, "\n".join(orders).encode()):
        assert load(source).orders["order_id"].tolist() == [1, 3, 4]


def test_two_unreadable_values_of_one_field_that_differ_are_both_named() -> None:
    frames = load([{"id": 1, "clientId": "abc", "client_id": "xyz"}])
    assert sorted(zip(frames.problems["field"], frames.problems["raw_value"], strict=True)) == [
        ("clientId", "abc"),
        ("client_id", "xyz"),
    ]


# -- source forms: one bad piece, odd ids, texts, byte-order marks, paths ----------------------


def _page(*ids: int) -> bytes:
    orders = [{"id": i, "createdAt": C} for i in ids]
    return json.dumps({"status": "success", "orders": orders, "next_cursor": None}).encode()


CUT = _page(1, 2)[:-30]  # a response body cut off
HTML = b"<html><body>502 Bad Gateway</body></html>"  # a proxy's error page, saved with the rest
PRETTY_CUT = json.dumps({"status": "success", "orders": [{"id": 9}]}, indent=2).encode()[:-5]


@pytest.mark.parametrize(
    ("pieces", "bad_item"),
    [
        ([CUT, _page(3, 4)], 1),
        ([HTML, _page(3, 4)], 1),
        ([_page(3, 4), CUT], 2),
        ([_page(3, 4), PRETTY_CUT], 2),
        ([_page(3), HTML, _page(4)], 2),
    ],
)
def test_a_piece_that_is_not_json_is_a_problem_wherever_it_sits(
    pieces: list[bytes], bad_item: int, tmp_path: Path
) -> None:
    """Not strict, one piece that is not JSON (cut off, an HTML page) never costs the others:
    as a list of pages it is named by its item (from 1), in a .jsonl file by its line; strict
    raises naming it. Before, a bad first piece (or a pretty-printed one, anywhere) made the whole
    source one document, and the load raised, every good order lost."""
    frames = load(pieces)
    assert frames.orders["order_id"].tolist() == [3, 4]
    assert frames.problems["field"].tolist() == [f"item {bad_item}"]
    assert frames.problems["reason"].str.contains(f"item {bad_item} is not JSON").all()
    with pytest.raises(PayloadError, match=f"item {bad_item}"):
        load_orders(pieces, strict=True)
    if b"\n" not in b"".join(pieces):  # one piece a line: a .jsonl file
        path = tmp_path / "pages.jsonl"
        path.write_bytes(b"\n".join(pieces) + b"\n")
        from_file = load(path)
        assert from_file.orders["order_id"].tolist() == [3, 4]
        assert from_file.problems["field"].tolist() == [f"line {bad_item}"]


def test_dicts_then_a_cut_page_keep_the_dicts() -> None:
    frames = load([{"id": 1, "createdAt": C}, {"id": 2, "createdAt": C}, CUT])
    assert frames.orders["order_id"].tolist() == [1, 2]
    assert frames.problems["field"].tolist() == ["item 3"]


@pytest.mark.parametrize("pieces", [[HTML], [HTML, CUT], [b"not json"]])
def test_a_list_of_which_nothing_is_json_is_an_error(pieces: list[bytes]) -> None:
    with pytest.raises(PayloadError, match="not JSON"):
        load_orders(pieces)


@pytest.mark.parametrize(
    "bad_id", [2**63, -(2**63) - 1, "99999999999999999999", "²", "١٢٣", "１２３"]
)
def test_an_id_that_is_no_int64_never_names_another_order(bad_id: Any) -> None:
    """An order whose id is beyond int64 or written in other digits than ASCII, with a second
    problem (tags sent as a text): no crash in either mode, and its problems name no order —
    "١٢٣" is not order 123, which is in the same source, clean."""
    source = [{"id": bad_id, "createdAt": C, "tags": "vip"}, {"id": 123, "createdAt": C}]
    frames = load(source)
    assert frames.orders["order_id"].tolist() == [123]
    assert frames.problems["order_id"].isna().all()
    assert set(frames.problems["field"]) == {"id", "tags"}
    with pytest.raises(PayloadError):
        load_orders(source, strict=True)


def test_json_text_with_a_byte_order_mark_is_json_not_a_file_name() -> None:
    """``Path.read_text()`` of a file saved with a BOM starts with U+FEFF: still JSON text (it
    was taken for a file name, and the message repeated the whole document)."""
    text = "\ufeff" + _page(1, 2).decode()
    assert load(text).orders["order_id"].tolist() == [1, 2]
    assert load("\ufeff" + json.dumps([{"id": 5, "createdAt": C}])).orders["order_id"].tolist() == [
        5
    ]


def test_texts_in_a_list_are_pages_or_file_names(tmp_path: Path) -> None:
    """``[r.text for r in responses]``, a text-mode file's lines, a file name in capitals or
    without an extension: each is read (they were each "not an order object")."""
    texts = [_page(1).decode(), _page(2).decode()]
    assert load(texts).orders["order_id"].tolist() == [1, 2]
    lines = tmp_path / "pages.jsonl"
    lines.write_bytes(_page(3) + b"\n" + _page(4) + b"\n")
    with lines.open() as handle:
        assert load(handle).orders["order_id"].tolist() == [3, 4]
    upper = tmp_path / "UPPER.JSON"
    upper.write_bytes(_page(5))
    bare = tmp_path / "export"
    bare.write_bytes(_page(6))
    assert load([str(upper), str(bare)]).orders["order_id"].tolist() == [5, 6]


def test_a_byte_order_mark_on_a_later_line_keeps_its_page(tmp_path: Path) -> None:
    """Two files saved with a BOM, joined with ``cat``: the second's BOM starts line 2; its
    page loads as it does from a list of pages."""
    bom = b"\xef\xbb\xbf"
    path = tmp_path / "joined.jsonl"
    path.write_bytes(bom + _page(1, 2) + b"\n" + bom + _page(3) + b"\n")
    frames = load(path)
    assert frames.orders["order_id"].tolist() == [1, 2, 3]
    assert frames.problems.empty


def test_paths_that_cannot_be_read_say_why(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_orders(tmp_path)
    with pytest.raises(PayloadError, match="neither a file that exists nor JSON"):
        load_orders("[2024] orders")
    with pytest.raises(FileNotFoundError, match="no such file") as missing:
        load_orders(str(tmp_path / ("x" * 300 + ".json")))
    assert len(str(missing.value)) < 200  # not the whole name


@pytest.mark.parametrize("value", [1711324800, 1711324800.0])
def test_a_bare_unix_time_may_be_a_whole_float(value: Any) -> None:
    """``created_at: 1711324800.0`` reads as ``1711324800`` does (and as the integer of the
    timestamp object does); a fraction is a problem that shows the value as sent."""
    frames = load([{"id": 1, "created_at": value}])
    assert frames.orders["created_at"].tolist() == [pd.Timestamp("2024-03-25", tz="UTC")]
    assert frames.problems.empty
    half = load([{"id": 1, "created_at": 1711324800.5}])
    assert half.orders["created_at"].isna().all()
    assert half.problems["raw_value"].tolist() == ["1711324800.5"]


@pytest.mark.parametrize(
    "path",
    [
        ("breakdown",),
        ("breakdown", "services"),
        ("breakdown", "adjustments"),
        ("breakdown", "services", 0),
        ("breakdown", "services", 0, "adjustments"),
        ("breakdown", "adjustments", 0),
    ],
)
def test_a_lone_surrogate_where_an_object_belongs_is_a_problem(path: tuple[Any, ...]) -> None:
    """A text holding a lone surrogate escape (``"\\ud800x"``) where an object or a list
    belongs: the order's problem shows it, the surrogate replaced (``?``, as in any text); the
    load does not raise (it raised a
    bare UnicodeEncodeError building the problems, and so did a store's sync)."""
    order: dict[str, Any] = {
        "id": 1,
        "createdAt": C,
        "breakdown": {
            "services": [{"id": 1, "totalAmount": "5.00", "adjustments": []}],
            "adjustments": [{"type": "fee", "amount": "1.00"}],
            "totalAmount": "6.00",
        },
    }
    holder: Any = order
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = "SURROGATE"
    page = json.dumps({"status": "success", "orders": [order, {"id": 2, "createdAt": C}]})
    raw = page.replace("SURROGATE", "\\ud800x").encode()
    frames = load(raw)
    assert frames.orders["order_id"].tolist() == [1, 2]
    shown = frames.problems["raw_value"].dropna().tolist()
    assert "?x" in shown, frames.problems
    with pytest.raises(PayloadError):
        load_orders(raw, strict=True)


def test_a_valid_document_over_lines_with_whole_objects_on_them_loads_whole() -> None:
    """A page wrapped onto two lines whose second is a whole object (``{order}]}``), and one
    pretty-printed order followed by one-line orders (two files joined): valid JSON, read as
    such, even where most lines are whole objects (they were read line by line, and lost)."""
    one, two = {"id": 1, "createdAt": C}, {"id": 2, "createdAt": C}
    wrapped = (
        b'{"status": "success", "next_cursor": null, "orders": ['
        + json.dumps(one).encode()
        + b",\n"
        + json.dumps(two).encode()
        + b"]}"
    )
    for source in (wrapped, [wrapped], [wrapped, _page(3)]):
        frames = load(source)
        assert frames.orders["order_id"].tolist()[:2] == [1, 2], source
        assert frames.problems.empty
    joined = (
        json.dumps(one, indent=2).encode()
        + b"\n"
        + b"\n".join(json.dumps({"id": i, "createdAt": C}).encode() for i in range(10, 20))
    )
    frames = load(joined)
    assert frames.orders["order_id"].tolist() == [1, *range(10, 20)]
    assert frames.problems.empty


def test_bad_pieces_in_a_run_do_not_take_the_good_ones_with_them() -> None:
    """Two error pages, a good page, a pretty-printed good page: both good pages load, and each
    bad one is named (the run of one-line pieces was one problem naming its first item)."""
    pretty = json.dumps(
        {"status": "success", "orders": [{"id": 7, "createdAt": C}], "next_cursor": None}, indent=1
    ).encode()
    frames = load([HTML, HTML, _page(3, 4), pretty])
    assert frames.orders["order_id"].tolist() == [3, 4, 7]
    assert frames.problems["field"].tolist() == ["item 1", "item 2"]
    frames = load([HTML, HTML, HTML, _page(3), _page(4)])
    assert frames.orders["order_id"].tolist() == [3, 4]
    assert frames.problems["field"].tolist() == ["item 1", "item 2", "item 3"]


def test_instants_at_the_end_of_the_year_9999_in_a_zone_are_read_or_named() -> None:
    """The last second of the year 9999, near which a zone's clock leaves Python's dates: in
    Berlin the appointment's wall clock is 10000-01-01 (local NA, noted); in Chicago a startedAt
    without an offset is 10000-01-01T05:59:59Z (out of range: NA and a problem); as a timestamp
    object the integer 253402300799 (9999-12-31T23:59:59Z) wins. Nothing crashes."""
    frames = load(
        [
            {
                "id": 1,
                "timezone": "Europe/Berlin",
                "appointmentStartDateTime": "9999-12-31T23:59:59Z",
            },
            {"id": 2, "timezone": "America/Chicago", "startedAt": "9999-12-31T23:59:59"},
            {"id": 3, "timezone": "America/Chicago", "startedAt": "9999-12-31T17:59:59"},
            {
                "id": 4,
                "timezone": "America/Los_Angeles",
                "started_at": {"integer": 253402300799, "iso": "9999-12-31T23:59:59"},
            },
        ]
    )
    o = frames.orders.set_index("order_id")
    last = pd.Timestamp("9999-12-31T23:59:59", tz="UTC")
    assert o.loc[1, "appointment_start"] == last
    assert pd.isna(o.loc[1, "appointment_start_local"])
    assert pd.isna(o.loc[2, "started_at"])
    assert o.loc[3, "started_at"] == last  # 17:59:59 in Chicago (UTC-6) is 23:59:59Z
    assert o.loc[4, "started_at"] == last
    p = frames.problems.set_index("order_id")
    assert p.loc[1, "field"] == "appointmentStartDateTime"
    assert "outside the years 0001-9999" in p.loc[1, "reason"]
    assert "appointment_start_local is NA" in p.loc[1, "reason"]
    assert p.loc[2, "field"] == "startedAt"
    assert "outside the years 0001-9999" in p.loc[2, "reason"]
    assert 3 not in p.index


def test_a_wall_clock_beyond_the_years_1_to_9999_is_na_and_noted_not_an_error() -> None:
    """Kiritimati is UTC+14: 9999-12-31T23:00Z is 10000-01-01 13:00 there. Los Angeles kept
    UTC-7:52:58 before 1883: 0001-01-01T00:00Z is in the year 0 there. The instants are kept,
    the local times are NA with a note, and strict loading does not fail on a note."""
    orders = [
        {
            "id": 1,
            "timezone": "Pacific/Kiritimati",
            "appointmentStartDateTime": "9999-12-31T23:00:00Z",
        },
        {
            "id": 2,
            "timezone": "America/Los_Angeles",
            "appointmentStartDateTime": "0001-01-01T00:00:00Z",
        },
        {
            "id": 3,
            "timezone": "Pacific/Kiritimati",
            "appointmentStartDateTime": "9999-12-30T23:00:00Z",
        },
    ]
    with pytest.warns(DataProblemWarning, match="2 note"):
        strict = load_orders(orders, strict=True)
    for frames in (load(orders), strict):
        o = frames.orders.set_index("order_id")
        assert o.loc[1, "appointment_start"] == pd.Timestamp("9999-12-31T23:00", tz="UTC")
        assert o.loc[2, "appointment_start"] == pd.Timestamp("0001-01-01T00:00", tz="UTC")
        assert pd.isna(o.loc[1, "appointment_start_local"])
        assert pd.isna(o.loc[2, "appointment_start_local"])
        assert o.loc[3, "appointment_start_local"] == pd.Timestamp("9999-12-31T13:00")
        assert sorted(frames.problems["order_id"]) == [1, 2]
        assert set(frames.problems["raw_value"]) == {"9999-12-31T23:00:00Z", "0001-01-01T00:00:00Z"}


def test_an_unknown_time_zone_is_a_note_on_a_value_kept_not_an_unreadable_value() -> None:
    """ "Eastern Time" is kept in the frame as sent, so it is a note: the warning counts it as
    one, and strict loading does not fail on it (an appointment with an offset is still read)."""
    order = {
        "id": 7,
        "createdAt": C,
        "timezone": "Eastern Time",
        "appointmentStartDateTime": "2024-03-10T10:00:00-05:00",
    }
    with pytest.warns(DataProblemWarning, match=r"^1 note\(s\) on values kept as sent"):
        strict = load_orders([order], strict=True)
    assert strict.orders["timezone"].tolist() == ["Eastern Time"]
    assert strict.orders["appointment_start"].tolist() == [pd.Timestamp("2024-03-10T15:00Z")]
    assert strict.problems[["order_id", "field", "raw_value"]].values.tolist() == [
        [7, "timezone", "Eastern Time"]
    ]


SECRETS_IN_A_CUT_LINE = (
    b'{"id": 2, "authentication_token": "SECRET-TOKEN-123", "api_key": "AKEY-999", '
    b'"nested": {"clientSecret": {"v": "DEEP-SECRET"}}, "createdAt": "2024-01-01T00:00:00Z", '
    b'"breakdown": {"totalAmount": "$5.0'
)


def test_a_line_that_is_not_json_keeps_no_secret_in_problems_or_errors() -> None:
    """A JSONL line cut off (or a cut page in a list of pages) is named with the start of its
    text, but the values of secret-looking keys are [redacted] there, as in readable orders; a
    secret holding an object ends the excerpt. The strict error shows the same excerpt."""
    good = b'{"id": 1, "createdAt": "2024-01-01T00:00:00Z"}'
    want = '{"id": 2, "authentication_token": "[redacted]", "api_key": "[redacted]", '
    for source in (good + b"\n" + SECRETS_IN_A_CUT_LINE + b"\n", [good, SECRETS_IN_A_CUT_LINE]):
        frames = load(source)
        assert frames.orders["order_id"].tolist() == [1]
        (raw,) = frames.problems["raw_value"].tolist()
        assert raw == want + '"nested": {"clientSecret": [redacted]…'
        with pytest.raises(PayloadError) as caught:
            load_orders(source, strict=True)
        for secret in ("SECRET-TOKEN-123", "AKEY-999", "DEEP-SECRET"):
            assert secret not in raw
            assert secret not in str(caught.value)
