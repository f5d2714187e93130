"""What the store's reads check: an ``end`` instant is that instant (only a date covers its
day), a lost manifest is named on every read, and a file edited or replaced by hand (still valid
Parquet) is named rather than read with nulls, casts or missing rows."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ht_analytics import CacheError, OrderStore, PartnerClient
from ht_analytics._store_lock import StoreLock
from ht_analytics.cli import main
from ht_analytics.sandbox import SandboxServer

MIDNIGHT = "2025-03-10T00:00:00.000Z"
NOON = "2025-03-10T12:00:00.000Z"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of 400 orders; the first is created exactly at midnight UTC of 10 March 2025,
    the second at noon that day."""
    with SandboxServer(orders=400, seed=21) as srv:
        first, second = (int(o["id"]) for o in srv.data.orders[:2])
        srv.update_order(first, createdAt=MIDNIGHT)
        srv.update_order(second, createdAt=NOON)
        yield srv


@pytest.fixture(scope="module")
def pristine(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> OrderStore:
    """A store synced twice (a backfill, then a full sync: files of a second generation)."""
    store = OrderStore(tmp_path_factory.mktemp("pristine") / "store")
    with PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c:
        assert store.sync(c, progress=False).ok
        assert store.sync(c, progress=False, full=True).ok
    return store


def ids_of(server: SandboxServer) -> tuple[int, int]:
    """The ids of the order created at midnight and of the one created at noon."""
    first, second = (int(o["id"]) for o in server.data.orders[:2])
    return first, second


# -- end: an instant is that instant, a date its whole UTC day ---------------------------------

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    "end",
    [
        # 9 March 2025 is New York's switch to summer time (02:00 EST -> 03:00 EDT): 20:00
        # that evening is EDT (UTC-4), 00:00Z
        datetime(2025, 3, 9, 20, 0, tzinfo=NY),
        datetime(2025, 3, 10, 0, 0, tzinfo=UTC),
        datetime(2025, 3, 10),  # naive: UTC
        pd.Timestamp("2025-03-10", tz="UTC"),
        pd.Timestamp("2025-03-10 01:00", tz="Europe/Paris"),  # CET, UTC+1
        "2025-03-10T00:00:00Z",
        "2025-03-10T00:00:00",
        "2025-03-09T20:00:00-04:00",
    ],
    ids=str,
)
def test_an_end_instant_at_midnight_utc_is_that_instant(
    pristine: OrderStore, server: SandboxServer, end: Any
) -> None:
    """Each ``end`` here is the instant 2025-03-10T00:00:00Z: the order created exactly then is
    in (inclusive), the one created at noon that day is not, and every order loaded was created
    at or before the instant (the old code took any UTC midnight for a whole day). One
    microsecond later loads the same orders."""
    midnight, noon = ids_of(server)
    everything = pristine.load().orders
    instant = pd.Timestamp(MIDNIGHT)
    got = pristine.load(end=end).orders
    assert midnight in set(got["order_id"])
    assert noon not in set(got["order_id"])
    assert len(got) == int((everything["created_at"] <= instant).sum())
    assert got["created_at"].max() == instant
    later = pd.Timestamp(end) + pd.Timedelta(microseconds=1)
    assert set(pristine.load(end=later).orders["order_id"]) == set(got["order_id"])


@pytest.mark.parametrize("end", [date(2025, 3, 10), "2025-03-10", "03-10-2025", " 2025-03-10 "])
def test_an_end_date_covers_its_whole_utc_day(
    pristine: OrderStore, server: SandboxServer, end: Any
) -> None:
    """A date (a ``date``, ``YYYY-MM-DD``, ``MM-DD-YYYY``) as ``end`` includes every order
    created that UTC day: the noon order too, and nothing of the next day."""
    midnight, noon = ids_of(server)
    everything = pristine.load().orders
    next_day = pd.Timestamp("2025-03-11", tz="UTC")
    got = pristine.load(end=end).orders
    assert {midnight, noon} <= set(got["order_id"])
    assert len(got) == int((everything["created_at"] < next_day).sum())


def test_start_instant_and_date_at_midnight_agree(
    pristine: OrderStore, server: SandboxServer
) -> None:
    """``start`` is never widened: a date and the instant of its midnight select the same
    orders, the midnight order included, and start=end=that instant is that one order."""
    midnight, _ = ids_of(server)
    by_date = set(pristine.load(start="2025-03-10").orders["order_id"])
    by_instant = set(pristine.load(start=datetime(2025, 3, 9, 20, 0, tzinfo=NY)).orders["order_id"])
    assert by_date == by_instant
    assert midnight in by_date
    instant = datetime(2025, 3, 10, tzinfo=UTC)
    assert list(pristine.load(start=instant, end=instant).orders["order_id"]) == [midnight]


