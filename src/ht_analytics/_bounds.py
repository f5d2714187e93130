"""Bounds on creation times (``start``, ``end``, ``as_of``) given as dates or instants: one
reading for the store and the frames."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["end_bound", "moment"]

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WIRE_DAY = re.compile(r"\d{2}-\d{2}-\d{4}")


def moment(value: Any, name: str) -> tuple[pd.Timestamp, bool]:
    """``(UTC instant, is a whole day)`` of a ``date``, ``datetime``, ``Timestamp`` or text
    (``YYYY-MM-DD``, an ISO-8601 timestamp, ``MM-DD-YYYY``). Partial dates (``"2026-02"``),
    numbers and other text are refused: each would silently mean some other day."""
    problem = (
        f"{name}={value!r} is not a date or a timestamp: use a date, a datetime, YYYY-MM-DD, an "
        "ISO-8601 timestamp or MM-DD-YYYY"
    )
    day = False
    if isinstance(value, str):
        text = value.strip()
        if _WIRE_DAY.fullmatch(text):
            text = datetime.strptime(text, "%m-%d-%Y").date().isoformat()
        if not _ISO_DAY.match(text) or (len(text) > 10 and text[10] not in "Tt "):
            raise ValueError(problem)
        day = len(text) == 10
        value = text
    elif isinstance(value, date) and not isinstance(value, datetime):
        day = True
    elif not isinstance(value, datetime | np.datetime64):  # pd.Timestamp is a datetime
        raise ValueError(problem)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(problem) from None
    if pd.isna(stamp):
        raise ValueError(problem)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp, day


def end_bound(value: Any, name: str = "end") -> pd.Timestamp:
    """An inclusive ``end`` as a UTC instant: a date (a ``date``, ``YYYY-MM-DD`` or
    ``MM-DD-YYYY``) covers its whole UTC day; a ``datetime``, ``Timestamp`` or ISO-8601
    timestamp is that very instant, midnight included (a naive one is UTC)."""
    stamp, day = moment(value, name)
    return stamp + (pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)) if day else stamp
