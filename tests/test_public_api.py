"""The public surface is exactly the documented names."""

from __future__ import annotations

import ht_analytics
import ht_analytics.sandbox

EXPECTED = {
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
    "ServerError",
    "Secret",
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
}


def test_public_names_are_exactly_the_contract() -> None:
    """__all__ lists the public names, and each is importable."""
    assert set(ht_analytics.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(ht_analytics, name) is not None


def test_exception_tree() -> None:
    """The errors form the documented tree."""
    h = ht_analytics
    for sub in (h.AuthenticationError, h.NotFoundError, h.RateLimitError, h.ServerError):
        assert issubclass(sub, h.ApiError)
    for sub in (h.ApiError, h.PaginationError, h.PayloadError, h.CacheError):
        assert issubclass(sub, h.HTError)


def test_sandbox_exports() -> None:
    """The sandbox module offers the generator, the app and the server."""
    for name in ("generate_orders", "create_app", "SandboxServer"):
        assert callable(getattr(ht_analytics.sandbox, name))
