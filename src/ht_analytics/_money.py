"""US-dollar amounts from the wire, parsed exactly and vectorised into ``DECIMAL(18,2)``.

Money on the HT Partner API is undocumented (``api/HT_PARTNER_API.md``): strings such as
``"$1,234.50"``, ``"-$5.00"``, ``"($5.00)"``, ``""``, ``null``, and bare JSON numbers. This module is
the one place that decides which strings are US-dollar amounts. :func:`parse_money` reads a whole
Arrow string array with ``pyarrow.compute`` (regular expressions and casts, never ``float``).

Accepted, after trimming surrounding whitespace (``N`` is ``1234``, ``1,234``, ``1234.5``,
``1,234.50``, ``.50`` ...: digits, thousands separators only in proper groups of three, at most two
decimals, at most 16 integer digits):

=================  =============================================================
``N``, ``$N``      the amount
``-N``, ``-$N``    negative
``$-N``            negative
``(N)``, ``($N)``  negative (accounting style)
=================  =============================================================

``""`` (or only whitespace) and null are NA without a reason: they are absent, not wrong.
Anything else is NA plus a reason naming the raw value: ``"'€5' is not a US dollar amount"``,
``"'12.345' has more than two decimals"``, ``"'1,23' has misplaced thousands separators"``,
``"'1e999' is out of range for DECIMAL(18,2)"``, ``"'NaN' is not a finite amount"``,
``"'1e3' is in scientific notation, not a US dollar amount"``.
More than two decimals is refused even when they are zeros (``"1.000"`` may be a European
thousand): a caller converting JSON numbers writes them without trailing fractional zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["MONEY_TYPE", "MoneyResult", "parse_money"]

MONEY_TYPE: Final = pa.decimal128(18, 2)
"""The one money type of the frames: exact, Parquet-native ``DECIMAL(18,2)``."""

_MAX_INTEGER_DIGITS: Final = 16
_RAW_SHOWN: Final = 80
"""Longest raw value quoted in a reason; longer ones are cut and end with ``...``."""

# An unsigned amount: grouped (1,234,567) or plain (1234567) integer part, 0-2 decimals, or ".50".
_AMOUNT: Final = r"(?:(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d{1,2})?|\.\d{1,2})"
# The same sign and symbol layouts with a loose number: digits and commas anywhere, any decimals.
_LOOSE: Final = r"(?:\d[\d,]*(?:\.\d+)?|\.\d+)"


def _layouts(number: str) -> str:
    """The accepted sign / ``$`` / parenthesis layouts around ``number``, as one anchored regex."""
    return rf"^(?:-?\$?|\$-){number}$|^\(\$?{number}\)$"


_ACCEPTED: Final = _layouts(_AMOUNT)
_LOOSELY: Final = _layouts(_LOOSE)
_NEGATIVE: Final = r"^(?:-|\$-|\()"
_GROUPED: Final = r"^[1-9]\d{0,2}(?:,\d{3})+$"
_TOO_MANY_DECIMALS: Final = r"\.\d{3}"
_SCIENTIFIC: Final = r"^[-+]?(?P<int>\d*)(?:\.(?P<frac>\d*))?[eE](?P<exp>[-+]?\d+)$"
_NOT_FINITE: Final = r"(?i)^[-+]?(?:nan|inf|infinity)$"


@dataclass(frozen=True, slots=True)
class MoneyResult:
    """The outcome of :func:`parse_money`, one row per input value.

    ``amounts`` is a ``pa.Array`` of :data:`MONEY_TYPE` (null where the value is NA or could not be
    read); ``reasons`` is a ``pa.Array`` of strings, null where the value parsed or was absent,
    else why it could not be read.
    """

    amounts: pa.Array
    reasons: pa.Array


def parse_money(values: pa.Array | pa.ChunkedArray) -> MoneyResult:
    """Parse US-dollar strings into exact ``DECIMAL(18,2)`` amounts, with a reason per failure.

    ``values`` is an Arrow string (or large string, or all-null) array or chunked array; a chunked
    array is combined, and the results are always plain ``pa.Array`` of the same length. JSON numbers
    must be converted by the caller to plain decimal strings (``"1234.5"``, ``"-3"``) first.
    Vectorised: a handful of regular-expression passes and one cast, no per-value Python.
    """
    raw = _as_strings(values)
    text = pc.utf8_trim_whitespace(raw)
    accepted = pc.fill_null(pc.match_substring_regex(text, _ACCEPTED), False)

    digits = pc.replace_substring_regex(text, r"[^0-9.]", "")
    negative = pc.match_substring_regex(text, _NEGATIVE)
    signed = pc.if_else(negative, pc.binary_join_element_wise("-", digits, ""), digits)
    too_large = pc.fill_null(pc.greater(_integer_digits(digits), _MAX_INTEGER_DIGITS), False)
    valid = pc.and_(accepted, pc.invert(too_large))
    amounts = pc.cast(pc.if_else(valid, signed, pa.scalar(None, pa.string())), MONEY_TYPE)

    absent = pc.fill_null(pc.equal(text, ""), True)
    failed = pc.invert(pc.or_(valid, absent))
    reasons = _reasons(raw, text, failed, too_large)
    return MoneyResult(amounts=amounts, reasons=reasons)


def _as_strings(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous string array from ``values`` (an all-null array becomes null strings)."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not isinstance(array, pa.Array):
        raise TypeError(f"expected a pyarrow Array or ChunkedArray, got {type(values).__name__}")
    if pa.types.is_null(array.type) or pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    if not pa.types.is_string(array.type):
        raise TypeError(f"money values must be strings, got Arrow type {array.type}")
    return array


def _integer_digits(digits: pa.Array) -> pa.Array:
    """Significant integer digits of ``"0012.50"``-like strings (``2``); leading zeros don't count."""
    integer_part = pc.replace_substring_regex(digits, r"\..*$", "")
    return pc.utf8_length(pc.utf8_ltrim(integer_part, characters="0"))


