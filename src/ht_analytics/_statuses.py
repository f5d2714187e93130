"""Order statuses: the documented ids and labels, and which of them are terminal.

This module is the one place where the status list of the HT Partner API contract lives.
The terminal set is an assumption of the contract (an order in a terminal status no longer changes).
"""

from __future__ import annotations

from enum import IntEnum


class OrderStatus(IntEnum):
    """Order status ids as documented by the HT Partner API."""

    PENDING = 0
    SEARCHING = 1
    ASSIGNED = 2
    COMPLETED = 3
    CANCELLED = 4
    PAID = 5
    ABANDONED = 6
    CANCELLED_BY_GEEK = 7
    MASTER_CLIENT_APPROVAL = 8
    UNSERVICEABLE = 9
    PAUSED = 10
    READY_TO_RESUME = 11
    INCOMPLETE = 12
    LATE_TECH = 13
    PENDING_SHIPPING = 14
    PENDING_APPROVAL = 15

    @property
    def label(self) -> str:
        """The status name as documented, e.g. ``"CANCELLED_BY_GEEK"``."""
        return self.name

    @property
    def is_terminal(self) -> bool:
        """True when an order in this status no longer changes (assumed by the contract)."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        OrderStatus.PAID,
        OrderStatus.ABANDONED,
        OrderStatus.CANCELLED_BY_GEEK,
        OrderStatus.UNSERVICEABLE,
    }
)
OPEN_STATUSES: frozenset[OrderStatus] = frozenset(OrderStatus) - TERMINAL_STATUSES
BILLABLE_STATUSES: frozenset[OrderStatus] = frozenset({OrderStatus.COMPLETED, OrderStatus.PAID})
