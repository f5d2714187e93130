"""Deterministic, realistic sandbox data: orders, clients, SKUs and tags.

``generate_dataset(n, seed, now=...)`` is a pure function of its arguments: the same ``(n, seed, now)``
gives identical data (``json.dumps`` equal), a different seed gives different data. All randomness
comes from one ``random.Random(seed)`` stream; no global random state is touched.

How an order is made
    Each order lives on a private *timeline* (all instants in integer milliseconds, UTC): creation,
    an optional pre-state (PENDING, PENDING_APPROVAL, MASTER_CLIENT_APPROVAL, PENDING_SHIPPING), the
    search for a technician (SEARCHING), the assignment (ASSIGNED), the appointment, the start of
    the job, optional stand-by periods, the end of the job and the payment; or a cancellation
    (CANCELLED, ABANDONED, CANCELLED_BY_GEEK, UNSERVICEABLE) at some instant. The order's status is
    wherever its timeline stands at ``now``, so every visible field is consistent with the status
    and nothing lies after ``now``: old orders are mostly PAID or COMPLETED, orders whose appointment
    just passed are a mix of COMPLETED, LATE_TECH, PAUSED, READY_TO_RESUME, INCOMPLETE and ASSIGNED,
    orders with a future appointment are open (plus the odd early cancellation).
    ``progressStatusId`` is how far the order got: 0 not yet searching (PENDING, PENDING_APPROVAL,
    ABANDONED), 1 searching / approval / shipping (and UNSERVICEABLE, early CANCELLED), 2 assigned
    or scheduled (ASSIGNED, LATE_TECH, a PAUSED hold, CANCELLED_BY_GEEK, later CANCELLED),
    3 job started (in progress, PAUSED, READY_TO_RESUME), 4 INCOMPLETE, 5 COMPLETED, 6 PAID.

Money
    Everything is computed in integer cents and only then formatted with :func:`format_money`, so
    ``breakdown.totalAmount == Σ services.totalAmount + Σ breakdown.adjustments.amount`` holds
    exactly; ``SandboxData.net_cents`` keeps the totals as integers.

Wire formats
    ``createdAt``, ``startedAt``, ``completedAt`` and stand-by instants are ISO-8601 UTC with
    milliseconds and ``Z`` (``"2025-03-25T14:15:22.123Z"``); ``appointmentStart`` is the local
    wall-clock time in the order's ``timezone`` without offset (``"2025-03-27T10:00:00"``) and
    ``appointmentStartDateTime`` the same instant with its UTC offset
    (``"2025-03-27T10:00:00-07:00"``); both are ``None`` while no appointment is scheduled.
"""

from __future__ import annotations

import gc
import random
import re
from bisect import bisect_right, insort
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any, Final
from zoneinfo import ZoneInfo

from ht_analytics._statuses import OrderStatus
from ht_analytics.sandbox import _catalog as cat
from ht_analytics.sandbox._model import Client, Order, SandboxData, Sku

__all__ = [
    "DEFAULT_NOW",
    "ORDER_KEYS",
    "format_money",
    "generate_dataset",
    "generate_orders",
    "new_client",
    "new_order",
    "parse_address",
    "update_client_fields",
]

DEFAULT_NOW: Final = datetime(2026, 11, 1, tzinfo=UTC)
"""The fixed anchor used when ``now`` is not given, so that output does not depend on the clock."""

HISTORY_DAYS: Final = 730
"""Orders are created over the ~2 years that end at ``now``."""

FIRST_ORDER_ID: Final = 100_001
FIRST_CLIENT_ID: Final = 50_001
FIRST_SERVICE_ID: Final = 5_000_001
CLIENTS_PER_ORDER: Final = 0.6

ORDER_KEYS: Final[tuple[str, ...]] = (
    "id",
    "token",
    "clientId",
    "clientName",
    "statusId",
    "progressStatusId",
    "createdAt",
    "remote",
    "workflow",
    "hasPartner",
    "partner",
    "clientZip",
    "appointmentStart",
    "appointmentStartDateTime",
    "startedAt",
    "completedAt",
    "standByTimes",
    "atRisk",
    "hasAuthError",
    "hasSetPassword",
    "breakdown",
    "childFollowUp",
    "parentFollowUp",
    "hasProducts",
    "hasOnlyProducts",
    "paymentSource",
    "timezone",
    "agent",
    "treatments",
    "orderSummaryUrl",
)
"""The 30 documented keys of the camelCase Order object, in documented order (plus ``"tags"``)."""

_MS_MINUTE: Final = 60_000
_MS_HOUR: Final = 3_600_000
_MS_DAY: Final = 86_400_000
_NEVER: Final = 1 << 62
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()

_S = OrderStatus
# Fates of the timeline (how the order ends eventually).
_DONE, _INCOMPLETE, _CANCELLED, _ABANDONED, _BY_GEEK, _UNSERVICEABLE = range(6)
_CANCEL_STATUS: Final = {
    _CANCELLED: _S.CANCELLED,
    _ABANDONED: _S.ABANDONED,
    _BY_GEEK: _S.CANCELLED_BY_GEEK,
    _UNSERVICEABLE: _S.UNSERVICEABLE,
}
_HIDDEN_PRE: Final = frozenset({_S.PENDING, _S.PENDING_APPROVAL})
"""Pre-states in which the appointment is not visible yet."""


