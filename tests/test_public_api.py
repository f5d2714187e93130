"""The public surface is exactly the documented names."""

from __future__ import annotations

import subprocess
import sys

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


def test_names_load_when_first_used_and_the_command_line_starts_light() -> None:
    """`import ht_analytics` and the command line's module load neither pandas, pyarrow nor
    matplotlib (so `ht-analytics --help` is quick and a Ctrl-C at start-up is Click's clean
    "Aborted!", not a traceback from inside an import); the first public name used loads what
    it needs, `from ht_analytics import *` gives every public name, and a name that is not
    public is an AttributeError."""
    code = (
        "import sys, ht_analytics, ht_analytics.cli\n"
        "heavy = [m for m in ('pandas', 'pyarrow', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "ns = {}\n"
        "exec('from ht_analytics import *', ns)\n"
        "assert set(ns) - {'__builtins__'} == set(ht_analytics.__all__)\n"
        "assert 'pandas' in sys.modules\n"
        "assert set(ht_analytics.__all__) <= set(dir(ht_analytics))\n"
        "try:\n"
        "    ht_analytics.no_such_name\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_name' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
