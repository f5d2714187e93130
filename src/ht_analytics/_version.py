"""The toolkit's version, as installed (for the User-Agent, the store's manifest, reports)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["toolkit_version"]


def toolkit_version() -> str:
    """``ht-analytics``'s installed version, ``"unknown"`` when running from a bare source tree."""
    try:
        return version("ht-analytics")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"
