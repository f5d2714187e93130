"""Time ``OrderStore.sync`` backfills under latency, and count an incremental sync's requests.

    uv run python benchmarks/store_sync.py                 # 20,000 orders, 50 ms latency, 40/s
    uv run python benchmarks/store_sync.py --rate-limit 200  # a limit that does not bind
    uv run python benchmarks/store_sync.py --orders 50000 --latency 0.1 --rate-limit 20
    uv run python benchmarks/store_sync.py --quick         # 5,000 orders (a smoke test, < 60 s)

The sandbox runs in its own (spawned) process, so that the client measured here does not share the
GIL with the server (the machine has two cores). That process generates the N orders (``now`` = the
current instant, so the lookback window holds the last 30 days of orders), serves them with
``FaultConfig(latency=L, rate_limit=R)`` (every request delayed L seconds, a token bucket of R
requests per second answering 429 above it), and answers this process's commands over a pipe: apply
``SandboxServer.update_order``, report the server's counters (``srv.stats.snapshot()``), report what
it serves. Every client here paces itself at ``R_client`` = ``--client-rate`` (default 0.9 R).

(a) Backfill speed. After one untimed pass over every page (it fills the server's cache of encoded
    orders, so that every timed run finds the server in the same state), ``--repeat`` rounds
    (default 3; the best time of each kind is kept), each timing, in this order:

    - ``iter_pages``: plain sequential ``client.iter_pages(page_size=500)`` (reference only);
    - ``sync c=1``:   ``OrderStore(fresh).sync(client, concurrency=1, progress=False)``;
    - ``sync c=4``:   ``OrderStore(fresh).sync(client, concurrency=4, progress=False)``.

    - ``bare windows c=4``: the requests of that ``sync c=4`` alone, with nothing typed or
      stored: its first page, then its windows (from its report) paged side by side on 4 threads
      (reference only: how fast the same requests can be at best on this machine).

    Each run has its own fresh client; the table shows this process's CPU seconds and the server
    process's CPU seconds during the run beside the wall time, and the line under it the speed-up
    that the client's pacing alone allows (sequential seconds per request x ``R_client``).
    Target: ``sync c=4`` at least 3x faster than ``sync c=1``, never over the rate limit: the server
    answered no 429 (``report.retries == 0`` and the server's ``rate_limit`` fault count is 0) and
    its busiest 1-second window (``max_per_second``) held at most R requests. Checks: each store
    holds exactly N orders, unique ids, and the net total (sum of ``total_amount``) equals the
    generator's ``sum(data.net_cents)`` to the cent.

(b) Incremental re-sync. The ``sync c=4`` store of (a) is the backfill. Then:

    - 1% new orders: ``client.create_order`` (``POST /orders``, a separate client, 4 threads); the
      sandbox creates them SEARCHING (open), created now;
    - 5% changed orders, drawn at random (seeded) among the orders a correct sync must notice: those
      open at the last sync (``ht_analytics._statuses.OPEN_STATUSES``) and those created in the
      lookback window (from the store's high-water mark's UTC date minus 30 days on). An order open
      at the sync goes terminal (``statusId=3`` COMPLETED, ``atRisk=False``) or stays open with
      ``atRisk`` toggled, half each; a terminal order in the window gets ``atRisk`` toggled.
      Changes go through ``srv.update_order`` in the server process.

    Then ``store.sync(client)`` (defaults: concurrency 4, lookback 30 days) and its
    ``report.requests`` against the ORACLE MINIMUM: the fewest requests that fetch every new or
    changed order (the set S), knowing S exactly, with the API's primitives:

    - a page of up to 500 orders of a whole-UTC-day creation-date range (a range of n orders costs
      ``max(1, ceil(n / 500))`` requests and returns all of them),
    - ``get_order`` of one order (1 request),
    - a ``status=open`` query over a creation-date range (``max(1, ceil(open orders in it / 500))``
      requests; returns every order open now in it).

    It is the cheapest of: (i) ``ht_analytics._sync_plan.cover`` of S alone (exact optimum over
    date ranges vs single gets, using the sandbox's true per-day order counts; the new orders are
    in S, so their window is one of its ranges), (i') ``cover`` of the changed orders plus the new
    orders' own window (from the first new order's day to the last day), and (ii) for every
    creation-date range [a, b] of one ``status=open`` query (a: each day holding an open order of
    S; b: the last day keeping the query at c pages, for each c; a wider b at equal cost covers
    more), its cost plus ``cover`` of what it leaves. So it is exact for plans with at most one
    status=open query. The plain lower bound ``ceil(|S| / 500)`` is printed beside it.
    Target: requests <= 1.2x the oracle minimum.
    Checks: the store then equals the sandbox: order count, net total, and the ``status_id`` and
    ``at_risk`` of every order (the changed ones included); ``report.new`` / ``report.changed``
    equal the numbers of new / changed orders.

Exit code: 0, even when a target is missed; 1 when a correctness check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import multiprocessing as mp
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

PAGE_SIZE = 500
DEFAULT_ORDERS = 20_000
QUICK_ORDERS = 5_000
LOOKBACK_DAYS = 30
SPEEDUP_TARGET = 3.0
REQUESTS_TARGET = 1.2
CENT = Decimal("0.01")


# --------------------------------------------------------------------------- the server process


def _server_main(
    conn: Connection, n: int, seed: int, now_iso: str, latency: float, rate_limit: float
) -> None:
    """Body of the server process: generate, serve, and answer commands until "stop"."""
    from ht_analytics.sandbox import FaultConfig, SandboxServer, generate_dataset

    try:
        data = generate_dataset(n, seed, now=datetime.fromisoformat(now_iso))
        faults = FaultConfig(latency=latency, rate_limit=rate_limit)
        srv = SandboxServer(data, faults=faults).start()
    except Exception:
        conn.send({"error": traceback.format_exc()})
        return
    conn.send({"url": srv.url, "api_key": srv.api_key})
    try:
        while True:
            cmd, args = conn.recv()
            try:
                if cmd == "stop":
                    conn.send(None)
                    break
                if cmd == "stats":
                    conn.send({**srv.stats.snapshot(), "cpu": time.process_time()})
                elif cmd == "reset":
                    srv.stats.reset()
                    conn.send(None)
                elif cmd == "facts":
                    conn.send(_facts(srv))
                elif cmd == "update":
                    for order_id, changes in args:
                        srv.update_order(order_id, **changes)
                    conn.send(len(args))
                else:
                    conn.send({"error": f"unknown command {cmd!r}"})
            except Exception:
                conn.send({"error": traceback.format_exc()})
    finally:
        srv.stop()


def _facts(srv: Any) -> dict[str, Any]:
    """What the sandbox serves now, column-wise (under its lock)."""
    with srv.sandbox.lock:
        orders = list(srv.data.orders)
        return {
            "ids": [o["id"] for o in orders],
            "days": [o["createdAt"][:10] for o in orders],
            "created": [o["createdAt"] for o in orders],
            "status": [o["statusId"] for o in orders],
            "at_risk": [bool(o["atRisk"]) for o in orders],
            "client_ids": [o["clientId"] for o in orders],
            "net_cents": sum(srv.data.net_cents[o["id"]] for o in orders),
        }


class Sandbox:
    """The sandbox server in a spawned process, and the pipe that commands it."""

    def __init__(self, n: int, seed: int, now: datetime, latency: float, rate_limit: float):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_server_main,
            args=(child, n, seed, now.isoformat(), latency, rate_limit),
            name="ht-sandbox-server",
            daemon=True,
        )
        self.proc.start()
        child.close()
        hello = self.conn.recv()
        if "error" in hello:
            raise RuntimeError(f"the sandbox process failed:\n{hello['error']}")
        self.url: str = hello["url"]
        self.api_key: str = hello["api_key"]

    def call(self, cmd: str, args: Any = None) -> Any:
        self.conn.send((cmd, args))
        answer = self.conn.recv()
        if isinstance(answer, dict) and "error" in answer:
            raise RuntimeError(f"sandbox command {cmd} failed:\n{answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.is_alive():
            with contextlib.suppress(OSError, EOFError, RuntimeError):
                self.call("stop")
            self.proc.join(timeout=15)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)


# ------------------------------------------------------------------------------------- helpers


@dataclass
class Facts:
    """The sandbox's orders as arrays."""

    ids: np.ndarray
    days: np.ndarray  # datetime64[D]
    created: list[str]
    status: np.ndarray
    at_risk: np.ndarray
    client_ids: list[int]
    net: Decimal

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Facts:
        return cls(
            ids=np.array(raw["ids"], np.int64),
            days=np.array(raw["days"], "datetime64[D]"),
            created=raw["created"],
            status=np.array(raw["status"], np.int64),
            at_risk=np.array(raw["at_risk"], bool),
            client_ids=raw["client_ids"],
            net=Decimal(raw["net_cents"]) / 100,
        )


