"""Instants: ISO-8601 text, naive wall clocks in IANA zones (DST rule), unix/iso pairs, local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ht_analytics._instants import (
    INSTANT_TYPE,
    WALL_TYPE,
    InstantResult,
    _all_wall_clocks,
    _all_with_offsets,
    local_wall_clock,
    parse_instants,
    parse_unix_iso,
    valid_zone_names,
)

NY = "America/New_York"


def one(
    value: str | None, zone: str | None = None
) -> tuple[datetime | None, str | None, str | None]:
    """Parse a single value (in a zone); (instant, reason, note)."""
    zones = None if zone is None else pa.array([zone], pa.string())
    result = parse_instants(pa.array([value], pa.string()), zones=zones)
    return result.instants[0].as_py(), result.reasons[0].as_py(), result.notes[0].as_py()


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


WITH_OFFSET = [
    ("2019-08-24T14:15:22.123Z", utc(2019, 8, 24, 14, 15, 22, 123000)),
    ("2024-03-25T00:00:00Z", utc(2024, 3, 25)),
    ("2024-03-10T02:30:00+05:30", utc(2024, 3, 9, 21, 0)),
    ("2024-03-10T02:30:00-0800", utc(2024, 3, 10, 10, 30)),
    ("2024-03-10T02:30:00+0530", utc(2024, 3, 9, 21, 0)),
    ("2024-03-10 02:30:00.123456Z", utc(2024, 3, 10, 2, 30, 0, 123456)),
    ("2024-03-10T02:30Z", utc(2024, 3, 10, 2, 30)),
    ("2024-07-04T12:00:00.5-04:00", utc(2024, 7, 4, 16, 0, 0, 500000)),
    ("2024-01-01T00:00:00-00:00", utc(2024, 1, 1)),
    ("2023-12-31T23:30:00-01:00", utc(2024, 1, 1, 0, 30)),
    ("2024-01-01T00:00:00+23:59", utc(2023, 12, 31, 0, 1)),
    ("  2024-05-01T00:00:00Z\n", utc(2024, 5, 1)),
    ("2024-02-29T12:00:00Z", utc(2024, 2, 29, 12)),
    ("2000-02-29T12:00:00Z", utc(2000, 2, 29, 12)),
    ("1969-12-31T23:59:59.999999Z", utc(1969, 12, 31, 23, 59, 59, 999999)),
    ("2024-03-25t12:00:00z", utc(2024, 3, 25, 12)),  # RFC 3339 allows lowercase
    ("2024-03-25t12:00:00.25+01:00", utc(2024, 3, 25, 11, 0, 0, 250000)),
]


@pytest.mark.parametrize(("text", "expected"), WITH_OFFSET)
def test_values_with_an_offset(text: str, expected: datetime) -> None:
    """Z and numeric offsets, fractions up to µs, T or space: the exact UTC instant."""
    assert one(text) == (expected, None, None)


@pytest.mark.parametrize(("text", "expected"), WITH_OFFSET[:4])
def test_an_offset_wins_over_the_zone(text: str, expected: datetime) -> None:
    """A value with its own offset ignores the row's zone, known or not."""
    assert one(text, NY) == (expected, None, None)
    assert one(text, "Mars/Olympus") == (expected, None, None)


WALL_CLOCKS = [
    ("2024-06-01T12:00:00", "Asia/Kolkata", utc(2024, 6, 1, 6, 30)),
    ("2024-06-01T12:00:00", "Pacific/Honolulu", utc(2024, 6, 1, 22, 0)),
    ("2024-01-15T09:00", "America/Los_Angeles", utc(2024, 1, 15, 17, 0)),
    ("2024-07-15 09:00:00", "America/Los_Angeles", utc(2024, 7, 15, 16, 0)),
    ("2024-03-10T01:59:59", NY, utc(2024, 3, 10, 6, 59, 59)),
    ("2024-03-10T03:00:00", NY, utc(2024, 3, 10, 7, 0)),
    ("2024-11-03T00:59:59", NY, utc(2024, 11, 3, 4, 59, 59)),
    ("2024-11-03T02:00:00", NY, utc(2024, 11, 3, 7, 0)),
    ("2024-06-01T12:00:00.250", "UTC", utc(2024, 6, 1, 12, 0, 0, 250000)),
]