# --------------------------------------------------------------------------------------- money


def format_money(cents: int) -> str:
    """Format integer cents as a US-dollar string: ``"$1,234.50"``, ``"-$5.00"``, ``"$0.00"``."""
    dollars, rest = divmod(-cents if cents < 0 else cents, 100)
    return f"{'-' if cents < 0 else ''}${dollars:,}.{rest:02d}"


_MONEY_CACHE: dict[int, str] = {}


def _money(cents: int) -> str:
    """:func:`format_money`, sharing one string object per value (saves memory at 1M orders)."""
    text = _MONEY_CACHE.get(cents)
    if text is None:
        text = format_money(cents)
        if len(_MONEY_CACHE) < 200_000:
            _MONEY_CACHE[cents] = text
    return text


def _percent(cents: int, pct: int) -> int:
    """``cents * pct / 100`` rounded half up, in integer arithmetic (``cents``, ``pct`` >= 0)."""
    return (cents * pct + 50) // 100


# ---------------------------------------------------------------------------------------- time


@lru_cache(maxsize=4096)
def _date_str(epoch_day: int) -> str:
    """``"YYYY-MM-DD"`` for a day number counted from 1970-01-01."""
    return date.fromordinal(_EPOCH_ORDINAL + epoch_day).isoformat()


def _iso_utc(ms: int) -> str:
    """Epoch milliseconds -> ``"2025-03-25T14:15:22.123Z"``."""
    day, rest = divmod(ms, _MS_DAY)
    hour, rest = divmod(rest, _MS_HOUR)
    minute, rest = divmod(rest, _MS_MINUTE)
    second, milli = divmod(rest, 1000)
    return f"{_date_str(day)}T{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}Z"


@lru_cache(maxsize=64)
def _offset_str(seconds: int) -> str:
    """UTC offset in seconds -> ``"-07:00"``."""
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


@lru_cache(maxsize=65_536)
def _noon_offset(zone: str, epoch_day: int) -> int:
    """UTC offset (seconds) of ``zone`` at local noon of that day: exact for 08:00-19:30 local."""
    day = date.fromordinal(_EPOCH_ORDINAL + epoch_day)
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _to_ms(moment: datetime) -> int:
    """An aware datetime (a naive one is taken as UTC) -> epoch milliseconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _fmt_minutes(minutes: int) -> str:
    """90 -> ``"1h 30m"``, 120 -> ``"2h"``, 45 -> ``"45m"``."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}m"
    return f"{hours}h {rest}m" if rest else f"{hours}h"


def _appointment_strings(zone: str, local_day: int, minute_of_day: int) -> tuple[str, str, int]:
    """``(appointmentStart, appointmentStartDateTime, UTC ms)`` of a local wall-clock time."""
    offset = _noon_offset(zone, local_day)
    hour, minute = divmod(minute_of_day, 60)
    local = f"{_date_str(local_day)}T{hour:02d}:{minute:02d}:00"
    utc_ms = (local_day * 86_400 + minute_of_day * 60 - offset) * 1000
    return local, local + _offset_str(offset), utc_ms


# ------------------------------------------------------------------------------------ catalogue


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


def _slug(name: str) -> str:
    """Lower-case letters of a name, for e-mail addresses (``"O'Brien"`` -> ``"obrien"``)."""
    return re.sub(r"[^a-z]", "", name.lower())


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


def _pick(rng: random.Random, table: tuple[list[int], list[float]]) -> int:
    """A weighted pick from a ``(values, cumulative weights)`` table."""
    values, cum = table
    return values[bisect_right(cum, rng.random() * cum[-1])]