def copy_of(store: OrderStore, tmp_path: Path) -> OrderStore:
    """A copy of ``store`` to damage."""
    shutil.copytree(store.path, tmp_path / "store")
    return OrderStore(tmp_path / "store", lock_timeout=2)


# -- a lost manifest: every read names it, and the CLI still gives a way forward ----------------

LOST = r"no manifest\.json: it is damaged"


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_lost_manifest_is_named_by_every_read(pristine: OrderStore, tmp_path: Path) -> None:
    """manifest.json is gone, the files of two syncs remain: load (with and without bounds or
    as_of), snapshots, info and duckdb each raise the CacheError the sync raises (naming the
    manifest and `cache clear`) instead of showing an empty store, and nothing is deleted."""
    store = copy_of(pristine, tmp_path)
    (store.path / "manifest.json").unlink()
    before = files(store.path)
    reads = {
        "load": store.load,
        "load(start, end)": lambda: store.load(start="2025-01-01", end="2025-12-31"),
        "load(as_of)": lambda: store.load(as_of="2099-01-01"),
        "snapshots": store.snapshots,
        "info": store.info,
        "duckdb": store.duckdb,
    }
    for name, read in reads.items():
        with pytest.raises(CacheError, match=LOST) as caught:
            read()
        assert f"ht-analytics cache clear --cache {store.path}" in str(caught.value), name
    assert files(store.path) == before


def test_the_cli_names_a_lost_manifest_and_clears_the_store(
    pristine: OrderStore, tmp_path: Path
) -> None:
    """`cache info` on a store whose manifest is lost says so in one line (exit 1, no
    traceback); `cache clear --yes` clears it, after which the store is empty and new."""
    store = copy_of(pristine, tmp_path)
    (store.path / "manifest.json").unlink()
    runner = CliRunner()
    info = runner.invoke(main, ["cache", "info", "--cache", str(store.path)])
    assert info.exit_code == 1
    assert "no manifest.json: it is damaged" in info.output
    assert "Traceback" not in info.output
    cleared = runner.invoke(main, ["cache", "clear", "--cache", str(store.path), "--yes"])
    assert cleared.exit_code == 0, cleared.output
    assert OrderStore(store.path).info()["exists"] is False
    assert len(OrderStore(store.path).load().orders) == 0


def test_what_a_killed_first_backfill_leaves_reads_as_no_store(tmp_path: Path) -> None:
    """No manifest and generation-1 files only (a first backfill killed before its commit):
    not a lost manifest, just no store yet. Reads show an empty store."""
    part = tmp_path / "killed" / "orders" / "created_month=2025-01"
    part.mkdir(parents=True)
    (part / "part-000001-abcd1234.parquet").write_bytes(b"PAR1")
    store = OrderStore(tmp_path / "killed")
    assert len(store.load().orders) == 0
    assert len(store.snapshots()) == 0
    assert store.info()["exists"] is False


def test_a_reader_waits_for_a_clear_caught_half_way(pristine: OrderStore, tmp_path: Path) -> None:
    """clear() holds the lock and has deleted the manifest, not yet the files: a reader then
    waits for it to finish and sees no store (not a lost manifest)."""
    store = copy_of(pristine, tmp_path)
    with StoreLock(store.path, 5, "clear"):
        (store.path / "state.json").unlink()
        (store.path / "manifest.json").unlink()
        result: list[Any] = []
        reader = threading.Thread(target=lambda: result.append(store.info()["exists"]))
        reader.start()
        time.sleep(0.3)  # the reader is waiting for the lock
        assert result == []
        for table in ("orders", "services", "adjustments", "tags", "problems", "snapshots"):
            shutil.rmtree(store.path / table, ignore_errors=True)
    reader.join(5)
    assert result == [False]


# -- a file edited or replaced by hand (still valid Parquet) is named ----------------------------

MONTH = "created_month=2025-03"  # the month of the midnight and noon orders


def manifest_of(store: OrderStore) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((store.path / "manifest.json").read_text())
    return manifest


def month_file(store: OrderStore, table: str) -> Path:
    return store.path / manifest_of(store)["files"][table][MONTH][0]


def without_total(store: OrderStore) -> Path:
    path = month_file(store, "orders")
    pq.write_table(pq.read_table(path).drop_columns(["total_amount"]), path)
    return path


def total_as_float(store: OrderStore) -> Path:
    path = month_file(store, "orders")
    table = pq.read_table(path)
    at = table.schema.get_field_index("total_amount")
    pq.write_table(table.set_column(at, "total_amount", table[at].cast(pa.float64())), path)
    return path


def services_over_orders(store: OrderStore) -> Path:
    path = month_file(store, "orders")
    shutil.copyfile(month_file(store, "services"), path)
    return path


def one_row_less(store: OrderStore) -> Path:
    path = month_file(store, "orders")
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)
    return path