@pytest.mark.parametrize(("text", "zone", "expected"), WALL_CLOCKS)
def test_wall_clock_times_in_their_zone(text: str, zone: str, expected: datetime) -> None:
    """Offset-less values are local times in the row's zone, with no note outside DST changes."""
    assert one(text, zone) == (expected, None, None)


def test_spring_forward_gap_is_shifted_forward_and_noted() -> None:
    """02:30 on 2024-03-10 never happens in New York: read as 02:30 EST = 03:30 EDT = 07:30Z."""
    assert one("2024-03-10T02:30:00", NY) == (
        utc(2024, 3, 10, 7, 30),
        None,
        "'2024-03-10T02:30:00' does not exist in America/New_York (clocks go forward); read as"
        " 2024-03-10T03:30:00 local, shifted forward by the gap (2024-03-10T07:30:00Z)",
    )


def test_fall_back_ambiguity_takes_the_first_occurrence_and_is_noted() -> None:
    """01:30 on 2024-11-03 happens twice in New York: the first one, 01:30 EDT = 05:30Z."""
    assert one("2024-11-03T01:30:00", NY) == (
        utc(2024, 11, 3, 5, 30),
        None,
        "'2024-11-03T01:30:00' is ambiguous in America/New_York (clocks go back); read as the"
        " first occurrence (2024-11-03T05:30:00Z)",
    )


@pytest.mark.parametrize(
    ("text", "zone", "expected", "note_start"),
    [
        ("2024-03-10T02:15:00", "America/Los_Angeles", utc(2024, 3, 10, 10, 15), "' does not"),
        ("2024-03-31T01:30:00", "Europe/London", utc(2024, 3, 31, 1, 30), "' does not"),
        ("2024-10-27T01:30:00", "Europe/London", utc(2024, 10, 27, 0, 30), "' is ambiguous"),
        # Lord Howe Island moves its clocks by 30 minutes.
        ("2024-10-06T02:15:00", "Australia/Lord_Howe", utc(2024, 10, 5, 15, 45), "' does not"),
    ],
)
def test_the_dst_rule_in_other_zones(
    text: str, zone: str, expected: datetime, note_start: str
) -> None:
    """Gaps read in the offset before the change, overlaps as the first occurrence, elsewhere too."""
    instant, reason, note = one(text, zone)
    assert (instant, reason) == (expected, None)
    assert note is not None
    assert note.startswith(f"'{text}{note_start}")


def test_lord_howe_gap_note_names_the_local_time_30_minutes_later() -> None:
    """The note's local time is the wall clock shifted by the 30-minute gap."""
    note = one("2024-10-06T02:15:00", "Australia/Lord_Howe")[2]
    assert note is not None
    assert "read as 2024-10-06T02:45:00 local" in note


