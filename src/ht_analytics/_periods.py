"""What every metric shares: which orders (statuses), which clock (local or a fixed zone), and
which period an instant falls in (weeks start on Monday)."""

from __future__ import annotations

import math
import numbers
import zoneinfo
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._frames import OrderFrames
from ._instants import NOT_ZONES, is_known_zone
from ._statuses import BILLABLE_STATUSES, OPEN_STATUSES, TERMINAL_STATUSES, OrderStatus

__all__ = [
    "ALL_ORDERS",
    "OPEN_ORDERS",
    "PERIODS",
    "check_frames",
    "check_hours",
    "check_tz",
    "includes_unknown",
    "local_micros",
    "period_codes",
    "period_labels",
    "select_statuses",
]

PERIODS: dict[str, str] = {
    "D": "D",
    "day": "D",
    "W": "W-SUN",  # pandas' W-SUN periods run Monday..Sunday
    "week": "W-SUN",
    "M": "M",
    "month": "M",
    "Q": "Q",
    "quarter": "Q",
}
"""Period names accepted by the metrics, and the pandas period frequency of each."""

ALL_ORDERS = "all (every order, unknown status ids included)"
"""``df.attrs["statuses"]`` of a metric that counts every order."""

OPEN_ORDERS = "open (every status that is not terminal, and unknown status ids)"
"""``df.attrs["statuses"]`` of a metric that counts the open orders."""

PERIOD_LABEL = {"D": "day", "W-SUN": "week", "M": "month", "Q": "quarter"}

GROUPS = {
    "billable": BILLABLE_STATUSES,
    "open": OPEN_STATUSES,
    "terminal": TERMINAL_STATUSES,
    "all": frozenset(OrderStatus),
}


def check_frames(frames: Any, what: str) -> OrderFrames:
    """``frames`` if it is an :class:`OrderFrames`; otherwise a ``TypeError`` saying what to pass."""
    if not isinstance(frames, OrderFrames):
        raise TypeError(
            f"{what}() takes the OrderFrames of load_orders() or OrderStore.load(), not a "
            f"{type(frames).__name__}"
        )
    return frames


