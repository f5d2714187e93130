"""parse_money: US-dollar strings to exact DECIMAL(18,2), with a reason for every refusal."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ht_analytics._money import MONEY_TYPE, MoneyResult, parse_money


def parse_one(value: str | None) -> tuple[Decimal | None, str | None]:
    """Parse a single value; (amount, reason)."""
    result = parse_money(pa.array([value], pa.string()))
    return result.amounts[0].as_py(), result.reasons[0].as_py()


ACCEPTED = [
    ("$1,234.50", Decimal("1234.50")),
    ("1234.50", Decimal("1234.50")),
    ("1234.5", Decimal("1234.50")),
    ("1234", Decimal("1234.00")),
    ("-$5.00", Decimal("-5.00")),
    ("$-5.00", Decimal("-5.00")),
    ("($5.00)", Decimal("-5.00")),
    ("(5.00)", Decimal("-5.00")),
    ("-5", Decimal("-5.00")),
    ("0", Decimal("0.00")),
    ("-0", Decimal("0.00")),
    ("$0.00", Decimal("0.00")),
    ("$.50", Decimal("0.50")),
    (".50", Decimal("0.50")),
    (".5", Decimal("0.50")),
    ("1,234", Decimal("1234.00")),
    ("$1,234,567.89", Decimal("1234567.89")),
    ("  $7.25\t", Decimal("7.25")),
    ("007", Decimal("7.00")),
    ("$99.99", Decimal("99.99")),
    ("-3", Decimal("-3.00")),
    ("9999999999999999.99", Decimal("9999999999999999.99")),
    ("-$9,999,999,999,999,999.99", Decimal("-9999999999999999.99")),
    ("0000000000000000001.00", Decimal("1.00")),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_accepted_forms_parse_exactly(raw: str, expected: Decimal) -> None:
    """Every documented dollar form gives the exact amount and no reason."""
    assert parse_one(raw) == (expected, None)


NOT_DOLLARS = "is not a US dollar amount"
REJECTED = [
    ("€5", NOT_DOLLARS),
    ("1.234,50", NOT_DOLLARS),
    ("abc", NOT_DOLLARS),
    ("5 USD", NOT_DOLLARS),
    ("--5", NOT_DOLLARS),
    ("$", NOT_DOLLARS),
    ("-", NOT_DOLLARS),
    ("(5", NOT_DOLLARS),
    ("5)", NOT_DOLLARS),
    ("1 234", NOT_DOLLARS),
    ("+5", NOT_DOLLARS),
    ("$ 5", NOT_DOLLARS),
    ("5.", NOT_DOLLARS),
    ("(-5)", NOT_DOLLARS),
    ("-($5)", NOT_DOLLARS),
    ("5$", NOT_DOLLARS),
    ("£5.00", NOT_DOLLARS),
    ("US$5", NOT_DOLLARS),
    ("0x10", NOT_DOLLARS),
    ("$5.001", "has more than two decimals"),
    ("12.345", "has more than two decimals"),
    ("1.000", "has more than two decimals"),
    ("1,23", "has misplaced thousands separators"),
    ("12,34,567", "has misplaced thousands separators"),
    ("1,234,5678", "has misplaced thousands separators"),
    ("1,", "has misplaced thousands separators"),
    ("0,123", "has misplaced thousands separators"),
    ("1e999", "is out of range for DECIMAL(18,2)"),
    ("1E16", "is out of range for DECIMAL(18,2)"),
    ("0.05e18", "is out of range for DECIMAL(18,2)"),
    ("-2.5e+20", "is out of range for DECIMAL(18,2)"),
    ("12345678901234567", "is out of range for DECIMAL(18,2)"),
    ("$10,000,000,000,000,000.00", "is out of range for DECIMAL(18,2)"),
    ("1e3", "is in scientific notation, not a US dollar amount"),
    ("1.5e-3", "is in scientific notation, not a US dollar amount"),
    ("0e99", "is in scientific notation, not a US dollar amount"),
    ("NaN", "is not a finite amount"),
    ("nan", "is not a finite amount"),
    ("inf", "is not a finite amount"),
    ("-Infinity", "is not a finite amount"),
]


@pytest.mark.parametrize(("raw", "reason"), REJECTED)
def test_rejected_values_are_na_with_a_reason_naming_them(raw: str, reason: str) -> None:
    """A value that is not a dollar amount is NA and its reason quotes it."""
    assert parse_one(raw) == (None, f"'{raw}' {reason}")


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_absent_values_are_na_without_a_reason(raw: str | None) -> None:
    """Null, empty and blank strings are missing values, not problems."""
    assert parse_one(raw) == (None, None)


def test_reason_quotes_the_raw_value_untrimmed() -> None:
    """The reason shows the value as it came, surrounding whitespace included."""
    assert parse_one(" €5 ") == (None, "' €5 ' is not a US dollar amount")


def test_long_raw_values_are_cut_in_the_reason() -> None:
    """A huge junk value is quoted by its first 77 characters and '...'."""
    assert parse_one("x" * 500) == (None, "'" + "x" * 77 + "...' is not a US dollar amount")


def test_result_types_and_lengths() -> None:
    """Amounts are DECIMAL(18,2), reasons strings, both as long as the input."""
    result = parse_money(pa.array(["$1.00", "bad", None]))
    assert isinstance(result, MoneyResult)
    assert result.amounts.type == MONEY_TYPE == pa.decimal128(18, 2)
    assert result.reasons.type == pa.string()
    assert len(result.amounts) == len(result.reasons) == 3
    assert result.amounts.to_pylist() == [Decimal("1.00"), None, None]
    assert result.reasons.to_pylist() == [None, "'bad' is not a US dollar amount", None]


def test_chunked_large_and_null_inputs() -> None:
    """Chunked, large_string and all-null inputs give plain arrays of the same length."""
    chunked = parse_money(pa.chunked_array([["$1.00", "x"], ["(2)"]]))
    assert isinstance(chunked.amounts, pa.Array)
    assert chunked.amounts.to_pylist() == [Decimal("1.00"), None, Decimal("-2.00")]
    large = parse_money(pa.array(["$3.50"], pa.large_string()))
    assert large.amounts.to_pylist() == [Decimal("3.50")]
    nulls = parse_money(pa.nulls(2))
    assert nulls.amounts.to_pylist() == [None, None]
    assert nulls.reasons.to_pylist() == [None, None]
    empty = parse_money(pa.array([], pa.string()))
    assert len(empty.amounts) == len(empty.reasons) == 0


def test_non_string_input_is_refused() -> None:
    """Numbers must be turned into decimal strings by the caller first."""
    with pytest.raises(TypeError, match="must be strings"):
        parse_money(pa.array([1.5]))


def test_mixed_rows_keep_their_positions() -> None:
    """Reasons land on the rows they belong to, around good and absent rows."""
    result = parse_money(pa.array(["1", None, "x", "", "2,34", "$3", "y"]))
    assert result.amounts.to_pylist() == [
        Decimal("1.00"),
        None,
        None,
        None,
        None,
        Decimal("3.00"),
        None,
    ]
    assert result.reasons.to_pylist() == [
        None,
        None,
        "'x' is not a US dollar amount",
        None,
        "'2,34' has misplaced thousands separators",
        None,
        "'y' is not a US dollar amount",
    ]


@st.composite
def written_cents(draw: st.DrawFn) -> tuple[int, str]:
    """Integer cents and one accepted way of writing them."""
    cents = draw(st.integers(-(10**15), 10**15))
    whole, rest = divmod(abs(cents), 100)
    decimals = [2] + ([1] if rest % 10 == 0 else []) + ([0] if rest == 0 else [])
    places = draw(st.sampled_from(decimals))
    integer = f"{whole:,}" if draw(st.booleans()) else str(whole)
    if whole == 0 and places and draw(st.booleans()):
        integer = ""  # "$.50"
    fraction = {2: f".{rest:02d}", 1: f".{rest // 10}", 0: ""}[places]
    dollar = draw(st.booleans())
    number = integer + fraction
    if cents >= 0:
        text = ("$" if dollar else "") + number
    else:
        style = draw(st.sampled_from(["minus first", "dollar first", "parentheses"]))
        if style == "minus first":
            text = "-" + ("$" if dollar else "") + number
        elif style == "dollar first":
            text = "$-" + number
        else:
            text = "(" + ("$" if dollar else "") + number + ")"
    padding = st.sampled_from(["", " ", "  ", "\t"])
    return cents, draw(padding) + text + draw(padding)


@given(written_cents())
def test_any_cents_in_any_accepted_style_parse_back_exactly(case: tuple[int, str]) -> None:
    """Whatever accepted style writes a number of cents, exactly those cents come back."""
    cents, text = case
    assert parse_one(text) == (Decimal(cents).scaleb(-2), None)


@given(st.lists(st.one_of(st.none(), st.text()), max_size=20))
def test_arbitrary_text_never_raises_and_is_an_amount_a_reason_or_absent(
    values: list[str | None],
) -> None:
    """Any text gives exactly one of: an amount, a reason, or nothing when blank."""
    result = parse_money(pa.array(values, pa.string()))
    for value, amount, reason in zip(
        values, result.amounts.to_pylist(), result.reasons.to_pylist(), strict=True
    ):
        blank = value is None or value.strip() == ""
        if blank:
            assert (amount, reason) == (None, None)
        else:
            assert (amount is None) != (reason is None)
            if reason is not None:
                assert reason.startswith("'")


def test_a_million_values_in_one_call() -> None:
    """A million strings parse in one vectorised call (a guard against quadratic work)."""
    block = ["$1,234.50", "-$5.00", "€5", "", None, "(12.00)", "7", "1,23"]
    values = pa.array(block * 125_000, pa.string())
    result = parse_money(values)
    assert len(result.amounts) == 1_000_000
    assert result.amounts.null_count == 4 * 125_000
    assert result.reasons.null_count == 6 * 125_000
    assert result.amounts[5].as_py() == Decimal("-12.00")
    assert result.reasons[999_999].as_py() == "'1,23' has misplaced thousands separators"
