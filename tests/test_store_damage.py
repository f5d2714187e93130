"""A store that is damaged, mistaken or asked odd questions: each gets one clear error, and
nothing is deleted on the way. (A lost file, a lost manifest, a folder that is not a store, dates
that would silently mean another day.)"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from ht_analytics import CacheError, OrderStore, PartnerClient
from ht_analytics.sandbox import SandboxServer


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(orders=600, seed=5) as srv:
        yield srv


@pytest.fixture
def store(server: SandboxServer, tmp_path: Path) -> OrderStore:
    """A store synced twice from the sandbox (so it has a second generation of files)."""
    store = OrderStore(tmp_path / "store")
    with PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c:
        assert store.sync(c, progress=False).ok
        assert store.sync(c, progress=False, full=True).ok
    return store


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def named(root: Path, table: str) -> Path:
    manifest = json.loads((root / "manifest.json").read_text())
    rel = (
        manifest["snapshots"][0][0]
        if table == "snapshots"
        else next(iter(manifest["files"][table].values()))[0]
    )
    return root / rel


@pytest.mark.parametrize("table", ["orders", "snapshots"])
def test_a_lost_data_file_is_named_with_the_way_forward(
    store: OrderStore, server: SandboxServer, table: str
) -> None:
    """A file the manifest names is gone: load, info, snapshots, duckdb and sync each raise a
    CacheError that names it and says to clear and sync again (not "try again" nor a raw
    FileNotFoundError)."""
    lost = named(store.path, table)
    lost.unlink()
    rel = lost.relative_to(store.path).as_posix()
    calls = [store.info, store.duckdb]
    calls += [store.snapshots] if table == "snapshots" else [store.load]
    for call in calls:
        with pytest.raises(CacheError, match="damaged") as caught:
            call()
        assert rel in str(caught.value)
        assert "cache clear" in str(caught.value)
    with (
        PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c,
        pytest.raises(CacheError, match="damaged") as caught,
    ):
        store.sync(c, progress=False)
    assert rel in str(caught.value)


def test_a_lost_manifest_stops_the_sync_before_it_deletes_the_history(
    store: OrderStore, server: SandboxServer
) -> None:
    """manifest.json is gone but the files of two syncs remain: the next sync would have taken
    them for leftovers of a killed sync and deleted them, snapshots included. It stops instead,
    and every file stays."""
    (store.path / "manifest.json").unlink()
    before = files(store.path)
    with (
        PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c,
        pytest.raises(CacheError, match=r"no manifest\.json: it is damaged"),
    ):
        store.sync(c, progress=False)
    assert files(store.path) == before


def test_clear_refuses_what_is_not_a_store(tmp_path: Path) -> None:
    """A folder with a manifest.json of some other program, or with no manifest and files of
    its own (here an orders/ folder): clear() raises and deletes nothing. An empty folder and a
    damaged store of ours (unreadable manifest) are cleared."""
    other = tmp_path / "other"
    (other / "orders").mkdir(parents=True)
    (other / "orders" / "mine.csv").write_text("a,b\n")
    (other / "manifest.json").write_text('{"name": "my project"}')
    before = files(other)
    with pytest.raises(CacheError, match="not an ht-analytics order store"):
        OrderStore(other).clear()
    (other / "manifest.json").unlink()
    with pytest.raises(CacheError, match="not an ht-analytics store"):
        OrderStore(other).clear()
    assert files(other) | {"manifest.json": b'{"name": "my project"}'} == before
    empty = tmp_path / "empty"
    empty.mkdir()
    OrderStore(empty).clear()


def test_a_damaged_manifest_can_still_be_cleared(store: OrderStore) -> None:
    """A truncated manifest of ours: loading says to clear; clear() does."""
    (store.path / "manifest.json").write_text('{"format": "ht-analytics-order-st')
    with pytest.raises(CacheError, match="cache clear"):
        store.load()
    store.clear()
    assert not (store.path / "orders").exists()
    assert store.info()["exists"] is False


@pytest.mark.parametrize(
    "bounds",
    [
        {"end": "2026-02"},
        {"end": "2026"},
        {"start": 2026},
        {"start": ""},
        {"start": "garbage"},
        {"as_of": "soon"},
        {"as_of": 1.5},
    ],
)
def test_dates_that_would_mean_another_day_are_refused(store: OrderStore, bounds: dict) -> None:
    """``end="2026-02"`` would have meant February 1 (dropping the rest of the month), and
    ``start=2026`` 2026 nanoseconds after 1970: a clear ValueError instead."""
    with pytest.raises(ValueError, match="is not a date or a timestamp"):
        store.load(**bounds)


def test_start_after_end_is_refused(store: OrderStore) -> None:
    with pytest.raises(ValueError, match="is after end"):
        store.load(start="2026-03-01", end="2026-02-01")


def test_as_of_a_date_means_the_end_of_that_day(store: OrderStore) -> None:
    """Both syncs ran today: as_of today's date sees every order (what the store knew by the
    end of the day), as_of today's midnight none; MM-DD-YYYY and date objects agree."""
    today = datetime.now(UTC).date()
    everything = len(store.load().orders)
    assert len(store.load(as_of=today).orders) == everything
    assert len(store.load(as_of=today.isoformat()).orders) == everything
    assert len(store.load(as_of=today.strftime("%m-%d-%Y")).orders) == everything
    midnight = datetime.combine(today, datetime.min.time(), UTC)
    assert len(store.load(as_of=midnight).orders) == 0
    assert len(store.load(as_of=date(2000, 1, 1)).orders) == 0


