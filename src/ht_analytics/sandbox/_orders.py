"""The order factory: each order from its private timeline, as its camelCase wire object.

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

The services and money of an order come from ``_pricing`` (the factory's ``_Pricing`` half).
"""

from __future__ import annotations

import random
from typing import Any, Final

from ht_analytics._statuses import OrderStatus
from ht_analytics.sandbox import _catalog as cat
from ht_analytics.sandbox._calendar import _campaign
from ht_analytics.sandbox._clients import _ClientDraft
from ht_analytics.sandbox._formats import (
    _MS_DAY,
    _MS_HOUR,
    _MS_MINUTE,
    _appointment_strings,
    _date_str,
    _iso_utc,
    _money,
)
from ht_analytics.sandbox._model import FIRST_SERVICE_ID, Order, Sku
from ht_analytics.sandbox._pricing import _Pricing, _SkuTables
from ht_analytics.sandbox._sampling import _cum, _draw

_NEVER: Final = 1 << 62

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


class _OrderFactory(_Pricing):
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
