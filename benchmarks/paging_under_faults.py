"""Page through N sandbox orders cleanly, then with a share of responses faulted, in one run.

    uv run python benchmarks/paging_under_faults.py --orders 20000 --fault-rate 0.10

Prints requests, retries and time for both runs and the slowdown ratio (faulted / clean), and checks
that every order arrived exactly once. Real back-off waits are on (this is not a test).
"""

from __future__ import annotations

import argparse
import time

from ht_analytics import PartnerClient
from ht_analytics.sandbox import FaultConfig, SandboxServer, generate_dataset


def run(
    data: object, faults: FaultConfig | None, page_size: int
) -> tuple[list[int], dict[str, float]]:
    """Page through the sandbox once; return the ids and the figures."""
    with SandboxServer(data, faults=faults) as srv:  # type: ignore[arg-type]
        started = time.perf_counter()
        with PartnerClient(
            api_key=srv.api_key, base_url=srv.url, rate_limit=None, max_retries=8
        ) as c:
            ids = [o["id"] for o in c.iter_orders(page_size=page_size)]
            stats = c.stats
        elapsed = time.perf_counter() - started
        injected = sum(srv.stats.snapshot()["faults"].values())
    return ids, {
        "seconds": elapsed,
        "requests": stats.requests,
        "retries": stats.retries,
        "injected": injected,
    }


def main() -> None:
    """Run both passes and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--fault-rate", type=float, default=0.10, help="half 429s, half 5xx")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()

    data = generate_dataset(args.orders, args.seed)
    expected = [o["id"] for o in data.orders]
    half = args.fault_rate / 2
    faults = FaultConfig(seed=11, error_rate=half, rate_limited_rate=half, retry_after=0.2)
    clean_ids, clean = run(data, None, args.page_size)
    faulted_ids, faulted = run(data, faults, args.page_size)
    for name, ids, figures in (("clean", clean_ids, clean), ("faulted", faulted_ids, faulted)):
        once = ids == expected and len(set(ids)) == len(ids)
        print(
            f"{name:>8}: {len(ids):,} orders, every one exactly once: {once}; "
            f"{figures['requests']:.0f} requests, {figures['retries']:.0f} retries, "
            f"{figures['injected']:.0f} faults injected, {figures['seconds']:.2f} s"
        )
    print(f"faulted / clean time: {faulted['seconds'] / clean['seconds']:.1f}x")


if __name__ == "__main__":
    main()