@dataclass
class Run:
    """One timed run of (a)."""

    name: str
    seconds: float
    requests: int
    retries: int
    server: dict[str, Any]
    cpu: float = 0.0
    report: Any = None
    store: Any = None


@dataclass
class Check:
    text: str
    ok: bool


@dataclass
class Results:
    checks: list[Check] = field(default_factory=list)

    def add(self, text: str, ok: bool) -> None:
        self.checks.append(Check(text, ok))
        print(f"  [{'ok' if ok else 'FAIL'}] {text}")

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def open_ids() -> np.ndarray:
    from ht_analytics._statuses import OPEN_STATUSES

    return np.array(sorted(int(s) for s in OPEN_STATUSES), np.int64)


def make_client(sb: Sandbox, rate: float) -> Any:
    from ht_analytics import PartnerClient

    return PartnerClient(api_key=sb.api_key, base_url=sb.url, rate_limit=rate)


def store_contents(store: Any) -> dict[str, Any]:
    """What a store holds, through the public ``load()``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    frames = store.load()
    orders = frames.orders
    total = pa.array(orders["total_amount"])
    summed = pc.sum(total).as_py()
    return {
        "orders": len(orders),
        "unique": int(orders["order_id"].nunique()),
        "net": None if summed is None else Decimal(summed).quantize(CENT),
        "total_na": int(total.null_count),
        "problems": len(frames.problems),
        "ids": orders["order_id"].to_numpy(dtype=np.int64),
        "status": orders["status_id"].to_numpy(dtype=np.int64, na_value=-1),
        "at_risk": orders["at_risk"].to_numpy(dtype=np.int8, na_value=-1),
    }


def check_store(
    results: Results, label: str, contents: list[dict[str, Any]], n: int, net: Decimal
) -> None:
    """The usual checks on one store, or on several (one line each, every store's value)."""

    def values(key: str) -> str:
        return ", ".join("none" if c[key] is None else f"{c[key]:,}" for c in contents)

    results.add(
        f"{label}: orders == {n:,} ({values('orders')})", all(c["orders"] == n for c in contents)
    )
    results.add(
        f"{label}: order ids unique ({values('unique')})",
        all(c["unique"] == c["orders"] for c in contents),
    )
    results.add(
        f"{label}: net total == sandbox's net_cents ({values('net')} == {net:,})",
        all(c["net"] == net for c in contents),
    )
    results.add(
        f"{label}: no problems ({values('problems')})", all(c["problems"] == 0 for c in contents)
    )


# ------------------------------------------------------------------------------------ part (a)


def timed(sb: Sandbox, name: str, rate: float, body: Callable[[Any], Any]) -> tuple[Run, Any]:
    """Reset the server's counters, run ``body(client)`` with a fresh client, time it."""
    sb.call("reset")
    server_cpu = sb.call("stats")["cpu"]
    with make_client(sb, rate) as client:
        cpu = time.process_time()
        started = time.perf_counter()
        out = body(client)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        stats = client.stats
    server = sb.call("stats")
    server["cpu"] -= server_cpu
    return Run(name, seconds, stats.requests, stats.retries, server, cpu=cpu), out


def bare(windows: tuple[tuple[str, str], ...], concurrency: int, client: Any) -> int:
    """The requests a backfill ``sync`` made, alone: its first page (all orders, sorted by
    creation), then its other ``windows`` paged side by side on ``concurrency`` threads, newest
    first, as the sync pages them (``_iter_raw_pages``: the bodies kept as bytes, only the ids
    read). Nothing is typed or stored. Returns the number of distinct order ids read."""
    ids: set[int] = set()
    lock = threading.Lock()

    def page_all(**filters: Any) -> None:
        for page in client._iter_raw_pages(page_size=PAGE_SIZE, **filters):
            with lock:
                ids.update(o["id"] for o in page.orders)
            if "start" not in filters:  # the first page only
                break

    page_all()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda w: page_all(start=w[0], end=w[1]), reversed(windows[1:])))
    return len(ids)