@pytest.mark.parametrize(
    ("text", "zone", "reason"),
    [
        ("2024-03-27T10:00:00", None, "has no UTC offset and no time zone to read it in"),
        (
            "2024-03-27T10:00:00",
            "Mars/Olympus",
            "has no UTC offset and 'Mars/Olympus' is not a known time zone",
        ),
        (
            "2024-03-27T10:00:00",
            "america/new_york",
            "has no UTC offset and 'america/new_york' is not a known time zone",
        ),
        ("garbage", None, "is not an ISO-8601 date-time"),
        ("2024-03-27", None, "is not an ISO-8601 date-time"),
        ("2024-03-27T10", None, "is not an ISO-8601 date-time"),
        ("2024-03-27T10:00:00ZZ", None, "is not an ISO-8601 date-time"),
        ("2024-03-27T10:00:00+05", None, "is not an ISO-8601 date-time"),
        ("2024-03-27T10:00:00 UTC", None, "is not an ISO-8601 date-time"),
        ("27/03/2024 10:00", None, "is not an ISO-8601 date-time"),
        ("1711324800", None, "is not an ISO-8601 date-time"),
        ("2024-03-27T10:00:00.1234567+24:00", None, "has an invalid UTC offset"),
        ("2024-02-30T10:00:00Z", None, "is not a real date and time"),
        ("2023-02-29T10:00:00Z", None, "is not a real date and time"),
        ("1900-02-29T10:00:00Z", None, "is not a real date and time"),
        ("2024-13-01T10:00:00Z", None, "is not a real date and time"),
        ("2024-04-31T10:00:00Z", None, "is not a real date and time"),
        ("2024-03-27T24:00:00Z", None, "is not a real date and time"),
        ("2024-03-27T23:60:00Z", None, "is not a real date and time"),
        ("2024-03-27T23:59:60Z", None, "is not a real date and time"),
        ("0000-01-01T00:00:00Z", None, "is not a real date and time"),
        ("2024-03-27T10:00:00+24:00", None, "has an invalid UTC offset"),
        ("2024-03-27T10:00:00-05:60", None, "has an invalid UTC offset"),
    ],
)
def test_unreadable_values_are_na_with_a_reason_naming_them(
    text: str, zone: str | None, reason: str
) -> None:
    """Anything that gives no instant is NA plus a reason that quotes the raw value."""
    assert one(text, zone) == (None, f"'{text}' {reason}", None)


@pytest.mark.parametrize(
    ("text", "zone", "want"),
    [
        ("2024-03-27T10:00:00.1234567Z", None, utc(2024, 3, 27, 10, 0, 0, 123456)),
        ("2024-03-27T10:00:00.123456789Z", None, utc(2024, 3, 27, 10, 0, 0, 123456)),
        ("2024-03-27t10:00:00.999999999z", None, utc(2024, 3, 27, 10, 0, 0, 999999)),
        ("2024-03-27T10:00:00.000000999-05:00", None, utc(2024, 3, 27, 15)),
        (" 2024-03-27T10:00:00.12345678901234+0530 ", None, utc(2024, 3, 27, 4, 30, 0, 123456)),
        ("2024-03-27T10:00:00.1234567", NY, utc(2024, 3, 27, 14, 0, 0, 123456)),
    ],
)
def test_digits_past_the_microsecond_are_dropped(
    text: str, zone: str | None, want: datetime
) -> None:
    """RFC 3339 allows any number of fractional-second digits (a server may send nanoseconds):
    the frames hold microseconds, so the digits past the sixth are dropped, not rounded (as a
    clock reading is truncated), without a problem. New York is UTC-4 on 27 March 2024."""
    assert one(text, zone) == (want, None, None)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_absent_values_are_na_without_a_reason(text: str | None) -> None:
    """Null, empty and blank strings are missing, not problems."""
    assert one(text) == (None, None, None)
    assert one(text, NY) == (None, None, None)


def test_rows_keep_their_positions_across_zones() -> None:
    """Rows of different zones, interleaved with bad and empty ones, come back in place."""
    values = ["2024-06-01T12:00:00", "x", "2024-06-01T12:00:00", None, "2024-06-01T12:00:00Z"]
    zones = ["Pacific/Honolulu", NY, "Asia/Kolkata", NY, "Asia/Kolkata"]
    result = parse_instants(pa.array(values), zones=pa.array(zones))
    assert isinstance(result, InstantResult)
    assert result.instants.type == INSTANT_TYPE == pa.timestamp("us", tz="UTC")
    assert result.instants.to_pylist() == [
        utc(2024, 6, 1, 22),
        None,
        utc(2024, 6, 1, 6, 30),
        None,
        utc(2024, 6, 1, 12),
    ]
    assert result.reasons.to_pylist() == [
        None,
        "'x' is not an ISO-8601 date-time",
        None,
        None,
        None,
    ]
    assert result.notes.to_pylist() == [None] * 5


