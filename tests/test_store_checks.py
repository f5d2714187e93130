"""What the store's reads check: an ``end`` instant is that instant (only a date covers its
day), a lost manifest is named on every read, and a file edited or replaced by hand (still valid
Parquet) is named rather than read with nulls, casts or missing rows."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
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