def part_a(
    sb: Sandbox, args: argparse.Namespace, root: Path, expected: Facts, results: Results
) -> Run:
    from ht_analytics import OrderStore

    print(
        f"(a) backfill of {args.orders:,} orders: server latency {args.latency * 1000:.0f} ms, "
        f"server limit {args.rate_limit:g}/s, client pacing {args.client_rate:g}/s; "
        f"{args.repeat} round(s), each: iter_pages, sync c=1, sync c={args.concurrency}"
    )

    def plain(client: Any) -> int:
        return sum(len(p.orders) for p in client.iter_pages(page_size=PAGE_SIZE))

    warm, warm_n = timed(sb, "warm-up", args.client_rate, plain)
    print(
        f"    untimed warm-up pass (fills the server's encoded-order cache): "
        f"{warm.seconds:.2f} s, {warm_n:,} orders\n"
    )

    names = ["iter_pages (sequential)", "sync c=1", f"sync c={args.concurrency}"]
    bare_name = f"bare windows c={args.concurrency}"
    all_runs: dict[str, list[Run]] = {name: [] for name in [*names, bare_name]}
    plain_counts: list[int] = []
    bare_counts: list[int] = []
    for round_no in range(args.repeat):
        run, count = timed(sb, names[0], args.client_rate, plain)
        all_runs[names[0]].append(run)
        plain_counts.append(count)
        for name, concurrency in zip(names[1:], (1, args.concurrency), strict=True):
            store = OrderStore(root / f"backfill-c{concurrency}-r{round_no + 1}")

            def sync(client: Any, store: Any = store, concurrency: int = concurrency) -> Any:
                return store.sync(client, concurrency=concurrency, progress=False)

            run, report = timed(sb, name, args.client_rate, sync)
            run.report, run.store = report, store
            all_runs[name].append(run)
        windows = all_runs[names[2]][-1].report.windows
        run, count = timed(
            sb, bare_name, args.client_rate, functools.partial(bare, windows, args.concurrency)
        )
        all_runs[bare_name].append(run)
        bare_counts.append(count)
    best = {name: min(runs, key=lambda r: r.seconds) for name, runs in all_runs.items()}
    times = {name: ", ".join(f"{r.seconds:.2f}" for r in runs) for name, runs in all_runs.items()}
    width = max(20, *(len(t) for t in times.values()))

    head = (
        f"    {'run':<24} {'best s':>7} {'runs s':>{width}} {'requests':>8} {'retries':>7} "
        f"{'429s':>5} {'max/s':>5} {'orders/s':>8} {'client CPU':>10} {'server CPU':>10}"
    )
    print(head)
    print("    " + "-" * (len(head) - 4))
    for name in names:
        run = best[name]
        fetched = run.report.fetched if run.report is not None else plain_counts[0]
        print(
            f"    {name:<24} {run.seconds:>7.2f} {times[name]:>{width}} {run.requests:>8} {run.retries:>7} "
            f"{run.server['faults'].get('rate_limit', 0):>5} {run.server['max_per_second']:>5} "
            f"{fetched / run.seconds:>8,.0f} {run.cpu:>9.2f}s {run.server['cpu']:>9.2f}s"
        )
    print("    (best run's figures; CPU: seconds of CPU of this process / of the server process)")
    plain_run, seq, conc = (best[name] for name in names)
    print()
    speedup = seq.seconds / conc.seconds
    print(
        f"    sync c=1 / sync c={args.concurrency} = {speedup:.2f}x   target >= "
        f"{SPEEDUP_TARGET:g}x : {'MET' if speedup >= SPEEDUP_TARGET else 'NOT MET'}"
    )
    print(
        f"    sync c=1 / iter_pages = {seq.seconds / plain_run.seconds:.2f}x, "
        f"iter_pages / sync c={args.concurrency} = {plain_run.seconds / conc.seconds:.2f}x"
    )
    floor = (conc.requests - 1) / args.client_rate
    per_request = plain_run.seconds / plain_run.requests
    print(
        f"    pacing floor of sync c={args.concurrency}: ({conc.requests} requests - 1) / "
        f"{args.client_rate:g}/s = {floor:.2f} s; a sequential request takes "
        f"{per_request * 1000:.0f} ms (iter_pages), so pacing alone caps the speed-up of the "
        f"requests at {args.client_rate:g} x {per_request:.3f} = {args.client_rate * per_request:.2f}x"
    )
    if conc.report is not None:
        print(f"    sync c={args.concurrency} windows: {len(conc.report.windows)}")
    bare_run = best[bare_name]
    print(
        f"    {bare_name}: the requests of sync c={args.concurrency} alone (its first page, then "
        f"its windows on {args.concurrency} threads, nothing typed or stored): best "
        f"{bare_run.seconds:.2f} s ({times[bare_name]}), {bare_run.requests} requests; "
        f"sync c=1 / it = {seq.seconds / bare_run.seconds:.2f}x, iter_pages / it = "
        f"{plain_run.seconds / bare_run.seconds:.2f}x"
    )
    print("\n  correctness of (a):")
    results.add(
        f"iter_pages read {args.orders:,} orders every time ({plain_counts})",
        all(c == args.orders for c in plain_counts),
    )
    results.add(
        f"{bare_name} read {args.orders:,} distinct orders every time ({bare_counts})",
        all(c == args.orders for c in bare_counts),
    )
    for name in names:
        runs = all_runs[name]
        busiest = max(r.server["max_per_second"] for r in runs)
        no429 = all(r.server["faults"].get("rate_limit", 0) == 0 and r.retries == 0 for r in runs)
        results.add(
            f"{name}: never over the limit, every run (no 429, 0 retries; busiest second "
            f"{busiest} <= {args.rate_limit:g})",
            no429 and busiest <= args.rate_limit,
        )
    for name in names[1:]:
        runs = all_runs[name]
        label = f"{name}, every round" if len(runs) > 1 else name
        errors = [r.report.error for r in runs if not r.report.ok]
        results.add(f"{label}: report.ok ({errors or 'no error'})", not errors)
        contents = [store_contents(r.store) for r in runs]
        check_store(results, label, contents, args.orders, expected.net)
    return all_runs[names[2]][-1]


