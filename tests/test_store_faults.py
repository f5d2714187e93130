"""OrderStore.sync under fault schedules: 429s with Retry-After, 5xx, dropped connections, truncated
and malformed bodies, alone and mixed. A sync either ends with the store equal to the sandbox's own
records, field by field, or fails cleanly with the previous store untouched, byte for byte; no
error body, API key or client token ever reaches a file of the store."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.csv as csv
import pyarrow.parquet as pq
import pytest

from conftest import TABLE_KEYS, empty_page
from ht_analytics import (
    AuthenticationError,
    HTError,
    OrderFrames,
    OrderStatus,
    OrderStore,
    PartnerClient,
    load_orders,
)
from ht_analytics.sandbox import FaultConfig, SandboxServer, generate_dataset
from ht_analytics.sandbox._generate import new_order

SECRET_KEY = "sk-test-SECRET-123"
N_ORDERS = 2_000
END = date(2026, 11, 1)
"""The sandbox's data ends on 2026-11-01 (its fixed ``now``). Syncing up to a fixed end keeps every
request's URL, and so the sandbox's fault draws, the same whatever the date of the run."""

KEYS = TABLE_KEYS
ERROR_TEXTS = (
    "Too many requests",
    "slow down and retry later",
    "Internal server error",
    "Bad Gateway",
    "Service Temporarily Unavailable",
    "nginx",
    "<html",
    ")]}'",
)
"""Text of the sandbox's error bodies and malformed pages (see ``sandbox._faults``)."""
FAMILIES = {
    "rate_limited": ("rate_limited",),
    "error": ("error_500", "error_502", "error_503"),
    "drop": ("drop",),
    "truncate": ("truncate", "truncate_json"),
    "malformed": ("malformed",),
}
RATE_FIELDS = {
    "rate_limited": "rate_limited_rate",
    "error": "error_rate",
    "drop": "drop_rate",
    "truncate": "truncate_rate",
    "malformed": "malformed_rate",
}
LOCK_FILES = {".lock", ".lock.holder"}


# -- the sandbox's side ---------------------------------------------------------------------------


def created(order: dict[str, Any]) -> datetime:
    """``createdAt`` of a sandbox record as an aware datetime."""
    return datetime.fromisoformat(order["createdAt"]).astimezone(UTC)


def is_open(order: dict[str, Any]) -> bool:
    """True when the record's status is not terminal."""
    return not OrderStatus(order["statusId"]).is_terminal


def expected_frames(srv: SandboxServer) -> OrderFrames:
    """The sandbox's own records as it serves them (one page of all its orders, in its flavour, as
    its encoder writes pages), loaded by ``load_orders`` without the network or the store."""
    with srv.sandbox.lock:
        page = srv.sandbox.encoder.page_body(list(srv.data.orders), None)
    return load_orders([page])


def change_world(
    srv: SandboxServer, rng: random.Random, *, departed: int = 6, new: int = 8
) -> list[int]:
    """Change the served orders as time would, within what an incremental sync can see: open orders
    created before the look-back window reach a terminal status (``departed`` of them) or stay open
    with other values; recent orders change flags; ``new`` orders arrive. Returns the changed ids."""
    orders = srv.data.orders
    cut = max(created(o) for o in orders) - timedelta(days=20)
    old_open = sorted((o for o in orders if is_open(o) and created(o) < cut), key=lambda o: o["id"])
    recent = [o for o in orders if created(o) >= cut]
    picked = rng.sample(old_open, departed + 3)
    changed = []
    for i, order in enumerate(picked):
        if i < departed:
            done = ("2026-10-31T12:00:00.000Z", None)[i % 2]
            status = (OrderStatus.COMPLETED, OrderStatus.CANCELLED)[i % 2]
            srv.update_order(order["id"], statusId=int(status), completedAt=done, atRisk=False)
        else:  # still open, other values
            srv.update_order(
                order["id"], statusId=int(OrderStatus.LATE_TECH), atRisk=True, hasAuthError=True
            )
        changed.append(order["id"])
    for order in rng.sample(recent, 5):
        srv.update_order(
            order["id"], atRisk=not order["atRisk"], progressStatusId=rng.randint(1, 6)
        )
        changed.append(order["id"])
    clients = sorted(srv.data.clients)
    skus = sorted(s["id"] for s in srv.data.skus)
    for _ in range(new):
        with srv.sandbox.lock:
            order = new_order(
                srv.data, client_id=rng.choice(clients), sku_ids=rng.sample(skus, rng.randint(1, 3))
            )
            srv.sandbox.order_changed(order)
        changed.append(order["id"])
    return changed