def test_chunked_and_all_null_inputs() -> None:
    """Chunked arrays are accepted for values and zones; an all-null column is all NA."""
    values = pa.chunked_array([["2024-06-01T12:00:00"], ["2024-06-01T12:00:00"]])
    zones = pa.chunked_array([[NY, "UTC"]])
    result = parse_instants(values, zones=zones)
    assert isinstance(result.instants, pa.Array)
    assert result.instants.to_pylist() == [utc(2024, 6, 1, 16), utc(2024, 6, 1, 12)]
    nulls = parse_instants(pa.nulls(3))
    assert nulls.instants.to_pylist() == [None] * 3
    assert nulls.reasons.to_pylist() == [None] * 3


def test_wrong_inputs_are_refused() -> None:
    """Timestamps inferred by a JSON reader are refused, and zones must match in length."""
    with pytest.raises(TypeError, match="must be strings"):
        parse_instants(pa.array([datetime(2024, 1, 1)]))
    with pytest.raises(ValueError, match="zones"):
        parse_instants(pa.array(["2024-01-01T00:00:00"]), zones=pa.array([NY, NY]))


# ------------------------------------------------------------------------------- unix / iso


def pair(
    integer: int | float | None, iso: str | None, zone: str | None = None
) -> tuple[object, ...]:
    """Parse one ``{"integer": ..., "iso": ...}`` object; (instant, reason, note)."""
    zones = None if zone is None else pa.array([zone], pa.string())
    result = parse_unix_iso(pa.array([integer]), pa.array([iso], pa.string()), zones=zones)
    return result.instants[0].as_py(), result.reasons[0].as_py(), result.notes[0].as_py()


MARCH_25 = utc(2024, 3, 25)  # 1711324800, as in the API documentation


@pytest.mark.parametrize(
    ("integer", "iso", "zone", "expected"),
    [
        (1711324800, "2024-03-25T00:00:00Z", None, (MARCH_25, None, None)),
        (1711324800, "2024-03-25T00:00:00.999Z", None, (MARCH_25, None, None)),
        (1711324800, "2024-03-24T17:00:00-07:00", None, (MARCH_25, None, None)),
        (1711324800, None, None, (MARCH_25, None, None)),
        (1711324800, "", None, (MARCH_25, None, None)),
        (1711324800, "2024-03-24T20:00:00", NY, (MARCH_25, None, None)),
        (1711324800, "2024-03-24T20:00:00", None, (MARCH_25, None, None)),
        (1711324800.0, "2024-03-25T00:00:00Z", None, (MARCH_25, None, None)),
        (None, "2024-03-25T00:00:01Z", None, (utc(2024, 3, 25, 0, 0, 1), None, None)),
        (None, None, None, (None, None, None)),
        (0, "1970-01-01T00:00:00Z", None, (utc(1970, 1, 1), None, None)),
        (-1, "1969-12-31T23:59:59Z", None, (utc(1969, 12, 31, 23, 59, 59), None, None)),
    ],
)
def test_unix_iso_pairs_that_agree(
    integer: int | float | None, iso: str | None, zone: str | None, expected: tuple[object, ...]
) -> None:
    """The integer gives the instant; an agreeing (or absent, or uncheckable) iso adds nothing."""
    assert pair(integer, iso, zone) == expected


def test_unix_iso_disagreement_keeps_the_integer_and_says_so() -> None:
    """An iso one second off is reported with both values; the integer's instant stays."""
    assert pair(1711324800, "2024-03-25T00:00:01Z") == (
        MARCH_25,
        "iso '2024-03-25T00:00:01Z' disagrees with integer 1711324800 (2024-03-25T00:00:00Z)",
        None,
    )


def test_unix_iso_with_an_unreadable_iso_keeps_the_integer() -> None:
    """A junk iso next to a good integer is reported; the integer is used."""
    assert pair(1711324800, "junk") == (
        MARCH_25,
        "iso 'junk' is not an ISO-8601 date-time; used the integer",
        None,
    )