# ------------------------------------------------------------------------------------ part (b)


def create_orders(sb: Sandbox, rate: float, count: int, facts: Facts, seed: int) -> list[int]:
    """``count`` new orders through ``POST /orders`` (4 threads sharing one paced client)."""
    rng = random.Random(seed)
    with make_client(sb, rate) as client:
        skus = [int(s["id"]) for s in client.list_skus()]
        bodies = [
            {
                "client_id": int(rng.choice(facts.client_ids)),
                "address": f"{100 + i} Main St, Los Angeles, CA 90017",
                "phone": "3105550123",
                "sku_ids": [rng.choice(skus)],
                "devices": ["laptop"],
            }
            for i in range(count)
        ]
        lock = threading.Lock()
        made: list[int] = []

        def one(body: dict[str, Any]) -> None:
            order = client.create_order(**body)
            with lock:
                made.append(int(order["id"]))

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, bodies))
    return sorted(made)


def choose_changes(
    facts: Facts, count: int, window_start: np.datetime64, seed: int
) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, int]]:
    """``count`` changes among the orders open at the sync or created in the lookback window."""
    rng = np.random.default_rng(seed)
    is_open = np.isin(facts.status, open_ids())
    in_window = facts.days >= window_start
    pool = np.flatnonzero(is_open | in_window)
    if len(pool) < count:
        raise SystemExit(f"only {len(pool)} orders to change, {count} asked")
    picked = np.sort(rng.choice(pool, size=count, replace=False))
    changes: list[tuple[int, dict[str, Any]]] = []
    kinds = {"open->terminal": 0, "open, atRisk toggled": 0, "terminal, atRisk toggled": 0}
    where = {"before the window (open)": 0, "in the window": 0}
    for k, i in enumerate(picked):
        order_id = int(facts.ids[i])
        where["in the window" if in_window[i] else "before the window (open)"] += 1
        if is_open[i] and k % 2 == 0:
            changes.append((order_id, {"statusId": 3, "atRisk": False}))
            kinds["open->terminal"] += 1
        elif is_open[i]:
            changes.append((order_id, {"atRisk": not bool(facts.at_risk[i])}))
            kinds["open, atRisk toggled"] += 1
        else:
            changes.append((order_id, {"atRisk": not bool(facts.at_risk[i])}))
            kinds["terminal, atRisk toggled"] += 1
    return changes, {**kinds, **where}


