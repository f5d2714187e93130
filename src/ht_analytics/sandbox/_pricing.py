"""What an order buys and what it costs: SKUs, service lines, fees, discounts and coupons.

``_build_skus`` makes the SKU catalogue (which ZIP prefixes each SKU serves depends on the seed);
``_SkuTables`` holds the per-ZIP-prefix pick tables built from it. ``_Pricing`` is the half of the
order factory (``_orders._OrderFactory``) that draws an order's lines and its money.

Money
    Everything is computed in integer cents and only then formatted with :func:`format_money`, so
    ``breakdown.totalAmount == Σ services.totalAmount + Σ breakdown.adjustments.amount`` holds
    exactly; ``SandboxData.net_cents`` keeps the totals as integers.
"""

from __future__ import annotations

import random
from itertools import accumulate
from typing import Any

from ht_analytics.sandbox import _catalog as cat
from ht_analytics.sandbox._formats import _fmt_minutes, _money, format_money
from ht_analytics.sandbox._model import Sku
from ht_analytics.sandbox._sampling import _draw, _pick


def _percent(cents: int, pct: int) -> int:
    """``cents * pct / 100`` rounded half up, in integer arithmetic (``cents``, ``pct`` >= 0)."""
    return (cents * pct + 50) // 100


def _build_skus(rng: random.Random) -> list[Sku]:
    """The SKU dicts; ``zips`` (available 3-digit ZIP prefixes) depends on the seed."""
    skus: list[Sku] = []
    for spec in cat.SKUS:
        if spec.coverage >= 1.0 or spec.remote:
            zips = list(cat.ZIP_PREFIXES)
        else:
            keep = max(1, round(spec.coverage * len(cat.ZIP_PREFIXES)))
            zips = sorted(rng.sample(cat.ZIP_PREFIXES, keep))
        skus.append(
            {
                "id": spec.id,
                "name": spec.name,
                "category": spec.category,
                "price": format_money(spec.price_cents),
                "remote": spec.remote,
                "zips": zips,
            }
        )
    return skus


class _SkuTables:
    """Per-ZIP-prefix pick tables (cumulative weights) built from the SKU dicts."""

    def __init__(self, skus: list[Sku]) -> None:
        specs = {spec.id: spec for spec in cat.SKUS}
        self.specs: list[cat.SkuSpec] = [specs[sku["id"]] for sku in skus]
        self.image: list[str] = [f"https://example.com/skus/{s.id}.png" for s in self.specs]
        self.unit: list[str] = [_fmt_minutes(s.minutes) for s in self.specs]
        self.price: list[str] = [format_money(s.price_cents) for s in self.specs]
        zip_sets = [frozenset(sku["zips"]) for sku in skus]
        self.onsite: dict[str, tuple[list[int], list[float]]] = {}
        self.products: dict[str, tuple[list[int], list[float]]] = {}
        for prefix in cat.ZIP_PREFIXES:
            avail = [i for i, zs in enumerate(zip_sets) if prefix in zs]
            self.onsite[prefix] = self._table(
                [
                    i
                    for i in avail
                    if not self.specs[i].remote and not self.specs[i].physical_product
                ]
            )
            self.products[prefix] = self._table(
                [i for i in avail if self.specs[i].physical_product]
            )
        self.remote = self._table([i for i, s in enumerate(self.specs) if s.remote])
        self.remote_share = sum(self.specs[i].weight for i in self.remote[0]) / sum(
            s.weight for s in self.specs if not s.physical_product
        )

    def _table(self, indices: list[int]) -> tuple[list[int], list[float]]:
        return indices, list(accumulate(self.specs[i].weight for i in indices))


