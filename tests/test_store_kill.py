"""OrderStore under SIGKILL: a sync runs in another process (with its own sandbox) and is killed at
a random moment, many times, backfills, full re-reads and incremental syncs into a store that
already holds data. After every kill the store loads, is consistent, and holds either what it held
before the killed sync or everything that sync would have written; the next sync takes the dead
process's lock at once and brings the store up to the sandbox's records."""

from __future__ import annotations

import inspect
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from conftest import TABLE_KEYS
from ht_analytics import OrderFrames, OrderStore, PartnerClient, load_orders
from ht_analytics.sandbox import SandboxData, SandboxServer

N_ORDERS = 1_500
SEED = 8
LATENCY = 0.02
"""Seconds the killed process's sandbox adds to each response, so that fetching takes a while too."""
KILLS = 24
"""Syncs to kill while they run (a sync that beat its kill does not count: more rounds are run)."""
MAX_ROUNDS = 36
KEYS = TABLE_KEYS


def advance(data: SandboxData, step: int) -> list[dict[str, Any]]:
    """Round ``step`` of the changes an incremental sync can see, made to ``data`` in place: an
    open order created before the look-back window closes and another changes while staying open,
    recent orders change, new orders arrive. Returns the orders changed or created. Deterministic;
    also run by the killed process (its source is copied into the script)."""
    import random as _random
    from datetime import UTC, datetime, timedelta

    from ht_analytics import OrderStatus
    from ht_analytics.sandbox._generate import new_order

    def created(order: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(order["createdAt"]).astimezone(UTC)

    def is_open(order: dict[str, Any]) -> bool:
        return not OrderStatus(order["statusId"]).is_terminal

    rng = _random.Random(f"step-{step}")
    cut = max(created(o) for o in data.orders) - timedelta(days=20)
    old_open = [o for o in data.orders if is_open(o) and created(o) < cut]
    recent = [o for o in data.orders if created(o) >= cut]
    touched = []
    for i, order in enumerate(rng.sample(old_open, min(2, len(old_open)))):
        if i == 0:  # leaves the open statuses
            order.update(statusId=int(OrderStatus.COMPLETED), atRisk=False)
            order["completedAt"] = "2026-10-31T12:00:00.000Z"
        else:  # stays open, other values
            order.update(statusId=int(OrderStatus.LATE_TECH), atRisk=not order["atRisk"])
        touched.append(order)
    for order in rng.sample(recent, 3):
        order.update(
            statusId=rng.choice([1, 2, 3, 4, 12]),
            progressStatusId=rng.randint(1, 6),
            atRisk=not order["atRisk"],
        )
        touched.append(order)
    clients = sorted(data.clients)
    skus = sorted(s["id"] for s in data.skus)
    for _ in range(4):
        touched.append(
            new_order(
                data, client_id=rng.choice(clients), sku_ids=rng.sample(skus, rng.randint(1, 3))
            )
        )
    return touched


def world(version: int) -> SandboxData:
    """The sandbox's records at ``version``: the generated orders after ``version`` rounds of
    :func:`advance`. Also run by the killed process."""
    from ht_analytics.sandbox import generate_dataset

    data = generate_dataset(N_ORDERS, seed=SEED)
    for step in range(1, version + 1):
        advance(data, step)
    return data


SCRIPT = f"""
import json, sys, time
from typing import Any
from ht_analytics import OrderStore, PartnerClient
from ht_analytics.sandbox import FaultConfig, SandboxData, SandboxServer

N_ORDERS, SEED = {N_ORDERS}, {SEED}
{inspect.getsource(advance)}
{inspect.getsource(world)}
path, version, mode, latency = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
with SandboxServer(world(version), faults=FaultConfig(latency=latency)) as srv:
    with PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as client:
        store = OrderStore(path)
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            sys.exit(3)
        started = time.monotonic()
        report = store.sync(client, full=mode == "full", progress=False)
        elapsed = time.monotonic() - started
        print(json.dumps({{"ok": report.ok, "kind": report.kind, "error": report.error,
                          "elapsed": elapsed}}), flush=True)
"""


# -- the store's side -----------------------------------------------------------------------------


Tables = dict[str, pd.DataFrame]


def sorted_tables(frames: OrderFrames) -> Tables:
    """Each table sorted by its key (row order is not part of the comparison)."""
    return {
        name: getattr(frames, name).sort_values(KEYS[name], kind="stable").reset_index(drop=True)
        for name in KEYS
    }


def difference(got: Tables, want: Tables) -> str | None:
    """``None`` when all five tables are equal (columns, dtypes, values), else the first mismatch."""
    for name in KEYS:
        try:
            pd.testing.assert_frame_equal(got[name], want[name], check_exact=True, obj=name)
        except AssertionError as exc:
            return str(exc)
    return None


def assert_consistent(frames: OrderFrames) -> None:
    """Typed as the contract says; every order once; every child row belongs to a stored order."""
    frames.check_schema()
    ids = frames.orders["order_id"]
    assert ids.is_unique, "an order is stored twice"
    held = set(ids)
    for name in ("services", "adjustments", "tags", "problems"):
        owners = set(getattr(frames, name)["order_id"].dropna())
        assert owners <= held, f"{name} rows of orders the store does not hold: {owners - held}"


def expected(srv: SandboxServer) -> OrderFrames:
    """The sandbox's records as it serves them (one page of everything), read by ``load_orders``."""
    with srv.sandbox.lock:
        page = srv.sandbox.encoder.page_body(list(srv.data.orders), None)
    return load_orders([page])


def live_files(path: Path) -> set[str]:
    """The data files the store's manifest names."""
    manifest = json.loads((path / "manifest.json").read_bytes())
    named = {rel for table in manifest["files"].values() for rel, _ in table.values()}
    return named | {rel for rel, _ in manifest["snapshots"]}


def data_files(path: Path) -> set[str]:
    """Every file under the store but the manifest, the state and the lock files."""
    skip = {"manifest.json", "state.json", ".lock", ".lock.holder"}
    return {
        p.relative_to(path).as_posix()
        for p in path.rglob("*")
        if p.is_file() and p.relative_to(path).as_posix() not in skip
    }


# -- the killed process ---------------------------------------------------------------------------


@dataclass
class Syncer:
    """A process that has started its sandbox at ``version`` and waits for "go" to sync ``path``."""

    version: int
    mode: str
    proc: subprocess.Popen[str]
    stderr: IO[str]

    @classmethod
    def spawn(cls, path: Path, version: int, mode: str, log: Path) -> Syncer:
        """Start the process (it imports, builds its sandbox and says "ready" before syncing)."""
        env = dict(os.environ)
        if sys.flags.dont_write_bytecode:
            # Without a bytecode cache each process would compile pandas & co. again (~2 s of CPU):
            # give the processes a private one (the environment's own files stay untouched).
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(log.parent / "pycache")
        stderr = log.open("w")
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(path), str(version), mode, str(LATENCY)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        return cls(version, mode, proc, stderr)

    def ready(self) -> None:
        """Wait until the process has started its sandbox (it then waits for "go")."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"the sync process did not start: {self.errors()}"

    def go(self) -> None:
        """Let the (ready) process sync."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self) -> dict[str, Any]:
        """Wait for the sync to end; its report as the process printed it."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert self.proc.wait(timeout=60) == 0, self.errors()
        return dict(json.loads(line))

    def kill(self) -> dict[str, Any] | None:
        """SIGKILL the process. ``None`` when its sync was still running, else the report of the
        sync that had already finished (the process may have been killed while shutting down)."""
        assert self.proc.stdout is not None
        self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=30)
        line = self.proc.stdout.readline()  # the process is gone: no wait
        self.close()
        assert code in (0, -signal.SIGKILL), self.errors()
        return dict(json.loads(line)) if line else None

    def close(self) -> None:
        """Make sure the process is gone and its pipes are closed."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.stderr.close()

    def errors(self) -> str:
        self.stderr.flush()
        return Path(self.stderr.name).read_text()[-3000:]


class World:
    """One sandbox in this process whose records move on, version by version, as the killed
    processes' do; and the tables a store holding exactly those records loads."""

    def __init__(self) -> None:
        self.version = 0
        self.server = SandboxServer(world(0)).start()
        self.tables: dict[int, Tables] = {0: sorted_tables(expected(self.server))}

    def expected(self, version: int) -> Tables:
        """The tables of ``world(version)`` (the world moves on to it; older ones are forgotten
        but the one before)."""
        while self.version < version:
            self.version += 1
            sandbox = self.server.sandbox
            with sandbox.lock:
                for order in advance(self.server.data, self.version):
                    sandbox.order_changed(order)
            self.tables[self.version] = sorted_tables(expected(self.server))
            self.tables.pop(self.version - 2, None)
        return self.tables[version]

    def close(self) -> None:
        self.server.stop()


def sync_here(path: Path, srv: SandboxServer) -> Any:
    """A normal sync in this process; the lock must be free at once (``lock_timeout=0``)."""
    with PartnerClient(base_url=srv.url, api_key=srv.api_key, rate_limit=None) as client:
        report = OrderStore(path, lock_timeout=0).sync(client, progress=False)
    assert report.ok, report.error
    return report


def plan(rng: random.Random) -> list[str]:
    """The kind of sync of each round: two measured ones, then a backfill, then a mix (the store
    has data for all but the backfills, which start from a cleared store)."""
    modes = ["calibrate-backfill", "calibrate-incremental", "backfill"]
    while len(modes) < MAX_ROUNDS:
        modes.append(rng.choices(["incremental", "full", "backfill"], [0.55, 0.2, 0.25])[0])
    return modes


def test_sigkill_at_random_moments_never_damages_the_store(tmp_path: Path) -> None:
    """Two measured syncs, then syncs SIGKILLed after a random delay (seeded) within a typical
    sync's duration, until 24 were killed while running. After each kill the store loads, is
    consistent, and equals the state before the killed sync or the complete state after it; a sync
    in this process then takes the dead process's lock at once and leaves exactly the sandbox's
    records and the files they need."""
    rng = random.Random(20261128)
    path = tmp_path / "cache"
    logs = tmp_path / "logs"
    logs.mkdir()
    modes = plan(rng)
    sandbox = World()
    pending: list[Syncer] = []

    def spawn(i: int) -> None:
        if i < len(modes):
            mode = modes[i].removeprefix("calibrate-")
            pending.append(Syncer.spawn(path, i + 1, mode, logs / f"{i}.log"))

    outcomes: Counter[str] = Counter()
    durations: dict[str, list[float]] = {"backfill": [], "incremental": []}
    try:
        spawn(0)
        spawn(1)
        for i, mode in enumerate(modes):
            if outcomes["killed"] >= KILLS:
                break
            version = i + 1  # every round syncs a newer world
            syncer = pending.pop(0)
            want = sandbox.expected(version)
            if mode.endswith("backfill"):
                OrderStore(path).clear()
                before = sorted_tables(OrderStore(path).load())
                assert len(before["orders"]) == 0
            else:  # as checked at the end of the previous round
                before = sandbox.expected(version - 1)
            timing = "incremental" if mode.endswith("incremental") else "backfill"
            syncer.ready()
            if mode.startswith("calibrate"):
                syncer.go()
                report = syncer.finish()
                syncer.close()
                spawn(i + 2)
                assert report["ok"], report
                assert report["kind"] == mode.removeprefix("calibrate-")
                durations[timing].append(report["elapsed"])
                diff = difference(sorted_tables(OrderStore(path).load()), want)
                assert diff is None, diff
                continue

            delay = rng.uniform(0, statistics.median(durations[timing]))
            syncer.go()
            time.sleep(delay)
            finished = syncer.kill()
            spawn(i + 2)  # it starts up while this round is checked
            if finished is not None:  # the sync beat the kill: it must have succeeded
                assert finished["ok"], finished
                durations[timing].append(finished["elapsed"])

            frames = OrderStore(path).load()
            assert_consistent(frames)
            OrderStore(path).snapshots()
            OrderStore(path).info()
            after = sorted_tables(frames)
            as_before = difference(after, before) is None
            if not as_before:
                diff = difference(after, want)
                assert diff is None, (
                    f"round {i} ({mode}, killed {delay:.3f} s in): the store is neither as it was "
                    f"before the sync nor complete: {diff}"
                )
            assert finished is None or not as_before, "a finished sync left the store as it was"
            manifest = (path / "manifest.json").exists()
            leftovers = data_files(path) - (live_files(path) if manifest else set())
            outcomes["killed" if finished is None else "had finished"] += 1
            outcomes["as before" if as_before else "complete"] += 1
            outcomes["files left for the next writer"] += bool(leftovers)

            holder = path / ".lock.holder"
            if holder.exists():  # left by the dead process, which held the lock when it died
                assert json.loads(holder.read_bytes())["pid"] == syncer.proc.pid
                outcomes["lock held by the dead process"] += 1
            assert sandbox.version == version
            report = sync_here(path, sandbox.server)
            assert not holder.exists()
            outcomes[f"then {report.kind}"] += 1
            diff = difference(sorted_tables(OrderStore(path).load()), want)
            assert diff is None, f"round {i} ({mode}): after the next sync: {diff}"
            assert data_files(path) == live_files(path), "files the manifest does not name"
    finally:
        for syncer in pending:
            syncer.close()
        sandbox.close()
    assert outcomes["killed"] >= KILLS, outcomes
    print(f"sync durations {durations}; outcomes {dict(outcomes)}")
