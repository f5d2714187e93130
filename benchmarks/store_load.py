"""Time ``OrderStore.load()`` of a large store against a bare Parquet read of its files, in one run.

    uv run python benchmarks/store_load.py                      # 1,000,000 orders, best of 3
    uv run python benchmarks/store_load.py --orders 200000 --out data/bench-store
    uv run python benchmarks/store_load.py --out data/bench-store --reuse   # skip the build
    uv run python benchmarks/store_load.py --build sync --orders 100000     # build over HTTP
    uv run python benchmarks/store_load.py --quick              # 20,000 orders, 1 round (smoke test)

How the store is built (in its own spawned process, before anything is measured):

``--build commit`` (default; about 2 minutes for 1,000,000 orders): ``generate_dataset(N, seed)``,
    the orders written as the API's raw pages of 500 (compact JSON ``{"status": "success",
    "orders": [...], "next_cursor": ...}``, camelCase, without the sandbox's private ``tags``),
    split into 8 consecutive groups as a backfill's 8 windows would be, each group typed exactly
    as ``store.sync`` types a window (``conform_all(load_tables(pages))``), the groups combined
    with ``dedupe_last`` and written by the store's own commit path (``OrderStore._commit``, under
    the store's lock, as a ``backfill`` of the whole range). That is everything ``sync`` does
    except the HTTP requests, so the files are the ones a real backfill writes (one Parquet file
    per table and creation month, plus one snapshot file). It uses internal functions: if they
    changed, use ``--build sync``.
``--build sync``: a sandbox server in a spawned process serves the N orders (no faults) and
    ``store.sync(client, concurrency=4)`` backfills over HTTP (unpaced); several minutes for 1M.

Then ``--repeat`` rounds (default 3; the order of the steps alternates between rounds), each
running each step in a fresh spawned process that first imports everything and reads the manifest,
then runs the step once untimed (lazy initialisation, first-touch memory) and once timed:

(a) load   ``OrderStore(path).load()``: every order as typed pandas ``OrderFrames``;
(b) bare   ``pyarrow.parquet.read_table(file)`` of every file of the five data tables (orders,
           services, adjustments, tags, problems) named in the store's ``manifest.json`` (the
           snapshot files are left out: ``load()`` does not read them), nothing else;
(c) dataset  for reference: one ``pyarrow.dataset.dataset(files).to_table()`` per data table
           (Arrow reads a table's files in parallel): about the Arrow part of what ``load()``
           does, so (a) - (c) is about its conversion to pandas.

- ``best s``: best timed run over the rounds; ``runs s``: each round's;
- ``peak RSS``: the process's peak resident set over both runs (Linux ``VmHWM``, reset after the
  imports), the highest of the rounds; it includes the interpreter and the imported libraries;
- ``RSS growth``: that peak minus the resident set just before the first run;
- ``arrow peak``: peak of the Arrow memory pool, the highest of the rounds.

Target: ``(a)/(b) <= 1.5`` on the best runs (the ratio of the median runs, and (a)/(c), are
printed too: on a machine shared with other work the best-of ratio moves by +-0.3). Checks on the
(a) result: N orders, unique ids, no problems, and the sum of ``total_amount`` equals the
generator's ``sum(net_cents)`` to the cent; (b) and (c) read as many rows per table as the
manifest says.

Exit code: 0, even when the speed target is missed; 1 when a correctness check fails.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _memory import MIB, reset_rss_peak, rss_mib

PAGE_SIZE = 500
DEFAULT_ORDERS = 1_000_000
QUICK_ORDERS = 20_000
WINDOWS = 8
TARGET = 1.5
DATA_TABLES = ("orders", "services", "adjustments", "tags", "problems")

STEPS = {
    "load": "(a) store.load()",
    "bare": "(b) bare pq.read_table",
    "dataset": "(c) pyarrow.dataset",
}


# -------------------------------------------------------------------------------------- building


def _pages(orders: list[dict[str, Any]]) -> list[bytes]:
    """The orders as the API's raw pages of ``PAGE_SIZE``."""
    pages = []
    for start in range(0, len(orders), PAGE_SIZE):
        chunk = [
            {k: v for k, v in o.items() if k != "tags"} for o in orders[start : start + PAGE_SIZE]
        ]
        last = start + PAGE_SIZE >= len(orders)
        body = {
            "status": "success",
            "orders": chunk,
            "next_cursor": None if last else int(chunk[-1]["id"]),
        }
        pages.append(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return pages


def build_commit(path: str, n: int, seed: int) -> dict[str, Any]:
    """Generate, type as sync does, and write through the store's commit path (a child process)."""
    import gc

    import numpy as np

    from ht_analytics import OrderStore, PartnerClient
    from ht_analytics._loader import load_tables
    from ht_analytics._schema import ARROW_SCHEMAS
    from ht_analytics._store_files import ensure_private_dir, now_utc
    from ht_analytics._store_lock import StoreLock
    from ht_analytics._store_tables import conform_all, dedupe_last
    from ht_analytics._sync import Held
    from ht_analytics.sandbox import generate_dataset

    times: dict[str, float] = {}
    t = time.perf_counter()
    data = generate_dataset(n, seed)
    net_cents = sum(data.net_cents.values())
    first = data.orders[0]["createdAt"][:10]
    last = data.orders[-1]["createdAt"][:10]
    orders = data.orders
    del data
    times["generate"] = time.perf_counter() - t

    t = time.perf_counter()
    groups = []
    bounds = np.linspace(0, len(orders), WINDOWS + 1).astype(int)
    pages_total = 0
    for lo, hi in itertools.pairwise(bounds):
        pages = _pages(orders[lo:hi])
        pages_total += len(pages)
        groups.append(conform_all(load_tables(pages)))
        del pages
    del orders
    gc.collect()
    new = dedupe_last(groups)
    del groups
    times["type (load_tables)"] = time.perf_counter() - t

    t = time.perf_counter()
    store = OrderStore(path)
    ensure_private_dir(store.path)
    held = Held.of(
        ARROW_SCHEMAS["orders"].empty_table().select(["order_id", "created_at", "status_id"]),
        ARROW_SCHEMAS["tags"].empty_table(),
    )
    ranges = [(datetime.fromisoformat(first).date(), datetime.now(UTC).date())]
    # Any base URL: the client is only asked for it (nothing is requested).
    client = PartnerClient(api_key="bench", base_url="http://127.0.0.1:9", rate_limit=None)
    with StoreLock(store.path, 60.0, "sync"):
        store._commit(
            None, client, new, held, now_utc(), {"scopes": {}}, ("*",), ranges, "backfill"
        )
    client.close()
    times["commit"] = time.perf_counter() - t
    return {
        "orders": n,
        "net_cents": net_cents,
        "pages": pages_total,
        "first": first,
        "last": last,
        "times": times,
    }


def _serve(conn: Connection, n: int, seed: int) -> None:
    """A sandbox server process for ``--build sync``: serve until told to stop."""
    from ht_analytics.sandbox import SandboxServer, generate_dataset

    data = generate_dataset(n, seed)
    net_cents = sum(data.net_cents.values())
    with SandboxServer(data) as srv:
        conn.send({"url": srv.url, "api_key": srv.api_key, "net_cents": net_cents})
        conn.recv()


def build_sync(path: str, n: int, seed: int) -> dict[str, Any]:
    """Backfill over HTTP from a sandbox server in another process (a child process)."""
    from ht_analytics import OrderStore, PartnerClient

    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, n, seed), daemon=True)
    t = time.perf_counter()
    proc.start()
    hello = conn.recv()
    times = {"generate + start server": time.perf_counter() - t}
    try:
        t = time.perf_counter()
        with PartnerClient(api_key=hello["api_key"], base_url=hello["url"], rate_limit=None) as c:
            report = OrderStore(path).sync(c, concurrency=4, progress=False)
        report.raise_for_error()
        times["store.sync (HTTP)"] = time.perf_counter() - t
    finally:
        conn.send("stop")
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
    return {"orders": n, "net_cents": hello["net_cents"], "pages": report.pages, "times": times}


