"""What the store's reads check: an ``end`` instant is that instant (only a date covers its
day), a lost manifest is named on every read, and a file edited or replaced by hand (still valid
Parquet) is named rather than read with nulls, casts or missing rows."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from ht_analytics import OrderStore, PartnerClient
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
