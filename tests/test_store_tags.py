"""Tag memberships in the store: learnt from per-tag queries, and unlearnt when a tag's query
over an order's days no longer returns it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import empty_page
from ht_analytics import OrderStore, PartnerClient
from ht_analytics._loader import LoadedTables
from ht_analytics._schema import ARROW_SCHEMAS, UTC_US
from ht_analytics._statuses import OPEN_STATUSES
from ht_analytics._sync import Fetched, Held, _covered, unlearnt
from ht_analytics.sandbox import SandboxServer

OPEN_IDS = {s.value for s in OPEN_STATUSES}
PAIR = ["channel_web", "channel_store"]


def _created(order: dict) -> datetime:
    return datetime.fromisoformat(order["createdAt"])


def _tags_of(store: OrderStore, order_id: int) -> set[str]:
    tags = store.load().tags
    return set(tags.loc[tags["order_id"] == order_id, "tag"])


def _pick(srv: SandboxServer, *, newer_than: datetime | None, older_than: datetime | None) -> dict:
    """A terminal order carrying channel_web (and maybe other tags) created in the given span."""
    for o in sorted(srv.data.orders, key=lambda o: o["id"]):
        created = _created(o)
        if (
            o["statusId"] not in OPEN_IDS
            and "channel_web" in (o.get("tags") or ())
            and (newer_than is None or created > newer_than)
            and (older_than is None or created < older_than)
        ):
            return o
    raise AssertionError("the dataset has no such order")


def test_a_tag_an_order_lost_is_unlearnt_where_the_sync_reads_its_days(tmp_path: Path) -> None:
    """Two orders lose channel_web on the server: one created ten days ago (inside the
    incremental sync's lookback window), one a year ago (outside it, and terminal: the
    incremental sync does not read it). The incremental sync drops the recent membership (its
    tag's window no longer returns the order) and keeps the old one, which its tag check
    reports; a full sync drops that one too, and the counts then agree with count_by_tag. The
    orders keep their other tags."""
    with (
        SandboxServer(orders=3000, seed=12) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        newest = max(_created(o) for o in srv.data.orders)
        recent = _pick(srv, newer_than=newest - timedelta(days=12), older_than=None)
        old = _pick(srv, newer_than=None, older_than=newest - timedelta(days=365))
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, tags=PAIR, progress=False).ok
        for order in (recent, old):
            assert "channel_web" in _tags_of(store, order["id"])
        kept = {o["id"]: {t for t in o["tags"] if t != "channel_web"} for o in (recent, old)}
        for order_id, tags in kept.items():
            srv.update_order(order_id, tags=sorted(tags))

        report = store.sync(c, tags=PAIR, progress=False)
        assert report.ok, report.error
        assert report.kind == "incremental"
        assert _tags_of(store, recent["id"]) == kept[recent["id"]] & set(PAIR)
        assert _tags_of(store, old["id"]) == (kept[old["id"]] & set(PAIR)) | {"channel_web"}
        web = next(check for check in report.tag_checks if check.tag == "channel_web")
        assert web.local == web.server + 1  # the old order, not read again

        report = store.sync(c, tags=PAIR, full=True, progress=False)
        assert report.ok, report.error
        assert _tags_of(store, old["id"]) == kept[old["id"]] & set(PAIR)
        assert all(check.ok for check in report.tag_checks), report.tag_checks
        want = c.count_by_tag(PAIR)
    tags = store.load().tags
    assert {t: int((tags["tag"] == t).sum()) for t in PAIR} == want


@contextlib.contextmanager
def tag_synced(
    path: Path, tags: list[str], transport: httpx.BaseTransport, **server: Any
) -> Iterator[tuple[SandboxServer, PartnerClient, OrderStore]]:
    """A sandbox (``server``: its arguments), a client through ``transport``, and a store at
    ``path`` synced by ``tags``."""
    with (
        SandboxServer(**server) as srv,
        PartnerClient(
            base_url=srv.url, api_key=srv.api_key, rate_limit=None, transport=transport
        ) as c,
    ):
        store = OrderStore(path)
        assert store.sync(c, tags=tags, progress=False).ok
        yield srv, c, store


def _lists_tag(request: httpx.Request, tag: str) -> bool:
    """Whether ``request`` lists the orders of ``tag`` alone, with no status filter (a window)."""
    params = request.url.params
    return (
        request.url.path.endswith("/orders")
        and params.get_list("tags[]") == [tag]
        and not params.get_list("status[]")
    )


class EmptyForTag(httpx.BaseTransport):
    """Passes requests to the sandbox, but answers every listing with ``tags[]=<tag>`` and no
    status filter with an empty page while ``on`` (a cache replaying an empty answer)."""

    def __init__(self, tag: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.tag = tag
        self.on = False
        self.emptied = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.on and _lists_tag(request, self.tag):
            self.emptied += 1
            return empty_page()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_an_empty_answer_for_a_tag_unlearns_nothing(tmp_path: Path) -> None:
    """A full sync whose every channel_web window comes back empty (twice each): the store keeps
    every channel_web membership it held, and the report says the windows came back empty."""
    transport = EmptyForTag("channel_web")
    with tag_synced(tmp_path / "cache", PAIR, transport, orders=1500, seed=3) as (_, c, store):
        before = store.load().tags
        transport.on = True
        report = store.sync(c, tags=PAIR, full=True, progress=False)
    assert report.ok, report.error
    assert transport.emptied >= 2
    assert any("channel_web: the API returned none (twice)" in w for w in report.warnings)
    after = store.load().tags
    held = set(map(tuple, before[["order_id", "tag"]].to_numpy().tolist()))
    assert set(map(tuple, after[["order_id", "tag"]].to_numpy().tolist())) == held


D = np.datetime64


def test_covered_needs_the_day_and_both_neighbours_inside_the_windows() -> None:
    """Worked by hand: windows 1-10 and 11-20 March (one span, 1-20) and 25-31 March."""
    ranges = [
        (date(2026, 3, 11), date(2026, 3, 20)),
        (date(2026, 3, 1), date(2026, 3, 10)),
        (date(2026, 3, 25), date(2026, 3, 31)),
    ]
    days = np.array(
        ["2026-02-28", "2026-03-01", "2026-03-02", "2026-03-10", "2026-03-11", "2026-03-19",
         "2026-03-20", "2026-03-22", "2026-03-25", "2026-03-26", "2026-03-30", "2026-03-31",
         "NaT"],
        "datetime64[D]",
    )  # fmt: skip
    want = [False, False, True, True, True, True, False, False, False, True, True, False, False]
    assert _covered(days, ranges).tolist() == want
    assert _covered(days, []).tolist() == [False] * len(days)


def _loaded(orders: list[tuple[int, str | None]], tags: list[tuple[int, str]]) -> LoadedTables:
    created = [
        None if c is None else datetime.fromisoformat(c).replace(tzinfo=UTC) for _, c in orders
    ]
    empty = {name: ARROW_SCHEMAS[name].empty_table() for name in ARROW_SCHEMAS}
    return LoadedTables(
        orders=pa.table(
            {
                "order_id": pa.array([i for i, _ in orders], pa.int64()),
                "created_at": pa.array(created, UTC_US),
            }
        ),
        services=empty["services"],
        adjustments=empty["adjustments"],
        tags=pa.table(
            {
                "order_id": pa.array([i for i, _ in tags], pa.int64()),
                "tag": pa.array([t for _, t in tags], pa.string()),
            }
        ),
        problems=empty["problems"],
    )


def test_unlearnt_takes_only_memberships_the_reads_disprove() -> None:
    """The store holds orders 1-8 with tag a (order 7 also b), created on 5, 5, 5, 1, 5, 5, 5
    and 5 March; this sync read tag a over 1-10 March (answered: orders 2 and 3), tag b nowhere.

    - 1: not returned, its days covered: unlearnt;
    - 2: returned by tag a's query: kept;
    - 3: returned as a tag row of the payload: kept;
    - 4: created 1 March, the day before it is not read: kept;
    - 5: re-read (another query) now created 20 March, outside the windows: kept;
    - 6: re-read, still created 6 March: unlearnt;
    - 7: unlearnt for a, its tag b kept (b was not read);
    - 8: not returned, but the API answered 404 for it: kept as last seen."""
    held = Held.of(
        pa.table(
            {
                "order_id": pa.array([1, 2, 3, 4, 5, 6, 7, 8], pa.int64()),
                "created_at": pa.array(
                    [datetime(2026, 3, d, 12, tzinfo=UTC) for d in (5, 5, 5, 1, 5, 5, 5, 5)],
                    UTC_US,
                ),
                "status_id": pa.array([3] * 7 + [1], pa.int64()),
            }
        ),
        pa.table(
            {
                "order_id": pa.array([1, 2, 3, 4, 5, 6, 7, 7, 8], pa.int64()),
                "tag": ["a"] * 7 + ["b", "a"],
            }
        ),
    )
    fetched = Fetched()
    fetched.tag_cover = {"a": [(date(2026, 3, 1), date(2026, 3, 10))]}
    fetched.tag_rows = [pa.table({"order_id": pa.array([2], pa.int64()), "tag": ["a"]})]
    fetched.gone = [8]
    new = _loaded(
        [(2, "2026-03-05T12:00"), (3, "2026-03-05T12:00"), (5, "2026-03-20T12:00"),
         (6, "2026-03-06T12:00")],
        [(3, "a")],
    )  # fmt: skip
    got = unlearnt(held, fetched, new)
    assert sorted(zip(got["order_id"].to_pylist(), got["tag"].to_pylist(), strict=True)) == [
        (1, "a"),
        (6, "a"),
        (7, "a"),
    ]


@pytest.mark.parametrize("cover", [{}, {"a": []}])
def test_unlearnt_takes_nothing_without_a_window_read(cover: dict) -> None:
    held = Held.of(
        pa.table(
            {
                "order_id": pa.array([1], pa.int64()),
                "created_at": pa.array([datetime(2026, 3, 5, tzinfo=UTC)], UTC_US),
                "status_id": pa.array([3], pa.int64()),
            }
        ),
        pa.table({"order_id": pa.array([1], pa.int64()), "tag": ["a"]}),
    )
    fetched = Fetched()
    fetched.tag_cover = cover
    assert len(unlearnt(held, fetched, _loaded([], []))) == 0


def test_a_month_where_every_order_lost_the_tag_is_written_again(tmp_path: Path) -> None:
    """Every channel_web order created in one month loses the tag: a full sync of channel_web
    returns no order of that month (nothing of it is read), yet the month's stored tags are
    written again without channel_web, and the count agrees with count_by_tag."""
    with (
        SandboxServer(orders=2000, seed=5) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, tags=["channel_web"], progress=False).ok
        months = sorted({o["createdAt"][:7] for o in srv.data.orders})
        month = months[len(months) // 2]
        losing = [
            o
            for o in srv.data.orders
            if o["createdAt"][:7] == month and "channel_web" in (o.get("tags") or ())
        ]
        assert len(losing) >= 2
        for o in losing:
            srv.update_order(o["id"], tags=[t for t in o["tags"] if t != "channel_web"])
        report = store.sync(c, tags=["channel_web"], full=True, progress=False)
        assert report.ok, report.error
        want = c.count_by_tag(["channel_web"])["channel_web"]
    tags = store.load().tags
    assert not set(tags["order_id"]) & {o["id"] for o in losing}
    assert int((tags["tag"] == "channel_web").sum()) == want
    assert all(check.ok for check in report.tag_checks), report.tag_checks


def _pairs_of(tags: pd.DataFrame) -> set[tuple[int, str]]:
    return {(int(i), str(t)) for i, t in zip(tags["order_id"], tags["tag"], strict=True)}


def test_orders_that_carry_their_tags_are_stored_with_exactly_those(tmp_path: Path) -> None:
    """A server whose orders carry a ``tags`` array (the contract: use it): between two syncs of
    all orders, a recent order loses every tag, another recent one loses one and gains one.
    After the incremental sync (which reads them again) the store's memberships are exactly the
    server's, for every order."""
    with (
        SandboxServer(orders=1500, seed=3, expose_tags=True) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, progress=False).ok
        newest = max(_created(o) for o in srv.data.orders)
        recent = [
            o
            for o in sorted(srv.data.orders, key=lambda o: o["id"])
            if _created(o) > newest - timedelta(days=10) and len(o.get("tags") or ()) >= 2
        ]
        assert len(recent) >= 2
        first, second = recent[0], recent[1]
        srv.update_order(first["id"], tags=[])
        srv.update_order(second["id"], tags=[*second["tags"][1:], "brand_new_tag"])
        report = store.sync(c, progress=False)
        assert report.ok, report.error
        truth = {(o["id"], t) for o in srv.data.orders for t in set(o.get("tags") or ())}
    stored = _pairs_of(store.load().tags)
    assert not {p for p in stored if p[0] == first["id"]}
    assert {t for i, t in stored if i == second["id"]} == {*second["tags"]}
    assert stored == truth


def test_unlearnt_takes_the_tags_a_carried_tag_list_leaves_out() -> None:
    """Held: order 1 with tags a and b, order 2 with a, order 3 with a. This sync read order 1
    carrying the list [b], order 2 carrying [] but also returned by a query with tag a, and
    order 3 without a tags field (no window read): (1, a) is unlearnt, nothing else."""
    held = Held.of(
        pa.table(
            {
                "order_id": pa.array([1, 2, 3], pa.int64()),
                "created_at": pa.array([datetime(2026, 3, 5, tzinfo=UTC)] * 3, UTC_US),
                "status_id": pa.array([3, 3, 3], pa.int64()),
            }
        ),
        pa.table({"order_id": pa.array([1, 1, 2, 3], pa.int64()), "tag": ["a", "b", "a", "a"]}),
    )
    read = _loaded([(1, "2026-03-05T00:00"), (2, "2026-03-05T00:00")], [(1, "b")])
    fetched = Fetched()
    fetched.groups = [dataclasses.replace(read, tags_sent=pa.array([1, 2], pa.int64()))]
    fetched.tag_rows = [pa.table({"order_id": pa.array([2], pa.int64()), "tag": ["a"]})]
    got = unlearnt(held, fetched, _loaded([(1, "2026-03-05T00:00"), (3, None)], [(1, "b")]))
    assert list(zip(got["order_id"].to_pylist(), got["tag"].to_pylist(), strict=True)) == [(1, "a")]


def test_the_loader_names_the_orders_that_carry_a_tags_array() -> None:
    """Orders 1 (tags [x]), 2 (tags []), 3 (no tags field) and 4 (tags null): 1 and 2 carried
    their tag list."""
    import warnings

    from ht_analytics._loader import load_tables

    def order(i: int, **extra: object) -> dict:
        return {"id": i, "statusId": 3, "createdAt": "2026-03-05T10:00:00Z", **extra}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = load_tables(
            [order(1, tags=["x"]), order(2, tags=[]), order(3), order(4, tags=None)]
        )
    assert tables.tags_sent is not None
    assert sorted(tables.tags_sent.to_pylist()) == [1, 2]


class DropFromTag(httpx.BaseTransport):
    """Passes requests to the sandbox, but leaves the first ``n`` orders out of every listing
    page of more than ``n`` orders with ``tags[]=<tag>`` and no status filter while ``on`` (a
    page skipped while paging: the orders are gone from the answer, not from the server)."""

    def __init__(self, tag: str, n: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.tag, self.n = tag, n
        self.on = False
        self.dropped: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not (self.on and _lists_tag(request, self.tag)):
            return response
        body = json.loads(response.read())
        if len(body["orders"]) <= self.n:  # e.g. the one-order query for the first order
            return httpx.Response(response.status_code, json=body)
        self.dropped += [o["id"] for o in body["orders"][: self.n]]
        body["orders"] = body["orders"][self.n :]
        return httpx.Response(response.status_code, json=body)

    def close(self) -> None:
        self.inner.close()


def test_windows_that_return_fewer_orders_than_the_api_counts_unlearn_nothing(
    tmp_path: Path,
) -> None:
    """A full sync whose channel_web answers each miss their first two orders (which still carry
    the tag): count_by_tag over the windows' days disagrees with what they returned, so every
    membership is kept, and the report says why."""
    transport = DropFromTag("channel_web", 2)
    with tag_synced(tmp_path / "cache", PAIR, transport, orders=1500, seed=3) as (_, c, store):
        before = _pairs_of(store.load().tags)
        transport.on = True
        report = store.sync(c, tags=PAIR, full=True, progress=False)
    assert report.ok, report.error
    assert transport.dropped
    assert _pairs_of(store.load().tags) == before
    assert [w for w in report.warnings if w.startswith("tag channel_web: the windows returned")]


def test_an_order_moved_out_of_the_window_keeps_its_tag(tmp_path: Path) -> None:
    """A terminal channel_web order created ten days ago is moved 200 days back (its tags
    unchanged): the incremental sync's window no longer returns it, so it is read by id; it
    still exists, on a day the window does not cover: it keeps channel_web, and the store
    learns its new creation time."""
    with (
        SandboxServer(orders=3000, seed=12) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        newest = max(_created(o) for o in srv.data.orders)
        moved = _pick(srv, newer_than=newest - timedelta(days=12), older_than=None)
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, tags=PAIR, progress=False).ok
        new_time = _created(moved) - timedelta(days=200)
        srv.update_order(moved["id"], createdAt=new_time.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        report = store.sync(c, tags=PAIR, progress=False)
    assert report.ok, report.error
    assert report.kind == "incremental"
    assert "channel_web" in _tags_of(store, moved["id"])
    orders = store.load().orders.set_index("order_id")
    assert orders.loc[moved["id"], "created_at"] == pd.Timestamp(new_time.replace(microsecond=0))


def test_an_order_moved_to_another_month_takes_its_tags_along(tmp_path: Path) -> None:
    """A terminal channel_web order from a year ago is moved into the lookback window: the
    incremental sync reads it there and stores it under its new month, with its tags once
    (none left behind in the old month); when it then loses channel_web, the next incremental
    sync removes it."""
    with (
        SandboxServer(orders=3000, seed=12) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        newest = max(_created(o) for o in srv.data.orders)
        moved = _pick(srv, newer_than=None, older_than=newest - timedelta(days=365))
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, tags=PAIR, progress=False).ok
        stamp = (newest - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        srv.update_order(moved["id"], createdAt=stamp)
        assert store.sync(c, tags=PAIR, progress=False).ok
        tags = store.load().tags
        mine = tags.loc[tags["order_id"] == moved["id"], "tag"].tolist()
        assert sorted(mine) == sorted(set(moved["tags"]) & set(PAIR))
        srv.update_order(moved["id"], tags=[t for t in moved["tags"] if t != "channel_web"])
        report = store.sync(c, tags=PAIR, progress=False)
        assert report.ok, report.error
        assert "channel_web" not in _tags_of(store, moved["id"])
        assert all(check.ok for check in report.tag_checks), report.tag_checks


def test_the_first_pages_orders_carrying_tags_are_stored_with_exactly_those(
    tmp_path: Path,
) -> None:
    """Orders carry their tags; the oldest order (on the backfill's first page, read before the
    windows) loses its tags: a full sync of all orders stores it with none."""
    with (
        SandboxServer(orders=800, seed=3, expose_tags=True) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, progress=False).ok
        oldest = min(
            (o for o in srv.data.orders if o.get("tags")), key=lambda o: (o["createdAt"], o["id"])
        )
        assert _tags_of(store, oldest["id"])
        srv.update_order(oldest["id"], tags=[])
        report = store.sync(c, full=True, progress=False)
        assert report.ok, report.error
        truth = {(o["id"], t) for o in srv.data.orders for t in set(o.get("tags") or ())}
    assert _tags_of(store, oldest["id"]) == set()
    assert _pairs_of(store.load().tags) == truth


class Deleted(httpx.BaseTransport):
    """Passes requests to the sandbox, as if order ``order_id`` (with tag channel_web) were
    deleted: left out of listings and of channel_web's count, 404 by id."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.order_id: int | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if self.order_id is not None and path.endswith(f"/orders/{self.order_id}"):
            return httpx.Response(404, json={"status": "error", "message": "not found"})
        response = self.inner.handle_request(request)
        if self.order_id is None or response.status_code != 200:
            return response
        body = json.loads(response.read())
        if path.endswith("/orders"):
            body["orders"] = [o for o in body["orders"] if o["id"] != self.order_id]
        elif path.endswith("/count_by_tag") and "channel_web" in body["counts"]:
            body["counts"]["channel_web"] -= 1
        return httpx.Response(200, json=body)

    def close(self) -> None:
        self.inner.close()


def test_beyond_the_limit_orders_keep_their_tags_until_a_sync_reads_them(
    tmp_path: Path,
) -> None:
    """120 orders lose channel_web at once, among them one deleted from the API (404, and gone
    from the listings) and one moved past today: the first full sync reads 100 of them by id
    (the first by id) and unlearns those that lost it; the other 20 keep the tag, and the report
    says so; the next full sync reads the rest. The deleted and the moved orders keep the tag
    throughout."""
    import ht_analytics._sync as sync_module

    hide = Deleted()
    with tag_synced(tmp_path / "cache", ["channel_web"], hide, orders=6000, seed=8) as (
        srv,
        c,
        store,
    ):
        web = sorted(
            (o for o in srv.data.orders if "channel_web" in (o.get("tags") or ())),
            key=lambda o: o["id"],
        )
        assert len(web) > 200
        losing = web[10:130]
        deleted, moved = losing[0], losing[1]
        for o in losing[2:]:
            srv.update_order(o["id"], tags=[t for t in o["tags"] if t != "channel_web"])
        later = datetime.now(UTC) + timedelta(days=5)
        srv.update_order(moved["id"], createdAt=later.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        hide.order_id = deleted["id"]
        assert sync_module.TAG_RECHECK_LIMIT == 100
        report = store.sync(c, tags=["channel_web"], full=True, progress=False)
        assert report.ok, report.error
        still = {o["id"] for o in losing[2:]} & {i for i, t in _pairs_of(store.load().tags)}
        assert len(still) == 20
        assert any("100 were read by id, the other 20" in w for w in report.warnings)
        report = store.sync(c, tags=["channel_web"], full=True, progress=False)
        assert report.ok, report.error
    pairs = _pairs_of(store.load().tags)
    assert not {o["id"] for o in losing[2:]} & {i for i, _ in pairs}
    assert (deleted["id"], "channel_web") in pairs
    assert (moved["id"], "channel_web") in pairs


class OtherTagsAnswer(httpx.BaseTransport):
    """Passes requests to the sandbox, but answers listings with ``tags[]=channel_store`` (no
    status filter) with channel_web's answer for the same query (a cache mixing them up)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.on = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.on and _lists_tag(request, "channel_store"):
            items = [
                ("tags[]", "channel_web") if k == "tags[]" else (k, v)
                for k, v in request.url.params.multi_items()
            ]
            request = httpx.Request(
                request.method, request.url.copy_with(params=items), headers=request.headers
            )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_tags_answer_its_orders_own_tags_contradict_is_not_learnt(tmp_path: Path) -> None:
    """Orders carry their tags; a cache answers channel_store's queries with channel_web's: the
    orders those answers hold, whose own tags lack channel_store, do not gain it (the report
    says how many were left out), and no true channel_store membership is lost."""
    transport = OtherTagsAnswer()
    with tag_synced(tmp_path / "cache", PAIR, transport, orders=1500, seed=3, expose_tags=True) as (
        srv,
        c,
        store,
    ):
        transport.on = True
        report = store.sync(c, tags=PAIR, full=True, progress=False)
        assert report.ok, report.error
        truth = {
            (o["id"], t) for o in srv.data.orders for t in set(o.get("tags") or ()) if t in PAIR
        }
    stored = {p for p in _pairs_of(store.load().tags) if p[1] in PAIR}
    assert stored == truth
    assert any("not taken as members" in w for w in report.warnings)
