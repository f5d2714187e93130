"""OrderStore against the sandbox: round trips, incremental syncs, snapshots, the lock, the files."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from conftest import TABLE_KEYS, client_for, empty_page, json_response
from ht_analytics import (
    CacheError,
    DataProblemWarning,
    OrderFrames,
    OrderStore,
    PartnerClient,
    SyncReport,
    load_orders,
)
from ht_analytics._statuses import OPEN_STATUSES
from ht_analytics._store_lock import StoreLock
from ht_analytics.sandbox import SandboxServer, generate_dataset

KEYS = TABLE_KEYS
OPEN_IDS = {s.value for s in OPEN_STATUSES}
SECRET_KEY = "sk-test-Store-Secret-7f3a"


def sorted_frames(frames: OrderFrames) -> dict[str, pd.DataFrame]:
    """Each table sorted by its key (row order is not part of the comparison)."""
    return {
        name: getattr(frames, name).sort_values(KEYS[name], kind="stable").reset_index(drop=True)
        for name in KEYS
    }


def assert_same_frames(got: OrderFrames, want: OrderFrames) -> None:
    """Every table equal, values and dtypes."""
    a, b = sorted_frames(got), sorted_frames(want)
    for name in KEYS:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def served(srv: SandboxServer) -> OrderFrames:
    """What the sandbox serves right now, read by a fresh client without the store."""
    with PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c:
        return load_orders(p.raw for p in c.iter_pages(page_size=500))


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of 3,000 orders with a distinctive key (changed by some tests: order ids below
    are picked per test)."""
    with SandboxServer(orders=3000, seed=11, api_key=SECRET_KEY) as srv:
        yield srv


@pytest.fixture
def client(server: SandboxServer) -> Iterator[PartnerClient]:
    """A client of the module's sandbox."""
    with PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c:
        yield c


def test_backfill_round_trip_equals_the_loader(
    tmp_path: Path, server: SandboxServer, client: PartnerClient
) -> None:
    """A first sync stores every order; load() equals load_orders of the same data, dtypes
    included, and the net total is the generator's to the cent."""
    store = OrderStore(tmp_path / "cache")
    report = store.sync(client, progress=False)
    assert report.ok, report.error
    assert report.kind == "backfill"
    frames = store.load()
    frames.check_schema()
    assert_same_frames(frames, served(server))
    assert report.new == len(frames.orders) == len(server.data.orders)
    assert frames.orders["order_id"].is_unique
    assert isinstance(report, SyncReport)
    assert "SyncReport" in report._repr_html_()


def test_snake_flavour_round_trip(tmp_path: Path) -> None:
    """The snake_case flavour (timestamps as objects, PII fields) stores and loads identically."""
    with (
        SandboxServer(orders=800, seed=5, flavour="snake") as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, progress=False).ok
        assert_same_frames(store.load(), served(srv))
        assert store.load().orders["client_email"].notna().all()


def test_problems_are_stored_with_their_orders(tmp_path: Path) -> None:
    """An order with unreadable values keeps its problems in the store, as the loader lists
    them (problems not tied to an order are in the report, not in the store)."""
    page = json.loads((Path(__file__).parent / "data" / "golden" / "camel_page.json").read_text())
    page["next_cursor"] = None
    for order in page["orders"]:  # all created on the day the sync asks for (the fake API below
        order["createdAt"] = "2024-11-01T12:00:00.000Z"  # answers every query with this page)
    page["orders"].append({"id": 999, "statusId": 2})  # no creation time: partition "unknown"

    def handler(request: Any) -> Any:
        return json_response(200, page)

    with pytest.warns(DataProblemWarning):
        want = load_orders(page)
    with client_for(handler) as c:
        store = OrderStore(tmp_path / "cache")
        report = store.sync(c, start="2024-11-01", end="2024-11-01", progress=False)
    assert report.ok
    got = store.load()
    with_id = want.problems[want.problems["order_id"].notna()].reset_index(drop=True)
    assert len(with_id) > 0
    assert_same_frames(
        got, OrderFrames(want.orders, want.services, want.adjustments, want.tags, with_id)
    )
    assert report.problems == len(want.problems)
    assert 999 in set(got.orders["order_id"])
    with client_for(handler) as c:
        again = store.sync(c, progress=False)
    assert (again.new, again.changed, again.unchanged) == (0, 0, len(want.orders))
    assert_same_frames(store.load(), got)


def _oldest_open(frames: OrderFrames) -> int:
    """The id of the open order created first (one no lookback window reads again)."""
    o = frames.orders.set_index("order_id")
    return int(min(_open_ids(frames), key=lambda i: o.loc[i, "created_at"]))


def _open_ids(frames: OrderFrames) -> list[int]:
    o = frames.orders
    return [int(x) for x in o.loc[o["status_id"].isin(OPEN_IDS), "order_id"]]


def _new_order(client: PartnerClient, frames: OrderFrames) -> dict[str, Any]:
    """Book an order (POST /orders) for a client and a SKU the frames hold."""
    return client.create_order(
        client_id=int(frames.orders["client_id"].dropna().iloc[0]),
        address="1 Main St, Austin, TX 78701",
        phone="5125550100",
        sku_ids=[int(frames.services["sku_id"].dropna().iloc[0])],
    )


def test_incremental_sync_sees_new_and_changed_orders(tmp_path: Path) -> None:
    """After a backfill, a change to an old open order (now completed), an at-risk toggle and
    a new order are all picked up; the store then equals the sandbox; few requests are made."""
    with (
        SandboxServer(orders=3000, seed=12) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, progress=False).ok
        before = store.load()
        oldest_open = _oldest_open(before)
        srv.update_order(oldest_open, statusId=3)
        o = before.orders.set_index("order_id")
        flipped = max(_open_ids(before), key=lambda i: o.loc[i, "created_at"])
        srv.update_order(flipped, atRisk=not bool(o.loc[flipped, "at_risk"]))
        created = _new_order(c, before)
        report = store.sync(c, progress=False)
        assert report.ok, report.error
        assert report.kind == "incremental"
        assert report.new == 1
        assert report.changed == 2
        assert report.requests <= 6
        after = store.load()
        assert_same_frames(after, served(srv))
        a = after.orders.set_index("order_id")
        assert a.loc[oldest_open, "status"] == "COMPLETED"
        assert created["id"] in a.index


