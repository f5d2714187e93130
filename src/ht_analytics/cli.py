"""The ``ht-analytics`` command line: thin commands over the library.

User errors end with one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from ._exceptions import HTError

F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(func: F) -> F:
    """Turn the toolkit's errors and bad arguments into one clear line and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (HTError, ValueError) as exc:
            message = " ".join(str(exc).split())
            # On the command line there is no api_key= to pass.
            message = message.replace("no API key: pass api_key=..., set", "no API key: set")
            raise click.ClickException(message) from None
        except BrokenPipeError:  # `ht-analytics cache info | head`: the reader left; say nothing
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None

    return cast(F, wrapper)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ht-analytics")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what happens to stderr: -v retries, windows and store steps; -vv also each request.",
)
def main(verbose: int) -> None:
    """ht-analytics: orders from the HT Partner API as typed DataFrames, metrics and reports."""
    if verbose:
        import logging

        root = logging.getLogger("ht_analytics")
        for old in [h for h in root.handlers if getattr(h, "ht_cli", False)]:
            root.removeHandler(old)  # run again in one process (tests, a notebook): one handler
        handler = logging.StreamHandler(sys.stderr)
        handler.ht_cli = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


CACHE_HELP = "Store directory (default: $HT_CACHE_DIR, else ./data/cache)."


def _split_tags(_ctx: Any, _param: Any, values: tuple[str, ...]) -> tuple[str, ...]:
    """``--tags a --tags b`` or ``--tags a,b``: the tags, each once, in order."""
    tags = [t.strip() for value in values for t in value.split(",") if t.strip()]
    return tuple(dict.fromkeys(tags))