# -- the store's side -----------------------------------------------------------------------------


def sorted_table(frames: OrderFrames, name: str) -> pd.DataFrame:
    """One table sorted by its key (row order is not part of the comparison)."""
    frame: pd.DataFrame = getattr(frames, name)
    return frame.sort_values(KEYS[name], kind="stable").reset_index(drop=True)


def assert_same_frames(got: OrderFrames, want: OrderFrames) -> None:
    """All five tables equal: columns, dtypes and every value."""
    for name in KEYS:
        pd.testing.assert_frame_equal(
            sorted_table(got, name), sorted_table(want, name), check_exact=True, obj=name
        )


def assert_store_equals_sandbox(store: OrderStore, srv: SandboxServer) -> OrderFrames:
    """The store holds exactly the sandbox's records, and each order's net total is the generator's
    own integer cents."""
    got = store.load()
    got.check_schema()
    assert got.orders["order_id"].is_unique
    assert_same_frames(got, expected_frames(srv))
    totals = dict(zip(got.orders["order_id"], got.orders["total_amount"], strict=True))
    assert totals == {k: Decimal(v) / 100 for k, v in srv.data.net_cents.items()}
    assert sum(totals.values()) == Decimal(sum(srv.data.net_cents.values())) / 100
    return got


def files_of(path: Path) -> dict[str, bytes]:
    """Every file under the store directory (lock files aside), by relative path, with its bytes."""
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name not in LOCK_FILES
    }


