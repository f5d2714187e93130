"""Resident-set figures shared by the benchmarks that measure peak memory per step."""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path

MIB = 1024 * 1024


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident set of this process in MiB.

    Linux: ``VmRSS`` and ``VmHWM`` of ``/proc/self/status`` (the peak of this process's own memory;
    ``ru_maxrss`` is not used there because it carries the parent's peak over fork + exec).
    Elsewhere: ``ru_maxrss`` for both.
    """
    status = Path("/proc/self/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        if "VmRSS" in fields and "VmHWM" in fields:
            return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mib = peak / MIB if sys.platform == "darwin" else peak / 1024
    return mib, mib


def reset_rss_peak() -> None:
    """Reset the peak-RSS mark to the current RSS (Linux >= 4.0; a no-op where unsupported)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