def _n(count: int, one: str, many: str | None = None) -> str:
    """``1 request``, ``2 requests``."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _print_report(report: Any) -> None:
    click.echo(
        f"{'Synced' if report.ok else 'Sync FAILED'} ({report.kind}): {report.fetched:,} orders "
        f"fetched — {report.new:,} new, {report.changed:,} changed, {report.unchanged:,} "
        f"unchanged — {_n(report.requests, 'request')}, {_n(report.retries, 'retry', 'retries')}, "
        f"{report.elapsed:.1f} s; {report.orders_in_store:,} orders in the store"
    )
    for check in report.tag_checks:
        server = "?" if check.server is None else f"{check.server:,}"
        click.echo(f"  tag {check.tag}: {check.local:,} stored, the API counts {server}")
    for warning in report.warnings:
        click.echo(f"  warning: {warning}")


def _table(frame: Any, columns: list[str]) -> str:
    import pandas as pd

    if frame.empty:
        return "  (none)"
    shown = frame[columns].copy()
    for c in shown.columns:
        if isinstance(shown[c].dtype, pd.ArrowDtype):  # money
            shown[c] = [f"${v:,.2f}" if v is not None and not pd.isna(v) else "" for v in shown[c]]
    return str(shown.to_string(index=False))


@main.command()
@click.option(
    "--orders",
    "n_orders",
    type=click.IntRange(0),
    default=20_000,
    show_default=True,
    help="Orders the sandbox generates.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the sandbox data.")
@click.option(
    "--cache",
    type=click.Path(file_okay=False),
    default="data/demo-cache",
    show_default=True,
    help="Store directory for the demo (emptied first; only a sandbox's store or a new directory).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Where the report files go.",
)
@click.option("--concurrency", type=click.IntRange(1, 16), default=4, show_default=True)
@_user_errors
def demo(n_orders: int, seed: int, cache: str, out: str, concurrency: int) -> None:
    """Run the main job against the built-in sandbox (no API key needed).

    Starts the sandbox on a free loopback port, syncs every order into a store, prints revenue
    by month, the top tags, the orders at risk and the operations figures, and writes the
    report as HTML, XLSX and PDF under --out.
    """
    from ._client import PartnerClient
    from ._ops import operations_summary
    from ._report import build_report
    from ._revenue import revenue_breakdown
    from ._risk import at_risk_orders, at_risk_summary
    from ._store import OrderStore
    from ._tag_counts import tag_counts
    from .sandbox import SandboxServer
    from .sandbox._model import DEFAULT_NOW

    click.echo(f"Starting the sandbox with {n_orders:,} orders (seed {seed}) …")
    with SandboxServer(orders=n_orders, seed=seed, expose_tags=True) as server:
        click.echo(f"Sandbox serving at {server.url}")
        store = OrderStore(cache)
        _check_demo_store(store)
        store.clear()
        with PartnerClient(api_key=server.api_key, base_url=server.url, rate_limit=None) as client:
            report = store.sync(client, concurrency=concurrency, progress=sys.stderr.isatty())
        _print_report(report)
        report.raise_for_error()
    started = time.perf_counter()
    frames = store.load()
    now = DEFAULT_NOW  # the sandbox's clock
    revenue = revenue_breakdown(frames, by="month")
    tags = tag_counts(frames)
    risk = at_risk_summary(frames, freq="M", now=now)
    attention = at_risk_orders(frames, now=now)
    ops = operations_summary(frames, freq="Q")
    elapsed = time.perf_counter() - started
    money = ["orders", "gross", "prepaid", "net", "avg_order_value"]
    click.echo(f"\nRevenue by month, {revenue.attrs['statuses'].split(' (')[0]} orders, local time")
    click.echo(_table(revenue.tail(7), ["month", *money]))
    months = int((~revenue["month"].isin(["Total", "(counted in several rows)"])).sum())
    if months > 6:
        click.echo(f"(the last six of {months} months; the Total is all of them)")
    click.echo("\nTop tags")
    top = tags.head(5).assign(share=[f"{v:.1%}" for v in tags["share"].head(5)])
    click.echo(_table(top, ["tag", "orders", "share"]))
    open_orders, flagged = int(risk["open_orders"].sum()), int(risk["at_risk"].sum())
    click.echo(
        f"\nAt risk: {flagged:,} of {open_orders:,} open orders flagged; "
        f"{len(attention):,} need attention"
    )
    click.echo("\nOperations by quarter")
    recent = ops.tail(4).assign(
        completed=[f"{v:.1%}" for v in ops["completion_rate"].tail(4)],
        cancelled=[f"{v:.1%}" for v in ops["cancellation_rate"].tail(4)],
        lead_time=[f"{v / 24:.1f} d" for v in ops["lead_time_median_h"].tail(4)],
    )
    click.echo(_table(recent, ["quarter", "orders", "completed", "cancelled", "lead_time"]))
    if len(ops) > 4:
        click.echo(f"(the last four of {len(ops)} quarters)")
    click.echo("\nWriting the report …")
    built = build_report(
        frames,
        title="HT Partner API orders — sandbox demo",
        now=now,
        base_url=server.url,
        filters=f"sandbox, {n_orders:,} orders, seed {seed}",
    )
    written = built.write(out, ("html", "xlsx", "pdf"))
    click.echo(f"\nStore: {store.path} (loaded and computed in {elapsed:.1f} s)")
    click.echo("Report: " + ", ".join(str(p) for p in written))


def _check_demo_store(store: Any) -> None:
    """The demo empties its store first: only a store of a sandbox (a loopback URL) or an
    empty directory; a store of the real API or anything else is left alone."""
    from ._config import _is_loopback
    from ._exceptions import CacheError
    from ._store_files import FORMAT, MANIFEST, read_json_file

    try:
        data = read_json_file(store.path / MANIFEST)
    except CacheError:  # a damaged store: clear() empties it if it is one, else refuses
        return
    url = (data or {}).get("base_url") or ""
    if data and data.get("format") == FORMAT and url and not _is_loopback(_host(url)):
        raise CacheError(
            f"the store at {store.path} holds orders from {url}, not from a sandbox; the demo "
            "empties its store first: choose another --cache"
        )


def _host(url: str) -> str:
    import httpx

    return str(httpx.URL(url).host)


@main.command()
@click.option(
    "--tags",
    multiple=True,
    callback=_split_tags,
    help="Sync these tags (repeat the option, or separate them with commas); default all.",
)
@click.option("--start", help="First creation date (YYYY-MM-DD) of a backfill.")
@click.option("--end", help="Last creation date (YYYY-MM-DD).")
@click.option("--full", is_flag=True, help="Read every order again.")
@click.option("--cache", type=click.Path(file_okay=False), help=CACHE_HELP)
@click.option("--concurrency", type=click.IntRange(1, 16), default=4, show_default=True)
@_user_errors
def sync(
    tags: tuple[str, ...],
    start: str | None,
    end: str | None,
    full: bool,
    cache: str | None,
    concurrency: int,
) -> None:
    """Bring the store up to date with the API (key from HT_API_KEY or .env)."""
    from ._client import PartnerClient
    from ._store import OrderStore

    with PartnerClient() as client:
        report = OrderStore(cache).sync(
            client,
            tags=list(tags) or None,
            start=start,
            end=end,
            full=full,
            concurrency=concurrency,
            progress=sys.stderr.isatty(),
        )
    _print_report(report)
    report.raise_for_error()


def _a_date(_ctx: Any, param: Any, value: str | None) -> str | None:
    """A creation day, ``YYYY-MM-DD`` (the report picks orders by their creation day in UTC)."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError
        date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(
            f"--{param.name} {value!r} is not a date: give a day as YYYY-MM-DD (the report "
            "picks orders by their creation day in UTC)"
        ) from None
    return text


