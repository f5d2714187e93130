"""ht_analytics: typed DataFrames, metrics and reports from the HT Partner API.

The names in ``__all__`` are the public contract; everything in a module whose name starts with an
underscore is internal.
"""

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