def test_an_order_of_an_unknown_status_id_is_read_again_like_an_open_one(tmp_path: Path) -> None:
    """The API gives an old open order a status id the toolkit does not know (99: a status
    added since), then completes it. An unknown status is not known to be terminal: the sync
    reads it again, as the metrics count it open, and learns the completion (it was taken for
    terminal and kept as 99 for ever)."""
    with (
        SandboxServer(orders=1500, seed=21) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, progress=False).ok
        target = _oldest_open(store.load())
        srv.update_order(target, statusId=99)
        assert store.sync(c, progress=False).ok
        assert store.load().orders.set_index("order_id").loc[target, "status_id"] == 99
        srv.update_order(target, statusId=3)
        report = store.sync(c, progress=False)
        assert report.ok, report.error
        assert report.changed == 1
        after = store.load()
        assert after.orders.set_index("order_id").loc[target, "status_id"] == 3
        assert_same_frames(after, served(srv))


def test_snapshots_and_as_of(tmp_path: Path) -> None:
    """Every sync appends a snapshot row per fetched order; load(as_of=...) answers with what
    the store knew then."""
    with (
        SandboxServer(orders=1500, seed=13) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        store.sync(c, progress=False)
        first = store.load()
        target = max(_open_ids(first))
        between = datetime.now(UTC)
        time.sleep(0.01)
        srv.update_order(target, statusId=3)
        report = store.sync(c, progress=False)
        snaps = store.snapshots()
        assert len(snaps) == len(first.orders) + report.fetched
        assert snaps["synced_at"].dtype == "datetime64[us, UTC]"
        assert snaps["total_amount"].dtype == first.orders["total_amount"].dtype
        history = snaps[snaps["order_id"] == target].sort_values("synced_at")
        assert list(history["status"].astype(str)) == [
            str(first.orders.set_index("order_id").loc[target, "status"]),
            "COMPLETED",
        ]
        then = store.load(as_of=between)
        assert then.orders.set_index("order_id").loc[target, "status"] != "COMPLETED"
        assert len(then.orders) == len(first.orders)
        now = store.load(as_of=datetime.now(UTC))
        assert now.orders.set_index("order_id").loc[target, "status"] == "COMPLETED"
        assert len(store.load(as_of="2000-01-01").orders) == 0


def test_load_with_dates_equals_filtering_in_memory(tmp_path: Path, client: PartnerClient) -> None:
    """load(start, end) gives the same frames as filtering everything by creation date."""
    store = OrderStore(tmp_path / "cache")
    store.sync(client, progress=False)
    everything = store.load()
    part = store.load(start="2025-03-15", end="2025-06-30")
    want = everything.filter(start="2025-03-15", end="2025-06-30")
    assert 0 < len(part.orders) < len(everything.orders)
    assert_same_frames(part, want)
    assert part.orders["created_at"].min() >= pd.Timestamp("2025-03-15", tz="UTC")
    assert part.orders["created_at"].max() < pd.Timestamp("2025-07-01", tz="UTC")


def test_empty_store_loads_empty_typed_frames(tmp_path: Path) -> None:
    """A store nobody synced loads as empty frames with the full schema, without network."""
    store = OrderStore(tmp_path / "nothing")
    frames = store.load()
    frames.check_schema()
    assert len(frames.orders) == 0
    assert store.info()["exists"] is False
    assert len(store.snapshots()) == 0


def test_default_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OrderStore() uses $HT_CACHE_DIR, else ./data/cache."""
    monkeypatch.setenv("HT_CACHE_DIR", str(tmp_path / "env-cache"))
    assert OrderStore().path == tmp_path / "env-cache"
    monkeypatch.delenv("HT_CACHE_DIR")
    assert OrderStore().path == Path.cwd() / "data" / "cache"


def test_files_are_private_and_hold_no_secret(
    tmp_path: Path, server: SandboxServer, client: PartnerClient
) -> None:
    """The directory is 0700, every file 0600, and no file holds the API key or a client's
    authentication token."""
    root = tmp_path / "cache"
    store = OrderStore(root)
    store.sync(client, progress=False)
    store.sync(client, tags=["channel_web"], progress=False)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    tokens = [cl["authentication_token"].encode() for cl in server.data.clients.values()][:200]
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        data = path.read_bytes()
        assert SECRET_KEY.encode() not in data, path
        assert not any(t in data for t in tokens), path
    for path in root.rglob("*"):
        if path.is_dir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_tags_membership_and_server_counts(
    tmp_path: Path, server: SandboxServer, client: PartnerClient
) -> None:
    """sync(tags=...) records which orders carry each tag (as the sandbox knows them) and checks
    the local counts against count_by_tag."""
    store = OrderStore(tmp_path / "cache")
    report = store.sync(client, tags=["channel_phone", "campaign_holiday"], progress=False)
    assert report.ok
    tags = store.load().tags
    for tag in ("channel_phone", "campaign_holiday"):
        want = {o["id"] for o in server.data.orders if tag in (o.get("tags") or ())}
        assert set(tags.loc[tags["tag"] == tag, "order_id"]) == want
    checks = {c.tag: c for c in report.tag_checks}
    assert all(c.ok for c in checks.values())
    assert checks["channel_phone"].server == sum(
        "channel_phone" in (o.get("tags") or ()) for o in server.data.orders
    )
    again = store.sync(client, tags=["channel_phone", "campaign_holiday"], progress=False)
    assert again.kind == "incremental"
    assert all(c.ok for c in again.tag_checks)


class FirstOrderReplayed(httpx.BaseTransport):
    """Answers the second "first order of a tag" request (``limit=1``) with the first one's
    answer (a cache keyed without the tag); passes the rest to the sandbox."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.first: bytes | None = None
        self.replayed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.params.get("limit") != "1":
            return response
        body = response.read()
        if self.first is None:
            self.first = body
        elif not self.replayed:
            self.replayed += 1
            body = self.first
        return httpx.Response(response.status_code, content=body, headers=response.headers)

    def close(self) -> None:
        self.inner.close()


def test_a_tags_first_order_answered_with_another_tags_loses_nothing(
    tmp_path: Path, server: SandboxServer
) -> None:
    """A tagged backfill finds each tag's first order with one request; the second tag's is
    answered with the first tag's (a seasonal tag that starts months later). The days before
    are read all the same: each tag holds exactly the sandbox's orders, and the counts agree."""
    tags = ["campaign_holiday", "channel_phone"]
    starts = {
        t: min(o["createdAt"] for o in server.data.orders if t in (o.get("tags") or ()))
        for t in tags
    }
    assert starts["campaign_holiday"][:10] > starts["channel_phone"][:10]  # the replay hides days
    transport = FirstOrderReplayed()
    with PartnerClient(
        base_url=server.url, api_key=server.api_key, rate_limit=None, transport=transport
    ) as c:
        store = OrderStore(tmp_path / "cache")
        report = store.sync(c, tags=tags, progress=False)
    assert transport.replayed == 1
    assert report.ok, report.error
    assert all(check.ok for check in report.tag_checks)
    stored = store.load().tags
    for tag in tags:
        want = {o["id"] for o in server.data.orders if tag in (o.get("tags") or ())}
        assert set(stored.loc[stored["tag"] == tag, "order_id"]) == want, tag


def test_full_sync_reads_everything_again(tmp_path: Path, client: PartnerClient) -> None:
    """full=True re-reads every order; nothing is new or changed, all unchanged."""
    store = OrderStore(tmp_path / "cache")
    first = store.sync(client, progress=False)
    report = store.sync(client, full=True, progress=False)
    assert report.kind == "full"
    assert report.fetched == first.fetched
    assert (report.new, report.changed, report.unchanged) == (0, 0, first.fetched)


def test_second_writer_waits_then_names_the_holder(tmp_path: Path, client: PartnerClient) -> None:
    """While a lock is held, a sync fails after lock_timeout with a CacheError naming the
    holder's pid; once released, it runs."""
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with StoreLock(root, 1.0, "test holder"):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        store = OrderStore(root, lock_timeout=0.3)
        with pytest.raises(CacheError, match=rf"process {os.getpid()} .*test holder"):
            store.sync(client, progress=False)
        assert store.load().orders.empty
    finally:
        release.set()
        t.join()
    assert OrderStore(root, lock_timeout=0.3).sync(client, progress=False).ok


def test_other_schema_version_is_a_clear_error(tmp_path: Path, client: PartnerClient) -> None:
    """A store written by an incompatible version says so and how to go on."""
    root = tmp_path / "cache"
    store = OrderStore(root)
    store.sync(client, progress=False)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CacheError, match=r"schema version 99.*Upgrade ht-analytics"):
        store.load()
    manifest["schema_version"] = 0
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CacheError, match=r"schema version 0.*cache clear"):
        store.sync(client, progress=False)
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(CacheError, match="cannot be read"):
        store.load()
    store.clear()
    assert store.sync(client, progress=False).ok