@main.command()
@click.option("--start", callback=_a_date, help="First creation date (YYYY-MM-DD).")
@click.option("--end", callback=_a_date, help="Last creation date (YYYY-MM-DD).")
@click.option(
    "--tags",
    multiple=True,
    callback=_split_tags,
    help="Only orders carrying one of these tags (repeat the option, or use commas).",
)
@click.option(
    "--format",
    "formats",
    default="html,xlsx,pdf",
    show_default=True,
    help="Comma-separated: html, xlsx, pdf, csv, parquet.",
)
@click.option("--out", type=click.Path(file_okay=False), default="reports", show_default=True)
@click.option("--include-pii", is_flag=True, help="Add client names, emails, phones, addresses.")
@click.option(
    "--now",
    help="The instant at-risk and overdue figures are measured from (ISO date-time; default: the "
    "current time). Sandbox data describes its own clock: pass it to match the demo.",
)
@click.option("--cache", type=click.Path(file_okay=False), help=CACHE_HELP)
@_user_errors
def report(
    start: str | None,
    end: str | None,
    tags: tuple[str, ...],
    formats: str,
    out: str,
    include_pii: bool,
    now: str | None,
    cache: str | None,
) -> None:
    """Write the report of the stored orders (no network needed)."""
    import pandas as pd

    from ._report import build_report
    from ._store import OrderStore

    wanted = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    unknown = set(wanted) - {"html", "xlsx", "pdf", "csv", "parquet"}
    if unknown or not wanted:
        raise click.ClickException(
            f"unknown format {', '.join(sorted(unknown)) or '(none)'}: use html, xlsx, pdf, csv, parquet"
        )
    store = OrderStore(cache)
    info = store.info()
    if not info["exists"] or not info["rows"]["orders"]:
        raise click.ClickException(
            f"the store at {store.path} is empty: run `ht-analytics sync` first (the demo's "
            "store is another one: --cache data/demo-cache)"
        )
    frames = store.load(start=start, end=end)  # checks the dates (start after end: refused)
    if tags:
        frames = frames.filter(tags=list(tags))
    if frames.orders.empty:
        raise click.ClickException(
            "no stored order matches the filters ("
            + ", ".join(
                f"{k} {v}"
                for k, v in (("start", start), ("end", end), ("tags", " or ".join(tags)))
                if v
            )
            + ")"
            + (
                "; the store knows tags only from `ht-analytics sync --tags ...`"
                if tags and not info["rows"]["tags"]
                else ""
            )
        )
    described = ", ".join(
        f"{k} {v}" for k, v in (("start", start), ("end", end), ("tags", " or ".join(tags))) if v
    )
    if start or end:  # periods below are in each order's local time: a row may straddle
        described += " (creation dates in UTC)"
    clock = None
    if now:
        try:
            clock = pd.Timestamp(now)
        except ValueError:
            raise click.ClickException(f"--now {now!r} is not an ISO date-time") from None
        clock = clock.tz_localize("UTC") if clock.tzinfo is None else clock.tz_convert("UTC")
    built = build_report(
        frames,
        include_pii=include_pii,
        now=clock,
        base_url=info.get("base_url"),
        as_of=(info.get("last_sync") or {}).get("started"),
        filters=described,
    )
    for path in built.write(out, wanted):
        click.echo(str(path))


