"""At-risk metrics: which open orders need attention, and why; rates per period.

Reasons (each an open order only): ``flag`` (the API's ``atRisk``), ``late_tech`` (status
LATE_TECH), ``auth_error`` (``hasAuthError``), ``appointment_passed`` (the appointment is past and
the order has not started), ``long_stand_by`` (a stand-by still open after ``stand_by_hours``).
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ._frames import OrderFrames
from ._loader import DataProblemWarning
from ._periods import (
    OPEN_ORDERS,
    check_frames,
    check_hours,
    clock_note,
    period_codes,
    period_labels,
    select_statuses,
)

__all__ = ["REASONS", "at_risk_orders", "at_risk_summary"]

REASONS = ("flag", "late_tech", "auth_error", "appointment_passed", "long_stand_by")


def _now(now: Any) -> pd.Timestamp:
    """``now`` as a UTC instant (``None``: the current one); numbers and missing values are a
    ``ValueError`` (is 1717243200 seconds, milliseconds or nanoseconds?)."""
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    if isinstance(now, bool | int | float | np.number):
        raise ValueError(
            f"now={now!r} is a number; give an instant: an ISO-8601 string, a datetime or a "
            "pandas Timestamp"
        )
    try:
        stamp = pd.Timestamp(now)
    except (ValueError, TypeError):
        raise ValueError(
            f"now={now!r} is not an instant (an ISO-8601 string or a datetime)"
        ) from None
    if pd.isna(stamp):
        raise ValueError(f"now={now!r} is missing (NaT): give an instant")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _open(frames: OrderFrames) -> pd.DataFrame:
    labels, _ = select_statuses("open")
    status = frames.orders["status"]
    # An unknown status id (label NA) is not known to be terminal: it counts as open.
    mask = status.isin(labels).fillna(False) | status.isna()
    columns = [
        "order_id", "status", "at_risk", "has_auth_error", "appointment_start",
        "appointment_start_local", "started_at", "stand_by_times", "created_at", "timezone",
        "partner", "client_state",
    ]  # fmt: skip
    return frames.orders.loc[mask.to_numpy(dtype=bool), columns].reset_index(drop=True)


class _Unreadable:
    """An open stand-by whose start cannot be read."""


UNREADABLE = _Unreadable()


def _start(value: Any) -> datetime | _Unreadable:
    """A stand-by's start: ISO-8601 text (no offset: UTC), or, in the snake_case flavour, an
    ``{"integer": <unix seconds>, "iso": …}`` object (the integer wins, as for every instant)."""
    if isinstance(value, dict):
        seconds = value.get("integer")
        if isinstance(seconds, int) and not isinstance(seconds, bool):
            try:
                return datetime.fromtimestamp(seconds, UTC)
            except (OverflowError, OSError, ValueError):
                return UNREADABLE
        value = value.get("iso")
    if not isinstance(value, str):
        return UNREADABLE
    try:
        moment = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        return UNREADABLE
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _open_stand_by_since(text: Any) -> datetime | _Unreadable | None:
    """The start of a stand-by that has not ended (``end`` absent, null or empty), from the
    ``stand_by_times`` JSON text; :data:`UNREADABLE` when an open one's start cannot be read."""
    if not isinstance(text, str) or '"start"' not in text:  # most hold "[]": no parse
        return None
    try:
        items = json.loads(text)
    except ValueError:
        return None
    starts = []
    unreadable = False
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and _no_value(item.get("end")) and "start" in item:
            start = _start(item["start"])
            if isinstance(start, datetime):
                starts.append(start)
            else:
                unreadable = True
    if starts:
        return min(starts)
    return UNREADABLE if unreadable else None


def _no_value(end: Any) -> bool:
    """An end that says nothing (the stand-by goes on): absent, null, empty text, or an
    ``{"integer", "iso"}`` object with neither."""
    if isinstance(end, str):
        return not end.strip()
    if isinstance(end, dict):
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in end.values())
    return end is None


def _stand_by_since(open_orders: pd.DataFrame) -> tuple[pd.Series, list[int]]:
    """Each open order's open stand-by start (NaT: none or unreadable), and the ids of the
    orders whose open stand-by has a start that cannot be read (warned about: such an order
    may be at risk unseen)."""
    found = open_orders["stand_by_times"].map(_open_stand_by_since)
    bad = found.map(lambda v: v is UNREADABLE).to_numpy(dtype=bool)
    ids = [int(i) for i in open_orders["order_id"].to_numpy()[bad]]
    if ids:
        shown = ", ".join(str(i) for i in ids[:5]) + (" …" if len(ids) > 5 else "")
        warnings.warn(
            f"{len(ids)} open order(s) have a stand-by whose start cannot be read ({shown}): "
            "they are not counted as long stand-bys; see df.attrs['unreadable_stand_by']",
            DataProblemWarning,
            stacklevel=3,
        )
    since = pd.to_datetime(found.where(~bad, None), utc=True)
    return since, ids


def reasons(
    open_orders: pd.DataFrame, now: pd.Timestamp, stand_by_hours: float, since: pd.Series
) -> pd.DataFrame:
    """One boolean column per reason, aligned with ``open_orders`` (``since``: from
    :func:`_stand_by_since`)."""
    o = open_orders
    limit = now - pd.Timedelta(hours=stand_by_hours)
    return pd.DataFrame(
        {
            "flag": o["at_risk"].fillna(False).to_numpy(dtype=bool),
            "late_tech": (o["status"] == "LATE_TECH").fillna(False).to_numpy(dtype=bool),
            "auth_error": o["has_auth_error"].fillna(False).to_numpy(dtype=bool),
            "appointment_passed": (
                (o["appointment_start"] < now).fillna(False) & o["started_at"].isna()
            ).to_numpy(dtype=bool),
            "long_stand_by": (since < limit).fillna(False).to_numpy(dtype=bool),
        }
    )