@pytest.mark.parametrize(
    ("integer", "iso", "expected"),
    [
        (
            1711324800000,
            "2024-03-25T00:00:00Z",
            (
                MARCH_25,
                "integer 1711324800000 is not a unix time in seconds (years 0001-9999); used the iso",
                None,
            ),
        ),
        (
            1711324800000,
            None,
            (None, "integer 1711324800000 is not a unix time in seconds (years 0001-9999)", None),
        ),
        (
            1711324800000,
            "junk",
            (
                None,
                "integer 1711324800000 is not a unix time in seconds (years 0001-9999);"
                " iso 'junk' is not an ISO-8601 date-time",
                None,
            ),
        ),
        (
            1711324800.5,
            "2024-03-25T00:00:00.5Z",
            (
                utc(2024, 3, 25, 0, 0, 0, 500000),
                "integer 1711324800.5 is not a unix time in seconds (years 0001-9999); used the iso",
                None,
            ),
        ),
    ],
)
def test_unusable_integers_fall_back_to_the_iso_with_a_reason(
    integer: float, iso: str | None, expected: tuple[object, ...]
) -> None:
    """Milliseconds or fractions are not unix seconds: reported, and the iso used if it parses."""
    assert pair(integer, iso) == expected


def test_unix_iso_without_an_integer_passes_the_iso_notes_and_reasons() -> None:
    """With a null integer the iso's own result, notes and reasons included, is the answer."""
    instant, reason, note = pair(None, "2024-11-03T01:30:00", NY)
    assert (instant, reason) == (utc(2024, 11, 3, 5, 30), None)
    assert note is not None
    assert note.startswith("'2024-11-03T01:30:00' is ambiguous in America/New_York")
    assert pair(None, "junk") == (None, "'junk' is not an ISO-8601 date-time", None)


def test_unix_iso_refuses_strings_and_length_mismatches() -> None:
    """Integers must be numbers and as many as the isos."""
    with pytest.raises(TypeError, match="unix seconds must be numbers"):
        parse_unix_iso(pa.array(["1711324800"]), pa.array(["2024-03-25T00:00:00Z"]))
    with pytest.raises(ValueError, match="isos"):
        parse_unix_iso(pa.array([1711324800]), pa.array(["a", "b"]))


# --------------------------------------------------------------------------- local wall clock

HAND_PICKED = [
    (utc(2024, 3, 25), "America/Los_Angeles", datetime(2024, 3, 24, 17, 0)),
    (utc(2024, 3, 25), "Asia/Kolkata", datetime(2024, 3, 25, 5, 30)),
    (utc(2024, 11, 3, 5, 30), NY, datetime(2024, 11, 3, 1, 30)),
    (utc(2024, 11, 3, 6, 30), NY, datetime(2024, 11, 3, 1, 30)),
    (utc(2024, 3, 10, 7, 0), NY, datetime(2024, 3, 10, 3, 0)),
    (utc(2024, 3, 10, 6, 59, 59), NY, datetime(2024, 3, 10, 1, 59, 59)),
    (utc(2024, 6, 1, 22), "Pacific/Honolulu", datetime(2024, 6, 1, 12, 0)),
    (utc(2024, 1, 1, 0, 0, 0, 123456), "UTC", datetime(2024, 1, 1, 0, 0, 0, 123456)),
]