def test_store_of_another_api_is_refused(tmp_path: Path, client: PartnerClient) -> None:
    """Orders from two APIs never mix in one store."""
    store = OrderStore(tmp_path / "cache")
    store.sync(client, progress=False)

    def handler(request: Any) -> Any:
        return empty_page()

    with client_for(handler) as other, pytest.raises(CacheError, match="holds orders from"):
        store.sync(other, progress=False)


def test_info_and_clear(tmp_path: Path, server: SandboxServer, client: PartnerClient) -> None:
    """info() describes the store (JSON-friendly); clear() empties it."""
    store = OrderStore(tmp_path / "cache")
    store.sync(client, progress=False)
    info = store.info()
    assert info["rows"]["orders"] == len(server.data.orders)
    assert info["open_orders"] == sum(o["statusId"] in OPEN_IDS for o in server.data.orders)
    json.dumps(info)
    assert SECRET_KEY not in json.dumps(info)
    store.clear()
    assert store.info()["exists"] is False
    assert store.load().orders.empty


def test_duckdb_and_polars_read_the_directory(tmp_path: Path, client: PartnerClient) -> None:
    """The hive dataset reads unchanged with DuckDB and Polars: exact decimals, UTC timestamps."""
    duckdb = pytest.importorskip("duckdb")
    pl = pytest.importorskip("polars")
    root = tmp_path / "cache"
    store = OrderStore(root)
    store.sync(client, progress=False)
    frames = store.load()
    net = frames.net_total
    con = duckdb.connect()
    glob = str(root / "orders" / "*" / "*.parquet")
    count, total, months = con.execute(
        "SELECT count(*), sum(total_amount), count(DISTINCT created_month) "
        f"FROM read_parquet('{glob}', hive_partitioning = true)"
    ).fetchone()
    assert (count, total) == (len(frames.orders), net)
    assert isinstance(total, Decimal)
    described = {
        r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()
    }
    assert described["total_amount"] == "DECIMAL(18,2)"
    assert described["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert months == frames.orders["created_at"].dt.strftime("%Y-%m").nunique()
    lazy = pl.scan_parquet(root / "orders" / "**" / "*.parquet", hive_partitioning=True)
    got = lazy.select(pl.len(), pl.col("total_amount").sum()).collect()
    assert got.row(0) == (len(frames.orders), net)
    schema = lazy.collect_schema()
    assert schema["total_amount"] == pl.Decimal(18, 2)
    assert schema["created_at"] == pl.Datetime("us", "UTC")
    views = store.duckdb()
    n_services = views.execute(
        "SELECT count(*) FROM services JOIN orders USING (order_id)"
    ).fetchone()[0]
    assert n_services == len(frames.services)
    names = {"orders", "services", "adjustments", "tags", "problems", "snapshots"}
    assert {row[0] for row in views.execute("SHOW TABLES").fetchall()} == names
    empty = OrderStore(tmp_path / "never-synced").duckdb()  # every table empty, nothing else
    assert {row[0] for row in empty.execute("SHOW TABLES").fetchall()} == names
    assert empty.execute("SELECT count(*) FROM orders").fetchone() == (0,)


def test_progress_bar_in_the_terminal(
    tmp_path: Path,
    client: PartnerClient,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """progress=True shows a bar counting orders on stderr when it is a terminal; nothing when
    stderr goes to a file or a pipe (as under pytest: a script's log); progress=False prints
    nothing."""
    store = OrderStore(tmp_path / "cache")
    store.sync(client, progress=True)
    assert capfd.readouterr().err == ""  # not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    store.sync(client, progress=True)
    err = capfd.readouterr().err
    assert "sync" in err
    assert "orders" in err
    store.sync(client, progress=False)
    assert capfd.readouterr().err == ""


def test_readers_see_whole_states_while_syncs_replace_files(
    tmp_path: Path, server: SandboxServer, client: PartnerClient
) -> None:
    """load() and info() in another thread during full re-syncs (which replace every file)
    always see a complete store: every order once, every service with its order (never taken
    for a damaged store)."""
    store = OrderStore(tmp_path / "cache")
    store.sync(client, progress=False)
    errors: list[BaseException] = []
    sizes: set[int] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                frames = OrderStore(tmp_path / "cache").load()
                assert OrderStore(tmp_path / "cache").info()["rows"]["orders"] == len(
                    server.data.orders
                )
                assert frames.orders["order_id"].is_unique
                assert frames.services["order_id"].isin(frames.orders["order_id"]).all()
                sizes.add(len(frames.orders))
            except BaseException as exc:  # reported below
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(3):
            assert store.sync(client, full=True, progress=False).ok
    finally:
        done.set()
        reader.join()
    assert not errors, errors
    assert sizes == {len(server.data.orders)}


class Recording(httpx.BaseTransport):
    """Passes requests to the sandbox and records each list request's query; with ``swap``,
    the first page of all orders (no ``from``) has its 251st order replaced by ``swap``."""

    def __init__(self, swap: dict[str, Any] | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.swap = swap
        self.queries: list[dict[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        self.queries.append(params)
        response = self.inner.handle_request(request)
        if self.swap is not None and "from" not in params and "cursor" not in params:
            body = json.loads(response.read())
            body["orders"][250] = self.swap
            return httpx.Response(
                response.status_code, json=body, headers={"content-type": "application/json"}
            )
        return response

    def close(self) -> None:
        self.inner.close()


def sync_through(
    server: SandboxServer, transport: httpx.BaseTransport, path: Path, **kwargs: Any
) -> tuple[OrderStore, SyncReport]:
    """A sync of a new store at ``path`` from ``server``, its requests going through
    ``transport``."""
    with PartnerClient(
        base_url=server.url, api_key=server.api_key, rate_limit=None, transport=transport
    ) as c:
        store = OrderStore(path)
        return store, store.sync(c, progress=False, **kwargs)


def _wire_day(day: str) -> str:
    return f"{day[5:7]}-{day[8:10]}-{day[:4]}"


def _days_in_creation_order(srv: SandboxServer) -> list[str]:
    return [c[:10] for c, _ in sorted((o["createdAt"], o["id"]) for o in srv.data.orders)]


def test_backfill_keeps_its_first_page_and_starts_the_windows_on_its_last_day(
    tmp_path: Path, server: SandboxServer
) -> None:
    """The first request of a backfill (all orders, 500 a page, no date) is also data: the
    windows start on the day of its last order (the 500th in creation order), so no request is
    spent only on finding the first order's date; one window (one request) reads the days before
    its first order, in case that page was another query's answer; the store still equals what
    the API serves."""
    days = _days_in_creation_order(server)
    before_first = str(date.fromisoformat(days[0]) - timedelta(days=1))
    transport = Recording()
    store, report = sync_through(server, transport, tmp_path / "cache")
    assert report.ok, report.error
    head, *windows = transport.queries
    assert "from" not in head
    assert head["limit"] == "500"
    assert windows
    assert all("from" in q for q in windows)
    guard = [q for q in windows if q["from"] == "01-01-1970"]
    assert [q["to"] for q in guard] == [_wire_day(before_first)]  # one request: nothing there
    rest = [q["from"] for q in windows if q["from"] != "01-01-1970"]
    assert min(rest, key=lambda d: (d[6:], d)) == _wire_day(days[499])
    assert report.windows[0] == (days[0], str(date.fromisoformat(days[499]) - timedelta(days=1)))
    assert report.windows[1] == ("1970-01-01", before_first)
    assert report.requests == len(transport.queries)
    assert_same_frames(store.load(), served(server))


def test_backfill_of_one_page_is_three_requests(tmp_path: Path) -> None:
    """300 orders: the first page is the whole listing; one window reads its last day and the
    days after it, one the days before its first (a replayed page cannot pass for the whole
    listing): three requests, nothing counted twice."""
    with (
        SandboxServer(orders=300, seed=3) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        report = store.sync(c, progress=False)
        assert report.ok, report.error
        assert report.requests == 3
        assert report.new == 300
        assert_same_frames(store.load(), served(srv))


def test_first_page_with_a_later_order_swapped_in_stops_on_the_repeat(tmp_path: Path) -> None:
    """A first page that is not in creation order (its 251st order is a later one, which comes
    again on its own page) says nothing about the orders before its last day: every page is read
    in turn, the repeated order is caught, and the sync stops saying so, storing nothing."""
    with SandboxServer(orders=1500, seed=11) as srv:
        in_order = sorted(srv.data.orders, key=lambda o: (o["createdAt"], o["id"]))
        transport = Recording(swap=in_order[900])
        store, report = sync_through(srv, transport, tmp_path / "cache")
        assert not report.ok
        assert f"({in_order[900]['id']})" in (report.error or "")
        assert "already seen" in (report.error or "")
        assert all("from" not in q for q in transport.queries)  # no window: page after page
        assert len(store.load().orders) == 0


# -- backfills and re-reads against a server that follows the contract to the letter ------------

T0 = datetime(2026, 1, 1, 10, tzinfo=UTC)


def mini(order_id: int, created: datetime | None, status: int = 3, total: str = "10.00") -> dict:
    """An order with only what these tests need (its other fields are problems; not checked)."""
    stamp = None if created is None else created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "id": order_id,
        "statusId": status,
        "createdAt": stamp,
        "timezone": "UTC",
        "breakdown": {"services": [], "adjustments": [], "totalAmount": total},
    }


def contract_server(orders: list[dict], *, sort_key: Any = None) -> Any:
    """``GET /orders`` (from/to as inclusive UTC days, status[], limit, keyset cursor) and
    ``GET /orders/{id}`` over ``orders`` (read at each request, so tests can change them), pages
    sorted by ``(createdAt, id)`` — or by ``sort_key``, for a server that ignores the sort."""

    def handle(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        if request.url.path != "/api/partners/orders":
            order_id = int(request.url.path.rsplit("/", 1)[1])
            found = [o for o in orders if o["id"] == order_id]
            if not found:
                return json_response(404, {"status": "error", "message": "not found"})
            return json_response(200, {"status": "success", "order": found[0]})
        items = sorted(orders, key=sort_key or (lambda o: (o["createdAt"] or "", o["id"])))
        if "from" in q or "to" in q:

            def iso(wire: str) -> str:
                return f"{wire[6:]}-{wire[:2]}-{wire[3:5]}"

            lo, hi = iso(q.get("from", "01-01-1900")), iso(q.get("to", "12-31-2999"))
            items = [o for o in items if o["createdAt"] and lo <= o["createdAt"][:10] <= hi]
        if q.get_list("status[]"):
            wanted = {int(s) for s in q.get_list("status[]")}
            items = [o for o in items if o["statusId"] in wanted]
        if "cursor" in q:
            ids = [o["id"] for o in items]
            items = items[ids.index(int(q["cursor"])) + 1 :]
        n = int(q.get("limit", 100))
        more = len(items) > n
        body = {
            "status": "success",
            "orders": items[:n],
            "next_cursor": items[n - 1]["id"] if more else None,
        }
        return json_response(200, body)

    return handle


def synced(store: OrderStore, orders: list[dict], **kwargs: Any) -> SyncReport:
    with (
        client_for(contract_server(orders, sort_key=kwargs.pop("sort_key", None))) as c,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", DataProblemWarning)
        report = store.sync(c, progress=False, **kwargs)
    assert report.ok, report.error
    return report


def stored_ids(store: OrderStore) -> list[int]:
    return sorted(int(x) for x in store.load().orders["order_id"])


def test_backfill_leaves_out_orders_created_after_today(tmp_path: Path) -> None:
    """A backfill covers the first order to today: an order dated 45 days ahead on its one page is
    not stored (no window would read it), the high-water mark stays today, and the next sync
    still reads the orders created since."""
    now = datetime.now(UTC)
    orders = [mini(1000 + i, T0 + timedelta(days=i)) for i in range(5)]
    orders.append(mini(2000, now + timedelta(days=45)))
    store = OrderStore(tmp_path / "cache")
    report = synced(store, orders)
    assert report.requests == 2  # the page, and the days before its first order
    assert stored_ids(store) == [1000, 1001, 1002, 1003, 1004]
    state = json.loads((store.path / "state.json").read_text())
    assert datetime.fromisoformat(state["scopes"]["*"]["high_water"]) < now
    orders.append(mini(3000, now - timedelta(hours=1)))
    synced(store, orders)
    assert 3000 in stored_ids(store)
    assert 2000 not in stored_ids(store)


def test_backfill_reads_every_page_when_the_first_is_not_sorted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that ignores ``sort=ASC`` (newest first): the first page says nothing about the
    orders before it, so every page is read in turn, and every order is stored."""
    orders = [mini(1000 + i, T0 + timedelta(hours=5 * i)) for i in range(1200)]
    store = OrderStore(tmp_path / "cache")
    with caplog.at_level("WARNING", logger="ht_analytics.store"):
        report = synced(store, orders, sort_key=lambda o: (-o["id"],))
    assert "not sorted by creation time" in caplog.text
    assert report.requests == 3  # 500 + 500 + 200
    assert stored_ids(store) == [o["id"] for o in orders]


def test_backfill_reads_every_page_when_the_first_has_no_creation_time(tmp_path: Path) -> None:
    """500 orders without a creation time come first: no window can be planned from them (nor
    return them), so every page is read in turn."""
    orders = [mini(1000 + i, None) for i in range(500)]
    orders += [mini(2000 + i, T0 + timedelta(days=i % 200)) for i in range(300)]
    store = OrderStore(tmp_path / "cache")
    report = synced(store, orders)
    assert report.requests == 2
    assert stored_ids(store) == sorted(o["id"] for o in orders)


def test_an_undated_order_on_a_first_page_of_one_day_is_kept(tmp_path: Path) -> None:
    """The first page is all one day but for an order without a creation time: the windows read
    that day again, and the undated order (which no window returns) is kept from the page."""
    orders = [mini(1, None)] + [mini(1000 + i, T0 + timedelta(seconds=3 * i)) for i in range(700)]
    store = OrderStore(tmp_path / "cache")
    synced(store, orders)
    assert stored_ids(store) == sorted(o["id"] for o in orders)


def test_incremental_sync_rereads_undated_and_vanished_open_orders_by_id(tmp_path: Path) -> None:
    """Open orders a window cannot return (no creation time) or no longer returns (their creation
    date was corrected to before the window; deleted) are read by id: the store gets their new
    state, and a deleted one is named in the warnings."""
    orders = [mini(1, None, status=1, total="1.00")]
    orders += [mini(1000 + i, datetime.now(UTC) - timedelta(hours=7 * i)) for i in range(600)]
    orders[1] = mini(2099, datetime.now(UTC) - timedelta(days=2), status=1)  # open, in the window
    orders[2] = mini(2098, datetime.now(UTC) - timedelta(days=3), status=1)  # open, in the window
    store = OrderStore(tmp_path / "cache")
    synced(store, orders)
    orders[0] = mini(1, None, status=3, total="999.99")  # completed
    orders[1] = mini(2099, T0 - timedelta(days=30), status=4)  # moved before the window; cancelled
    del orders[2]  # deleted
    report = synced(store, orders)
    assert report.kind == "incremental"
    got = store.load().orders.set_index("order_id")
    assert got.loc[1, "status_id"] == 3
    assert got.loc[1, "total_amount"] == Decimal("999.99")
    assert got.loc[2099, "status_id"] == 4
    assert got.loc[2099, "created_at"] == pd.Timestamp(T0 - timedelta(days=30))
    assert any("2098" in w and "404" in w for w in report.warnings)


class MixUp(httpx.BaseTransport):
    """A proxy that gets answers wrong: ``head_cursor_dropped`` answers the backfill's first
    request without its next cursor; ``replay_window`` answers the second window's first request
    with the first window's answer."""

    def __init__(self, *, head_cursor_dropped: bool = False, replay_window: bool = False) -> None:
        self.inner = httpx.HTTPTransport()
        self.head_cursor_dropped = head_cursor_dropped
        self.replay_window = replay_window
        self.first_window: tuple[str, bytes] | None = None
        self.replayed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        response = self.inner.handle_request(request)
        body = response.read()
        if self.head_cursor_dropped and "from" not in params and "cursor" not in params:
            page = json.loads(body)
            page["next_cursor"] = None
            body = json.dumps(page).encode()
        if self.replay_window and "from" in params and "cursor" not in params:
            if self.first_window is None:
                self.first_window = (params["from"], body)
            elif params["from"] != self.first_window[0]:
                body = self.first_window[1]
                self.replayed += 1
        return httpx.Response(
            response.status_code, content=body, headers={"content-type": "application/json"}
        )

    def close(self) -> None:
        self.inner.close()


class HeadFromAnotherQuery(httpx.BaseTransport):
    """Answers the backfill's first request (all orders, no date) once with the answer of
    another query: orders created ``days`` (a proxy or cache replaying that answer); passes the
    rest to the sandbox."""

    def __init__(self, days: tuple[str, str]) -> None:
        self.inner = httpx.HTTPTransport()
        self.days = days
        self.replayed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        head = request.url.path.endswith("/orders") and not {"from", "cursor"} & set(params)
        if head and not self.replayed:
            self.replayed += 1
            wire = {"from": _wire_day(self.days[0]), "to": _wire_day(self.days[1])}
            other = httpx.Request(
                "GET", request.url.copy_merge_params(wire), headers=request.headers
            )
            return self.inner.handle_request(other)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("span", [20, 200], ids=["a-last-page", "a-full-page-with-a-cursor"])
def test_a_first_page_that_was_another_querys_answer_loses_nothing(
    tmp_path: Path, server: SandboxServer, span: int
) -> None:
    """The backfill's first page is the answer of a date query from the middle of the data:
    fewer than 500 orders and no cursor (it passes for the whole listing), or a full page with
    its cursor. The days before its first order and after its last day are read all the same:
    the store equals what the API serves, and the report is ok."""
    days = sorted(set(_days_in_creation_order(server)))
    middle = len(days) // 2
    transport = HeadFromAnotherQuery((days[middle], days[middle + span]))
    store, report = sync_through(server, transport, tmp_path / "cache")
    assert transport.replayed == 1
    assert report.ok, report.error
    assert_same_frames(store.load(), served(server))


def test_a_full_first_page_without_a_cursor_still_reads_the_windows(
    tmp_path: Path, server: SandboxServer
) -> None:
    """A first page of 500 orders that comes back without its next cursor (a proxy dropped it,
    or the API holds exactly 500): the windows from its last day are read all the same."""
    transport = MixUp(head_cursor_dropped=True)
    store, report = sync_through(server, transport, tmp_path / "cache")
    assert report.ok, report.error
    assert_same_frames(store.load(), served(server))


def test_a_window_answered_with_another_windows_page_stops_the_sync(
    tmp_path: Path, server: SandboxServer
) -> None:
    """A window's first request answered with another window's page (orders created weeks
    outside the dates asked for), every time it is asked for: the page is asked for again, then
    the sync stops with a clear error rather than store a store missing that window's orders;
    nothing is written."""
    transport = MixUp(replay_window=True)
    store, report = sync_through(server, transport, tmp_path / "cache", concurrency=1)
    assert transport.replayed > 1
    assert not report.ok
    assert "cannot answer a query for orders created" in (report.error or "")
    assert "the answer of another query" in (report.error or "")
    assert len(store.load().orders) == 0
    assert not list((tmp_path / "cache").rglob("*.parquet"))


class Blanking(httpx.BaseTransport):
    """Passes requests to the sandbox, but answers the first page of the first date window
    asked for (``from``, no cursor, no status filter) with an empty last page, its first
    ``times`` times: a proxy or cache replaying another query's answer."""

    def __init__(self, times: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.times = times
        self.blanked = 0
        self.window: tuple[str | None, str | None] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        first_page = "from" in params and "cursor" not in params and "status[]" not in params
        if first_page and request.url.path.endswith("/orders") and self.window is None:
            self.window = (params.get("from"), params.get("to"))
        window = first_page and (params.get("from"), params.get("to")) == self.window
        if window and self.blanked < self.times:
            self.blanked += 1
            return empty_page()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("times", [1, 2])
def test_an_empty_answer_for_a_window_the_store_holds_orders_in_is_read_again(
    tmp_path: Path, times: int
) -> None:
    """An empty answer for a window the store holds orders in is suspect (a replayed empty
    answer). Once: it is read again and the sync misses nothing (the new order is in). Every
    time: the sync keeps the stored orders and says so in a warning."""
    with (
        SandboxServer(orders=3000, seed=12) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, progress=False).ok
        before = store.load()
        created = _new_order(c, before)
        blanking = Blanking(times)
        with PartnerClient(
            base_url=srv.url, api_key=srv.api_key, rate_limit=None, transport=blanking
        ) as faulty:
            report = store.sync(faulty, progress=False)
        assert report.ok, report.error
        assert report.kind == "incremental"
        assert blanking.blanked == times
        after = store.load()
        assert set(before.orders["order_id"]) <= set(after.orders["order_id"])
        if times == 1:
            assert report.new == 1
            assert created["id"] in set(after.orders["order_id"])
            assert_same_frames(after, served(srv))
            assert not any("returned" in w for w in report.warnings)
        else:
            short = [w for w in report.warnings if "the API returned none (twice)" in w]
            assert len(short) == 1, report.warnings
            assert "kept the stored ones as last seen" in short[0]


class BlankingPage(httpx.BaseTransport):
    """Passes requests to the sandbox, but answers the first request for a next page (one with
    a cursor) with an empty last page: a cache replaying another query's empty answer."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.blanked = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "cursor" in request.url.params and not self.blanked:
            self.blanked += 1
            return empty_page()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("fault", ["window", "page"])
def test_a_backfill_reads_again_an_empty_answer_instead_of_losing_orders(
    tmp_path: Path, fault: str
) -> None:
    """A first backfill (an empty store) where one answer is another query's empty one: a
    window's first page, or a next page of a window. It was taken as the end of the window, its
    orders lost with no warning (and older than the lookback, never read again). It is read
    once more: the store holds every order."""
    with SandboxServer(orders=3000, seed=12) as srv:
        transport: Any = Blanking(1) if fault == "window" else BlankingPage()
        # (two windows of some 1,250 orders: paged with a cursor)
        store, report = sync_through(srv, transport, tmp_path / "cache", concurrency=1)
        assert report.ok, report.error
        assert transport.blanked == 1
        assert not report.warnings
        assert_same_frames(store.load(), served(srv))


def test_a_backfill_whose_answers_all_hold_orders_asks_nothing_twice(tmp_path: Path) -> None:
    """The price of that is one request for a window that holds no order (or a listing that
    ends with an empty page): where every answer holds orders, and for the days before the first
    order (where none is expected), nothing is asked twice."""
    with SandboxServer(orders=3000, seed=12) as srv:
        recording = Recording()
        store, report = sync_through(srv, recording, tmp_path / "cache")
        assert report.ok, report.error
        windows = [q for q in recording.queries if "from" in q and "cursor" not in q]
        asked = Counter((q["from"], q["to"]) for q in windows)
        assert max(asked.values()) == 1  # every window held orders, or was the guard
        assert_same_frames(store.load(), served(srv))


class Deleting(httpx.BaseTransport):
    """Passes requests to the sandbox as if the orders ``gone`` had been deleted from the API:
    left out of every list, 404 by id."""

    def __init__(self, gone: set[int]) -> None:
        self.inner, self.gone, self.list_requests = httpx.HTTPTransport(), gone, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        path = request.url.path
        if path.endswith("/orders"):
            self.list_requests += 1
            body = json.loads(response.read())
            body["orders"] = [o for o in body["orders"] if o["id"] not in self.gone]
            return httpx.Response(response.status_code, json=body)
        if any(path.endswith(f"/orders/{g}") for g in self.gone):
            return httpx.Response(404, json={"status": "error", "message": "Record Not Found"})
        return response

    def close(self) -> None:
        self.inner.close()


def test_an_order_deleted_from_the_api_is_no_reason_to_read_a_window_again(
    tmp_path: Path,
) -> None:
    """A window one order short (deleted from the API) is a normal answer: no second read, no
    warning; the store keeps the order as last seen."""
    with SandboxServer(orders=3000, seed=12) as srv:
        store = OrderStore(tmp_path / "cache")
        with PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c:
            assert store.sync(c, progress=False).ok
        o = store.load().orders
        recent = o[o["created_at"] >= o["created_at"].max() - pd.Timedelta(days=20)]
        victim = int(recent.loc[recent["status"] == "PAID", "order_id"].iloc[0])
        plain = Deleting(set())
        with PartnerClient(
            base_url=srv.url, api_key=srv.api_key, rate_limit=None, transport=plain
        ) as c:
            assert store.sync(c, progress=False).ok
        deleting = Deleting({victim})
        with PartnerClient(
            base_url=srv.url, api_key=srv.api_key, rate_limit=None, transport=deleting
        ) as c:
            report = store.sync(c, progress=False)
        assert report.ok, report.error
        assert deleting.list_requests == plain.list_requests
        assert not any("returned" in w for w in report.warnings), report.warnings
        assert victim in set(store.load().orders["order_id"])


class CountingDeletes(Deleting):
    """:class:`Deleting`, counting the requests for one order by id."""

    def __init__(self, gone: set[int]) -> None:
        super().__init__(gone)
        self.by_id = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/orders"):
            self.by_id += 1
        return super().handle_request(request)


def test_open_orders_deleted_from_the_api_are_not_asked_for_one_by_one_on_every_sync(
    tmp_path: Path,
) -> None:
    """Twenty open orders created months ago are deleted from the API. The open-orders query no
    longer returns them and the ranges that cover them (which return other orders) neither: they
    are gone, not replayed away. Two incremental syncs ask for none of them by id."""
    with SandboxServer(orders=3000, seed=12) as srv:
        store = OrderStore(tmp_path / "cache")
        with PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c:
            assert store.sync(c, progress=False).ok
        o = store.load().orders
        old = o["created_at"] < o["created_at"].max() - pd.Timedelta(days=60)
        gone = set(o.loc[old & o["order_id"].isin(_open_ids(store.load())), "order_id"][:20])
        assert len(gone) == 20
        for _ in range(2):
            deleting = CountingDeletes({int(x) for x in gone})
            with PartnerClient(
                base_url=srv.url, api_key=srv.api_key, rate_limit=None, transport=deleting
            ) as c:
                report = store.sync(c, progress=False)
            assert report.ok, report.error
            assert deleting.by_id == 0
            # ... and says which it kept as last seen (the first ten, in order).
            (said,) = [w for w in report.warnings if "kept as last seen" in w]
            assert said.startswith("20 order(s) the store holds as open left the open")
            assert ", ".join(map(str, sorted(gone)[:10])) + " …" in said


class Echoing(httpx.BaseTransport):
    """Passes requests to the sandbox, but writes the request's API key into each listed
    order: as its partner, in a service's name and in a field the loader does not know (a
    server echoing what it was sent)."""

    def __init__(self, escaped: bool = False) -> None:
        self.inner = httpx.HTTPTransport()
        self.escaped = escaped  # the key written with a JSON escape per character

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/orders"):
            return response
        key = request.headers["Api-Key"]
        body = json.loads(response.read())
        mark = "KEY-MARK-7f3a"
        for order in body["orders"]:
            order["partner"] = f"partner {mark}"
            order["customNote"] = {"seen": mark}
            for line in order.get("breakdown", {}).get("services", []):
                line["name"] = f"{line.get('name')} ({mark})"
        written = "".join(f"\\u{ord(c):04x}" for c in key) if self.escaped else key
        content = json.dumps(body).replace(mark, written).encode()
        return httpx.Response(
            response.status_code, content=content, headers={"Content-Type": "application/json"}
        )

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("escaped", [False, True])
def test_a_key_echoed_in_order_data_reaches_no_file(tmp_path: Path, escaped: bool) -> None:
    """A server echoing the API key inside the orders, as it is or with every character a JSON
    escape (the same text once read): the response bodies are cleared of it as they are
    received, so no file of the store (nor the frames loaded from it) holds it."""
    key = "sk-live-ECHOED-0123456789"
    data = generate_dataset(300, 4)
    with SandboxServer(data, api_key=key) as srv:
        store, report = sync_through(srv, Echoing(escaped), tmp_path / "cache")
    assert report.ok, report.error
    frames = store.load()
    assert len(frames.orders) == 300
    assert set(frames.orders["partner"]) == {"partner ***"}
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert key not in frames.orders.to_csv() + frames.services.to_csv()


class BigId(httpx.BaseTransport):
    """Passes requests to the sandbox, but gives the first listed order an id past int64, in
    every answer that lists it."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.target: int | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/orders"):
            return response
        body = json.loads(response.read())
        if body["orders"] and self.target is None:
            self.target = body["orders"][0]["id"]
        for order in body["orders"]:
            if order["id"] == self.target:
                order["id"] = 2**64 + 5
        return httpx.Response(response.status_code, json=body)

    def close(self) -> None:
        self.inner.close()


def test_an_order_left_out_for_its_id_is_named_in_the_report(tmp_path: Path) -> None:
    """An order whose id cannot be read (past int64) cannot be stored: the report says an order
    was left out and why, not only that a problem was not tied to an order."""
    with SandboxServer(orders=300, seed=4) as srv:
        store, report = sync_through(srv, BigId(), tmp_path / "cache")
    assert report.ok, report.error
    assert len(store.load().orders) == 299
    left = [w for w in report.warnings if "left out of the store" in w]
    assert left == [
        "1 order(s) left out of the store: their id cannot be read ('18446744073709551621'); "
        "a later sync cannot read them either"
    ]


def test_an_old_open_order_that_gains_a_tag_is_learnt_at_the_next_sync(tmp_path: Path) -> None:
    """A store synced by two tags; an open order created long before the lookback window, which
    carried only the first tag, gains the second: the next incremental sync re-reads open
    orders per tag, so the tags table learns it, and the counts agree with count_by_tag."""
    pair = ["channel_web", "channel_store"]
    with (
        SandboxServer(orders=3000, seed=12) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "cache")
        assert store.sync(c, tags=pair, progress=False).ok
        newest = max(datetime.fromisoformat(o["createdAt"]) for o in srv.data.orders)
        candidates = [
            o
            for o in srv.data.orders
            if o["statusId"] in OPEN_IDS
            and datetime.fromisoformat(o["createdAt"]) < newest - timedelta(days=90)
            and set(o.get("tags") or ()) & set(pair) == {"channel_store"}
        ]
        assert candidates
        target = candidates[0]["id"]
        srv.update_order(target, tags=[*candidates[0]["tags"], "channel_web"])
        report = store.sync(c, tags=pair, progress=False)
    assert report.ok, report.error
    assert report.kind == "incremental"
    tags = store.load().tags
    assert set(tags.loc[tags["order_id"] == target, "tag"]) == {"channel_store", "channel_web"}
    assert all(check.ok for check in report.tag_checks), report.tag_checks


def test_an_order_without_a_readable_id_read_by_two_windows_is_named_once(tmp_path: Path) -> None:
    """A one-page listing whose last order (on the page's last day) has an id past int64: the
    first page and the window of its last day both read it; the store and the report name it
    once: one problem not tied to an order, one order left out."""
    orders = [mini(1000 + i, T0 + timedelta(days=i)) for i in range(5)]
    orders[4]["id"] = 2**64 + 5
    store = OrderStore(tmp_path / "cache")
    report = synced(store, orders)
    assert report.ok, report.error
    loose = store.load().problems
    assert loose["order_id"].isna().sum() == 0  # not stored: tied to no order
    assert [w for w in report.warnings if "not tied to an order" in w] == [
        "1 problem(s) not tied to an order (logged on ht_analytics.store, not stored)"
    ]
    assert [w for w in report.warnings if "left out of the store" in w] == [
        "1 order(s) left out of the store: their id cannot be read ('18446744073709551621'); "
        "a later sync cannot read them either"
    ]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_one_page_listing_on_one_day_takes_three_requests(
    tmp_path: Path, concurrency: int
) -> None:
    """Ten orders created the same day: the page is the whole listing; one window reads that day
    and after, one the days before: three requests at any concurrency (not the day to today
    split into windows)."""
    orders = [mini(1000 + i, T0 + timedelta(hours=i)) for i in range(10)]
    store = OrderStore(tmp_path / "cache")
    report = synced(store, orders, concurrency=concurrency)
    assert report.ok, report.error
    assert report.requests == 3
    assert stored_ids(store) == [1000 + i for i in range(10)]


def test_full_sync_after_the_first_order_was_deleted_is_quiet(tmp_path: Path) -> None:
    """The API's first order is deleted; full=True reads the days before the new first order
    (where the store still holds the deleted one): an empty answer there is expected, not a
    replay: no second read, no warning; the deleted order is kept as last seen."""
    with SandboxServer(orders=600, seed=5) as srv:
        store = OrderStore(tmp_path / "cache")
        with PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c:
            assert store.sync(c, progress=False).ok
        o = store.load().orders.sort_values(["created_at", "order_id"])
        first = int(o["order_id"].iloc[0])
        plain, deleting = Deleting(set()), Deleting({first})
        for transport in (plain, deleting):
            with PartnerClient(
                base_url=srv.url, api_key=srv.api_key, rate_limit=None, transport=transport
            ) as c:
                report = store.sync(c, full=True, progress=False)
            assert report.ok, report.error
        assert deleting.list_requests == plain.list_requests
        assert not any("returned none" in w for w in report.warnings), report.warnings
        assert first in set(store.load().orders["order_id"])


class EmptyHead(httpx.BaseTransport):
    """Answers the backfill's first request (all orders, no date) with an empty last page (a
    cache replaying an empty answer); passes the rest to the sandbox."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.blanked = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if request.url.path.endswith("/orders") and "from" not in params and not self.blanked:
            self.blanked += 1
            return empty_page()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_first_page_replayed_empty_does_not_leave_the_store_empty(
    tmp_path: Path, server: SandboxServer
) -> None:
    """The backfill's first page comes back empty (no order at all, it says): one window over
    every day asks again in another form, and the store equals what the API serves."""
    transport = EmptyHead()
    store, report = sync_through(server, transport, tmp_path / "cache")
    assert transport.blanked == 1
    assert report.ok, report.error
    assert_same_frames(store.load(), served(server))


def test_a_backfill_of_an_empty_api_takes_two_requests(tmp_path: Path) -> None:
    """No order at all: the first page, and the one window that confirms it; ok, nothing
    stored."""
    store = OrderStore(tmp_path / "cache")
    report = synced(store, [])
    assert report.ok, report.error
    assert report.requests == 2
    assert stored_ids(store) == []


def test_a_backfill_from_a_given_start_asks_no_empty_window_twice(tmp_path: Path) -> None:
    """From a start the user gives (years before the first order), the windows before the first
    order hold none: each is asked once (the re-read of an empty answer is for windows planned
    from the first order's day)."""
    with SandboxServer(orders=3000, seed=12) as srv:
        recording = Recording()
        store, report = sync_through(srv, recording, tmp_path / "cache", start="2015-01-01")
        assert report.ok, report.error
        windows = [q for q in recording.queries if "from" in q and "cursor" not in q]
        asked = Counter((q["from"], q["to"]) for q in windows)
        assert max(asked.values()) == 1
        assert len(store.load().orders) == 3000


def test_a_failed_reports_error_copies_and_pickles(tmp_path: Path) -> None:
    """The report of a failed sync holds the error (of a class that takes keyword arguments,
    such as PaginationError): it copies and pickles, message, attributes and notes kept."""
    import copy
    import pickle

    from ht_analytics import PaginationError

    error = PaginationError("page 3 repeated", page=3, cursor=17)
    error.add_note("the sync failed; the store is unchanged")
    report = SyncReport(
        ok=False,
        kind="backfill",
        scope=("all",),
        started_at="x",
        elapsed=0.0,
        error=str(error),
        exception=error,
    )
    for twin in (copy.deepcopy(report), pickle.loads(pickle.dumps(report))):
        assert isinstance(twin.exception, PaginationError)
        assert (twin.exception.page, twin.exception.cursor) == (3, 17)
        assert str(twin.exception) == str(error)
        assert twin.exception.__notes__ == error.__notes__


def test_a_full_sync_into_a_new_store_reads_again_an_empty_window(tmp_path: Path) -> None:
    """``full=True`` plans its windows from the first order's day as a backfill does: one
    answered with another query's empty answer is read once more, nothing lost."""
    with SandboxServer(orders=3000, seed=12) as srv:
        blanking = Blanking(1)
        store, report = sync_through(srv, blanking, tmp_path / "cache", full=True)
        assert report.ok, report.error
        assert blanking.blanked == 1
        assert_same_frames(store.load(), served(srv))