def readable_text(path: Path) -> str:
    """What every file says once decoded: JSON files as they are, Parquet files' values and
    metadata (compression would hide a string from a byte search)."""
    parts = []
    for p in sorted(path.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            parquet = pq.ParquetFile(p)
            parts.append(repr(parquet.metadata.metadata))
            out = io.BytesIO()
            csv.write_csv(parquet.read(), out)
            parts.append(out.getvalue().decode())
        else:
            parts.append(p.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def assert_nothing_leaked(path: Path, srv: SandboxServer) -> None:
    """No file holds the API key, a client's authentication token or an error body's text: neither
    in its raw bytes nor in its decoded values."""
    raw = b"\n".join(files_of(path).values()) + b"".join(
        (path / name).read_bytes() for name in LOCK_FILES if (path / name).is_file()
    )
    text = readable_text(path)
    assert SECRET_KEY.encode() not in raw
    assert SECRET_KEY not in text
    tokens = {c["authentication_token"] for c in srv.data.clients.values()}
    assert tokens
    for blob in (raw.decode("latin-1"), text):
        for run in re.findall(r"[0-9a-fA-F]{40,}", blob):
            windows = {run[i : i + 40].lower() for i in range(len(run) - 39)}
            assert not windows & tokens, "a client's authentication_token is in the store"
    for needle in ERROR_TEXTS:
        assert needle.encode() not in raw, needle
        assert needle not in text, needle


def assert_only_live_files(path: Path) -> None:
    """After a finished sync: the manifest, the state and the Parquet files the manifest names;
    nothing else (no temporary file, no orphan)."""
    manifest = json.loads((path / "manifest.json").read_bytes())
    named = {rel for table in manifest["files"].values() for rel, _ in table.values()}
    named |= {rel for rel, _ in manifest["snapshots"]}
    assert set(files_of(path)) == named | {"manifest.json", "state.json"}


def faults_seen(srv: SandboxServer) -> dict[str, int]:
    """Faults the sandbox injected so far, by family."""
    counts = srv.stats.snapshot()["faults"]
    assert isinstance(counts, dict)
    return {family: sum(counts.get(k, 0) for k in kinds) for family, kinds in FAMILIES.items()}


@contextmanager
def client_of(srv: SandboxServer, **kwargs: Any) -> Iterator[PartnerClient]:
    """A client of ``srv`` without pacing (retries still follow ``max_retries``)."""
    kwargs.setdefault("max_retries", 15)
    with PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None, **kwargs) as c:
        yield c


# -- syncs that get through -----------------------------------------------------------------------

RATE = 0.35
MIXED = dict.fromkeys(FAMILIES, 0.08)
SCHEDULES = [
    pytest.param({"rate_limited": RATE}, 2, "http-date", "camel", 4, id="429-http-date-seed2"),
    pytest.param({"rate_limited": RATE}, 5, "seconds", "camel", 4, id="429-seconds-seed5"),
    pytest.param({"error": RATE}, 3, "seconds", "camel", 4, id="5xx-seed3"),
    pytest.param({"error": RATE}, 4, "seconds", "camel", 4, id="5xx-seed4"),
    pytest.param({"drop": RATE}, 6, "seconds", "camel", 4, id="drop-seed6"),
    pytest.param({"truncate": RATE}, 7, "seconds", "camel", 4, id="truncate-seed7"),
    pytest.param({"malformed": RATE}, 8, "seconds", "camel", 4, id="malformed-seed8"),
    pytest.param(MIXED, 2, "zero", "mixed", 4, id="mixed-seed2-mixed-flavour"),
    pytest.param(MIXED, 6, "seconds", "camel", 8, id="mixed-seed6-8-threads"),
    pytest.param(MIXED, 18, "http-date", "camel", 1, id="mixed-seed18-1-thread"),
]
"""Fault seeds chosen so that both syncs of each schedule meet faults of every family in it (the
draws are fixed, see ``END``); the test checks that they did."""


@pytest.mark.parametrize(("rates", "seed", "retry_after", "flavour", "concurrency"), SCHEDULES)
def test_backfill_then_incremental_through_faults(
    tmp_path: Path,
    rates: dict[str, float],
    seed: int,
    retry_after: str,
    flavour: str,
    concurrency: int,
) -> None:
    """A backfill, then an incremental sync after open orders closed, others changed and new ones
    arrived, both through the fault schedule (windows paged by ``concurrency`` threads): each ends
    with the store equal to the sandbox's records (all five tables, dtypes, per-order net cents),
    only live files on disk, nothing secret or erroneous in them, and every injected fault paid
    for by exactly one retry."""
    faults = FaultConfig(
        seed=seed,
        retry_after_style=retry_after,  # type: ignore[arg-type]
        **{RATE_FIELDS[family]: rate for family, rate in rates.items()},  # type: ignore[arg-type]
    )
    path = tmp_path / "cache"
    with (
        SandboxServer(
            orders=N_ORDERS,
            seed=10 + seed,
            api_key=SECRET_KEY,
            faults=faults,
            flavour=flavour,  # type: ignore[arg-type]
        ) as srv,
        client_of(srv) as client,
    ):
        store = OrderStore(path)
        first = store.sync(client, end=END, concurrency=concurrency, progress=False)
        assert first.ok, first.error
        assert first.kind == "backfill"
        assert_store_equals_sandbox(store, srv)
        after_backfill = sum(faults_seen(srv).values())

        changed = change_world(srv, random.Random(seed))
        second = store.sync(client, end=END, concurrency=concurrency, progress=False)
        assert second.ok, second.error
        assert second.kind == "incremental"
        got = assert_store_equals_sandbox(store, srv)
        assert set(changed) <= set(got.orders["order_id"])

        seen = faults_seen(srv)
        for family in rates:
            assert seen[family] > 0, f"no {family} fault was injected: the schedule tests nothing"
        assert after_backfill > 0
        assert sum(seen.values()) > after_backfill
        # Each fault fails one attempt of an idempotent request, which is then tried again.
        assert first.retries + second.retries == sum(seen.values())
        assert_only_live_files(path)
        assert_nothing_leaked(path, srv)


def test_tag_scoped_syncs_through_faults_hold_exactly_the_tagged_orders(tmp_path: Path) -> None:
    """Syncs scoped to one tag, through mixed faults: after the backfill and after an incremental
    sync in which tagged open orders closed (so the sync re-reads them), tagged orders changed and
    new tagged orders arrived, the store holds exactly the orders carrying the tag, equal to the
    sandbox's records, with their memberships in ``tags``, and its counts match ``count_by_tag``."""
    tag = "channel_phone"
    faults = FaultConfig(seed=3, **dict.fromkeys(RATE_FIELDS.values(), 0.08))  # type: ignore[arg-type]
    path = tmp_path / "cache"
    with (
        SandboxServer(orders=N_ORDERS, seed=12, api_key=SECRET_KEY, faults=faults) as srv,
        client_of(srv) as client,
    ):

        def scoped() -> OrderFrames:
            tagged = [o for o in srv.data.orders if tag in o["tags"]]
            page = {
                "status": "success",
                "orders": [{**srv.sandbox.encoder.payload(o), "tags": [tag]} for o in tagged],
                "next_cursor": None,
            }
            return load_orders([json.dumps(page).encode()])

        store = OrderStore(path)
        first = store.sync(client, tags=tag, end=END, progress=False)
        assert first.ok, first.error
        assert_same_frames(store.load(), scoped())

        rng = random.Random(5)
        cut = max(created(o) for o in srv.data.orders) - timedelta(days=20)
        old_open = [o for o in srv.data.orders if tag in o["tags"] and is_open(o)]
        old_open = [o for o in old_open if created(o) < cut]
        for order in rng.sample(old_open, 3):
            srv.update_order(order["id"], statusId=int(OrderStatus.COMPLETED), atRisk=False)
        recent = [o for o in srv.data.orders if tag in o["tags"] and created(o) >= cut]
        for order in rng.sample(recent, 2):
            srv.update_order(order["id"], atRisk=not order["atRisk"])
        clients = sorted(srv.data.clients)
        sku = min(s["id"] for s in srv.data.skus)
        for tags in ([tag], [tag, "store_0412"], []):
            with srv.sandbox.lock:
                made = new_order(srv.data, client_id=rng.choice(clients), sku_ids=[sku], tags=tags)
                srv.sandbox.order_changed(made)

        second = store.sync(client, tags=tag, end=END, progress=False)
        assert second.ok, second.error
        assert second.kind == "incremental"
        got = store.load()
        extra = set(got.orders["order_id"]) - {o["id"] for o in srv.data.orders if tag in o["tags"]}
        assert not extra, f"{len(extra)} order(s) without the tag {tag!r} were written to the store"
        assert_same_frames(got, scoped())
        totals = dict(zip(got.orders["order_id"], got.orders["total_amount"], strict=True))
        assert totals == {i: Decimal(srv.data.net_cents[i]) / 100 for i in totals}
        assert all(check.ok for check in second.tag_checks), second.tag_checks
        assert sum(faults_seen(srv).values()) > 0
        assert_only_live_files(path)
        assert_nothing_leaked(path, srv)


def test_incremental_sync_without_end_through_mixed_faults(tmp_path: Path) -> None:
    """The default end (today, after the sandbox's data) with mixed faults and a client token in
    play: a created client's token is never written, and the store still equals the records."""
    faults = FaultConfig(
        seed=7,
        rate_limited_rate=0.08,
        error_rate=0.08,
        drop_rate=0.08,
        truncate_rate=0.08,
        malformed_rate=0.08,
        paths=("/api/partners/orders",),  # creating the client below is not faulted
    )
    path = tmp_path / "cache"
    with (
        SandboxServer(orders=N_ORDERS, seed=21, api_key=SECRET_KEY, faults=faults) as srv,
        client_of(srv) as client,
    ):
        store = OrderStore(path)
        assert store.sync(client, progress=False).ok
        assert_store_equals_sandbox(store, srv)
        made = client.create_client(email="kim@example.com", first_name="Kim")
        assert made.authentication_token is not None
        token = made.authentication_token.reveal()
        assert srv.data.clients[made.id]["authentication_token"] == token
        change_world(srv, random.Random(7), departed=3, new=4)
        report = store.sync(client, progress=False)
        assert report.ok, report.error
        assert report.kind == "incremental"
        assert_store_equals_sandbox(store, srv)
        assert sum(faults_seen(srv).values()) > 0
        assert_only_live_files(path)
        assert_nothing_leaked(path, srv)
        assert token not in readable_text(path)


# -- syncs that run out of retries ----------------------------------------------------------------


def assert_failed_cleanly(report: Any, *phrases: str) -> None:
    """``ok`` is False and ``error`` says what failed (each phrase appears), without the key."""
    assert report.ok is False
    assert report.error, "a failed sync must say why"
    for phrase in phrases:
        assert phrase in report.error, (phrase, report.error)
    assert SECRET_KEY not in report.error
    assert SECRET_KEY not in repr(report)
    with pytest.raises(HTError) as raised:
        report.raise_for_error()
    assert raised.value is report.exception  # the error the sync met, of its own class
    assert str(raised.value) == report.error
    assert any("store at" in note and "is unchanged" in note for note in raised.value.__notes__)


def test_backfill_that_runs_out_of_retries_writes_nothing(tmp_path: Path) -> None:
    """Every request answered 5xx: the first sync fails after its retries, says so, and leaves an
    empty store that loads as empty, typed frames; no Parquet file, manifest or state is left. A
    later sync against a healthy server backfills it."""
    path = tmp_path / "cache"
    with (
        SandboxServer(
            orders=500, seed=5, api_key=SECRET_KEY, faults=FaultConfig(error_rate=1.0)
        ) as srv,
        client_of(srv, max_retries=2) as client,
    ):
        report = OrderStore(path).sync(client, end=END, progress=False)
        assert_failed_cleanly(report, "HTTP 50", "/api/partners/orders")
        assert faults_seen(srv)["error"] == 3  # one request, three attempts
    assert files_of(path) == {}
    frames = OrderStore(path).load()
    frames.check_schema()
    assert len(frames.orders) == 0
    assert all(len(getattr(frames, name)) == 0 for name in KEYS)
    with SandboxServer(srv.data, api_key=SECRET_KEY) as clean, client_of(clean) as client:
        store = OrderStore(path)
        report = store.sync(client, end=END, progress=False)
        assert report.ok, report.error
        assert report.kind == "backfill"
        assert_store_equals_sandbox(store, clean)


@pytest.fixture(scope="module")
def synced_then_changed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Any, Path, dict[str, bytes], OrderFrames]:
    """A store backfilled cleanly from a sandbox whose records then changed (closed, changed and
    new orders): the data as it is now, the store's directory, its files and its frames."""
    path = tmp_path_factory.mktemp("template") / "cache"
    data = generate_dataset(N_ORDERS, seed=31)
    with SandboxServer(data, api_key=SECRET_KEY) as clean, client_of(clean) as client:
        store = OrderStore(path)
        assert store.sync(client, end=END, progress=False).ok
        assert_store_equals_sandbox(store, clean)
        change_world(clean, random.Random(3))
    return data, path, files_of(path), store.load()