@pytest.mark.parametrize(("instant", "zone", "expected"), HAND_PICKED)
def test_local_wall_clock_of_hand_picked_instants(
    instant: datetime, zone: str, expected: datetime
) -> None:
    """The wall clock matches the hand-written value and zoneinfo's own conversion."""
    wall = local_wall_clock(pa.array([instant], INSTANT_TYPE), pa.array([zone]))
    assert wall.type == WALL_TYPE == pa.timestamp("us")
    assert wall.to_pylist() == [expected]
    assert expected == instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def test_local_wall_clock_round_trips_through_parse_instants() -> None:
    """Wall clocks read back in their zones give the same instants (outside DST changes)."""
    instants = pa.array(
        [moment for moment, _, _ in HAND_PICKED[:2] + HAND_PICKED[6:]], INSTANT_TYPE
    )
    zones = pa.array([zone for _, zone, _ in HAND_PICKED[:2] + HAND_PICKED[6:]])
    walls = local_wall_clock(instants, zones)
    texts = pa.array([wall.isoformat() for wall in walls.to_pylist()])
    assert parse_instants(texts, zones=zones).instants.equals(instants)


def test_local_wall_clock_nulls_and_other_units() -> None:
    """Null instant, null or unknown zone give null; any aware unit and zone is accepted."""
    instants = pa.array([None, utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 1, 1)], INSTANT_TYPE)
    zones = pa.array([NY, None, "Mars/Olympus", NY])
    assert local_wall_clock(instants, zones).to_pylist() == [
        None,
        None,
        None,
        datetime(2023, 12, 31, 19),
    ]
    other = pa.array([utc(2024, 7, 1)], pa.timestamp("ms", tz="Europe/Paris"))
    assert local_wall_clock(other, pa.array([NY])).to_pylist() == [datetime(2024, 6, 30, 20)]
    with pytest.raises(TypeError, match="timezone-aware"):
        local_wall_clock(pa.array([datetime(2024, 1, 1)]), pa.array([NY]))


def test_valid_zone_names() -> None:
    """Exact IANA names are known; null, misspelt, made-up and rule-less zones are not."""
    zones = pa.array(
        [NY, "UTC", "Asia/Kolkata", "america/new_york", "Mars/Olympus", None, "Factory"]
    )
    assert valid_zone_names(zones).to_pylist() == [True, True, True, False, False, False, False]


# ------------------------------------------------------------------------------ properties

OFFSET_MINUTES = st.integers(-(23 * 60 + 59), 23 * 60 + 59)


@given(
    local=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30)),
    minutes=OFFSET_MINUTES,
    separator=st.sampled_from(["T", " "]),
    colon=st.booleans(),
    zulu=st.booleans(),
)
def test_any_aware_datetime_written_with_an_offset_parses_to_the_same_instant(
    local: datetime, minutes: int, separator: str, colon: bool, zulu: bool
) -> None:
    """ISO text with any offset, separator and fraction gives the µs-exact instant."""
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    offset = f"{sign}{hours:02d}{':' if colon else ''}{rest:02d}"
    if minutes == 0 and zulu:
        offset = "Z"
    fraction = f".{local.microsecond:06d}".rstrip("0") if local.microsecond else ""
    text = local.strftime("%Y-%m-%d") + separator + local.strftime("%H:%M:%S") + fraction + offset
    expected = local.replace(tzinfo=timezone(timedelta(minutes=minutes))).astimezone(UTC)
    assert one(text) == (expected, None, None)