@dataclass
class Oracle:
    cost: int
    plan: str
    combos: list[tuple[str, int]]
    lower_bound: int
    candidates: int
    seconds: float


def oracle_minimum(facts: Facts, new_ids: np.ndarray, changed_ids: np.ndarray) -> Oracle:
    """The fewest requests that fetch every new or changed order (see the module docstring)."""
    from ht_analytics._sync_plan import cover

    started = time.perf_counter()
    day_days, day_counts = np.unique(facts.days, return_counts=True)
    last_day = facts.days.max()

    def cover_of(mask: np.ndarray) -> Any:
        return cover(facts.ids[mask], facts.days[mask], day_days, day_counts)

    def pages_of(count: int) -> int:
        return max(1, math.ceil(count / PAGE_SIZE))

    w = np.isin(facts.ids, np.union1d(new_ids, changed_ids))
    combos: list[tuple[str, int]] = []
    # (i) date ranges and get_order only, new and changed orders together.
    plain = cover_of(w)
    best, plan = (
        plain.cost,
        (f"{len(plain.ranges)} date range(s) + {len(plain.singles)} get_order, no status=open"),
    )
    combos.append(("cover(new ∪ changed)", plain.cost))
    # (i') the changed orders' cover, plus the new orders' own window (first new day .. last).
    is_new = np.isin(facts.ids, new_ids)
    first_new = facts.days[is_new].min() if is_new.any() else last_day
    window = pages_of(int((facts.days >= first_new).sum())) if is_new.any() else 0
    apart = cover_of(np.isin(facts.ids, changed_ids)).cost + window
    combos.append((f"cover(changed) + new orders' window {first_new}..{last_day}", apart))
    if apart < best:
        best, plan = apart, "cover(changed) + the new orders' window"
    # (ii) one status=open query over [a, b], plus the cover of what it leaves.
    is_open = np.isin(facts.status, open_ids())
    open_days = np.sort(facts.days[is_open])
    total_open = len(open_days)
    wanted_open = w & is_open
    starts = np.unique(facts.days[wanted_open])
    one_day = np.timedelta64(1, "D")
    seen: set[tuple[Any, Any]] = set()
    candidates = 0
    best_open: tuple[int, str] | None = None
    for pages in range(1, pages_of(total_open) + 1):
        if pages >= best:
            break
        for a in starts:
            lo = int(np.searchsorted(open_days, a, side="left"))
            beyond = lo + pages * PAGE_SIZE
            b = last_day if beyond >= total_open else open_days[beyond] - one_day
            if b < a or (a, b) in seen:
                continue
            seen.add((a, b))
            candidates += 1
            rest = cover_of(w & ~(wanted_open & (facts.days >= a) & (facts.days <= b)))
            cost = pages + rest.cost
            text = (
                f"status=open over {a}..{b} ({pages} page(s)) + {len(rest.ranges)} "
                f"date range(s) + {len(rest.singles)} get_order"
            )
            if best_open is None or cost < best_open[0]:
                best_open = (cost, text)
            if cost < best:
                best, plan = cost, text
    if best_open is not None:
        combos.append(("best status=open [a, b] + cover(rest)", best_open[0]))
    return Oracle(
        cost=best,
        plan=plan,
        combos=combos,
        lower_bound=math.ceil(int(w.sum()) / PAGE_SIZE),
        candidates=candidates,
        seconds=time.perf_counter() - started,
    )


