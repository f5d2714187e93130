"""The generator's calendar: order volume per day and the campaign tag running on a day.

A day's volume is season x weekday x growth x holidays (Thanksgiving is quiet, the days after it
busy, Christmas and a few other holidays quiet); campaigns (Black Friday, holiday, spring refresh,
back to school) tag a share of the orders created while they run.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from ht_analytics.sandbox import _catalog as cat
from ht_analytics.sandbox._formats import _EPOCH_ORDINAL


def _thanksgiving(year: int) -> date:
    """Fourth Thursday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def _day_weight(day: date, start: date, span: int) -> float:
    """Relative order volume of a calendar day: season x weekday x growth x holidays."""
    weight = cat.MONTH_WEIGHTS[day.month - 1] * cat.WEEKDAY_WEIGHTS[day.weekday()]
    weight *= 1.0 + 0.3 * (day - start).days / max(span, 1)
    thanks = _thanksgiving(day.year)
    delta = (day - thanks).days
    if delta == 0:
        weight *= 0.45
    elif 1 <= delta <= 4:
        weight *= 1.9
    elif (day.month, day.day) == (12, 25):
        weight *= 0.3
    elif (day.month, day.day) in ((12, 24), (1, 1), (7, 4)):
        weight *= 0.6
    return weight


@lru_cache(maxsize=4096)
def _campaign(epoch_day: int) -> tuple[str, float] | None:
    """The campaign tag running on a day, and the share of orders that carry it."""
    day = date.fromordinal(_EPOCH_ORDINAL + epoch_day)
    delta = (day - _thanksgiving(day.year)).days
    if -7 <= delta <= 4:
        return "campaign_black_friday", 0.55
    if day.month == 12 and day.day <= 24:
        return "campaign_holiday", 0.35
    if (day.month == 3 and day.day >= 15) or day.month == 4:
        return "campaign_spring_refresh", 0.3
    if day.month == 8 or (day.month == 9 and day.day <= 10):
        return "campaign_back_to_school", 0.25
    return None