ZONES = [NY, "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]
ZONES += ["Pacific/Honolulu", "America/Santiago", "Australia/Sydney", "Europe/Berlin"]


@given(
    wall=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2079, 12, 31)),
    zone=st.sampled_from(ZONES),
)
@example(wall=datetime(2024, 3, 10, 2, 30), zone=NY)
@example(wall=datetime(2042, 3, 9, 2, 30), zone=NY)
@example(wall=datetime(2042, 11, 2, 1, 30), zone=NY)
@example(wall=datetime(2024, 11, 3, 1, 30), zone=NY)
@example(wall=datetime(2024, 10, 6, 2, 15), zone="Australia/Lord_Howe")
@example(wall=datetime(2024, 4, 7, 1, 45), zone="Australia/Lord_Howe")
def test_wall_clocks_follow_python_fold_zero(wall: datetime, zone: str) -> None:
    """The DST rule is Python's fold=0: gaps in the offset before, overlaps the first time."""
    text = wall.isoformat()
    expected = wall.replace(fold=0, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # text has no fold
    instant, reason, _ = one(text, zone)
    assert (instant, reason) == (expected, None)


def test_wall_clocks_of_many_zones_in_one_call_follow_python_fold_zero() -> None:
    """One call over several zones, where some zones' slices hold a time in a gap or an
    ambiguous one and others hold none: every value as Python's fold=0 reads it, and a note
    exactly on the gap and ambiguous values."""
    rows = [
        ("2024-03-10T01:59:00", NY),
        ("2024-03-10T02:30:00", NY),  # gap
        ("2024-07-01T12:00:00", NY),
        ("2024-11-03T01:30:00", NY),  # ambiguous
        ("2024-07-01T12:00:00", "America/Los_Angeles"),
        ("2024-12-24T23:59:59", "America/Los_Angeles"),
        ("2024-10-06T02:15:00", "Australia/Lord_Howe"),  # gap (half an hour)
        ("2024-01-15T08:00:00", "Asia/Kolkata"),
        ("2037-12-31T23:59:59", "Europe/Berlin"),
        ("2024-03-31T02:30:00", "Europe/Berlin"),  # gap
        ("2024-06-01T09:00:00", "Europe/London"),
    ]
    result = parse_instants(pa.array([t for t, _ in rows]), zones=pa.array([z for _, z in rows]))
    expected = [
        datetime.fromisoformat(t).replace(fold=0, tzinfo=ZoneInfo(z)).astimezone(UTC)
        for t, z in rows
    ]
    assert result.instants.to_pylist() == expected
    assert result.reasons.null_count == len(rows)
    noted = [i for i, note in enumerate(result.notes.to_pylist()) if note is not None]
    assert noted == [1, 3, 6, 9]


def test_wall_clocks_after_2037_keep_daylight_saving_time() -> None:
    """Arrow's zone rules stop at 2037 (apache/arrow#36110); times after it are read as Python's
    zoneinfo reads them, with the same notes on gaps and ambiguous times, and the local
    wall-clock of such instants too."""
    assert one("2042-07-01T10:00:00", NY) == (utc(2042, 7, 1, 14), None, None)  # EDT
    assert one("2042-01-15T10:00:00", NY) == (utc(2042, 1, 15, 15), None, None)  # EST
    gap = one("2042-03-09T02:30:00", NY)
    assert gap[0] == utc(2042, 3, 9, 7, 30)
    assert gap[2] is not None
    assert "does not exist" in gap[2]
    overlap = one("2042-11-02T01:30:00", NY)
    assert overlap[0] == utc(2042, 11, 2, 5, 30)
    assert overlap[2] is not None
    assert "ambiguous" in overlap[2]
    assert one("2042-07-01T10:00:00", "Asia/Kolkata") == (utc(2042, 7, 1, 4, 30), None, None)
    moments = pa.array([utc(2042, 7, 1, 14), utc(2030, 7, 1, 14)], pa.timestamp("us", "UTC"))
    walls = local_wall_clock(moments, pa.array([NY, NY])).to_pylist()
    assert walls == [datetime(2042, 7, 1, 10), datetime(2030, 7, 1, 10)]
    assert one("2042-07-01T10:00:00-04:00", NY) == (utc(2042, 7, 1, 14), None, None)


def test_a_million_instants_in_one_call() -> None:
    """A million ISO strings and wall clocks parse in one vectorised call each."""
    block = ["2019-08-24T14:15:22.123Z", "2024-03-10T02:30:00", "junk", None]
    zones = pa.array([NY, NY, "UTC", None] * 250_000)
    result = parse_instants(pa.array(block * 250_000), zones=zones)
    assert result.instants.null_count == 500_000
    assert result.reasons.null_count == 750_000
    assert result.notes.null_count == 750_000
    assert result.instants[999_997].as_py() == utc(2024, 3, 10, 7, 30)


@st.composite
def offset_texts(draw: st.DrawFn) -> tuple[str, datetime]:
    """An ISO-8601 text with a UTC offset, in one of the accepted spellings, and its instant."""
    minutes = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    zone = timezone(timedelta(minutes=minutes))
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    moment = moment.replace(tzinfo=UTC).astimezone(zone)
    if draw(st.booleans()):
        moment = moment.replace(second=0, microsecond=0)
    sep = draw(st.sampled_from(["T", " "]))
    m = moment
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}{sep}{m.hour:02d}:{m.minute:02d}"
    if moment.second or moment.microsecond or draw(st.booleans()):
        text += f":{m.second:02d}"
        if moment.microsecond or draw(st.booleans()):
            digits = f"{moment.microsecond:06d}"
            text += "." + (digits.rstrip("0") or "0") if draw(st.booleans()) else "." + digits
    sign, amount = ("-" if minutes < 0 else "+"), abs(minutes)
    hhmm = f"{amount // 60:02d}{amount % 60:02d}"
    text += draw(
        st.sampled_from(["Z"] * (minutes == 0) + [f"{sign}{hhmm[:2]}:{hhmm[2:]}", f"{sign}{hhmm}"])
    )
    return text, moment.astimezone(UTC)


