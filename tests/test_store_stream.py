"""A first backfill writes each month while its other windows are still being read
(``ht_analytics._store_stream.MonthStream``): it gives the same store as the commit writing
everything, falls back to that when the windows do not keep to their months, and a backfill that
fails part-way leaves no file behind."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

import ht_analytics._store as store_module
from ht_analytics import OrderStore, PartnerClient, PayloadError
from ht_analytics._loader import load_tables
from ht_analytics._store_stream import MonthStream
from ht_analytics._store_tables import conform_all, dedupe_last
from ht_analytics.sandbox import FaultConfig, SandboxServer, generate_dataset

END = date(2026, 11, 1)  # the sandbox's data ends on its fixed ``now``, 2026-11-01
DATA = generate_dataset(1_500, seed=12)


def orders_between(first: str, last: str) -> list[dict[str, Any]]:
    """The generated orders created on the UTC days ``first``..``last`` (ISO dates)."""
    return [o for o in DATA.orders if first <= o["createdAt"][:10] <= last]


def tables_of(orders: list[dict[str, Any]]) -> Any:
    return conform_all(load_tables(orders))


W1 = (date(2026, 1, 20), date(2026, 2, 10))
W2 = (date(2026, 2, 11), date(2026, 3, 5))


def month_counts(orders: list[dict[str, Any]]) -> Counter[str]:
    return Counter(o["createdAt"][:7] for o in orders)


def test_each_month_is_written_once_its_windows_are_in(tmp_path: Path) -> None:
    first = orders_between("2026-01-20", "2026-02-10")
    second = orders_between("2026-02-11", "2026-03-05")
    assert month_counts(first)["2026-01"]
    assert month_counts(second)["2026-03"]
    stream = MonthStream(tmp_path, generation=1)
    stream.plan([W1, W2])
    stream.add(W1, tables_of(first))
    # January needs only the first window: written now; February waits for the second.
    january = stream._writes["2026-01"].result(timeout=30)
    assert "2026-02" not in stream._writes
    assert pq.read_table(tmp_path / january["orders"][0]).num_rows == month_counts(first)["2026-01"]
    stream.add(W2, tables_of(second))
    written = stream.finish()
    assert written is not None
    assert sorted(written) == ["2026-01", "2026-02", "2026-03"]
    want = month_counts(first + second)
    for month, files in written.items():
        path, rows = files["orders"]
        assert path.startswith(f"orders/created_month={month}/part-000001-")
        table = pq.read_table(tmp_path / path)
        assert rows == table.num_rows == want[month]
        created = table["created_at"].to_pylist()
        assert created == sorted(created)
        assert {c.strftime("%Y-%m") for c in created} == {month}
        services = pq.read_table(tmp_path / files["services"][0])
        assert set(services["order_id"].to_pylist()) <= set(table["order_id"].to_pylist())


@pytest.mark.parametrize("trouble", ["stray month", "order in two windows", "window not read"])
def test_windows_that_break_the_premise_leave_it_to_the_commit(
    tmp_path: Path, trouble: str
) -> None:
    first = orders_between("2026-01-20", "2026-02-10")
    second = orders_between("2026-02-11", "2026-03-05")
    if trouble == "stray month":  # an April order in a window of January to March
        second = second + orders_between("2026-04-02", "2026-04-02")[:1]
    elif trouble == "order in two windows":
        second = second + first[:1]
    stream = MonthStream(tmp_path, generation=1)
    stream.plan([W1, W2])
    stream.add(W1, tables_of(first))
    if trouble != "window not read":
        stream.add(W2, tables_of(second))
    assert stream.finish() is None


def test_streamed_backfill_equals_the_commit_writing_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same backfill with and without the stream: every table of every partition the same."""
    with (
        SandboxServer(DATA) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as client,
    ):
        streamed = OrderStore(tmp_path / "streamed")
        assert streamed.sync(client, end=END, progress=False).ok
        monkeypatch.setattr(store_module, "MonthStream", lambda *args: None)
        plain = OrderStore(tmp_path / "plain")
        assert plain.sync(client, end=END, progress=False).ok
    a = streamed._manifest()
    b = plain._manifest()
    assert a is not None
    assert b is not None
    for table in ("orders", "services", "adjustments", "tags", "problems"):
        assert sorted(a.files[table]) == sorted(b.files[table])
        for part in a.files[table]:
            got = pq.read_table(tmp_path / "streamed" / a.files[table][part][0])
            want = pq.read_table(tmp_path / "plain" / b.files[table][part][0])
            assert got.equals(want), (table, part)
    assert len(streamed.load().orders) == len(DATA.orders)