def _cum(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def _draw(rng: random.Random, cum: list[float]) -> int:
    """Index drawn with the cumulative weights ``cum``."""
    return bisect_right(cum, rng.random() * cum[-1])


# -------------------------------------------------------------------------------------- calendar


def _thanksgiving(year: int) -> date:
    """Fourth Thursday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def _day_weight(day: date, start: date, span: int) -> float:
    """Relative order volume of a calendar day: season x weekday x growth x holidays."""
    weight = cat.MONTH_WEIGHTS[day.month - 1] * cat.WEEKDAY_WEIGHTS[day.weekday()]
    weight *= 1.0 + 0.3 * (day - start).days / max(span, 1)
    thanks = _thanksgiving(day.year)
    delta = (day - thanks).days
    if delta == 0:
        weight *= 0.45
    elif 1 <= delta <= 4:
        weight *= 1.9
    elif (day.month, day.day) == (12, 25):
        weight *= 0.3
    elif (day.month, day.day) in ((12, 24), (1, 1), (7, 4)):
        weight *= 0.6
    return weight


@lru_cache(maxsize=4096)
def _campaign(epoch_day: int) -> tuple[str, float] | None:
    """The campaign tag running on a day, and the share of orders that carry it."""
    day = date.fromordinal(_EPOCH_ORDINAL + epoch_day)
    delta = (day - _thanksgiving(day.year)).days
    if -7 <= delta <= 4:
        return "campaign_black_friday", 0.55
    if day.month == 12 and day.day <= 24:
        return "campaign_holiday", 0.35
    if (day.month == 3 and day.day >= 15) or day.month == 4:
        return "campaign_spring_refresh", 0.3
    if day.month == 8 or (day.month == 9 and day.day <= 10):
        return "campaign_back_to_school", 0.25
    return None


# -------------------------------------------------------------------------------------- clients


class _ClientDraft:
    """A client before it gets its id (ids follow the order of first orders)."""

    __slots__ = (
        "city",
        "first",
        "has_password",
        "last",
        "name",
        "phone",
        "prefix",
        "state",
        "store",
        "street",
        "zip",
        "zone",
    )

    def __init__(self, rng: random.Random, state_cum: list[float]) -> None:
        state_index = _draw(rng, state_cum)
        state = cat.STATES[state_index]
        city, prefix, area = state.cities[rng.randrange(len(state.cities))]
        self.first = cat.FIRST_NAMES[rng.randrange(len(cat.FIRST_NAMES))]
        self.last = cat.LAST_NAMES[rng.randrange(len(cat.LAST_NAMES))]
        self.name = f"{self.first} {self.last}"
        self.state = state.code
        self.zone = state.zone
        self.city = city
        self.prefix = prefix
        self.zip = f"{prefix}{rng.randrange(100):02d}"
        street = cat.STREET_NAMES[rng.randrange(len(cat.STREET_NAMES))]
        self.street = f"{rng.randrange(1, 9900)} {street}"
        self.phone = f"{area}555{rng.randrange(10_000):04d}"
        self.has_password = rng.random() < 0.62
        self.store = cat.STORE_TAGS[(state_index + rng.randrange(2)) % len(cat.STORE_TAGS)]

    def to_client(self, client_id: int, seq: int, rng: random.Random) -> Client:
        """The documented Client object."""
        domain = cat.EMAIL_DOMAINS[1 if seq % 3 == 0 else 0]
        return {
            "id": client_id,
            "external_id": f"EXT-{seq:06d}",
            "first_name": self.first,
            "last_name": self.last,
            "email": f"{_slug(self.first)}.{_slug(self.last)}{seq}@{domain}",
            "phone": self.phone,
            "full_address": f"{self.street}, {self.city}, {self.state} {self.zip}",
            "address": {
                "city": self.city,
                "state": self.state,
                "zip": self.zip,
                "street": self.street,
            },
            "authentication_token": f"{rng.getrandbits(160):040x}",
        }


# --------------------------------------------------------------------------------------- orders


class _OrderFactory:
    """Builds orders one at a time from one random stream."""

    def __init__(self, rng: random.Random, skus: list[Sku], now_ms: int) -> None:
        self.rng = rng
        self.now = now_ms
        self.tables = _SkuTables(skus)
        self.service_id = FIRST_SERVICE_ID
        self.lead_cum = _cum(cat.LEAD_DAY_WEIGHTS)
        self.slot_cum = _cum(cat.SLOT_WEIGHTS)
        self.channel_cum = _cum((0.55, 0.30, 0.15))
        self.count_cum = _cum((70.0, 22.0, 8.0))

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

    # -- the order ----------------------------------------------------------------------------

    def build(
        self,
        order_id: int,
        created_ms: int,
        created_day: int,
        client_id: int,
        draft: _ClientDraft,
        repeat: bool,
    ) -> tuple[Order, int, int]:
        """One order; returns it, its net total in cents and the instant a follow-up may start
        (``_NEVER`` when the order should not get a follow-up)."""
        rng = self.rng
        rand = rng.random
        now = self.now
        zone = draft.zone

        # Services first: the pre-state (PENDING_SHIPPING) depends on physical products.
        lines = self._pick_lines(draft.prefix)
        specs = self.tables.specs
        remote = all(specs[i].remote for i, _ in lines)
        has_products = any(specs[i].physical_product for i, _ in lines)
        only_products = all(specs[i].physical_product for i, _ in lines)
        client_pays = rand() < 0.35
        multi = sum(1 for i, _ in lines if not specs[i].physical_product) >= 2

        # Appointment (local wall clock in the client's zone), 1-14 days after creation.
        lead = _draw(rng, self.lead_cum) + 1
        appt_day = created_day + lead
        slot_minute = 480 + 30 * _draw(rng, self.slot_cum)
        appt_local, appt_offset, appt = _appointment_strings(zone, appt_day, slot_minute)

        # Pre-state and search phase.
        r = rand()
        pre: OrderStatus | None = None
        if has_products and r < 0.5:
            pre, pre_len = _S.PENDING_SHIPPING, _MS_HOUR * (24 + rng.randrange(96))
        elif r < 0.08:
            pre, pre_len = _S.PENDING, _MS_MINUTE * (30 + rng.randrange(4320))
        elif r < 0.14:
            pre, pre_len = _S.PENDING_APPROVAL, _MS_MINUTE * (120 + rng.randrange(5640))
        elif r < 0.19:
            pre, pre_len = _S.MASTER_CLIENT_APPROVAL, _MS_MINUTE * (120 + rng.randrange(4200))
        else:
            pre_len = 0
        pre_end = max(created_ms, min(created_ms + pre_len, appt - 3 * _MS_HOUR))
        search_len = int(rng.expovariate(1 / (30 * _MS_HOUR))) + 5 * _MS_MINUTE
        search_end = max(pre_end, min(pre_end + search_len, appt - 2 * _MS_HOUR))
        shown_in_search = rand() < 0.5
        if pre in _HIDDEN_PRE:
            visible_from = pre_end if shown_in_search else search_end
        elif pre is not None or shown_in_search:
            visible_from = created_ms
        else:
            visible_from = search_end

        # Fate.
        r = rand()
        cancel = _NEVER
        fate = _DONE
        if r < 0.075:
            fate = _CANCELLED
            cancel = created_ms + int((appt - _MS_HOUR - created_ms) * (0.05 + 0.95 * rand()))
        elif r < 0.095:
            fate = _ABANDONED
            cancel = created_ms + _MS_DAY + rng.randrange(6 * _MS_DAY)
            pre, pre_end, search_end, visible_from = _S.PENDING, cancel, _NEVER, _NEVER
        elif r < 0.105:
            fate = _BY_GEEK
            cancel = max(search_end, appt - _MS_HOUR - rng.randrange(2 * _MS_DAY))
        elif r < 0.127:
            fate = _UNSERVICEABLE
            cancel = min(pre_end + _MS_HOUR + rng.randrange(3 * _MS_DAY), appt - _MS_HOUR)
            cancel = max(cancel, pre_end)
            search_end = _NEVER
            visible_from = visible_from if shown_in_search else _NEVER
        elif r < 0.147:
            fate = _INCOMPLETE

        # The job: start (30 min early .. 90 min late), optional pause, end, payment. A
        # technician who does not show up leaves the order LATE_TECH until it is cancelled.
        start = appt + int(rng.triangular(-30, 89, 5) * _MS_MINUTE) + rng.randrange(_MS_MINUTE)
        if fate in (_DONE, _INCOMPLETE) and rand() < 0.015:
            fate = _BY_GEEK
            start = _NEVER
            cancel = appt + 2 * _MS_HOUR + rng.randrange(3 * _MS_DAY)
        labour = sum(specs[i].minutes * q for i, q in lines) or 30
        work = int(min(240.0, max(30.0, labour * (0.7 + 0.7 * rand()))) * _MS_MINUTE)
        pause_start = pause_end = resume = _NEVER
        if rand() < (0.3 if fate == _INCOMPLETE else 0.06):
            pause_start = start + int(work * (0.2 + 0.6 * rand()))
            pause_end = pause_start + 2 * _MS_HOUR + rng.randrange(3 * _MS_DAY)
            resume = pause_end + 30 * _MS_MINUTE + rng.randrange(2 * _MS_DAY)
            finish = resume + work - (pause_start - start)
        else:
            finish = start + work
        if fate == _INCOMPLETE:  # the job stops part-way (after the pause, if any)
            base = start if resume == _NEVER else resume
            finish = base + int((finish - base) * (0.3 + 0.6 * rand()))
        paid = _NEVER
        if rand() < 0.85:
            paid = finish + _MS_HOUR + int(min(rng.expovariate(1 / 1.5), 20.0) * _MS_DAY)
        hold_start = hold_end = _NEVER
        if fate == _DONE and rand() < 0.015 and appt - search_end > 4 * _MS_HOUR:
            hold_start = search_end + int((appt - search_end) * (0.1 + 0.4 * rand()))
            hold_end = hold_start + int((appt - _MS_HOUR - hold_start) * (0.2 + 0.8 * rand()))
        late_roll = rand()

        # Where the timeline stands at `now`.
        started_at: str | None = None
        completed_at: str | None = None
        stand_by: list[dict[str, str | None]] = []
        follow_from = _NEVER
        if cancel <= now:
            status = _CANCEL_STATUS[fate]
            seen = cancel
            progress = 2 if cancel >= search_end else (0 if fate == _ABANDONED else 1)
        else:
            seen = now
            if now < pre_end and pre is not None:
                status, progress = pre, (0 if pre in _HIDDEN_PRE else 1)
            elif now < search_end:
                status, progress = _S.SEARCHING, 1
            elif hold_start <= now < hold_end:
                status, progress = _S.PAUSED, 2
            elif now < start:
                late = now >= appt + 15 * _MS_MINUTE and late_roll < 0.75
                status, progress = (_S.LATE_TECH if late else _S.ASSIGNED), 2
            else:
                started_at = _iso_utc(start)
                if pause_start <= now < pause_end:
                    status, progress = _S.PAUSED, 3
                elif pause_end <= now < resume:
                    status, progress = _S.READY_TO_RESUME, 3
                elif now < finish:
                    status, progress = _S.ASSIGNED, 3
                elif fate == _INCOMPLETE:
                    status, progress = _S.INCOMPLETE, 4
                    follow_from = finish
                else:
                    completed_at = _iso_utc(finish)
                    status, progress = (_S.PAID, 6) if paid <= now else (_S.COMPLETED, 5)
                    follow_from = finish if rand() < 0.02 else _NEVER
            if hold_start <= now:
                stand_by.append(
                    {
                        "start": _iso_utc(hold_start),
                        "end": _iso_utc(hold_end) if hold_end <= now else None,
                    }
                )
            if pause_start <= now:
                stand_by.append(
                    {
                        "start": _iso_utc(pause_start),
                        "end": _iso_utc(pause_end) if pause_end <= now else None,
                    }
                )

        shown = seen >= visible_from
        terminal = status.is_terminal
        has_auth_error = rand() < 0.01
        risk_roll = rand()
        if terminal:
            at_risk = False
        elif status == _S.LATE_TECH:
            at_risk = risk_roll < 0.85
        elif started_at is None and shown and appt <= now:
            at_risk = risk_roll < 0.7
        elif has_auth_error:
            at_risk = risk_roll < 0.5
        elif status == _S.PAUSED:
            at_risk = risk_roll < (0.5 if now - min(hold_start, pause_start) > 2 * _MS_DAY else 0.2)
        elif status == _S.INCOMPLETE:
            at_risk = risk_roll < (0.15 if now - finish > 7 * _MS_DAY else 0.3)
        elif status == _S.SEARCHING and shown and appt - now < _MS_DAY:
            at_risk = risk_roll < 0.3
        else:
            at_risk = risk_roll < 0.03

        # Money.
        services: list[dict[str, Any]] = []
        subtotal = 0
        for index, quantity in lines:
            service, total = self._service(index, quantity, multi, client_pays)
            services.append(service)
            subtotal += total
        weekday = (appt_day + 3) % 7
        adjustments, adjusted, coupon = self._order_adjustments(
            subtotal,
            onsite=not remote and not only_products,
            multi=multi,
            repeat=repeat,
            evening=slot_minute >= 18 * 60,
            weekend=weekday >= 5,
            holiday_season=_date_str(created_day)[5:7] in ("11", "12"),
        )
        net = subtotal + adjusted

        # Tags and channel.
        tags: list[str] = []
        agent: str | None = None
        if rand() < 0.85:
            channel = _draw(rng, self.channel_cum)
            tags.append(cat.CHANNEL_TAGS[channel])
            if channel == 1 and rand() < 0.9:
                tags.append(draft.store)
            elif channel == 2:
                agent = cat.AGENTS[rng.randrange(len(cat.AGENTS))]
        campaign = _campaign(created_day)
        if campaign is not None and rand() < campaign[1]:
            tags.append(campaign[0])

        token = f"{rng.getrandbits(128):032x}"
        order: Order = {
            "id": order_id,
            "token": token,
            "clientId": client_id,
            "clientName": draft.name,
            "statusId": int(status),
            "progressStatusId": progress,
            "createdAt": _iso_utc(created_ms),
            "remote": remote,
            "workflow": "remote" if remote else "standard",
            "hasPartner": True,
            "partner": cat.PARTNER_NAME,
            "clientZip": draft.zip,
            "appointmentStart": appt_local if shown else None,
            "appointmentStartDateTime": appt_offset if shown else None,
            "startedAt": started_at,
            "completedAt": completed_at,
            "standByTimes": stand_by,
            "atRisk": at_risk,
            "hasAuthError": has_auth_error,
            "hasSetPassword": draft.has_password,
            "breakdown": {
                "services": services,
                "adjustments": adjustments,
                "coupon": coupon,
                "totalAmount": _money(net),
            },
            "childFollowUp": None,
            "parentFollowUp": None,
            "hasProducts": has_products,
            "hasOnlyProducts": only_products,
            "paymentSource": "client" if client_pays else "partner",
            "timezone": zone,
            "agent": agent,
            "treatments": {},
            "orderSummaryUrl": f"https://www.hellotech.com/orders/{token}/summary",
            "tags": tags,
        }
        return order, net, follow_from


# ------------------------------------------------------------------------------------- dataset


def generate_dataset(n: int, seed: int = 0, *, now: datetime | None = None) -> SandboxData:
    """Generate ``n`` orders with their clients, the SKU catalogue and the partner's tags.

    Args:
        n: number of orders (``>= 0``); about ``0.6 * n`` clients are made, each with at least one
            order.
        seed: seeds the single random stream; the same ``(n, seed, now)`` gives identical data.
        now: the instant the data describes (aware; a naive value is taken as UTC). Orders are
            created over the 730 days before it and their statuses are what their timelines reach
            at ``now``. Defaults to :data:`DEFAULT_NOW` so output never depends on the clock.

    Returns:
        ``SandboxData`` with ``orders`` sorted by ``(createdAt, id)`` (ids increase with
        ``createdAt``), ``clients`` keyed by id, ``skus``, ``tags`` (all 12 partner tags, one of
        them carried by no order), ``seed`` and ``net_cents`` (order id -> totalAmount in cents).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    now_ms = _to_ms(DEFAULT_NOW if now is None else now)
    # Millions of long-lived containers: the cyclic GC would only rescan them (about +45% time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(n, seed, now_ms)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(n: int, seed: int, now_ms: int) -> SandboxData:
    """The body of :func:`generate_dataset`."""
    rng = random.Random(seed)
    skus = _build_skus(rng)
    factory = _OrderFactory(rng, skus, now_ms)

    # Clients, and which client places each order (every client has at least one order).
    n_clients = min(n, max(1, round(CLIENTS_PER_ORDER * n))) if n else 0
    state_cum = _cum([s.weight for s in cat.STATES])
    drafts = [_ClientDraft(rng, state_cum) for _ in range(n_clients)]
    owner = list(range(n_clients))
    owner.extend(rng.randrange(n_clients) for _ in range(n - n_clients))
    rng.shuffle(owner)

    # Creation instants: a day by seasonal weight, a local hour by daily rhythm.
    last_day = now_ms // _MS_DAY
    first_day = last_day - HISTORY_DAYS
    start = date.fromordinal(_EPOCH_ORDINAL + first_day)
    day_cum = _cum(
        [
            _day_weight(start + timedelta(days=k), start, HISTORY_DAYS)
            for k in range(HISTORY_DAYS + 1)
        ]
    )
    hour_cum = _cum(cat.CREATION_HOUR_WEIGHTS)
    stamped: list[tuple[int, int, int]] = []
    for client_index in owner:
        zone = drafts[client_index].zone
        for _attempt in range(50):
            day = first_day + _draw(rng, day_cum)
            local_ms = (day * 86_400 + _draw(rng, hour_cum) * 3600) * 1000
            created = local_ms + rng.randrange(_MS_HOUR) - _noon_offset(zone, day) * 1000
            if created < now_ms:
                break
        else:  # pragma: no cover - only with an extreme `now`
            created = now_ms - 1 - rng.randrange(_MS_DAY)
            day = (created + _noon_offset(zone, created // _MS_DAY) * 1000) // _MS_DAY
        stamped.append((created, day, client_index))
    stamped.sort()

    # Orders in creation order; client ids in order of their first order.
    orders: list[Order] = []
    net_cents: dict[int, int] = {}
    client_ids: list[int] = [0] * n_clients
    clients: dict[int, Client] = {}
    follow: list[tuple[int, int]] = []
    next_order_id = FIRST_ORDER_ID
    next_client_id = FIRST_CLIENT_ID
    for created, day, client_index in stamped:
        draft = drafts[client_index]
        client_id = client_ids[client_index]
        repeat = client_id != 0
        if not repeat:
            client_id = client_ids[client_index] = next_client_id
            clients[client_id] = draft.to_client(client_id, len(clients) + 1, rng)
            next_client_id += 1 if rng.random() < 0.9 else 1 + rng.randrange(1, 4)
        order, net, follow_from = factory.build(
            next_order_id, created, day, client_id, draft, repeat
        )
        if follow_from != _NEVER:
            follow.append((len(orders), follow_from))
        orders.append(order)
        net_cents[next_order_id] = net
        next_order_id += 1 if rng.random() < 0.85 else 1 + rng.randrange(1, 5)

    _link_follow_ups(orders, stamped, follow)
    return SandboxData(
        orders=orders,
        clients=clients,
        skus=skus,
        tags=list(cat.ALL_TAGS),
        seed=seed,
        net_cents=net_cents,
    )


def _link_follow_ups(
    orders: list[Order], stamped: list[tuple[int, int, int]], follow: list[tuple[int, int]]
) -> None:
    """Link an incomplete (or rarely a completed) order to the same client's next order created
    after it ended: ``childFollowUp`` / ``parentFollowUp`` hold the other order's id as a string."""
    if not follow:
        return
    next_of: list[int] = [-1] * len(orders)
    latest: dict[int, int] = {}
    for index in range(len(orders) - 1, -1, -1):
        client_index = stamped[index][2]
        next_of[index] = latest.get(client_index, -1)
        latest[client_index] = index
    for index, not_before in follow:
        child = next_of[index]
        if child < 0 or stamped[child][0] < not_before or orders[child]["parentFollowUp"]:
            continue
        orders[index]["childFollowUp"] = str(orders[child]["id"])
        orders[child]["parentFollowUp"] = str(orders[index]["id"])


def generate_orders(n: int, seed: int = 0, *, now: datetime | None = None) -> list[Order]:
    """The orders of :func:`generate_dataset` (same arguments, same orders)."""
    return generate_dataset(n, seed, now=now).orders


# ------------------------------------------------------------------- create / update (the app)

_ADDRESS = re.compile(
    r"^\s*(?P<street>[^,]+?)\s*,\s*(?P<city>[^,]+?)\s*,\s*(?P<state>[A-Za-z]{2})\s+"
    r"(?P<zip>\d{5})(?:-\d{4})?\s*$"
)
_PREFIX_ZONES: Final = {prefix: s.zone for s in cat.STATES for _, prefix, _ in s.cities}
_CLIENT_FIELDS: Final = ("external_id", "first_name", "last_name", "email", "full_address", "phone")


def parse_address(full_address: str | None) -> dict[str, str | None]:
    """``"719 Flower St, Los Angeles, CA 90017"`` -> ``{city, state, zip, street}``; every value is
    ``None`` when the text does not have that shape."""
    match = _ADDRESS.match(full_address or "")
    if match is None:
        return {"city": None, "state": None, "zip": None, "street": None}
    return {
        "city": match["city"],
        "state": match["state"].upper(),
        "zip": match["zip"],
        "street": match["street"],
    }


def _normalize_phone(phone: str) -> str:
    """Keep the 10 digits of a US phone number (``"(310) 555-0123"`` -> ``"3105550123"``)."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else phone


def update_client_fields(client: Client, params: Mapping[str, Any]) -> Client:
    """Apply ClientParams (``external_id``, ``first_name``, ``last_name``, ``email``,
    ``full_address``, ``phone``) to a client in place and return it.

    Only keys present in ``params`` change; unknown keys are ignored. ``full_address`` also
    refreshes ``address``; ``phone`` is normalised to 10 digits when it has them. Raises
    ``ValueError`` when a given value is not a string (or null)."""
    for key in _CLIENT_FIELDS:
        if key not in params:
            continue
        value = params[key]
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be a string")
        if key == "phone" and value is not None:
            value = _normalize_phone(value)
        client[key] = value
        if key == "full_address":
            client["address"] = parse_address(value)
    return client


def new_client(
    data: SandboxData, params: Mapping[str, Any], rng: random.Random | None = None
) -> Client:
    """Create a client from ClientParams, store it in ``data.clients`` and return it.

    ``email`` is required (``ValueError`` otherwise, as for a non-string value). The new id is
    one more than the largest existing client id; ``authentication_token`` is 40 hex digits from
    ``rng`` (default: a stream derived from ``data.seed`` and the new id, so it is reproducible).
    Missing fields are ``None``; ``address`` is parsed from ``full_address``.
    """
    email = params.get("email")
    if not isinstance(email, str) or not email.strip():
        raise ValueError("email is required")
    client_id = max(data.clients, default=FIRST_CLIENT_ID - 1) + 1
    if rng is None:
        rng = random.Random(f"client:{data.seed}:{client_id}")
    client: Client = {
        "id": client_id,
        "external_id": None,
        "first_name": None,
        "last_name": None,
        "email": None,
        "phone": None,
        "full_address": None,
        "address": parse_address(None),
        "authentication_token": f"{rng.getrandbits(160):040x}",
    }
    update_client_fields(client, params)
    data.clients[client_id] = client
    return client


def _order_key(order: Order) -> tuple[str, int]:
    return order["createdAt"], order["id"]


def new_order(
    data: SandboxData,
    *,
    client_id: int,
    sku_ids: Sequence[int],
    devices: Sequence[str] = (),
    created_at: datetime | None = None,
    rng: random.Random | None = None,
    appointment_start: datetime | None = None,
    zip_code: str | None = None,
    tags: Sequence[str] = (),
) -> Order:
    """Create an order in SEARCHING status (what ``POST /orders`` does), store it and return it.

    Args:
        data: the sandbox data; the order is inserted into ``data.orders`` at its
            ``(createdAt, id)`` place and its total is recorded in ``data.net_cents``.
        client_id: an existing client (``KeyError`` when unknown).
        sku_ids: the request's ``sku_id`` list (``ValueError`` when empty or a SKU is unknown);
            a SKU repeated in the list becomes one service line with that quantity.
        devices: the request's ``devices``; more than one adds an "Additional device" adjustment
            of $20.00 per extra device to the first service that is not a physical product.
        created_at: creation instant (aware; naive = UTC). Default: 1 s after the latest
            ``createdAt``. An instant not after the latest ``createdAt`` is moved to 1 ms after
            it, so that ids keep increasing with ``createdAt`` and keyset pagination stays valid.
        rng: random stream for the token and service ids' gaps (default: derived from
            ``data.seed`` and the new id, so the result is reproducible).
        appointment_start: optional appointment instant (aware); it is written in the order's
            zone as ``appointmentStart`` / ``appointmentStartDateTime``. Default: no appointment
            (both ``None``), as for any SEARCHING order not scheduled yet.
        zip_code: the ZIP of the service address (default: the client's); it sets ``clientZip``.
            ``timezone`` follows the ZIP prefix when the catalogue knows it, else the client's
            state, else ``"America/New_York"``.
        tags: the partner's tags for the order.

    The new id is larger than every existing order id. Money is computed in integer cents: no
    prepaid amount, no order-level adjustments, ``coupon`` ``None``.
    """
    client = data.clients[client_id]
    if not sku_ids:
        raise ValueError("sku_id must list at least one SKU")
    by_id = {sku["id"]: sku for sku in data.skus}
    unknown = [sku_id for sku_id in sku_ids if sku_id not in by_id]
    if unknown:
        raise ValueError(f"unknown sku_id: {', '.join(map(str, unknown))}")
    # Invariant kept by the generator and by this function: the last order has the largest
    # order id, the largest service ids and the latest createdAt.
    last = data.orders[-1] if data.orders else None
    order_id = FIRST_ORDER_ID if last is None else last["id"] + 1
    if rng is None:
        rng = random.Random(f"order:{data.seed}:{order_id}")
    last_ms = None if last is None else _parse_utc_ms(last["createdAt"])
    if created_at is None:
        created_ms = _to_ms(DEFAULT_NOW) if last_ms is None else last_ms + 1000
    else:
        created_ms = _to_ms(created_at)
    if last_ms is not None and created_ms <= last_ms:
        created_ms = last_ms + 1

    address = client.get("address") or {}
    zip_value = zip_code or address.get("zip") or ""
    zone = _PREFIX_ZONES.get(zip_value[:3]) or cat.STATE_ZONES.get(
        address.get("state") or "", "America/New_York"
    )

    quantities: dict[int, int] = {}
    for sku_id in sku_ids:
        quantities[sku_id] = quantities.get(sku_id, 0) + 1
    specs = {spec.id: spec for spec in cat.SKUS}
    last_services = [] if last is None else last["breakdown"]["services"]
    service_id = 1 + max((s["id"] for s in last_services), default=FIRST_SERVICE_ID - 1)
    extra_devices = max(0, len(devices) - 1)
    services: list[dict[str, Any]] = []
    net = 0
    for sku_id, quantity in quantities.items():
        sku = by_id[sku_id]
        spec = specs.get(sku_id)
        unit = _parse_cents(sku["price"])
        physical = spec.physical_product if spec else False
        minutes = spec.minutes if spec else 60
        original = unit * quantity
        adjustments: list[dict[str, str]] = []
        if extra_devices and not physical:
            extra = 2000 * extra_devices
            adjustments.append(
                {
                    "name": "Additional device",
                    "details": f"{extra_devices} more device(s): " + ", ".join(devices[1:]),
                    "amount": _money(extra),
                    "originalAmount": _money(extra),
                }
            )
            extra_devices = 0
            amount = original + extra
        else:
            amount = original
        net += amount
        services.append(
            {
                "id": service_id,
                "skuId": sku_id,
                "name": sku["name"],
                "amount": _money(amount),
                "price": _money(unit),
                "originalAmount": _money(original),
                "prepaid": _money(0),
                "totalAmount": _money(amount),
                "originalTotalAmount": _money(original),
                "adjustments": adjustments,
                "physicalProduct": physical,
                "image": f"https://example.com/skus/{sku_id}.png",
                "quantity": quantity,
                "priceType": spec.price_type if spec else "fixed",
                "estimatedDuration": _fmt_minutes(minutes),
                "duration": _fmt_minutes(minutes * quantity),
            }
        )
        service_id += 1

    appt_local: str | None = None
    appt_offset: str | None = None
    if appointment_start is not None:
        local = appointment_start.astimezone(ZoneInfo(zone))
        offset = local.utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        appt_local = local.strftime("%Y-%m-%dT%H:%M:%S")
        appt_offset = appt_local + _offset_str(seconds)

    remote = all(by_id[s]["remote"] for s in quantities)
    physical_flags = [s["physicalProduct"] for s in services]
    token = f"{rng.getrandbits(128):032x}"
    first_name = client.get("first_name") or ""
    last_name = client.get("last_name") or ""
    order: Order = {
        "id": order_id,
        "token": token,
        "clientId": client_id,
        "clientName": f"{first_name} {last_name}".strip(),
        "statusId": int(_S.SEARCHING),
        "progressStatusId": 1,
        "createdAt": _iso_utc(created_ms),
        "remote": remote,
        "workflow": "remote" if remote else "standard",
        "hasPartner": True,
        "partner": cat.PARTNER_NAME,
        "clientZip": zip_value,
        "appointmentStart": appt_local,
        "appointmentStartDateTime": appt_offset,
        "startedAt": None,
        "completedAt": None,
        "standByTimes": [],
        "atRisk": False,
        "hasAuthError": False,
        "hasSetPassword": False,
        "breakdown": {
            "services": services,
            "adjustments": [],
            "coupon": None,
            "totalAmount": _money(net),
        },
        "childFollowUp": None,
        "parentFollowUp": None,
        "hasProducts": any(physical_flags),
        "hasOnlyProducts": all(physical_flags),
        "paymentSource": "partner",
        "timezone": zone,
        "agent": None,
        "treatments": {},
        "orderSummaryUrl": f"https://www.hellotech.com/orders/{token}/summary",
        "tags": list(tags),
    }
    insort(data.orders, order, key=_order_key)
    data.net_cents[order_id] = net
    return order


def _parse_utc_ms(text: str) -> int:
    """Inverse of :func:`_iso_utc`."""
    return _to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _parse_cents(money: str) -> int:
    """Inverse of :func:`format_money`."""
    negative = money.startswith("-")
    dollars, _, cents = money.lstrip("-$").replace(",", "").partition(".")
    value = int(dollars) * 100 + int((cents or "0").ljust(2, "0")[:2])
    return -value if negative else value