FAILING = [
    pytest.param(FaultConfig(seed=1, rate_limited_rate=1.0), 3, ("rate limited",), id="429"),
    pytest.param(FaultConfig(seed=1, error_rate=1.0), 3, ("HTTP 50",), id="5xx"),
    pytest.param(FaultConfig(seed=1, drop_rate=1.0), 3, ("network error",), id="drop"),
    pytest.param(FaultConfig(seed=1, truncate_rate=1.0), 3, (), id="truncate"),
    pytest.param(FaultConfig(seed=1, malformed_rate=1.0), 3, ("not valid JSON",), id="malformed"),
    pytest.param(
        FaultConfig(
            seed=2,
            rate_limited_rate=0.1,
            error_rate=0.1,
            drop_rate=0.1,
            truncate_rate=0.1,
            malformed_rate=0.1,
        ),
        0,
        (),
        id="mixed-no-retries",
    ),
]


@pytest.mark.parametrize(("faults", "max_retries", "phrases"), FAILING)
def test_incremental_that_runs_out_of_retries_leaves_the_store_as_it_was(
    tmp_path: Path,
    synced_then_changed: tuple[Any, Path, dict[str, bytes], OrderFrames],
    faults: FaultConfig,
    max_retries: int,
    phrases: tuple[str, ...],
) -> None:
    """A store synced cleanly, the world changes, then an incremental sync meets faults it cannot
    get through: ok is False with a clear error naming the request, and every file of the store
    (manifest included) is byte-identical and loads as before."""
    data, template, before_files, before = synced_then_changed
    path = tmp_path / "cache"
    shutil.copytree(template, path)
    assert files_of(path) == before_files
    with (
        SandboxServer(data, api_key=SECRET_KEY, faults=faults) as faulty,
        client_of(faulty, max_retries=max_retries) as client,
    ):
        store = OrderStore(path)
        report = store.sync(client, end=END, progress=False)
        assert_failed_cleanly(report, "/api/partners/orders", *phrases)
        assert report.kind == "incremental"
        assert sum(faults_seen(faulty).values()) > 0
        assert_nothing_leaked(path, faulty)
    assert (path / "manifest.json").read_bytes() == before_files["manifest.json"]
    assert files_of(path) == before_files
    assert_same_frames(store.load(), before)