def build(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """Build the store in a spawned process; reuse it when ``--reuse`` and it matches."""
    info_path = path.with_name(path.name + ".build.json")
    if args.reuse and (path / "manifest.json").exists() and info_path.exists():
        info: dict[str, Any] = json.loads(info_path.read_text())
        if info.get("orders") == args.orders and info.get("seed") == args.seed:
            info["reused"] = True
            return info
    if path.exists():
        shutil.rmtree(path)
    func = build_commit if args.build == "commit" else build_sync
    ctx = mp.get_context("spawn")
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        info = pool.apply(func, (str(path), args.orders, args.seed))
    info.update(seed=args.seed, build=args.build, reused=False)
    info_path.write_text(json.dumps(info, indent=1))
    return info


# ----------------------------------------------------------------------------------------- steps


def data_files(path: Path) -> dict[str, list[Path]]:
    """The files of the five data tables, as ``manifest.json`` names them."""
    manifest = json.loads((path / "manifest.json").read_text())
    return {t: [path / rel for rel, _ in manifest["files"][t].values()] for t in DATA_TABLES}


def manifest_rows(path: Path) -> dict[str, int]:
    manifest = json.loads((path / "manifest.json").read_text())
    return {t: sum(int(rows) for _, rows in manifest["files"][t].values()) for t in DATA_TABLES}


def step_load(path: Path, files: dict[str, list[Path]]) -> Any:
    from ht_analytics import OrderStore

    return OrderStore(path).load()


def step_bare(path: Path, files: dict[str, list[Path]]) -> dict[str, int]:
    import pyarrow.parquet as pq

    tables = {t: [pq.read_table(f) for f in fs] for t, fs in files.items()}
    return {t: sum(x.num_rows for x in parts) for t, parts in tables.items()}


def step_dataset(path: Path, files: dict[str, list[Path]]) -> dict[str, int]:
    import pyarrow.dataset as ds

    tables = {
        t: ds.dataset([str(f) for f in fs], format="parquet").to_table() if fs else None
        for t, fs in files.items()
    }
    return {t: 0 if x is None else x.num_rows for t, x in tables.items()}


STEP_FUNCS = {"load": step_load, "bare": step_bare, "dataset": step_dataset}


@dataclass
class StepResult:
    step: str
    best: float = 0.0
    runs: list[float] = field(default_factory=list)
    rss_before_mib: float = 0.0
    rss_peak_mib: float = 0.0
    arrow_peak_mib: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def verify(frames: Any) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    total = pa.array(frames.orders["total_amount"])
    summed = pc.sum(total).as_py()
    return {
        "orders": len(frames.orders),
        "unique_ids": int(frames.orders["order_id"].nunique()),
        "services": len(frames.services),
        "adjustments": len(frames.adjustments),
        "tags": len(frames.tags),
        "problems": len(frames.problems),
        "total_na": int(total.null_count),
        "net": None if summed is None else str(summed),
    }


def run_child(step: str, path: str) -> StepResult:
    """Body of a child process: import, list the files, run ``step`` once untimed, then once
    timed; the peak RSS covers both runs (the first run's is the higher)."""
    import pandas  # noqa: F401
    import pyarrow as pa
    import pyarrow.parquet

    import ht_analytics  # noqa: F401

    result = StepResult(step)
    try:
        root = Path(path)
        files = data_files(root)
        func = STEP_FUNCS[step]
        result.rss_before_mib, _peak = rss_mib()
        reset_rss_peak()
        out: Any = func(root, files)  # warm-up: lazy imports and first-touch memory
        out = None
        started = time.perf_counter()
        out = func(root, files)
        result.runs.append(time.perf_counter() - started)
        _now, result.rss_peak_mib = rss_mib()
        result.best = result.runs[0]
        result.arrow_peak_mib = pa.default_memory_pool().max_memory() / MIB
        result.summary = verify(out) if step == "load" else dict(out)
    except Exception:
        result.error = traceback.format_exc()
    return result


def in_child(step: str, path: Path) -> StepResult:
    ctx = mp.get_context("spawn")
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(run_child, (step, str(path)))


def measure(path: Path, rounds: int) -> dict[str, StepResult]:
    """``rounds`` rounds, each running every step in a fresh process (the order alternating from
    one round to the next, so that a burst of load elsewhere on the machine hits both steps
    alike); per step: the best time, every time, the highest peaks."""
    results = {step: StepResult(step) for step in STEPS}
    for round_no in range(rounds):
        order = list(STEPS) if round_no % 2 == 0 else list(reversed(STEPS))
        for step in order:
            one = in_child(step, path)
            r = results[step]
            if one.error:
                r.error = r.error or one.error
                continue
            r.runs.extend(one.runs)
            r.best = min(r.runs)
            if one.rss_peak_mib >= r.rss_peak_mib:
                r.rss_peak_mib, r.rss_before_mib = one.rss_peak_mib, one.rss_before_mib
            r.arrow_peak_mib = max(r.arrow_peak_mib, one.arrow_peak_mib)
            r.summary = one.summary
    return results


# ------------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="orders in the store")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best time is kept")
    parser.add_argument("--seed", type=int, default=0, help="sandbox generator seed")
    parser.add_argument(
        "--build", choices=("commit", "sync"), default="commit", help="how to build the store"
    )
    parser.add_argument("--out", type=Path, default=None, help="build the store here and keep it")
    parser.add_argument(
        "--reuse", action="store_true", help="with --out: reuse a store built there before"
    )
    parser.add_argument("--quick", action="store_true", help=f"N={QUICK_ORDERS:,}, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.repeat = QUICK_ORDERS, 1
        print(
            "--quick: a smoke test at a small size, where fixed costs dominate: its ratios are "
            "not the targets' figures (run without --quick for those)"
        )
    if args.orders < 1 or args.repeat < 1:
        parser.error("--orders and --repeat must be at least 1")
    if args.reuse and args.out is None:
        parser.error("--reuse needs --out")
    return args


def print_table(results: dict[str, StepResult]) -> None:
    runs_of = {s: ", ".join(f"{t:.3f}" for t in r.runs) for s, r in results.items()}
    width = max(22, *(len(v) for v in runs_of.values()))
    head = (
        f"{'step':<24} {'best s':>8} {'runs s':>{width}} {'peak RSS':>9} {'RSS growth':>10} "
        f"{'arrow peak':>10}"
    )
    print(head)
    print("-" * len(head))
    for step, label in STEPS.items():
        r = results[step]
        if r.error:
            print(f"{label:<24} failed (see below)")
            continue
        print(
            f"{label:<24} {r.best:>8.3f} {runs_of[step]:>{width}} {r.rss_peak_mib:>7.0f}Mi "
            f"{r.rss_peak_mib - r.rss_before_mib:>8.0f}Mi {r.arrow_peak_mib:>8.0f}Mi"
        )
    print("(MiB; peak RSS includes the interpreter and the libraries; see --help)")


def check(results: dict[str, StepResult], info: dict[str, Any], rows: dict[str, int]) -> bool:
    ok = True
    load = results["load"]
    if load.error:
        print("  [FAIL] store.load() raised")
        ok = False
    else:
        s = load.summary
        n = info["orders"]
        expected = Decimal(info["net_cents"]) / 100
        net = None if s["net"] is None else Decimal(s["net"])
        checks = [
            (f"orders == N ({s['orders']:,} == {n:,})", s["orders"] == n),
            (f"order ids unique ({s['unique_ids']:,})", s["unique_ids"] == n),
            (f"problems empty ({s['problems']:,} rows)", s["problems"] == 0),
            (f"total_amount has no NA ({s['total_na']:,})", s["total_na"] == 0),
            (f"sum total_amount == generator net ({net} == {expected})", net == expected),
        ]
        for table in ("services", "adjustments", "tags"):
            checks.append(
                (
                    f"load {table} rows == manifest ({s[table]:,} == {rows[table]:,})",
                    s[table] == rows[table],
                )
            )
        for text, good in checks:
            print(f"  [{'ok' if good else 'FAIL'}] {text}")
            ok &= good
    for step in ("bare", "dataset"):
        r = results[step]
        if r.error:
            print(f"  [FAIL] {STEPS[step]} raised")
            ok = False
            continue
        good = r.summary == rows
        print(f"  [{'ok' if good else 'FAIL'}] {STEPS[step]}: rows per table == manifest")
        ok &= good
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="ht-store-load-"))
    try:
        path = (args.out if args.out is not None else tmp / "store").absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        info = build(args, path)
        how = (
            "reused from an earlier run"
            if info.get("reused")
            else f"built by --build {info['build']}"
        )
        print(f"store of {info['orders']:,} orders (seed {info['seed']}) at {path}, {how}")
        if not info.get("reused"):
            steps = ", ".join(f"{k} {v:.1f} s" for k, v in info["times"].items())
            print(f"  build: {steps}; total {time.perf_counter() - started:.1f} s")
        files = data_files(path)
        rows = manifest_rows(path)
        size = sum(f.stat().st_size for fs in files.values() for f in fs)
        print(
            f"  {sum(len(fs) for fs in files.values())} data files, {size / MIB:,.1f} MiB; rows: "
            + ", ".join(f"{t} {n:,}" for t, n in rows.items())
        )
        print(
            f"best of {args.repeat} round(s); each round runs each step in a fresh process "
            "(one untimed run, then one timed run)\n"
        )
        results = measure(path, args.repeat)
        print_table(results)
        print()
        load, bare, dataset = (results[step] for step in STEPS)
        if load.error or bare.error:
            print("ratio: not available (a step failed)")
        else:
            ratio = load.best / bare.best
            print(
                f"(a)/(b) = {ratio:.2f}x   target <= {TARGET:g}x : "
                f"{'MET' if ratio <= TARGET else 'NOT MET'}"
            )
            medians = statistics.median(load.runs) / statistics.median(bare.runs)
            print(f"(a)/(b) of the median runs = {medians:.2f}x   (reference)")
        if not (load.error or dataset.error):
            print(
                f"(a)/(c) = {load.best / dataset.best:.2f}x   (reference; (a) - (c) = "
                f"{load.best - dataset.best:.3f} s)"
            )
        print("\ncorrectness:")
        ok = check(results, info, rows)
        for step, label in STEPS.items():
            if results[step].error:
                print(f"\n{label} raised:\n{results[step].error}")
        print(f"\ncorrectness: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