def test_a_copy_of_a_store_elsewhere_still_loads(store: OrderStore, tmp_path: Path) -> None:
    """The checks above name files relative to the store: a store copied elsewhere loads."""
    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)
    assert len(OrderStore(copy).load().orders) == len(store.load().orders)


def test_a_store_path_that_cannot_be_a_directory_says_how_to_choose_another(
    server: SandboxServer, tmp_path: Path
) -> None:
    """The store path lies under a file: sync raises a CacheError naming the path and the ways
    to choose another (not a bare 'Not a directory')."""
    (tmp_path / "afile").write_text("x")
    store = OrderStore(tmp_path / "afile" / "store")
    with (
        PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c,
        pytest.raises(CacheError, match="cannot create or write the store at") as caught,
    ):
        store.sync(c, progress=False)
    assert "--cache, HT_CACHE_DIR or OrderStore(path=...)" in str(caught.value)


def test_what_a_killed_first_backfill_leaves_is_cleared_and_synced_over(
    server: SandboxServer, tmp_path: Path
) -> None:
    """No manifest, a generation-1 month file and a write's temporary file (a first backfill
    killed mid-way): clear() takes the folder for a store, and a sync removes them and runs."""
    root = tmp_path / "killed"
    part = root / "orders" / "created_month=2025-01"
    part.mkdir(parents=True)
    (part / "part-000001-abcd1234.parquet").write_bytes(b"PAR1")
    (part / ".tmp-0a1b2c3d4e5f-part-000001-ffff0000.parquet").write_bytes(b"PA")
    OrderStore(root).clear()
    assert not (root / "orders").exists()
    part.mkdir(parents=True)
    (part / "part-000001-abcd1234.parquet").write_bytes(b"PAR1")
    (part / ".tmp-0a1b2c3d4e5f-part-000001-ffff0000.parquet").write_bytes(b"PA")
    with PartnerClient(base_url=server.url, api_key=server.api_key, rate_limit=None) as c:
        assert OrderStore(root).sync(c, progress=False).ok
    assert not (part / "part-000001-abcd1234.parquet").exists()


def test_as_of_bounds_the_creation_time_known_then(tmp_path: Path) -> None:
    """An order's creation time moves to another month between two syncs. As of a moment
    between them, the order shows its old creation time, and start/end select it by that time
    (its old month is read even though its files moved)."""
    import time

    with (
        SandboxServer(orders=300, seed=9) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as c,
    ):
        store = OrderStore(tmp_path / "moved")
        assert store.sync(c, progress=False).ok
        before = store.load().orders.set_index("order_id")["created_at"]
        target = int(before.index[0])
        old = before.loc[target]
        between = datetime.now(UTC)
        time.sleep(0.01)
        new = old + pd.Timedelta(days=62)
        srv.update_order(target, createdAt=new.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
        assert store.sync(c, progress=False, full=True).ok
    assert store.load().orders.set_index("order_id").loc[target, "created_at"] == new
    day = old.strftime("%Y-%m-%d")
    then = store.load(start=day, end=day, as_of=between).orders.set_index("order_id")
    assert target in then.index
    assert then.loc[target, "created_at"] == old
    now = store.load(start=day, end=day).orders
    assert target not in set(now["order_id"])


@pytest.mark.parametrize("manifest", ['["not", "a", "store"]', "{// comments\n}", ""])
def test_clear_refuses_a_folder_whose_manifest_is_unreadable_and_holds_other_files(
    tmp_path: Path, manifest: str
) -> None:
    """A manifest.json that is not a JSON object (or not JSON) beside files of the user's own:
    clear() deletes nothing."""
    other = tmp_path / "other"
    (other / "orders").mkdir(parents=True)
    (other / "orders" / "q3_orders.xlsx").write_text("mine")
    (other / "README.md").write_text("mine")
    (other / "manifest.json").write_text(manifest)
    before = files(other)
    with pytest.raises(CacheError, match="cannot be read, and it holds"):
        OrderStore(other).clear()
    assert files(other) == before
