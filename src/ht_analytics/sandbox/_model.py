"""The sandbox's own records: what the generator makes and the app serves.

Orders are kept in the documented camelCase wire shape (``order.example.json``), so the app can serve
them as they are; clients and SKUs are kept in their documented shapes too.

It also fixes where the generator's ids start and the default ``now``: the generator and the app's
create endpoints (``_mutations``) both follow them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

DEFAULT_NOW: Final = datetime(2026, 11, 1, tzinfo=UTC)
"""The fixed anchor used when ``now`` is not given, so that output does not depend on the clock."""

FIRST_ORDER_ID: Final = 100_001
FIRST_CLIENT_ID: Final = 50_001
FIRST_SERVICE_ID: Final = 5_000_001

Order = dict[str, Any]
"""A camelCase Order object exactly as ``order.example.json`` documents it (all 30 fields), plus
``"tags": list[str]`` holding the partner's tags for that order (the app hides it unless asked)."""

Client = dict[str, Any]
"""A Client object as documented: ``id``, ``external_id``, ``first_name``, ``last_name``, ``email``,
``phone`` (plain string of 10 digits), ``full_address``, ``address`` ``{city, state, zip, street}``,
``authentication_token``."""

Sku = dict[str, Any]
"""A SKU as the (assumed) ``GET /api/partners/skus`` returns it: ``id``, ``name``, ``category``,
``price`` (money string like ``"$99.99"``), ``remote`` (bool); plus ``"zips"``: a list of the ZIP-code
prefixes (3 digits) where the SKU is available, used by ``check_zip`` (the app hides it)."""


@dataclass(slots=True, repr=False)
class SandboxData:
    """Everything the sandbox knows. Mutable: create/update endpoints change it."""

    orders: list[Order]
    clients: dict[int, Client]
    skus: list[Sku]
    tags: list[str] = field(default_factory=list)
    """All tags the partner uses (so filters on an unused tag can be tested too)."""
    seed: int = 0
    net_cents: dict[int, int] = field(default_factory=dict)
    """The generator's own arithmetic: order id -> ``breakdown.totalAmount`` in integer cents.
    Tests compare what the toolkit computes from the wire strings against these integers."""

    def __repr__(self) -> str:
        # Not the default repr: it would print every order and client, tokens included.
        return (
            f"SandboxData(orders={len(self.orders)}, clients={len(self.clients)}, "
            f"skus={len(self.skus)}, tags={len(self.tags)}, seed={self.seed})"
        )