def _reasons(raw: pa.Array, text: pa.Array, failed: pa.Array, too_large: pa.Array) -> pa.Array:
    """Why each failed value is not an amount; null elsewhere. Only failed rows are formatted."""
    if not pc.any(failed).as_py():
        return pa.nulls(len(raw), pa.string())
    rows = pc.indices_nonzero(failed)
    text = pc.take(text, rows)
    loosely = pc.match_substring_regex(text, _LOOSELY)
    integer_part = pc.replace_substring_regex(
        pc.replace_substring_regex(text, r"[^0-9,.]", ""), r"\..*$", ""
    )
    misgrouped = pc.and_(
        pc.match_substring(integer_part, ","),
        pc.invert(pc.match_substring_regex(integer_part, _GROUPED)),
    )
    conditions = [
        pc.and_(loosely, pc.take(too_large, rows)),
        _scientific_out_of_range(text),
        pc.and_(loosely, misgrouped),
        pc.and_(loosely, pc.match_substring_regex(text, _TOO_MANY_DECIMALS)),
        pc.match_substring_regex(text, _NOT_FINITE),
        pc.match_substring_regex(text, _SCIENTIFIC),
    ]
    kind = pc.case_when(
        pc.make_struct(*conditions, field_names=[str(i) for i in range(len(conditions))]),
        "' is out of range for DECIMAL(18,2)",
        "' is out of range for DECIMAL(18,2)",
        "' has misplaced thousands separators",
        "' has more than two decimals",
        "' is not a finite amount",
        "' is in scientific notation, not a US dollar amount",
        "' is not a US dollar amount",
    )
    reasons = pc.binary_join_element_wise("'", _shown(pc.take(raw, rows)), kind, "")
    # Scatter back: failed row i takes reason number (failed rows up to and including i) - 1.
    position = pc.subtract(pc.cumulative_sum(pc.cast(failed, pa.int64())), 1)
    return pc.take(reasons, pc.if_else(failed, position, pa.scalar(None, pa.int64())))


def _scientific_out_of_range(text: pa.Array) -> pa.Array:
    """True where ``text`` is scientific notation (``"1e999"``) whose value needs > 16 digits."""
    parts = pc.extract_regex(text, _SCIENTIFIC)
    integer = pc.utf8_ltrim(pc.struct_field(parts, "int"), characters="0")
    fraction = pc.struct_field(parts, "frac")
    fraction_zeros = pc.subtract(
        pc.utf8_length(fraction), pc.utf8_length(pc.utf8_ltrim(fraction, characters="0"))
    )
    # Position of the leading significant digit relative to the decimal point: "12.3" -> 2,
    # "0.05" -> -1. The value then has (position + exponent) integer digits.
    position = pc.cast(
        pc.if_else(pc.equal(integer, ""), pc.negate(fraction_zeros), pc.utf8_length(integer)),
        pa.int64(),
    )
    exponent = pc.struct_field(parts, "exp")
    exponent_digits = pc.utf8_ltrim(pc.utf8_ltrim(exponent, characters="+-"), characters="0")
    size = pc.cast(
        pc.if_else(
            pc.greater(pc.utf8_length(exponent_digits), 6),
            "999999",  # beyond any DECIMAL either way; only its sign matters
            pc.if_else(pc.equal(exponent_digits, ""), "0", exponent_digits),
        ),
        pa.int64(),
    )
    signed = pc.if_else(pc.starts_with(exponent, "-"), pc.negate(size), size)
    nonzero = pc.match_substring_regex(text, r"[1-9].*[eE]")
    result = pc.and_(nonzero, pc.greater(pc.add(position, signed), _MAX_INTEGER_DIGITS))
    return pc.fill_null(result, False)


def _shown(raw: pa.Array) -> pa.Array:
    """Raw values as quoted in a reason: cut to :data:`_RAW_SHOWN` characters plus ``...``."""
    long = pc.greater(pc.utf8_length(raw), _RAW_SHOWN)
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(raw, 0, _RAW_SHOWN - 3), "...", "")
    return pc.if_else(long, cut, raw)
