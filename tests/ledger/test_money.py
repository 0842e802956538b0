"""Exact money: parsing and its refusals, currency scales, minor units, rounding, allocation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from ledger_strategies import CURRENCIES, MAX_MINOR, amounts

from ml_connector.ledger.errors import InputError, MoneyError
from ml_connector.ledger.money import (
    allocate,
    format_amount,
    from_minor,
    is_exact,
    minor_units,
    parse_amount,
    quantize,
    quantum,
    require_exact,
    to_minor,
)

D = Decimal


# -- parse_amount ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("12.30", "USD", "12.30"),
        ("12.3", "USD", "12.30"),
        ("-4", "USD", "-4.00"),
        ("+0.5", "EUR", "0.50"),
        (".5", "USD", "0.50"),
        ("  7.25 ", "USD", "7.25"),
        ("1,234.56", "USD", "1234.56"),
        ("1500", "JPY", "1500"),
        ("1500.", "JPY", "1500"),
        ("-0.125", "KWD", "-0.125"),
        ("3.1", "KWD", "3.100"),
        (D("9.90"), "USD", "9.90"),
        (12, "JPY", "12"),
    ],
)
def test_parse_amount_accepts_plain_decimals(text: object, currency: str, expected: str) -> None:
    parsed = parse_amount(text, currency)
    assert isinstance(parsed, Decimal)
    assert str(parsed) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.234,56", "1234.56"), ("95,00", "95.00"), ("-1 234,5", "-1234.50"), ("7", "7.00")],
)
def test_parse_amount_with_a_decimal_comma(text: str, expected: str) -> None:
    assert str(parse_amount(text, "EUR", decimal_comma=True)) == expected


@pytest.mark.parametrize(
    ("value", "currency", "reason"),
    [
        (1.5, "USD", "refusing a float"),
        (0.1, "USD", "refusing a float"),
        ("NaN", "USD", "not a plain decimal"),
        ("nan", "USD", "not a plain decimal"),
        ("inf", "USD", "not a plain decimal"),
        ("-Infinity", "USD", "not a plain decimal"),
        (D("NaN"), "USD", "finite"),
        (D("Infinity"), "USD", "finite"),
        ("1e3", "USD", "not a plain decimal"),
        ("1E-2", "USD", "not a plain decimal"),
        ("12.3e0", "JPY", "not a plain decimal"),
        ("1.001", "USD", "USD has 2 decimals"),
        ("0.5", "JPY", "JPY has 0 decimals"),
        ("1.0001", "KWD", "KWD has 3 decimals"),
        (D("0.001"), "USD", "USD has 2 decimals"),
        ("", "USD", "empty amount"),
        ("   ", "USD", "empty amount"),
        ("12,30", "USD", "comma"),
        ("1,23,4.00", "USD", "comma"),
        ("12 30", "USD", "not a plain decimal"),
        ("$12", "USD", "not a plain decimal"),
        ("--1", "USD", "not a plain decimal"),
        (True, "USD", "not an amount"),
        (None, "USD", "not an amount"),
    ],
)
def test_parse_amount_refuses_and_names_the_value(
    value: object, currency: str, reason: str
) -> None:
    with pytest.raises(MoneyError, match=reason) as raised:
        parse_amount(value, currency, field="amount of line 7")
    error = raised.value
    assert isinstance(error, InputError)
    assert error.field == "amount of line 7"
    assert "'amount of line 7'" in str(error)
    if value is not None:  # None is what "no value" looks like; anything else is repeated
        assert error.value is not None
        assert repr(error.value) in str(error)
        assert str(value).strip() in str(error.value) or error.value == value


def test_float_is_refused_even_when_it_looks_exact() -> None:
    with pytest.raises(MoneyError, match="float"):
        parse_amount(2.0, "JPY")
    with pytest.raises(MoneyError, match="Decimal, got float"):
        require_exact(2.0, "JPY")


@given(currency=st.sampled_from(CURRENCIES), data=st.data())
def test_parse_amount_round_trips_format_amount(currency: str, data: st.DataObject) -> None:
    amount = data.draw(amounts(currency))
    assert parse_amount(format_amount(amount, currency), currency) == amount
    assert str(parse_amount(format_amount(amount, currency), currency)) == str(amount)


# -- currencies and scales ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "decimals", "smallest"),
    [("JPY", 0, "1"), ("USD", 2, "0.01"), ("EUR", 2, "0.01"), ("KWD", 3, "0.001")],
)
def test_scales(currency: str, decimals: int, smallest: str) -> None:
    assert minor_units(currency) == decimals
    assert quantum(currency) == D(smallest)
    assert str(quantum(currency)) == smallest


@pytest.mark.parametrize(
    ("currency", "reason"),
    [("usd", "not an ISO 4217"), ("US", "not an ISO 4217"), ("XYZ", "no known minor unit")],
)
def test_unknown_currencies_are_refused(currency: str, reason: str) -> None:
    with pytest.raises(MoneyError, match=reason) as raised:
        minor_units(currency)
    assert raised.value.field == "currency"
    assert raised.value.value == currency


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("-12.30", "USD", -1230), ("1500", "JPY", 1500), ("0.125", "KWD", 125), ("0", "EUR", 0)],
)
def test_minor_units_conversion(amount: str, currency: str, minor: int) -> None:
    assert to_minor(D(amount), currency) == minor
    assert from_minor(minor, currency) == D(amount)
    assert format_amount(from_minor(minor, currency), currency) == format_amount(
        parse_amount(amount, currency), currency
    )


BIGINT = 2**63 - 1  # the range the ledger's amount_minor column holds


@given(currency=st.sampled_from(CURRENCIES), minor=st.integers(-BIGINT, BIGINT))
def test_minor_units_round_trip_exactly(currency: str, minor: int) -> None:
    amount = from_minor(minor, currency)
    assert is_exact(amount, currency)
    assert amount.as_tuple().exponent == -minor_units(currency)
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_minor_units_beyond_the_decimal_context_stay_exact(currency: str) -> None:
    # 40 digits: more than the default decimal context's 28, which rounding would lose.
    minor = -(10**39) - 7
    assert to_minor(from_minor(minor, currency), currency) == minor


def test_to_minor_refuses_a_fraction_of_the_minor_unit_and_from_minor_a_non_int() -> None:
    with pytest.raises(MoneyError, match="JPY has 0 decimals"):
        to_minor(D("1.5"), "JPY")
    with pytest.raises(MoneyError, match="must be an int"):
        from_minor(True, "USD")
    with pytest.raises(MoneyError, match="must be an int"):
        from_minor(D("12"), "USD")  # type: ignore[arg-type]


def test_quantize_rounds_half_to_even() -> None:
    assert quantize(D("0.125"), "USD") == D("0.12")
    assert quantize(D("0.135"), "USD") == D("0.14")
    assert quantize(D("2.5"), "JPY") == D("2")
    assert quantize(D("-0.0005"), "KWD") == D("-0.000")
    with pytest.raises(MoneyError, match="Decimal, got float"):
        quantize(0.5, "USD")  # type: ignore[arg-type]


# -- allocate ----------------------------------------------------------------------------------


def test_allocate_examples() -> None:
    assert allocate(D("10.00"), [D(1), D(1), D(1)], "USD") == [D("3.34"), D("3.33"), D("3.33")]
    assert allocate(D("-10.00"), [D(1), D(1), D(1)], "USD") == [
        D("-3.34"),
        D("-3.33"),
        D("-3.33"),
    ]
    assert allocate(D("100"), [D("0.5"), D("0.25"), D("0.25")], "JPY") == [D(50), D(25), D(25)]
    assert allocate(D("0.000"), [D(0), D(0)], "KWD") == [D("0.000"), D("0.000")]
    assert allocate(D("0"), [], "JPY") == []


def test_allocate_refuses_what_cannot_be_split() -> None:
    with pytest.raises(MoneyError, match="no parts"):
        allocate(D("1.00"), [], "USD")
    with pytest.raises(MoneyError, match="summing to zero"):
        allocate(D("1.00"), [D(1), D(-1)], "USD")
    with pytest.raises(MoneyError, match="USD has 2 decimals"):
        allocate(D("1.001"), [D(1)], "USD")


weights = st.lists(
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=12,
)


@given(currency=st.sampled_from(CURRENCIES), data=st.data(), parts=weights)
def test_allocate_never_creates_or_loses_a_minor_unit(
    currency: str, data: st.DataObject, parts: list[Decimal]
) -> None:
    assume(sum(parts, D(0)) != 0)
    total = data.draw(amounts(currency))
    shares = allocate(total, parts, currency)
    assert len(shares) == len(parts)
    assert sum(shares, D(0)) == total
    assert all(is_exact(share, currency) for share in shares)
    # Each share is within one minor unit of its exact proportional share.
    weight_sum = sum(parts, D(0))
    unit = quantum(currency)
    for share, weight in zip(shares, parts, strict=True):
        exact = total * weight / weight_sum
        assert abs(share - exact) < unit


@given(currency=st.sampled_from(CURRENCIES), data=st.data(), parts=weights)
def test_allocating_the_negated_total_mirrors_the_split(
    currency: str, data: st.DataObject, parts: list[Decimal]
) -> None:
    assume(sum(parts, D(0)) != 0)
    total = data.draw(amounts(currency))
    assert allocate(-total, parts, currency) == [-s for s in allocate(total, parts, currency)]


@given(
    currency=st.sampled_from(CURRENCIES),
    minors=st.lists(st.integers(-MAX_MINOR, MAX_MINOR), max_size=20),
)
def test_sums_of_exact_amounts_stay_exact(currency: str, minors: list[int]) -> None:
    total = sum((from_minor(m, currency) for m in minors), D(0))
    assert to_minor(quantize(total, currency), currency) == sum(minors)