def test_failure_after_pages_were_read_writes_nothing(tmp_path: Path) -> None:
    """Only get_order fails (every attempt 5xx): the incremental sync has already paged its window
    and the open orders when the one order that left the open statuses cannot be re-read. Nothing of
    what it read is written; the store is byte-identical; the error names the order's URL."""
    path = tmp_path / "cache"
    only_get = FaultConfig(seed=4, error_rate=1.0, paths=("/api/partners/orders/",))
    with (
        SandboxServer(orders=N_ORDERS, seed=41, api_key=SECRET_KEY, faults=only_get) as srv,
        client_of(srv, max_retries=3) as client,
    ):
        store = OrderStore(path)
        assert store.sync(client, end=END, progress=False).ok
        assert faults_seen(srv)["error"] == 0  # a backfill pages; it never gets one order
        assert_store_equals_sandbox(store, srv)
        before_files = files_of(path)
        before = store.load()
        changed = change_world(srv, random.Random(4), departed=1, new=5)
        requests_before = srv.stats.requests
        report = store.sync(client, end=END, progress=False)
        assert_failed_cleanly(report, "HTTP 50", f"/api/partners/orders/{changed[0]}")
        assert faults_seen(srv)["error"] == 4  # one get_order, four attempts
        assert srv.stats.requests - requests_before > 4  # pages were read before it failed
        assert files_of(path) == before_files
        assert_same_frames(store.load(), before)
        assert_nothing_leaked(path, srv)
        with SandboxServer(srv.data, api_key=SECRET_KEY) as clean, client_of(clean) as good:
            retried = store.sync(good, end=END, progress=False)  # the next sync catches up
        assert retried.ok, retried.error
        assert retried.kind == "incremental"
        assert_store_equals_sandbox(store, srv)
        assert_only_live_files(path)