def at_risk_summary(
    frames: OrderFrames,
    *,
    freq: str = "W",
    by: str | None = None,
    tz: str = "local",
    now: Any = None,
    stand_by_hours: float = 48.0,
) -> pd.DataFrame:
    """Open orders per period of their creation, how many are at risk, and why.

    Args:
        freq: ``"D"``, ``"W"`` (weeks start on Monday), ``"M"`` or ``"Q"``.
        by: also split by ``"status"``, ``"partner"`` or ``"state"``.
        tz: ``"local"`` (each order's zone) or a zone such as ``"UTC"``.
        now: the instant "passed" and "long" are measured from (default: now).
        stand_by_hours: how long an open stand-by may last before it is a reason.

    Columns: the period (and ``by``), ``open_orders``, ``at_risk`` (open orders flagged
    ``atRisk``), ``at_risk_rate``, ``needs_attention`` (open orders with any reason),
    ``attention_rate``, and one count per reason (``flag``, ``late_tech``, ``auth_error``,
    ``appointment_passed``, ``long_stand_by``).

    Example:
        >>> at_risk_summary(frames, freq="M")  # doctest: +SKIP
    """
    check_frames(frames, "at_risk_summary")
    stand_by_hours = check_hours(stand_by_hours, "stand_by_hours")
    moment = _now(now)
    o = _open(frames)
    since, unreadable = _stand_by_since(o)
    why = reasons(o, moment, stand_by_hours, since)
    name, ordinals, code, in_utc = period_codes(o, freq, tz)
    table = why.assign(**{name: ordinals})
    keys = [name]
    if by is not None:
        by_column = {"status": "status", "partner": "partner", "state": "client_state"}
        column = by_column.get(by) if isinstance(by, str) else None
        if column is None:
            raise ValueError(f"by must be None, 'status', 'partner' or 'state', not {by!r}")
        table[by] = o[column].astype("str").fillna("(unknown)").to_numpy()
        keys.append(by)
    table["open_orders"] = 1
    table["needs_attention"] = why.any(axis=1).to_numpy()
    grouped = table.groupby(keys, sort=True, observed=True, dropna=False)
    result = grouped[["open_orders", "flag", "needs_attention", *REASONS[1:]]].sum()
    result = result.rename(columns={"flag": "at_risk"}).reset_index()
    result[name] = np.asarray(period_labels(result[name].to_numpy(), code).astype(object))
    result["flag"] = result["at_risk"]
    result["at_risk_rate"] = result["at_risk"] / result["open_orders"]
    result["attention_rate"] = result["needs_attention"] / result["open_orders"]
    columns = [*keys, "open_orders", "at_risk", "at_risk_rate", "needs_attention"]
    result = result[[*columns, "attention_rate", *REASONS]]
    for c in ("open_orders", "at_risk", "needs_attention", *REASONS):
        result[c] = result[c].astype("int64")
    result.attrs.update(
        {
            "statuses": OPEN_ORDERS,
            "clock": clock_note(tz, in_utc),
            "period_of": "created_at",
            "now": moment.isoformat(),
            "unreadable_stand_by": unreadable,
        }
    )
    return result


def at_risk_orders(
    frames: OrderFrames, *, now: Any = None, stand_by_hours: float = 48.0
) -> pd.DataFrame:
    """The open orders that need attention now, most overdue first.

    Columns: ``order_id``, ``status``, ``reasons`` (comma-separated), ``at_risk`` (the API's
    flag), ``appointment_start_local`` (wall-clock time in ``timezone``), ``timezone``,
    ``overdue`` (now − appointment, for appointments that passed without a start), ``partner``,
    ``created_at``.

    Example:
        >>> at_risk_orders(frames).head(20)  # doctest: +SKIP
    """
    check_frames(frames, "at_risk_orders")
    stand_by_hours = check_hours(stand_by_hours, "stand_by_hours")
    moment = _now(now)
    o = _open(frames)
    since, unreadable = _stand_by_since(o)
    why = reasons(o, moment, stand_by_hours, since)
    any_reason = why.any(axis=1).to_numpy()
    o, why = o[any_reason].reset_index(drop=True), why[any_reason].reset_index(drop=True)
    labels = np.array(REASONS, dtype=object)
    text = [", ".join(labels[row]) for row in why.to_numpy()]
    overdue = (moment - o["appointment_start"]).where(why["appointment_passed"].to_numpy())
    result = pd.DataFrame(
        {
            "order_id": o["order_id"],
            "status": o["status"],
            "reasons": pd.array(text, dtype="str"),
            "at_risk": o["at_risk"],
            "appointment_start_local": o["appointment_start_local"],
            "timezone": o["timezone"],
            "overdue": overdue,
            "partner": o["partner"],
            "created_at": o["created_at"],
        }
    )
    result = result.sort_values(
        ["overdue", "created_at"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)
    result.attrs.update(
        {
            "statuses": OPEN_ORDERS,
            "clock": "appointment_start_local: each order's local time",
            "now": moment.isoformat(),
            "stand_by_hours": stand_by_hours,
            "unreadable_stand_by": unreadable,
        }
    )
    return result
