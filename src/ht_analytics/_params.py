"""Query parameters of the order endpoints: the contract's filters, checked and written on the wire.

Dates go out as ``MM-DD-YYYY`` (the contract's format), statuses as repeated ``status[]``, tags as
repeated ``tags[]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from ._statuses import OPEN_STATUSES, TERMINAL_STATUSES, OrderStatus

__all__ = [
    "MAX_PAGE_SIZE",
    "DateLike",
    "OrderFilters",
    "StatusLike",
    "format_date",
    "status_ids",
]

MAX_PAGE_SIZE = 500
"""Assumed maximum of ``limit`` (the contract: default 100, maximum 500, both undocumented)."""

DateLike = date | datetime | str
StatusLike = int | str | OrderStatus
OrderBy = Literal["created_at", "appointment"]
Sort = Literal["ASC", "DESC"]
QueryParams = list[tuple[str, str]]

_WIRE_DATE = "%m-%d-%Y"


def format_date(value: DateLike, *, name: str = "date") -> str:
    """Write a date filter as ``MM-DD-YYYY``.

    Accepts a ``date``, a ``datetime`` at midnight UTC (a naive one is taken as UTC), an ISO-8601
    string (``"2024-09-25"``, ``"2024-09-25T00:00:00Z"``) or a string already written
    ``"09-25-2024"``. The filters are whole UTC calendar dates of ``createdAt``, so a time of day
    other than midnight is refused rather than silently widened to its day.
    """
    if isinstance(value, datetime):
        day = _whole_day(value, name=name, text=value.isoformat())
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        day = _parse_date_text(value.strip(), name=name)
    else:
        raise TypeError(
            f"{name} must be a date, datetime or ISO string, not {type(value).__name__}"
        )
    return day.strftime(_WIRE_DATE)


def _whole_day(value: datetime, *, name: str, text: str) -> date:
    """The UTC date of a datetime at midnight UTC; any other time of day is refused, because the
    API filters whole days and the window would silently grow."""
    utc = value.astimezone(UTC) if value.tzinfo else value
    if utc.time() != datetime.min.time():
        raise ValueError(
            f"{name}={text} has a time of day, but the API filters whole UTC dates "
            "(inclusive); pass a date such as 2024-09-25"
        )
    return utc.date()


def _parse_date_text(text: str, *, name: str) -> date:
    try:
        return datetime.strptime(text, _WIRE_DATE).date()
    except ValueError:
        pass
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{name}={text!r} is not a date: use YYYY-MM-DD, an ISO-8601 timestamp, or MM-DD-YYYY"
        ) from None
    return _whole_day(parsed, name=name, text=text)


def status_ids(status: StatusLike | Iterable[StatusLike]) -> list[int]:
    """Status filter values as ids. Accepts ids, :class:`OrderStatus`, names (``"COMPLETED"``),
    the groups ``"open"`` and ``"terminal"``, or an iterable of any of these."""
    items: Iterable[StatusLike]
    if isinstance(status, int | str) or not isinstance(status, Iterable):
        items = [status]  # one value (a float, None … is refused below, by name)
    else:
        items = list(status)
    if not items:
        raise ValueError("status is an empty list: pass None for every status")
    ids: list[int] = []
    for item in items:
        for one in _status_group(item):
            if one not in ids:
                ids.append(one)
    return ids


def _status_group(item: StatusLike) -> list[int]:
    if isinstance(item, bool):
        raise TypeError(f"status {item!r} is not a status")
    if isinstance(item, int):
        if item < 0:
            raise ValueError(f"status {item} is not a status id")
        return [int(item)]
    if isinstance(item, str):
        key = item.strip()
        if key.isdigit():
            return [int(key)]
        group = {"open": OPEN_STATUSES, "terminal": TERMINAL_STATUSES}.get(key.lower())
        if group is not None:
            return sorted(int(s) for s in group)
        try:
            return [int(OrderStatus[key.upper()])]
        except KeyError:
            names = ", ".join(s.name for s in OrderStatus)
            raise ValueError(f"status {item!r} is unknown; use an id or one of {names}") from None
    raise TypeError(f"status {item!r} is not a status")


@dataclass(frozen=True, slots=True)
class OrderFilters:
    """The filters of ``GET /orders`` (and, in part, ``count_by_tag``), checked once."""

    tags: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    status: tuple[int, ...] = ()
    client_id: int | None = None
    order_by: OrderBy = "created_at"
    sort: Sort = "ASC"

    @classmethod
    def build(
        cls,
        *,
        tags: str | Iterable[str] | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        status: StatusLike | Iterable[StatusLike] | None = None,
        client_id: int | None = None,
        order_by: str = "created_at",
        sort: str = "ASC",
    ) -> OrderFilters:
        """Check the user's filters and normalise them; raise ``ValueError`` naming a bad one."""
        tag_list = (tags,) if isinstance(tags, str) else tuple(tags) if tags is not None else ()
        if tags is not None and not tag_list:
            raise ValueError("tags is an empty list: pass None for orders with any tag or none")
        for tag in tag_list:
            if not isinstance(tag, str) or not tag.strip():
                raise ValueError(f"tags must be non-empty strings, got {tag!r}")
        wire_start = format_date(start, name="start") if start is not None else None
        wire_end = format_date(end, name="end") if end is not None else None
        if wire_start and wire_end and _day(wire_start) > _day(wire_end):
            raise ValueError(f"start {wire_start} is after end {wire_end}")
        if order_by not in ("created_at", "appointment"):
            raise ValueError(f"order_by must be 'created_at' or 'appointment', got {order_by!r}")
        direction = sort.upper() if isinstance(sort, str) else sort
        if direction not in ("ASC", "DESC"):
            raise ValueError(f"sort must be 'ASC' or 'DESC', got {sort!r}")
        if client_id is not None and (
            isinstance(client_id, bool) or not isinstance(client_id, int)
        ):
            raise TypeError(f"client_id must be an integer, got {client_id!r}")
        return cls(
            tags=tuple(t.strip() for t in tag_list),
            start=wire_start,
            end=wire_end,
            status=tuple(status_ids(status)) if status is not None else (),
            client_id=client_id,
            order_by=order_by,  # type: ignore[arg-type]
            sort=direction,  # type: ignore[arg-type]
        )

    def query(self, *, with_order: bool = True) -> QueryParams:
        """The filters as query parameters, in a stable order."""
        params: QueryParams = [("tags[]", t) for t in self.tags]
        if self.start:
            params.append(("from", self.start))
        if self.end:
            params.append(("to", self.end))
        params.extend(("status[]", str(s)) for s in self.status)
        if self.client_id is not None:
            params.append(("client_id", str(self.client_id)))
        if with_order:
            params += [("order_by", self.order_by), ("sort", self.sort)]
        return params


def _day(wire: str) -> date:
    return datetime.strptime(wire, _WIRE_DATE).date()


def check_page_size(page_size: int) -> int:
    """A page size within 1..MAX_PAGE_SIZE, or ``ValueError``."""
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise TypeError(f"page_size must be an integer, got {page_size!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    return page_size