class _Pricing:
    """The services and money of :class:`~ht_analytics.sandbox._orders._OrderFactory` (a mixin).

    It draws from the factory's ``rng`` and ``tables``, numbers service lines with its
    ``service_id`` and picks how many lines an order has with its ``count_cum``.
    """

    rng: random.Random
    tables: _SkuTables
    service_id: int
    count_cum: list[float]

    # -- services and money -------------------------------------------------------------------

    def _pick_lines(self, prefix: str) -> list[tuple[int, int]]:
        """``(sku index, quantity)`` lines: 1-3 distinct SKUs available at the ZIP prefix."""
        rng = self.rng
        tables = self.tables
        count = _draw(rng, self.count_cum) + 1
        if rng.random() < 0.004:  # product-only order (shipped and set up on the appointment)
            main = _pick(rng, tables.products[prefix])
            extra_table = tables.products[prefix]
            count = min(count, 2)
        elif rng.random() < tables.remote_share:
            main = _pick(rng, tables.remote)
            extra_table = tables.remote
        else:
            main = _pick(rng, tables.onsite[prefix])
            extra_table = tables.onsite[prefix]
        chosen = [main]
        for _ in range(count - 1):
            table = extra_table
            if not tables.specs[main].remote and rng.random() < 0.3:
                table = tables.products[prefix]
            for _attempt in range(4):
                candidate = _pick(rng, table)
                if candidate not in chosen:
                    chosen.append(candidate)
                    break
        lines: list[tuple[int, int]] = []
        for index in chosen:
            r = rng.random()
            quantity = 1 if r < 0.86 else (2 if r < 0.97 else 3)
            lines.append((index, quantity))
        return lines

    def _service(
        self, index: int, quantity: int, multi: bool, client_pays: bool
    ) -> tuple[dict[str, Any], int]:
        """One ``breakdown.services[]`` line and its totalAmount in cents."""
        rng = self.rng
        spec = self.tables.specs[index]
        original = spec.price_cents * quantity
        amount = original
        adjustments: list[dict[str, str]] = []
        if not spec.physical_product and rng.random() < 0.2:
            choices = cat.SERVICE_ADJUSTMENTS
            name, details, fixed, pct = choices[rng.randrange(len(choices))]
            if name == "Bundle discount" and not multi:
                name, details, fixed, pct = choices[2 + rng.randrange(len(choices) - 2)]
            if name == "Additional device":
                fixed *= quantity
            nominal = fixed if fixed else -_percent(original, -pct)
            applied = max(nominal, -amount)
            amount += applied
            adjustments.append(
                {
                    "name": name,
                    "details": details,
                    "amount": _money(applied),
                    "originalAmount": _money(nominal),
                }
            )
        prepaid = 0
        if client_pays:
            r = rng.random()
            if r < 0.25:
                prepaid = amount
            elif r < 0.4:
                prepaid = (amount // 2) // 100 * 100
        total = amount - prepaid
        minutes = spec.minutes * quantity
        self.service_id += 1
        service = {
            "id": self.service_id - 1,
            "skuId": spec.id,
            "name": spec.name,
            "amount": _money(amount),
            "price": self.tables.price[index],
            "originalAmount": _money(original),
            "prepaid": _money(prepaid),
            "totalAmount": _money(total),
            "originalTotalAmount": _money(original),
            "adjustments": adjustments,
            "physicalProduct": spec.physical_product,
            "image": self.tables.image[index],
            "quantity": quantity,
            "priceType": spec.price_type,
            "estimatedDuration": self.tables.unit[index],
            "duration": _fmt_minutes(minutes),
        }
        return service, total

    def _order_adjustments(
        self,
        subtotal: int,
        *,
        onsite: bool,
        multi: bool,
        repeat: bool,
        evening: bool,
        weekend: bool,
        holiday_season: bool,
    ) -> tuple[list[dict[str, Any]], int, str | None]:
        """Order-level fees, discounts and coupon; returns them, their sum (cents) and the code."""
        rng = self.rng
        result: list[dict[str, Any]] = []
        running = subtotal

        def add(
            name: str, nominal: int, applied: int, kind: str, why: str, fee_id: int | None
        ) -> None:
            nonlocal running
            running += applied
            original = _money(nominal)
            result.append(
                {
                    "name": name,
                    "amount": _money(applied),
                    "originalAmount": original,
                    "type": kind,
                    "explanation": why,
                    "feeId": fee_id,
                    "version": 2 if rng.random() < 0.05 else 1,
                    "originalAmountFormatted": original,
                }
            )

        for fee_id, name, cents, why in cat.FEES:
            if fee_id == 1:
                wanted = onsite and rng.random() < 0.12
            elif fee_id == 2:
                wanted = onsite and evening and rng.random() < 0.8
            elif fee_id == 3:
                wanted = rng.random() < 0.3
            else:
                wanted = onsite and weekend and rng.random() < 0.5
            if wanted:
                add(name, cents, cents, "fee", why, fee_id)

        for name, fixed, pct, why in cat.DISCOUNTS:
            if name.startswith("Multi"):
                wanted = multi and rng.random() < 0.5
            elif name.startswith("Loyalty"):
                wanted = repeat and rng.random() < 0.3
            else:
                wanted = rng.random() < 0.01
            if wanted and running > 0:
                nominal = fixed if fixed else _percent(subtotal, pct)
                add(name, -nominal, -min(nominal, running), "discount", why, None)

        code: str | None = None
        if rng.random() < 0.1 and running > 0:
            coupons = cat.COUPONS if holiday_season else cat.COUPONS[:3] + cat.COUPONS[4:]
            code, fixed, pct = coupons[rng.randrange(len(coupons))]
            nominal = fixed if fixed else _percent(running, pct)
            why = f"Coupon code {code}"
            add(f"Coupon {code}", -nominal, -min(nominal, running), "coupon", why, None)
        return result, running - subtotal, code