def truncated(store: OrderStore) -> Path:
    path = month_file(store, "orders")
    body = path.read_bytes()
    path.write_bytes(body[: len(body) // 2])
    return path


def snapshot_without_status(store: OrderStore) -> Path:
    path = store.path / manifest_of(store)["snapshots"][0][0]
    pq.write_table(pq.read_table(path).drop_columns(["status"]), path)
    return path


DAMAGE = {
    "without total_amount": (without_total, "missing: total_amount"),
    "total_amount as float": (total_as_float, "total_amount is double, not decimal128(18, 2)"),
    "services file over orders": (services_over_orders, "missing: token, client_id"),
    "one row less": (one_row_less, "row(s) where the manifest recorded"),
    "truncated": (truncated, "is not a readable Parquet file"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=str)
def test_an_orders_file_edited_by_hand_is_named_by_every_read(
    pristine: OrderStore, tmp_path: Path, damage: str
) -> None:
    """An orders file of March 2025 rewritten by hand as valid Parquet (a column dropped, a
    column of another type, the month's services file in its place, a row fewer) or cut short:
    load (all, or that month), info and duckdb each raise a CacheError naming the file, what is
    wrong and `cache clear`, instead of reading NA totals, NaT creation times, twice the ids or
    fewer orders than the manifest says."""
    store = copy_of(pristine, tmp_path)
    make, what = DAMAGE[damage]
    rel = make(store).relative_to(store.path).as_posix()
    reads = {
        "load": store.load,
        "load(that month)": lambda: store.load(start="2025-03-01", end="2025-03-31"),
        "load(as_of)": lambda: store.load(as_of="2099-01-01"),
        "info": store.info,
        "duckdb": store.duckdb,
    }
    for name, read in reads.items():
        with pytest.raises(CacheError, match="is damaged") as caught:
            read()
        message = str(caught.value)
        assert rel in message, name
        assert what in message, name
        assert f"ht-analytics cache clear --cache {store.path}" in message, name
    # Another month's orders are read without that file; so are the snapshots (one row per
    # order for each of the two syncs, which both read every order).
    assert len(store.load(start="2025-05-01", end="2025-05-31").orders) > 0
    assert len(store.snapshots()) == 2 * len(pristine.load().orders)


def test_the_exact_row_count_is_checked(pristine: OrderStore, tmp_path: Path) -> None:
    """The file of one row less: the message gives both counts (the manifest's, by hand)."""
    store = copy_of(pristine, tmp_path)
    recorded = manifest_of(store)["files"]["orders"][MONTH][1]
    one_row_less(store)
    with pytest.raises(CacheError) as caught:
        store.load()
    assert f"holds {recorded - 1:,} row(s) where the manifest recorded {recorded:,}" in str(
        caught.value
    )


def test_a_snapshot_file_edited_by_hand_is_named(pristine: OrderStore, tmp_path: Path) -> None:
    """A snapshot file without its status column: snapshots() and load(as_of=) name it (they
    read snapshots); load() without as_of reads no snapshot and still works."""
    store = copy_of(pristine, tmp_path)
    rel = snapshot_without_status(store).relative_to(store.path).as_posix()
    for read in (store.snapshots, lambda: store.load(as_of="2099-01-01"), store.info):
        with pytest.raises(CacheError, match="missing: status") as caught:
            read()
        assert rel in str(caught.value)
    assert len(store.load().orders) == len(pristine.load().orders)


@pytest.mark.parametrize("damage", ["without total_amount", "one row less"])
def test_a_sync_refuses_to_build_on_a_file_edited_by_hand(
    pristine: OrderStore, server: SandboxServer, tmp_path: Path, damage: str
) -> None:
    """An incremental sync (and a full one) over a damaged file raises the same CacheError and
    changes nothing: it would have rewritten the damage into a new, valid generation."""
    store = copy_of(pristine, tmp_path)
    rel = DAMAGE[damage][0](store).relative_to(store.path).as_posix()
    before = files(store.path)
    with PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c:
        for full in (False, True):
            with pytest.raises(CacheError, match="is damaged") as caught:
                store.sync(c, progress=False, full=full)
            assert rel in str(caught.value)
    assert files(store.path) == before


def test_a_file_rewritten_with_the_same_rows_and_columns_still_loads(
    pristine: OrderStore, tmp_path: Path
) -> None:
    """The check reads footers only: a file rewritten by hand with the same columns, types and
    rows (here, read and written back) is not taken for damage."""
    store = copy_of(pristine, tmp_path)
    path = month_file(store, "orders")
    pq.write_table(pq.read_table(path), path, compression="snappy")
    assert_frame_equal_sorted(store.load().orders, pristine.load().orders)


def assert_frame_equal_sorted(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.sort_values("order_id").reset_index(drop=True),
        b.sort_values("order_id").reset_index(drop=True),
    )