def check_hours(hours: Any, name: str) -> float:
    """``hours`` as a float if it is a finite number ≥ 0; otherwise ``ValueError``."""
    if isinstance(hours, bool) or not isinstance(hours, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number of hours, not {hours!r}")
    value = float(hours)
    if not math.isfinite(value) or value < 0 or value > MAX_HOURS:
        raise ValueError(
            f"{name} must be a finite number of hours, from 0 to {MAX_HOURS:,} (100 years), "
            f"not {hours!r}"
        )
    return value


MAX_HOURS = 876_000
"""The most hours a limit may be (100 years): far beyond any stand-by, well within what a
time difference holds."""


def _is_missing(item: Any) -> bool:
    """A missing label (``NaN``, ``None``, ``pd.NA``: what ``frames.orders["status"].unique()``
    holds for orders of an unknown status id)."""
    return bool(pd.api.types.is_scalar(item) and pd.isna(item))


def _is_id(item: Any) -> bool:
    """An integer status id: a Python or a NumPy integer (as read from a frame), not a bool."""
    return isinstance(item, numbers.Integral) and not isinstance(item, bool | np.bool_)


def _status_items(statuses: Any) -> list[Any]:
    if statuses is None:
        return ["all"]
    if isinstance(statuses, str | OrderStatus) or _is_id(statuses) or _is_missing(statuses):
        return [statuses]
    if isinstance(statuses, Iterable) and not isinstance(statuses, bytes | dict):
        items = list(statuses)
        if items:
            return items
        raise ValueError(
            "statuses is empty: use 'billable', 'open', 'terminal', 'all', status names or ids"
        )
    raise TypeError(
        f"statuses must be 'billable', 'open', 'terminal', 'all', a status name or id, or a "
        f"list of them, not {statuses!r}"
    )


def select_statuses(statuses: str | int | Iterable[Any] | None) -> tuple[list[str], str]:
    """Status labels for ``statuses`` (``"billable"``, ``"open"``, ``"terminal"``, ``"all"``,
    a label, an id, or a list of them) and a readable description of the choice.

    A missing label (``NaN``, ``None``) stands for the orders of an unknown status id: it adds
    no label (:func:`includes_unknown` says whether those orders count)."""
    items = _status_items(statuses)
    chosen: set[OrderStatus] = set()
    for item in items:
        if _is_missing(item):
            continue
        if isinstance(item, str) and item.lower() in GROUPS:
            chosen |= GROUPS[item.lower()]
        elif isinstance(item, OrderStatus):
            chosen.add(item)
        elif _is_id(item):
            try:
                chosen.add(OrderStatus(int(item)))
            except ValueError:
                raise ValueError(
                    f"status id {int(item)} is not one of the documented statuses (orders with "
                    "an unknown status id count in 'all' and 'open', or pick them with NaN)"
                ) from None
        elif isinstance(item, str) and item.upper() in OrderStatus.__members__:
            chosen.add(OrderStatus[item.upper()])
        else:
            raise ValueError(
                f"unknown status {item!r}: use 'billable', 'open', 'terminal', 'all', "
                "a status name such as 'COMPLETED', or an id"
            )
    labels = sorted(s.name for s in chosen)
    if isinstance(statuses, str) and statuses.lower() in GROUPS:
        described = f"{statuses.lower()} ({', '.join(labels)})"
    else:
        described = ", ".join(labels)
    return labels, described


def _period_code(freq: str) -> str:
    if not isinstance(freq, str) or freq not in PERIODS:
        raise ValueError(
            f"unknown period {freq!r}: use one of {', '.join(repr(k) for k in PERIODS)}"
        )
    return PERIODS[freq]


def includes_unknown(statuses: str | int | Iterable[Any] | None) -> bool:
    """Whether orders whose status id is unknown count too: when ``statuses`` asks for every
    order (``"all"``, alone or in a list, or ``None``) or for the open ones (``"open"``: an
    unknown status is not known to be terminal, as in the at-risk metrics and the store), or
    names them with a missing label (``NaN``, ``None``)."""
    return any(
        _is_missing(item) or (isinstance(item, str) and item.lower() in ("all", "open"))
        for item in _status_items(statuses)
    )


def check_tz(tz: Any) -> str:
    """``tz`` if it is ``"local"`` or a time zone this machine knows; otherwise ``ValueError``."""
    if isinstance(tz, str) and (tz == "local" or tz.upper() == "UTC"):
        return tz
    try:
        if not isinstance(tz, str) or not tz or tz in NOT_ZONES:
            raise ValueError
        zoneinfo.ZoneInfo(tz)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ValueError(
            f"unknown time zone {tz!r}: use 'local' (each order's own zone), 'UTC' or an IANA "
            "zone such as 'America/New_York'"
        ) from None
    return tz


def clock_note(tz: str, in_utc: int = 0) -> str:
    """How the periods were counted (``tz`` checked: :func:`check_tz`); in local time, how many
    orders (``in_utc``, from :func:`period_codes`) had no usable zone and were counted in UTC."""
    if check_tz(tz) != "local":
        return f"{tz} time"
    note = "each order's local time"
    if in_utc:
        note += f" ({in_utc:,} order(s) with no usable time zone: in UTC)"
    return note


_US_PER_DAY = 86_400_000_000
NAT = np.iinfo(np.int64).min


def local_micros(orders: pd.DataFrame, column: str, tz: str = "local") -> np.ndarray:
    """:func:`_local_micros` without the count."""
    return _local_micros(orders, column, tz)[0]


def _local_micros(orders: pd.DataFrame, column: str, tz: str = "local") -> tuple[np.ndarray, int]:
    """Wall-clock times of ``orders[column]`` as int64 microseconds since the epoch (``NAT``
    where missing): in each order's own ``timezone`` (``tz="local"``; no usable zone: UTC) or in
    one zone for all. Vectorised per zone. An order with no zone (absent, null or empty: no
    value, no problem) or one that is not a known IANA zone (the loader lists that as a
    problem) is counted in UTC; the count of those orders comes second (0 unless local)."""
    check_tz(tz)
    utc = pd.DatetimeIndex(orders[column]).as_unit("us")
    values = utc.asi8.copy()
    in_utc = 0
    if tz == "local":
        zones, names = pd.factorize(orders["timezone"], use_na_sentinel=True)
        counts = np.bincount(zones[zones >= 0], minlength=len(names))
        in_utc = int((zones < 0).sum())
        for code, zone in enumerate(names):
            if not is_known_zone(zone):  # "", a typo, "localtime": UTC
                in_utc += int(counts[code])
                continue
            idx = np.flatnonzero(zones == code)
            values[idx] = _wall(utc[idx], str(zone))
    elif tz.upper() != "UTC":
        values = _wall(utc, tz).copy()
    values[utc.isna()] = NAT
    return values, in_utc


_FAR_LOW = int(np.datetime64("0001-01-02", "us").astype(np.int64))
_FAR_HIGH = int(np.datetime64("9999-12-30", "us").astype(np.int64))
"""Instants within a day of the ends of Python's dates (years 1 and 9999), where a wall-clock
time may fall outside them (pandas converts zones through Python's dates)."""


def _wall(utc: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """Wall-clock times of ``utc`` in ``zone``, as int64 microseconds. An instant near the ends
    of Python's dates takes the offset the zone has a day inside them (its wall-clock date may
    be one Python's dates cannot hold, such as 10000-01-01)."""
    micros = utc.asi8
    low = (micros < _FAR_LOW) & ~np.asarray(utc.isna(), dtype=bool)
    high = micros >= _FAR_HIGH
    if not (low.any() or high.any()):
        return np.asarray(utc.tz_convert(zone).tz_localize(None).asi8)
    out = micros.copy()
    near = ~(low | high)
    out[near] = utc[near].tz_convert(zone).tz_localize(None).asi8
    for far, edge in ((low, _FAR_LOW), (high, _FAR_HIGH)):
        if far.any():
            offset = pd.Timestamp(edge, unit="us", tz="UTC").tz_convert(zone).utcoffset()
            out[far] = micros[far] + int(offset // pd.Timedelta(microseconds=1))
    return out


def period_codes(
    orders: pd.DataFrame, freq: str, tz: str = "local", column: str = "created_at"
) -> tuple[str, np.ndarray, str, int]:
    """``(name, ordinals, pandas_freq, in_utc)``: each order's period as the pandas Period
    ordinal (``NAT`` where the time is missing), fast to group by; :func:`period_labels` turns
    ordinals into ``Period`` values. Weeks run Monday to Sunday. ``in_utc``: orders counted in
    UTC for want of a usable zone (for :func:`clock_note`)."""
    code = _period_code(freq)
    micros, in_utc = _local_micros(orders, column, tz)
    missing = micros == NAT
    days = np.floor_divide(micros, _US_PER_DAY)
    if code == "D":
        ordinals = days
    elif code == "W-SUN":
        ordinals = (days + 3) // 7 + 1
    else:
        months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        ordinals = months if code == "M" else months // 3
    ordinals = np.where(missing, NAT, ordinals)
    return PERIOD_LABEL[code], ordinals, code, in_utc


def period_labels(ordinals: np.ndarray, code: str) -> pd.PeriodIndex:
    """Period ordinals (from :func:`period_codes`) as a ``PeriodIndex`` (NaT where missing)."""
    labels: pd.PeriodIndex = pd.PeriodIndex.from_ordinals(ordinals, freq=code)  # type: ignore[attr-defined]
    return labels
