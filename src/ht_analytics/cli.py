"""The ``ht-analytics`` command line: thin commands over the library.

User errors end with one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Callable
from functools import wraps
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
            raise click.ClickException(str(exc)) from None

    return cast(F, wrapper)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ht-analytics")
def main() -> None:
    """ht-analytics: orders from the HT Partner API as typed DataFrames, metrics and reports."""


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
@click.option("--page-size", default=500, show_default=True, help="Orders per page (1-500).")
@_user_errors
def demo(n_orders: int, seed: int, page_size: int) -> None:
    """Run the main job against the built-in sandbox (no API key needed).

    Starts the sandbox on a free loopback port, reads every order through PartnerClient and
    prints a summary.
    """
    from tqdm.auto import tqdm

    from ._client import PartnerClient
    from ._statuses import OrderStatus
    from .sandbox import SandboxServer

    click.echo(f"Starting the sandbox with {n_orders:,} orders (seed {seed}) …")
    with SandboxServer(orders=n_orders, seed=seed) as server:
        click.echo(f"Sandbox serving at {server.url}")
        started = time.perf_counter()
        statuses: collections.Counter[str] = collections.Counter()
        with (
            PartnerClient(api_key=server.api_key, base_url=server.url, rate_limit=None) as client,
            tqdm(
                total=n_orders, unit="order", desc="orders", disable=not sys.stderr.isatty()
            ) as bar,
        ):
            for page in client.iter_pages(page_size=page_size):
                for order in page.orders:
                    statuses[_status_name(order.get("statusId"), OrderStatus)] += 1
                bar.update(len(page.orders))
            stats = client.stats
        elapsed = time.perf_counter() - started
    total = sum(statuses.values())
    click.echo(
        f"Read {total:,} orders in {stats.pages:,} pages ({stats.requests:,} requests) in {elapsed:.1f} s"
    )
    for name, count in statuses.most_common():
        click.echo(f"  {name:<24} {count:>8,}  {count / max(total, 1):6.1%}")


def _status_name(value: Any, statuses: Any) -> str:
    try:
        return str(statuses(int(value)).name)
    except (TypeError, ValueError):
        return f"unknown ({value!r})"


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
@_user_errors
def serve(
    port: int,
    n_orders: int,
    seed: int,
    api_key: str,
    flavour: str,
    error_rate: float,
    latency: float,
) -> None:
    """Serve the sandbox API on 127.0.0.1 until interrupted (Ctrl-C)."""
    from .sandbox import FaultConfig
    from .sandbox import serve as serve_sandbox

    faults = FaultConfig(error_rate=error_rate, latency=latency) if error_rate or latency else None
    try:
        serve_sandbox(
            port=port, orders=n_orders, seed=seed, api_key=api_key, faults=faults, flavour=flavour
        )
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(
            f"the sandbox could not start on 127.0.0.1:{port} ({exc}); is the port in use? "
            "Try --port 0 for any free port"
        ) from None
