"""The loader on the sandbox's own orders, fetched over loopback: zero problems, exact totals."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from ht_analytics import PartnerClient, load_orders
from ht_analytics.sandbox import SandboxServer, generate_dataset

DATA = generate_dataset(20_000, seed=4)
EXPECTED_NET = Decimal(sum(DATA.net_cents.values())) / 100


@pytest.mark.parametrize("flavour", ["camel", "snake", "mixed"])
def test_twenty_thousand_sandbox_orders_load_clean(flavour: str) -> None:
    """Every one of the sandbox's 20,000 orders loads with zero problems; Σ net matches to the cent."""
    with (
        SandboxServer(DATA, flavour=flavour) as srv,  # type: ignore[arg-type]
        PartnerClient(api_key=srv.api_key, base_url=srv.url, rate_limit=None) as client,
    ):
        pages = list(client.iter_pages(page_size=500))
    frames = load_orders(pages)  # a warning would fail this test: there must be none
    assert len(frames.problems) == 0
    assert len(frames.orders) == 20_000
    assert frames.orders["order_id"].is_unique
    assert frames.net_total == EXPECTED_NET
    n_services = sum(len(o["breakdown"]["services"]) for o in DATA.orders)
    assert len(frames.services) == n_services
    frames.check_schema()


def test_values_match_the_generator_records() -> None:
    """Spot checks against the generator's own records: status, instants, local time, money."""
    frames = load_orders(DATA.orders[:2_000])
    by_id = {o["id"]: o for o in DATA.orders[:2_000]}
    for row in frames.orders.sample(200, random_state=1).itertuples():
        record = by_id[row.order_id]
        assert row.status_id == record["statusId"]
        assert row.created_at == pd.Timestamp(record["createdAt"])
        assert row.total_amount == Decimal(DATA.net_cents[row.order_id]) / 100
        if record["appointmentStart"]:
            assert row.appointment_start_local == pd.Timestamp(record["appointmentStart"])
            assert row.appointment_start == pd.Timestamp(record["appointmentStartDateTime"])
        else:
            assert pd.isna(row.appointment_start)
    tags = {(o["id"], t) for o in DATA.orders[:2_000] for t in o["tags"]}
    assert set(zip(frames.tags["order_id"], frames.tags["tag"], strict=True)) == tags


def test_the_committed_sample_loads_offline() -> None:
    """data/sample/orders-2000.jsonl.gz: 2,000 orders, no problem, net $306,625.83 (the
    generator's own total for seed 42, written down when the sample was made)."""
    from decimal import Decimal
    from pathlib import Path

    from ht_analytics import load_orders

    path = Path(__file__).parent.parent / "data" / "sample" / "orders-2000.jsonl.gz"
    frames = load_orders(path)
    assert len(frames.orders) == 2000
    assert frames.problems.empty
    assert frames.net_total == Decimal("306625.83")