def part_b(
    sb: Sandbox, args: argparse.Namespace, conc: Run, before: Facts, results: Results
) -> None:
    store = conc.store
    n = args.orders
    n_new = max(1, round(n * args.new_share))
    n_changed = max(1, round(n * args.changed_share))
    print(
        f"\n(b) incremental re-sync of the sync c={args.concurrency} store after "
        f"{args.new_share:.0%} new ({n_new:,}) and {args.changed_share:.0%} changed "
        f"({n_changed:,}) orders"
    )
    high_water = max(before.created)
    window_start = np.datetime64(high_water[:10], "D") - np.timedelta64(LOOKBACK_DAYS, "D")
    is_open = np.isin(before.status, open_ids())
    print(
        f"    at the backfill: {int(is_open.sum()):,} open orders "
        f"({int((is_open & (before.days < window_start)).sum()):,} created before the lookback "
        f"window), {int((before.days >= window_start).sum()):,} orders created in the window "
        f"(from {window_start}: high-water {high_water} minus {LOOKBACK_DAYS} days)"
    )
    started = time.perf_counter()
    new_ids = create_orders(sb, args.client_rate, n_new, before, args.seed + 1)
    changes, kinds = choose_changes(before, n_changed, window_start, args.seed + 2)
    sb.call("update", changes)
    print(
        f"    made {len(new_ids):,} new orders (POST /orders) and {len(changes):,} changes "
        f"(update_order) in {time.perf_counter() - started:.1f} s"
    )
    print("    changes: " + ", ".join(f"{k} {v:,}" for k, v in kinds.items()))
    after = Facts.of(sb.call("facts"))

    sb.call("reset")
    with make_client(sb, args.client_rate) as client:
        t0 = time.perf_counter()
        report = store.sync(client, progress=False)
        seconds = time.perf_counter() - t0
    server = sb.call("stats")
    changed_ids = np.array(sorted(i for i, _ in changes), np.int64)
    wanted = np.union1d(np.array(new_ids, np.int64), changed_ids)
    oracle = oracle_minimum(after, np.array(new_ids, np.int64), changed_ids)

    print(f"\n    store.sync (incremental): {report!r}")
    print(
        f"    windows {list(report.windows)}, open orders re-read {report.rechecked_open:,}, "
        f"fetched one by one {report.fetched_one_by_one:,}"
    )
    rows = [
        ("requests made (report.requests)", f"{report.requests}"),
        ("  pages / get_order / retries", f"{report.pages} / "
         f"{report.requests - report.pages} / {report.retries}"),
        ("orders fetched", f"{report.fetched:,}"),
        ("|new ∪ changed| (S)", f"{len(wanted):,}"),
        ("oracle minimum", f"{oracle.cost}"),
        ("  its plan", oracle.plan),
        *((f"  {name}", f"{cost}") for name, cost in oracle.combos),
        ("  status=open ranges tried", f"{oracle.candidates:,} ({oracle.seconds:.1f} s)"),
        ("plain lower bound ceil(|S| / 500)", f"{oracle.lower_bound}"),
        ("sync time", f"{seconds:.2f} s"),
        ("server: 429s / busiest second", f"{server['faults'].get('rate_limit', 0)} / "
         f"{server['max_per_second']}"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"    {k:<{width}}  {v}")
    ratio = report.requests / oracle.cost
    print(
        f"\n    requests / oracle minimum = {report.requests} / {oracle.cost} = {ratio:.2f}x   "
        f"target <= {REQUESTS_TARGET:g}x : {'MET' if ratio <= REQUESTS_TARGET else 'NOT MET'}"
    )
    print(
        f"    requests / plain lower bound = {report.requests} / {oracle.lower_bound} = "
        f"{report.requests / oracle.lower_bound:.2f}x"
    )

    print("\n  correctness of (b):")
    results.add(f"report.ok ({report.error})", bool(report.ok))
    got = store_contents(store)
    check_store(results, "store after re-sync", [got], len(after.ids), after.net)
    order = np.argsort(got["ids"])
    ids_sorted = got["ids"][order]
    same_ids = np.array_equal(ids_sorted, np.sort(after.ids))
    results.add("store holds exactly the sandbox's order ids", same_ids)
    if same_ids:
        pos = np.argsort(after.ids)
        status_ok = got["status"][order] == after.status[pos]
        risk_ok = got["at_risk"][order] == after.at_risk[pos].astype(np.int8)
        in_changed = np.isin(ids_sorted, changed_ids)
        results.add(
            f"status_id of the {len(changed_ids):,} changed orders == the sandbox's "
            f"({int((~status_ok & in_changed).sum())} differ)",
            bool(status_ok[in_changed].all()),
        )
        results.add(
            f"at_risk of the {len(changed_ids):,} changed orders == the sandbox's "
            f"({int((~risk_ok & in_changed).sum())} differ)",
            bool(risk_ok[in_changed].all()),
        )
        results.add(
            f"status_id and at_risk of every order == the sandbox's "
            f"({int((~(status_ok & risk_ok)).sum())} differ)",
            bool((status_ok & risk_ok).all()),
        )
    results.add(f"report.new == {len(new_ids):,} ({report.new:,})", report.new == len(new_ids))
    results.add(
        f"report.changed == {len(changes):,} ({report.changed:,})", report.changed == len(changes)
    )
    results.add(
        f"never over the limit (no 429, 0 retries; busiest second {server['max_per_second']})",
        server["faults"].get("rate_limit", 0) == 0
        and report.retries == 0
        and server["max_per_second"] <= args.rate_limit,
    )


# ---------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="orders (N)")
    parser.add_argument("--seed", type=int, default=0, help="sandbox generator seed")
    parser.add_argument("--latency", type=float, default=0.05, help="server seconds per request")
    parser.add_argument("--rate-limit", type=float, default=40.0, help="server limit, requests/s")
    parser.add_argument(
        "--client-rate", type=float, default=None, help="client pacing (default 0.9 x limit)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="threads of the fast backfill")
    parser.add_argument("--new-share", type=float, default=0.01, help="share of new orders (b)")
    parser.add_argument(
        "--changed-share", type=float, default=0.05, help="share of changed orders (b)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (a); best is kept")
    parser.add_argument("--out", type=Path, default=None, help="keep the stores in this directory")
    parser.add_argument("--quick", action="store_true", help=f"N={QUICK_ORDERS:,}")
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.repeat = QUICK_ORDERS, 1
        print(
            "--quick: a smoke test at a small size, where fixed costs dominate: its ratios are "
            "not the targets' figures (run without --quick for those)"
        )
    if args.client_rate is None:
        args.client_rate = round(0.9 * args.rate_limit, 3)
    if args.orders < 100:
        parser.error("--orders must be at least 100")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    results = Results()
    tmp = Path(tempfile.mkdtemp(prefix="ht-store-sync-"))
    root = args.out if args.out is not None else tmp
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sb = Sandbox(args.orders, args.seed, now, args.latency, args.rate_limit)
    try:
        before = Facts.of(sb.call("facts"))
        print(
            f"sandbox process: {args.orders:,} orders (seed {args.seed}, now {now:%Y-%m-%d %H:%M} "
            f"UTC, {before.days.min()}..{before.days.max()}) at {sb.url}, up in "
            f"{time.perf_counter() - started:.1f} s; stores under {root}\n"
        )
        conc = part_a(sb, args, root, before, results)
        if conc.report is not None and conc.report.ok:
            part_b(sb, args, conc, before, results)
        else:
            results.add("(b) skipped: the backfill failed", False)
    except Exception:
        traceback.print_exc()
        results.add("the benchmark raised", False)
    finally:
        sb.close()
        if args.out is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\ncorrectness: {'PASS' if results.ok else 'FAIL'}  (total {time.perf_counter() - started:.0f} s)"
    )
    return 0 if results.ok else 1


if __name__ == "__main__":
    sys.exit(main())
