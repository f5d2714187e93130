"""Money and time in the sandbox's wire formats, from integer cents and epoch milliseconds.

Money is a US-dollar string, ``"$1,234.50"`` (:func:`format_money`; ``_money`` shares one string
object per value). Instants are integer milliseconds since the epoch (UTC) until written out.

Wire formats
    ``createdAt``, ``startedAt``, ``completedAt`` and stand-by instants are ISO-8601 UTC with
    milliseconds and ``Z`` (``"2025-03-25T14:15:22.123Z"``); ``appointmentStart`` is the local
    wall-clock time in the order's ``timezone`` without offset (``"2025-03-27T10:00:00"``) and
    ``appointmentStartDateTime`` the same instant with its UTC offset
    (``"2025-03-27T10:00:00-07:00"``); both are ``None`` while no appointment is scheduled.

``_parse_cents`` and ``_parse_utc_ms`` read the money and UTC strings back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["format_money"]

_MS_MINUTE: Final = 60_000
_MS_HOUR: Final = 3_600_000
_MS_DAY: Final = 86_400_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


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


def _parse_utc_ms(text: str) -> int:
    """Inverse of :func:`_iso_utc`."""
    return _to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _parse_cents(money: str) -> int:
    """Inverse of :func:`format_money`."""
    negative = money.startswith("-")
    dollars, _, cents = money.lstrip("-$").replace(",", "").partition(".")
    value = int(dollars) * 100 + int((cents or "0").ljust(2, "0")[:2])
    return -value if negative else value