@main.command()
@click.option(
    "--tags",
    multiple=True,
    required=True,
    callback=_split_tags,
    help="Tags to count (repeat the option, or separate them with commas).",
)
@click.option("--cache", type=click.Path(file_okay=False), help=CACHE_HELP)
@_user_errors
def counts(tags: tuple[str, ...], cache: str | None) -> None:
    """Orders per tag: the API's count_by_tag beside the store's own count."""
    from ._client import PartnerClient
    from ._store import OrderStore

    store = OrderStore(cache)
    if not store.info()["exists"]:
        raise click.ClickException(
            f"no store at {store.path}: run `ht-analytics sync --tags ...` first"
        )
    stored = store.load().tags
    with PartnerClient() as client:
        server = client.count_by_tag(list(tags))
    click.echo(f"{'tag':<32} {'API':>10} {'store':>10}")
    differ = False
    for tag in tags:
        local = int((stored["tag"] == tag).sum())
        differ |= local != server.get(tag, 0)
        click.echo(f"{tag:<32} {server.get(tag, 0):>10,} {local:>10,}")
    if differ:
        click.echo(
            "The API counts every order the key can see; the store, the orders synced so far "
            "(a tag is learnt by `sync --tags`, over the dates synced): see `ht-analytics cache info`."
        )


@main.group()
def cache() -> None:
    """The local order store."""


@cache.command("info")
@click.option("--cache", "path", type=click.Path(file_okay=False), help=CACHE_HELP)
@_user_errors
def cache_info(path: str | None) -> None:
    """Where the store is, what it holds, when it was synced."""
    from ._store import OrderStore

    info = OrderStore(path).info()
    if not info["exists"]:
        hint = "run `ht-analytics sync`"
        if Path("data/demo-cache/manifest.json").is_file():
            hint += " (the demo's store is another one: --cache data/demo-cache)"
        click.echo(f"No store at {info['path']} yet: {hint}.")
        return
    for key, value in info.items():
        if isinstance(value, dict):
            value = ", ".join(
                f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in value.items()
            )
        click.echo(f"{key:<16} {value}")


@cache.command("clear")
@click.option("--cache", "path", type=click.Path(file_okay=False), help=CACHE_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_user_errors
def cache_clear(path: str | None, yes: bool) -> None:
    """Delete every stored order, snapshot and the sync state."""
    from ._store import OrderStore

    store = OrderStore(path)
    if not store._clearable():  # (a folder that is not a store: refused before asking)
        click.echo(f"Nothing to clear: there is no store at {store.path}")
        return
    if not yes:
        click.confirm(f"Delete the store at {store.path}?", abort=True)
    store.clear()
    click.echo(f"Cleared {store.path}")


@main.group()
def sandbox() -> None:
    """The local sandbox server that speaks the HT Partner API."""


@sandbox.command("serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--orders",
    "n_orders",
    type=click.IntRange(0),
    default=5_000,
    show_default=True,
    help="Orders to generate.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the generated data.")
@click.option("--api-key", default="sandbox", show_default=True, help="The key clients must send.")
@click.option(
    "--flavour",
    type=click.Choice(["camel", "snake", "mixed"]),
    default="camel",
    show_default=True,
    help="Wire flavour of orders.",
)
@click.option(
    "--error-rate", default=0.0, show_default=True, help="Share of requests answered 5xx."
)
@click.option("--latency", default=0.0, show_default=True, help="Seconds added to every response.")
@click.option(
    "--expose-tags",
    is_flag=True,
    help="Orders carry their 'tags' (the documented Order has none: tags are then learnt by "
    "`sync --tags`).",
)
@_user_errors
def serve(
    port: int,
    n_orders: int,
    seed: int,
    api_key: str,
    flavour: str,
    error_rate: float,
    latency: float,
    expose_tags: bool,
) -> None:
    """Serve the sandbox API on 127.0.0.1 until interrupted (Ctrl-C)."""
    from .sandbox import FaultConfig
    from .sandbox import serve as serve_sandbox

    faults = FaultConfig(error_rate=error_rate, latency=latency) if error_rate or latency else None
    try:
        serve_sandbox(
            port=port,
            orders=n_orders,
            seed=seed,
            api_key=api_key,
            faults=faults,
            flavour=flavour,
            expose_tags=expose_tags,
        )
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(
            f"the sandbox could not start on 127.0.0.1:{port} ({exc}); is the port in use? "
            "Try --port 0 for any free port"
        ) from None
