"""UTC instants and local wall-clock times from the wire, parsed vectorised with ``pyarrow.compute``.

Instants are :data:`INSTANT_TYPE` (``timestamp[us, UTC]``); local wall-clock times are
:data:`WALL_TYPE` (naive ``timestamp[us]``). Every function takes Arrow arrays or chunked arrays
(chunked ones are combined) and returns plain ``pa.Array`` of the same length.

Accepted text (surrounding whitespace trimmed; ``t`` and ``z`` in either case): ``YYYY-MM-DD``, ``T`` or a space, ``HH:MM`` or
``HH:MM:SS``, optionally ``.`` and fractional-second digits (past the sixth, dropped: the frames
hold microseconds), then ``Z``, ``+HH:MM``/``-HH:MM``,
``+HHMM``/``-HHMM``, or nothing. Null and ``""`` are NA without a reason; anything else that does
not give an instant is NA plus a reason naming the raw value. A value with an offset ignores its
row's zone. A value without one is a wall-clock time in its row's IANA zone (``zones``); without a
known zone for that row it is NA plus a reason.

DST rule, the same as Python's ``datetime`` with ``fold=0`` (PEP 495), applied per row:

- a **nonexistent** local time (spring-forward gap) is read in the UTC offset in force *before* the
  change, i.e. shifted forward by the gap: ``2024-03-10T02:30:00`` in ``America/New_York`` is
  02:30 EST = ``07:30Z`` = 03:30 EDT;
- an **ambiguous** local time (fall-back overlap) is the *first* occurrence, the earlier instant:
  ``2024-11-03T01:30:00`` in ``America/New_York`` is 01:30 EDT = ``05:30Z``.

Both give an instant *and* a note in ``notes``. ``pc.assume_timezone`` (once per distinct zone)
does not shift by the gap: ``nonexistent="earliest"`` gives the last instant before it
(``06:59:59.999999Z`` above), ``"latest"`` the first after it (``07:00Z``); ``ambiguous="earliest"``
/ ``"latest"`` give the first / second occurrence (``05:30Z`` / ``06:30Z``); ``"raise"`` fails the
whole array. So the gap is corrected from ``"earliest"``, and the two ambiguous modes are compared.

Arrow's zone rules stop at the last tabulated transition (2037; apache/arrow#36110): from 2038 on,
in a zone that keeps DST, both directions are computed by Python's ``zoneinfo`` instead (value by
value; such times are rare), with the same rule.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "INSTANT_TYPE",
    "WALL_TYPE",
    "InstantResult",
    "local_wall_clock",
    "parse_instants",
    "parse_unix_iso",
    "valid_zone_names",
]

INSTANT_TYPE: Final = pa.timestamp("us", tz="UTC")
WALL_TYPE: Final = pa.timestamp("us")

_ArrayLike: TypeAlias = "pa.Array | pa.ChunkedArray"
_Pick: TypeAlias = Callable[[pa.Array], pa.Array]
_ISO: Final = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$"
_ISO_WITH_OFFSET: Final = (  # as _ISO, with an offset, and not year 0000 (which Arrow reads)
    r"^(?:\d{3}[1-9]|\d{2}[1-9]\d|\d[1-9]\d{2}|[1-9]\d{3})-\d{2}-\d{2}[T ]\d{2}:\d{2}"
    r"(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})$"
)
_ISO_WITHOUT_OFFSET: Final = (
    r"^(?:\d{3}[1-9]|\d{2}[1-9]\d|\d[1-9]\d{2}|[1-9]\d{3})-\d{2}-\d{2}[T ]\d{2}:\d{2}"
    r"(?::\d{2}(?:\.\d{1,6})?)?$"
)
_SUB_MICRO: Final = (
    r"^(\s*\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}\.\d{6})\d+((?:[Zz]|[+-]\d{2}:?\d{2})?\s*)$"
)
"""A time with more than 6 fractional-second digits (nanoseconds, as RFC 3339 allows): the
digits past the microsecond, which the frames cannot hold, are dropped (the time is truncated,
as a clock reading is)."""
_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0)
_UNIX_FIRST: Final = -62_135_596_800  # 0001-01-01T00:00:00Z
_UNIX_LAST: Final = 253_402_300_799  # 9999-12-31T23:59:59Z
_NO_TEXT: Final = pa.scalar(None, pa.string())


@dataclass(frozen=True, slots=True)
class InstantResult:
    """Parsed instants, one row per input value.

    ``instants``: :data:`INSTANT_TYPE` array, null where NA. ``reasons``: strings, null where the
    value parsed or was absent, else why it did not (a problem). ``notes``: strings, null unless the
    value was read under the DST rule (nonexistent or ambiguous local time); worth recording too.
    """

    instants: pa.Array
    reasons: pa.Array
    notes: pa.Array


def parse_instants(values: _ArrayLike, *, zones: _ArrayLike | None = None) -> InstantResult:
    """Parse ISO-8601 strings into UTC instants; offset-less ones are read in the row's zone.

    ``zones`` (same length, IANA names) is only consulted for values without an offset.
    """
    return _parse(values, zones)[0]


def parse_unix_iso(
    integers: _ArrayLike, isos: _ArrayLike, *, zones: _ArrayLike | None = None
) -> InstantResult:
    """Instants of the snake_case flavour's ``{"integer": <unix seconds>, "iso": "..."}`` objects.

    The integer (an integer, float or all-null array) wins; an iso that parses to another instant
    (compared at whole seconds), or does not parse, adds a reason. Without a usable integer (null,
    not whole, outside years 0001-9999 such as milliseconds) the iso is used as by
    :func:`parse_instants` (``zones`` for offset-less isos). An offset-less iso without a zone next
    to a usable integer cannot be checked, and that alone is no problem.
    """
    number = _combined(integers)
    kind = number.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)):
        raise TypeError(f"unix seconds must be numbers, got Arrow type {kind}")
    number = number.cast(pa.float64() if pa.types.is_floating(kind) else pa.int64())
    iso_text = _strings(isos, "isos", len(number))
    iso, unzoned = _parse(iso_text, zones)
    usable = pc.and_(pc.greater_equal(number, _UNIX_FIRST), pc.less_equal(number, _UNIX_LAST))
    if pa.types.is_floating(number.type):  # whole seconds only (floor of an int64 would go
        usable = pc.and_(usable, pc.equal(pc.floor(number), number))  # through float64 and fail)
    usable = pc.fill_null(usable, False)
    seconds = pc.cast(pc.if_else(usable, number, pa.scalar(None, number.type)), pa.int64())
    from_integer = pc.multiply(seconds, 1_000_000).cast(WALL_TYPE).cast(INSTANT_TYPE)
    differs = pc.not_equal(pc.floor_temporal(iso.instants, unit="second"), from_integer)
    disagrees = pc.fill_null(pc.and_(usable, differs), False)
    iso_failed = pc.and_(pc.is_valid(iso.reasons), pc.invert(unzoned))
    bad = pc.and_(pc.invert(usable), pc.is_valid(number))

    def reason(pick: _Pick) -> pa.Array:
        written = pick(pc.if_else(usable, seconds, number).cast(pa.string()))
        utc, iso_raw = _text(pick(from_integer), "Z"), _shown(pick(iso_text))
        differ = _say("iso '{i}' disagrees with integer {n} ({t})", i=iso_raw, n=written, t=utc)
        wrong = _say("integer {n} is not a unix time in seconds (years 0001-9999)", n=written)
        iso_reason = _join("iso ", pick(iso.reasons))
        cases = [(pick(disagrees), differ), (pick(usable), _join(iso_reason, "; used the integer"))]
        cases += [(pick(iso_failed), _join(wrong, "; ", iso_reason))]
        cases += [(pick(pc.is_valid(iso.instants)), _join(wrong, "; used the iso"))]
        return _first(cases, wrong)

    problems = _explain(pc.or_(pc.or_(disagrees, pc.and_(usable, iso_failed)), bad), reason)
    return InstantResult(
        instants=pc.if_else(usable, from_integer, iso.instants),
        reasons=pc.coalesce(problems, pc.if_else(pc.is_valid(number), _NO_TEXT, iso.reasons)),
        notes=pc.if_else(usable, _NO_TEXT, iso.notes),
    )


def local_wall_clock(instants: _ArrayLike, zones: _ArrayLike) -> pa.Array:
    """Each instant's wall-clock time (:data:`WALL_TYPE`) in its row's zone.

    Null where the instant is null or the zone null or unknown. ``instants`` must be timezone-aware
    timestamps (any unit; finer than µs is truncated).
    """
    moments = _combined(instants)
    if not (pa.types.is_timestamp(moments.type) and moments.type.tz is not None):
        raise TypeError(f"instants must be timezone-aware timestamps, got {moments.type}")
    moments = moments.cast(pa.timestamp("us", moments.type.tz), safe=False).cast(INSTANT_TYPE)
    zone = _strings(zones, "zones", len(moments))

    def wall(chunk: pa.Array, name: str) -> list[pa.Array]:
        local = pc.local_timestamp(chunk.cast(pa.timestamp("us", name)))
        if not _keeps_dst(name):
            return [local]
        # Arrow drops daylight saving time after 2037 (apache/arrow#36110): those few by
        # Python's zoneinfo, which keeps it.
        late = pc.fill_null(pc.greater_equal(chunk, _INSTANT_2038), False)
        if not pc.any(late).as_py():
            return [local]
        rules = zoneinfo.ZoneInfo(name)
        fixed = [_wall_by_zoneinfo(moment, rules) for moment in pc.filter(chunk, late).to_pylist()]
        return [pc.replace_with_mask(local, late, pa.array(fixed, local.type))]

    mask = pc.and_(pc.is_valid(moments), valid_zone_names(zone))
    local = _by_zone(mask, zone, moments, wall)[0].cast(WALL_TYPE)
    # A wall clock past the ends of Python's dates (9999-12-31 23:00 UTC is 10000-01-01 in
    # Kiritimati): null, as an instant there would be (no tool downstream can show it).
    micros = local.cast(pa.int64())
    inside = pc.and_(pc.greater_equal(micros, _FIRST_MICROS), pc.less_equal(micros, _LAST_MICROS))
    return pc.if_else(pc.fill_null(inside, True), local, pa.scalar(None, WALL_TYPE))


def _wall_by_zoneinfo(moment: datetime, rules: zoneinfo.ZoneInfo) -> datetime | None:
    """``moment``'s wall clock by Python's ``zoneinfo``; ``None`` past the ends of its dates."""
    try:
        return moment.astimezone(rules).replace(tzinfo=None)
    except OverflowError:
        return None


def valid_zone_names(zones: _ArrayLike) -> pa.Array:
    """True where the zone is a known IANA name (exact spelling); False for null and unknown ones."""
    return pc.is_in(_strings(zones, "zones"), value_set=_known_zones())


# ----------------------------------------------------------------------------------- internals


_FIRST_MICROS: Final = _UNIX_FIRST * 1_000_000
_LAST_MICROS: Final = _UNIX_LAST * 1_000_000 + 999_999
_FIRST_INSTANT: Final = pa.scalar(_FIRST_MICROS, pa.int64()).cast(INSTANT_TYPE)
_LAST_INSTANT: Final = pa.scalar(_LAST_MICROS, pa.int64()).cast(INSTANT_TYPE)


def _parse(values: _ArrayLike, zones: _ArrayLike | None) -> tuple[InstantResult, pa.Array]:
    """:func:`_parse_any`, with instants outside the years 0001-9999 in UTC (an offset can push a
    written year-9999 or year-0001 time there) turned into problems: no tool downstream (pandas,
    Python's datetime, Excel) can show them."""
    result, unzoned = _parse_any(values, zones)
    moments = result.instants
    if isinstance(moments, pa.Array) and moments.type == INSTANT_TYPE:  # one call, not four
        low, high = (x.as_py() for x in pc.min_max(moments.view(pa.int64())).values())
        if low is None or (low >= _FIRST_MICROS and high <= _LAST_MICROS):
            return result, unzoned
    outside = pc.or_(pc.less(moments, _FIRST_INSTANT), pc.greater(moments, _LAST_INSTANT))
    if not pc.any(outside).as_py():
        return result, unzoned
    outside = pc.fill_null(outside, False)
    raw = _strings(values, "instant values")
    reason = _say("'{v}' is outside the years 0001-9999 in UTC", v=_shown(raw))
    return (
        InstantResult(
            pc.if_else(outside, pa.scalar(None, INSTANT_TYPE), moments),
            pc.if_else(outside, reason, result.reasons),
            pc.if_else(outside, _NO_TEXT, result.notes),
        ),
        unzoned,
    )


def _to_micros(text: pa.Array) -> pa.Array:
    """``text`` with fractional-second digits past the sixth dropped (:data:`_SUB_MICRO`)."""
    if not pc.any(pc.match_substring_regex(text, r"\.\d{7}")).as_py():
        return text
    return pc.replace_substring_regex(text, _SUB_MICRO, r"\1\2")


def _parse_any(values: _ArrayLike, zones: _ArrayLike | None) -> tuple[InstantResult, pa.Array]:
    """:func:`parse_instants`, plus a mask of the offset-less values that had no zone at all.

    The regex only checks the shape; the calendar and the offset are checked on fixed character
    positions, and then Arrow's own ISO-8601 cast (which fails a whole array on one bad value)
    converts exactly the rows known to be good.
    """
    sent = _strings(values, "instant values")
    raw = _to_micros(sent)
    zone = pa.nulls(len(raw), pa.string()) if zones is None else _strings(zones, "zones", len(raw))
    fast = _all_with_offsets(raw)
    if fast is not None:
        none = pa.nulls(len(raw), pa.string())
        return InstantResult(fast, none, none), pc.fill_null(pa.nulls(len(raw), pa.bool_()), False)
    text = pc.utf8_upper(pc.utf8_trim_whitespace(raw))  # RFC 3339 allows a lowercase t and z
    walls = _all_wall_clocks(raw)
    if walls is not None:  # every value a real wall-clock time without an offset
        shaped = real = naive = pc.is_valid(raw)
        good, wall = raw, walls
        aware = pc.fill_null(pa.nulls(len(raw), pa.bool_()), False)  # no value has an offset
        offset_ok = pc.invert(aware)
    else:
        shaped = pc.fill_null(pc.match_substring_regex(text, _ISO), False)
        good = pc.if_else(shaped, text, _NO_TEXT)
        ascii_ = good.cast(pa.binary())  # well-shaped text is ASCII: slice bytes, not code points
        real = pc.fill_null(_real_date_time(ascii_), False)
        has_offset, offset_ok = _offset(ascii_)
        aware = pc.and_(real, has_offset)
        naive = pc.and_(real, pc.invert(has_offset))
        wall = pc.if_else(naive, good, _NO_TEXT).cast(WALL_TYPE)
    localize = pc.and_(naive, valid_zone_names(zone))
    local, gap, ambiguous = _by_zone(localize, zone, wall, _localize)
    utc = pc.if_else(pc.and_(aware, offset_ok), good, _NO_TEXT).cast(INSTANT_TYPE)
    instants = pc.if_else(aware, utc, local)
    unzoned = pc.and_(naive, pc.is_null(zone))

    def reason(pick: _Pick) -> pa.Array:
        unknown = _say(
            "' has no UTC offset and '{z}' is not a known time zone", z=_shown(pick(zone))
        )
        cases = [(pick(pc.invert(shaped)), "' is not an ISO-8601 date-time")]
        cases += [(pick(pc.invert(real)), "' is not a real date and time")]
        cases += [(pick(aware), "' has an invalid UTC offset")]
        cases += [(pick(unzoned), "' has no UTC offset and no time zone to read it in")]
        return _join("'", _shown(pick(sent)), _first(cases, unknown))

    def note(pick: _Pick) -> pa.Array:
        moment, where = pick(instants), pick(zone)
        utc, local = _text(moment, "Z"), _text(local_wall_clock(moment, where), "")
        shifted = _say(
            "' does not exist in {zone} (clocks go forward); read as {local} local, shifted"
            " forward by the gap ({utc})", zone=where, local=local, utc=utc,
        )  # fmt: skip
        first = _say(
            "' is ambiguous in {zone} (clocks go back); read as the first occurrence ({utc})",
            zone=where, utc=utc,
        )  # fmt: skip
        text = _first([(pick(gap), shifted)], first)
        return _join("'", _shown(pick(raw)), text)

    absent = pc.fill_null(pc.equal(text, ""), True)
    reasons = _explain(pc.and_(pc.invert(absent), pc.is_null(instants)), reason)
    notes = _explain(pc.or_(gap, ambiguous), note)
    return InstantResult(instants=instants, reasons=reasons, notes=notes), unzoned


def _all_wall_clocks(raw: pa.Array) -> pa.Array | None:
    """Likewise for values without an offset: every value (nulls aside) well-shaped without one,
    and all real (Arrow's cast to wall-clock timestamps accepts them all): those timestamps, or
    ``None``. Reading them in their zones is still the full parse's work."""
    if raw.null_count == len(raw):
        return None
    if not pc.all(pc.match_substring_regex(raw, _ISO_WITHOUT_OFFSET)).as_py():
        return None
    try:
        return raw.cast(WALL_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _all_with_offsets(raw: pa.Array) -> pa.Array | None:
    """The common case in one cast: every value (nulls aside) well-shaped with a UTC offset, and
    Arrow's ISO-8601 cast, which rejects the whole array on any unreal date, time or offset,
    accepts them all. ``None`` otherwise (the full parse then finds and explains the bad ones)."""
    if raw.null_count == len(raw):
        return None
    shaped = pc.match_substring_regex(raw, _ISO_WITH_OFFSET)
    if not pc.all(shaped).as_py():  # nulls are skipped
        return None
    try:
        return raw.cast(INSTANT_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
"""Files of the time-zone database that are not zones: ``localtime`` is whatever this machine
is set to, so an order in it would read differently on another machine."""


@functools.cache
def _known_zones() -> pa.Array:
    """IANA names that both ``zoneinfo`` and Arrow's time-zone database know (once per process)."""
    probe, names = pa.array([0], WALL_TYPE), []
    for name in sorted(zoneinfo.available_timezones() - NOT_ZONES):
        try:
            pc.assume_timezone(probe, timezone=name)
        except pa.ArrowInvalid:  # e.g. "Factory", which has no rules
            continue
        names.append(name)
    return pa.array(names, pa.string())


@functools.cache
def _known_zone_names() -> frozenset[str]:
    return frozenset(_known_zones().to_pylist())


def is_known_zone(name: object) -> bool:
    """Whether ``name`` is a time zone the loader reads appointments in (an IANA name both
    ``zoneinfo`` and Arrow know); anything else (``""``, ``localtime``, a typo) is not."""
    return isinstance(name, str) and name in _known_zone_names()


def _combined(values: _ArrayLike) -> pa.Array:
    """One contiguous array from an array or chunked array."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not isinstance(array, pa.Array):
        raise TypeError(f"expected a pyarrow Array or ChunkedArray, got {type(values).__name__}")
    return array


def _strings(values: _ArrayLike, what: str, length: int | None = None) -> pa.Array:
    """``values`` as one string array (all-null becomes null strings), of ``length`` when given."""
    array = _combined(values)
    if pa.types.is_null(array.type) or pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    if not pa.types.is_string(array.type):
        raise TypeError(
            f"{what} must be strings, got Arrow type {array.type} (read JSON timestamps as"
            " strings: Arrow's inferred timestamps drop the offset)"
        )
    if length is not None and len(array) != length:
        raise ValueError(f"{what}: {len(array)} values for {length} rows")
    return array


def _number(ascii_: pa.Array, start: int, stop: int | None = None) -> pa.Array:
    """The integer in bytes ``start:stop`` of each (digit-holding or null) binary value."""
    return pc.binary_slice(ascii_, start, stop).cast(pa.string()).cast(pa.int64())


def _real_date_time(ascii_: pa.Array) -> pa.Array:
    """True where well-shaped text names a real date and time (no Feb 30, no 24:00, no :60)."""
    year, month, day = _number(ascii_, 0, 4), _number(ascii_, 5, 7), _number(ascii_, 8, 10)
    has_seconds = pc.equal(pc.binary_slice(ascii_, 16, 17), b":")
    second = pc.fill_null(_number(pc.if_else(has_seconds, ascii_, None), 17, 19), 0)

    def divisible(by: int) -> pa.Array:
        return pc.equal(pc.multiply(pc.divide(year, by), by), year)

    leap = pc.and_(divisible(4), pc.invert(pc.xor(divisible(100), divisible(400))))
    month_days = pc.take(pa.array(_DAYS_IN_MONTH, pa.int64()), pc.min_element_wise(month, 13))
    month_days = pc.add(month_days, pc.cast(pc.and_(leap, pc.equal(month, 2)), pa.int64()))
    checks = [pc.greater_equal(year, 1), pc.greater_equal(day, 1), pc.less_equal(day, month_days)]
    hour, minute = _number(ascii_, 11, 13), _number(ascii_, 14, 16)
    checks += [pc.less_equal(hour, 23), pc.less_equal(minute, 59), pc.less_equal(second, 59)]
    return functools.reduce(pc.and_, checks)  # month_days is 0 for months outside 1-12


def _offset(ascii_: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Whether well-shaped text ends in an offset (``Z``, ``±HH:MM``, ``±HHMM``), and whether that
    offset is at most ``±23:59``."""
    colon = pc.match_substring_regex(pc.binary_slice(ascii_, -6), r"^[+-]\d\d:\d\d$")
    plain = pc.match_substring_regex(pc.binary_slice(ascii_, -5), r"^[+-]\d{4}$")
    numeric = pc.fill_null(pc.or_(colon, plain), False)
    has_offset = pc.fill_null(pc.or_(numeric, pc.ends_with(ascii_, b"Z")), False)
    hours = pc.if_else(
        colon,
        _number(pc.if_else(colon, ascii_, None), -5, -3),
        _number(pc.if_else(plain, ascii_, None), -4, -2),
    )
    minutes = _number(pc.if_else(numeric, ascii_, None), -2)
    in_range = pc.and_(pc.less_equal(hours, 23), pc.less_equal(minutes, 59))
    return has_offset, pc.fill_null(pc.or_(in_range, pc.invert(numeric)), True)


def _by_zone(
    mask: pa.Array, zones: pa.Array, values: pa.Array, convert: Callable[..., list[pa.Array]]
) -> list[pa.Array]:
    """Run ``convert(values_of_one_zone, zone)`` once per distinct zone over the ``mask`` rows.

    Returns ``convert``'s arrays scattered back to full length (null outside ``mask``): rows are
    sorted by zone, each run of one zone converted as a slice, and the results un-sorted by a take.
    """
    rows = pc.indices_nonzero(pc.fill_null(mask, False))
    order = pc.sort_indices(pc.take(zones, rows)).cast(pa.int64())
    ordered = pc.take(pc.take(values, rows), order)
    runs = pc.run_end_encode(pc.take(pc.take(zones, rows), order))
    pieces, start = [], 0
    for end, zone in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
        pieces.append(convert(ordered.slice(start, end - start), zone))
        start = end
    if not pieces:  # no rows: convert an empty slice just for the result types
        return [pa.nulls(len(mask), a.type) for a in convert(ordered.slice(0, 0), "UTC")]
    target = pc.take(pc.inverse_permutation(order), _place(mask))
    return [pc.take(pa.concat_arrays(list(arrays)), target) for arrays in zip(*pieces, strict=True)]


_YEAR_2038: Final = pa.scalar(datetime(2038, 1, 1), WALL_TYPE)
_INSTANT_2038: Final = pa.scalar(datetime(2038, 1, 1, tzinfo=UTC), INSTANT_TYPE)


def _localize(wall: pa.Array, zone: str) -> list[pa.Array]:
    """Wall-clock times of one zone -> [UTC instants under the DST rule, in a gap, ambiguous].

    ``wall`` holds no null. Most slices hold no time near a clock change: one conversion that
    refuses gaps and ambiguous times reads them, and only a slice it refuses takes the rule.
    Times after 2037 in a zone that keeps DST, where Arrow's rules end (apache/arrow#36110),
    are read by Python's ``zoneinfo`` instead."""
    try:
        exact = pc.assume_timezone(wall, timezone=zone, ambiguous="raise", nonexistent="raise")
    except pa.ArrowInvalid:
        read = _localize_by_rule(wall, zone)
    else:
        none = pa.array(np.zeros(len(wall), dtype=bool))
        read = [exact.cast(INSTANT_TYPE), none, none]
    late = pc.greater_equal(wall, _YEAR_2038) if _keeps_dst(zone) else None
    if late is None or not pc.any(late).as_py():
        return read
    fixed = _by_zoneinfo(pc.filter(wall, late), zone)
    return [pc.replace_with_mask(a, late, b) for a, b in zip(read, fixed, strict=True)]


def _localize_by_rule(wall: pa.Array, zone: str) -> list[pa.Array]:
    """:func:`_localize` of a slice holding a time in a gap or an ambiguous one."""
    early = pc.assume_timezone(wall, timezone=zone, ambiguous="earliest", nonexistent="earliest")
    late = pc.assume_timezone(wall, timezone=zone, ambiguous="latest", nonexistent="earliest")
    before = pc.local_timestamp(early)  # in a gap: the wall clock just before the change
    gap = pc.not_equal(before, wall)
    shifted = pc.add(early, pc.subtract(wall, before))  # read in the offset before the change
    instants = pc.if_else(gap, shifted, early).cast(INSTANT_TYPE)
    return [instants, gap, pc.not_equal(early, late)]


def _by_zoneinfo(wall: pa.Array, zone: str) -> list[pa.Array]:
    """:func:`_localize` by Python's ``zoneinfo``, value by value (for the few times Arrow's
    rules do not reach). ``fold=0`` is the same rule: a time in a gap is read in the offset
    before the change, an ambiguous one as the first occurrence."""
    rules = zoneinfo.ZoneInfo(zone)
    instants, gaps, ambiguous = [], [], []
    for value in wall.to_pylist():
        first = value.replace(tzinfo=rules)
        offset = first.utcoffset() or timedelta(0)
        # In integers: the instant may lie past the ends of Python's dates (9999-12-31 23:59 in
        # Chicago is in the year 10000 in UTC), where ``_parse`` makes it a problem.
        instants.append((value - _NAIVE_EPOCH) // _MICRO - offset // _MICRO)
        try:
            gap = first.astimezone(UTC).astimezone(rules).replace(tzinfo=None) != value
        except OverflowError:  # out of range either way: no gap to tell of
            gap = False
        gaps.append(gap)
        ambiguous.append(not gap and offset != value.replace(tzinfo=rules, fold=1).utcoffset())
    return [
        pa.array(instants, pa.int64()).cast(INSTANT_TYPE),
        pa.array(gaps, pa.bool_()),
        pa.array(ambiguous, pa.bool_()),
    ]


_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
_MICRO: Final = timedelta(microseconds=1)


@functools.cache
def _keeps_dst(zone: str) -> bool:
    """Whether ``zone`` still changes its clocks in 2040 (by Python's ``zoneinfo``)."""
    rules = zoneinfo.ZoneInfo(zone)
    return (
        datetime(2040, 1, 15, tzinfo=rules).utcoffset()
        != datetime(2040, 7, 15, tzinfo=rules).utcoffset()
    )


def _place(mask: pa.Array) -> pa.Array:
    """For each row, its index among the ``True`` rows of ``mask``; null where it is not True."""
    mask = pc.fill_null(mask, False)
    position = pc.subtract(pc.cumulative_sum(pc.cast(mask, pa.int64())), 1)
    return pc.if_else(mask, position, pa.scalar(None, pa.int64()))


def _explain(mask: pa.Array, build: Callable[[_Pick], pa.Array]) -> pa.Array:
    """Strings that ``build(pick)`` makes for the ``mask`` rows only, scattered back (else null).

    ``pick`` narrows a full-length array to the ``mask`` rows, so text is formatted only for them.
    """
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return pa.nulls(len(mask), pa.string())
    return pc.take(build(lambda array: pc.filter(array, mask)), _place(mask))


def _first(cases: Sequence[tuple[pa.Array, object]], other: object) -> pa.Array:
    """Per row, the value of the first case whose condition holds, else ``other``."""
    names = [str(i) for i in range(len(cases))]
    conditions = pc.make_struct(*(pc.fill_null(c, False) for c, _ in cases), field_names=names)
    return pc.case_when(conditions, *(value for _, value in cases), other)


def _join(*parts: object) -> pa.Array:
    """Element-wise concatenation of string arrays and scalars (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def _say(template: str, **values: pa.Array) -> pa.Array:
    """``template`` with each ``{name}`` replaced, row by row, by the array ``values[name]``."""
    pieces = re.split(r"\{(\w+)\}", template)  # text, name, text, name, ..., text
    return _join(*(values[piece] if i % 2 else piece for i, piece in enumerate(pieces)))


def _text(moments: pa.Array, suffix: str) -> pa.Array:
    """ISO text of timestamps, ``2024-03-10T07:30:00`` + ``suffix``; µs only when not whole."""
    whole = pc.floor_temporal(moments, unit="second")
    short = pc.strftime(whole.cast(pa.timestamp("s", moments.type.tz)), format="%Y-%m-%dT%H:%M:%S")
    long = pc.strftime(moments, format="%Y-%m-%dT%H:%M:%S")
    return _join(pc.if_else(pc.equal(whole, moments), short, long), suffix)


def _shown(raw: pa.Array) -> pa.Array:
    """Raw values as quoted in a message: cut to 80 characters, ending with ``...``."""
    cut = _join(pc.utf8_slice_codeunits(raw, 0, 77), "...")
    return pc.if_else(pc.greater(pc.utf8_length(raw), 80), cut, raw)