class FailOldestWindow(httpx.BaseTransport):
    """Passes requests through, except those of the oldest window (``from`` = ``first_day``):
    those wait until the other windows' months are on disk, then answer 500."""

    def __init__(self, inner: httpx.BaseTransport, first_day: str, root: Path) -> None:
        self.inner = inner
        self.first_day = first_day
        self.root = root
        self.files_seen_at_failure: list[Path] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("from") == self.first_day:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not list(self.root.rglob("*.parquet")):
                time.sleep(0.02)
            time.sleep(0.3)  # let the writes under way finish
            self.files_seen_at_failure = list(self.root.rglob("*.parquet"))
            return httpx.Response(500, json={"status": "error", "message": "boom"})
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_backfill_failing_part_way_removes_the_months_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    # The backfill reads the first page (500 orders) before the windows; the oldest window
    # starts on the day of that page's last order.
    first = sorted((o["createdAt"], o["id"]) for o in DATA.orders)[499][0][:10]
    wire = f"{first[5:7]}-{first[8:10]}-{first[:4]}"
    with SandboxServer(DATA) as srv:
        transport = FailOldestWindow(httpx.HTTPTransport(), wire, path)
        with PartnerClient(
            base_url=srv.url,
            api_key=srv.api_key,
            rate_limit=None,
            max_retries=1,
            transport=transport,
        ) as client:
            report = OrderStore(path).sync(client, end=END, concurrency=1, progress=False)
        assert not report.ok
        assert "HTTP 500" in (report.error or ""), report.error
        assert transport.files_seen_at_failure, "no month was written before the failure"
        assert not list(path.rglob("*.parquet"))
        assert not (path / "manifest.json").exists()
        assert len(OrderStore(path).load().orders) == 0
        with PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as client:
            again = OrderStore(path)
            assert again.sync(client, end=END, progress=False).ok
            assert len(again.load().orders) == len(DATA.orders)


def test_finish_without_a_plan_leaves_it_to_the_commit(tmp_path: Path) -> None:
    assert MonthStream(tmp_path, generation=1).finish() is None


def test_a_typing_failure_stops_the_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages are typed off the request threads; when typing fails, the requests still stop at
    once (not after every window was read) and the report carries the typing error."""
    import ht_analytics._sync as sync_module

    def broken(source: Any, **_: Any) -> Any:
        raise PayloadError("typing failed on purpose")

    monkeypatch.setattr(sync_module, "PAGE_SIZE", 20)  # 1,500 orders: 75+ pages in 2 windows
    monkeypatch.setattr(sync_module, "load_tables", broken)
    with (
        SandboxServer(DATA, faults=FaultConfig(latency=0.01)) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as client,
    ):
        report = OrderStore(tmp_path / "cache").sync(client, end=END, concurrency=1, progress=False)
    assert not report.ok
    assert "typing failed on purpose" in (report.error or "")
    # The newest window's ~38 pages were read before its typing failed; the other window
    # stopped at its next request instead of reading its ~38 pages too.
    assert report.pages < 50, report.pages
    assert not list((tmp_path / "cache").rglob("*.parquet"))


def test_an_error_between_reading_and_commit_removes_the_streamed_months(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(groups: Any) -> Any:
        time.sleep(0.5)  # the stream's writes under way
        raise RuntimeError("boom")

    monkeypatch.setattr(store_module, "dedupe_last", boom)
    path = tmp_path / "cache"
    with (
        SandboxServer(DATA) as srv,
        PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as client,
        pytest.raises(RuntimeError, match="boom"),
    ):
        OrderStore(path).sync(client, end=END, progress=False)
    assert not list(path.rglob("*.parquet"))
    assert not [t for t in threading.enumerate() if t.name.startswith("store-month")]


def test_dedupe_keeps_the_last_group_of_an_order_fetched_twice() -> None:
    first = orders_between("2026-01-20", "2026-01-31")
    second = orders_between("2026-02-01", "2026-02-10")
    twice = first[0]
    changed = {**twice, "atRisk": not twice["atRisk"]}
    disjoint = dedupe_last([tables_of(first), tables_of(second)])
    assert disjoint.orders["order_id"].to_pylist() == [o["id"] for o in first + second]
    groups = [tables_of(first), tables_of([*second, changed])]
    kept = dedupe_last(groups)
    ids = kept.orders["order_id"].to_pylist()
    assert sorted(ids) == sorted(o["id"] for o in first + second)
    row = ids.index(twice["id"])
    assert kept.orders["at_risk"][row].as_py() is changed["atRisk"]
    services = kept.services["order_id"].to_pylist()
    assert services.count(twice["id"]) == len(twice["breakdown"]["services"])