class BlankRanges:
    """An httpx transport in front of the sandbox that answers every date-range query (``from``,
    no status filter, no cursor) after the first with an empty last page: the incremental
    window gets through, the re-reads of open orders that left the open statuses do not (a
    cache or proxy replaying an empty answer)."""

    def __init__(self) -> None:
        import httpx

        self.inner = httpx.HTTPTransport()
        self.ranges = 0
        self.blanked = 0

    def handle_request(self, request: Any) -> Any:
        params = request.url.params
        if "from" in params and "status[]" not in params and "cursor" not in params:
            self.ranges += 1
            if self.ranges > 1:
                self.blanked += 1
                return empty_page()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_open_orders_a_range_should_have_returned_are_read_by_id(tmp_path: Path) -> None:
    """Six open orders created weeks before the look-back window reach a terminal status; the
    ranges that re-read them come back empty (every time). Each is then read by id: the store
    equals the sandbox, no order stays open in the store that the API has closed."""
    data = generate_dataset(N_ORDERS, seed=31)
    with SandboxServer(data, api_key=SECRET_KEY) as srv:
        store = OrderStore(tmp_path / "cache")
        with client_of(srv) as client:
            assert store.sync(client, end=END, progress=False).ok
        change_world(srv, random.Random(3), departed=6, new=0)
        blank = BlankRanges()
        with client_of(srv, transport=blank) as client:
            report = store.sync(client, end=END, concurrency=1, progress=False)
        assert report.ok, report.error
        assert blank.blanked >= 1
        assert_store_equals_sandbox(store, srv)


def test_a_sync_refused_by_the_api_says_the_store_still_holds_its_orders(tmp_path: Path) -> None:
    """A store of 300 orders, then a sync with a wrong key: the report says the 300 orders are
    still in the store (not 0), and ``raise_for_error`` raises the AuthenticationError itself,
    so that a script's ``except AuthenticationError`` catches it."""
    path = tmp_path / "cache"
    with SandboxServer(orders=300, seed=2, api_key=SECRET_KEY) as srv:
        with client_of(srv) as client:
            assert OrderStore(path).sync(client, end=END, progress=False).ok
        with PartnerClient(api_key="not-the-key-0123456789", base_url=srv.url) as wrong:
            report = OrderStore(path).sync(wrong, end=END, progress=False)
    assert report.ok is False
    assert report.orders_in_store == 300
    assert "300" in report._repr_html_()
    with pytest.raises(AuthenticationError):
        report.raise_for_error()
    assert len(OrderStore(path).load().orders) == 300