@given(st.lists(offset_texts(), min_size=1, max_size=20))
def test_values_with_offsets_read_alike_on_the_quick_and_the_full_path(
    items: list[tuple[str, datetime]],
) -> None:
    """Well-formed values with offsets take one Arrow cast; one offset-less value in the array
    sends every row through the full parse. Both give the same instants, Python's own."""
    texts = [t for t, _ in items]
    assert _all_with_offsets(pa.array(texts)) is not None  # the quick path is taken
    quick = parse_instants(pa.array(texts))
    full = parse_instants(pa.array([*texts, "2024-01-01T10:00:00"]))  # no zone: full parse
    want = [m for _, m in items]
    assert quick.instants.to_pylist() == want
    assert full.instants.to_pylist()[:-1] == want
    assert quick.reasons.null_count == len(texts)
    assert full.reasons.to_pylist()[:-1] == [None] * len(texts)
    assert quick.notes.null_count == len(texts)
    assert full.notes.to_pylist()[:-1] == [None] * len(texts)


@pytest.mark.parametrize(
    "bad",
    [
        "0000-01-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T10:00+24:00",
    ],
)
def test_one_bad_value_among_good_ones_is_still_explained(bad: str) -> None:
    result = parse_instants(pa.array(["2024-01-01T10:00:00Z", bad, None]))
    assert result.instants.to_pylist()[0] == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert result.instants[1].as_py() is None
    assert result.reasons[1].as_py() is not None
    assert result.reasons[0].as_py() is None


@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2045, 12, 31)),
            st.sampled_from([*ZONES, "Not/AZone"]),
            st.sampled_from(["T", " "]),
        ),
        min_size=1,
        max_size=12,
    )
)
@example([(datetime(2024, 3, 10, 2, 30), NY, "T"), (datetime(2024, 11, 3, 1, 30), NY, " ")])
def test_wall_clocks_read_alike_on_the_quick_and_the_full_path(
    items: list[tuple[datetime, str, str]],
) -> None:
    """Offset-less values that are all real skip the shape and calendar checks; one value with
    an offset in the array sends every row through them. Instants, reasons and notes agree."""
    texts = [w.isoformat(sep=sep) for w, _, sep in items]
    zones = [z for _, z, _ in items]
    assert _all_wall_clocks(pa.array(texts)) is not None  # the quick path is taken
    quick = parse_instants(pa.array(texts), zones=pa.array(zones))
    full = parse_instants(
        pa.array([*texts, "2024-01-01T10:00:00Z"]), zones=pa.array([*zones, "UTC"])
    )
    for name in ("instants", "reasons", "notes"):
        assert getattr(quick, name).to_pylist() == getattr(full, name).to_pylist()[:-1], name
