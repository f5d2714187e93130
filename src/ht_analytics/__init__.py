"""ht_analytics: typed DataFrames, metrics and reports from the HT Partner API.

The names in ``__all__`` are the public contract; everything in a module whose name starts with an
underscore is internal.

Names are imported when first used (PEP 562): ``import ht_analytics`` and the command line start
fast (pandas, pyarrow and matplotlib load with the first name that needs them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import ClientStats, PartnerClient
    from ._exceptions import (
        ApiError,
        AuthenticationError,
        CacheError,
        HTError,
        NotFoundError,
        PaginationError,
        PayloadError,
        RateLimitError,
        ServerError,
    )
    from ._frames import OrderFrames
    from ._loader import DataProblemWarning, load_orders
    from ._models import ClientRecord, EphemeralKey, SetupIntent, ZipCheck
    from ._ops import operations_summary, order_durations, status_funnel
    from ._pagination import Page
    from ._report import Report, build_report
    from ._revenue import revenue_breakdown
    from ._risk import at_risk_orders, at_risk_summary
    from ._secrets import Secret
    from ._statuses import OrderStatus
    from ._store import OrderStore
    from ._sync_report import SyncReport
    from ._tag_counts import tag_counts

_WHERE = {
    "ApiError": "._exceptions",
    "AuthenticationError": "._exceptions",
    "CacheError": "._exceptions",
    "ClientRecord": "._models",
    "ClientStats": "._client",
    "DataProblemWarning": "._loader",
    "EphemeralKey": "._models",
    "HTError": "._exceptions",
    "NotFoundError": "._exceptions",
    "OrderFrames": "._frames",
    "OrderStatus": "._statuses",
    "OrderStore": "._store",
    "Page": "._pagination",
    "PaginationError": "._exceptions",
    "PartnerClient": "._client",
    "PayloadError": "._exceptions",
    "RateLimitError": "._exceptions",
    "Report": "._report",
    "Secret": "._secrets",
    "ServerError": "._exceptions",
    "SetupIntent": "._models",
    "SyncReport": "._sync_report",
    "ZipCheck": "._models",
    "at_risk_orders": "._risk",
    "at_risk_summary": "._risk",
    "build_report": "._report",
    "load_orders": "._loader",
    "operations_summary": "._ops",
    "order_durations": "._ops",
    "revenue_breakdown": "._revenue",
    "status_funnel": "._ops",
    "tag_counts": "._tag_counts",
}
"""Each public name and the module that defines it."""

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CacheError",
    "ClientRecord",
    "ClientStats",
    "DataProblemWarning",
    "EphemeralKey",
    "HTError",
    "NotFoundError",
    "OrderFrames",
    "OrderStatus",
    "OrderStore",
    "Page",
    "PaginationError",
    "PartnerClient",
    "PayloadError",
    "RateLimitError",
    "Report",
    "Secret",
    "ServerError",
    "SetupIntent",
    "SyncReport",
    "ZipCheck",
    "at_risk_orders",
    "at_risk_summary",
    "build_report",
    "load_orders",
    "operations_summary",
    "order_durations",
    "revenue_breakdown",
    "status_funnel",
    "tag_counts",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value  # once: later lookups are plain attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
