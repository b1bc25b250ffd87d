"""Amounts are read from the bank's decimal text exactly, in the currency's minor units."""

import pytest

from payments.domain.amounts import (
    AmountError,
    display,
    display_minor,
    minor_units,
    money_from_text,
)
from settle_shared.money import Money


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1234.56", "EUR", 123456),
        ("474.4", "CHF", 47440),
        ("105.750", "EUR", 10575),
        ("0", "EUR", 0),
        ("2700", "JPY", 2700),
        ("1.234", "KWD", 1234),
        ("0.001", "BHD", 1),
        (" 8.85 ", "EUR", 885),
        ("999999999999999.99", "EUR", 99999999999999999),
        ("0.1", "EUR", 10),
    ],
)
def test_decimal_text_becomes_exact_minor_units(text: str, currency: str, minor: int) -> None:
    assert money_from_text(text, currency) == Money.of(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "why"),
    [
        ("2700.5", "JPY", "more decimals than JPY's 0"),
        ("1.2345", "KWD", "more decimals than KWD's 3"),
        ("10.001", "EUR", "more decimals than EUR's 2"),
        ("-5.00", "EUR", "not a plain decimal"),
        ("+5.00", "EUR", "not a plain decimal"),
        ("1e3", "EUR", "not a plain decimal"),
        ("1,50", "EUR", "not a plain decimal"),
        ("", "EUR", "not a plain decimal"),
        ("1234567890123456789", "EUR", "more than 18 digits"),
        ("5.00", "ZZZ", "not an ISO 4217 currency code"),
    ],
)
def test_amounts_a_bank_cannot_mean_are_refused(text: str, currency: str, why: str) -> None:
    with pytest.raises(AmountError, match=why):
        minor_units(text, currency)


def test_no_float_is_involved_even_where_binary_floats_would_round() -> None:
    assert minor_units("0.29", "EUR") == 29
    assert minor_units("1.15", "EUR") == 115
    assert minor_units("9007199254740993", "JPY") == 9007199254740993


def test_display_shows_the_currency_and_its_decimals() -> None:
    assert display(Money.of(123450, "EUR")) == "EUR 1234.50"
    assert display(Money.of(2700, "JPY")) == "JPY 2700"
    assert display(Money.of(1234, "KWD")) == "KWD 1.234"


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (5, "EUR", "EUR 0.05"),
        (-5, "EUR", "EUR -0.05"),
        (-123450, "EUR", "EUR -1234.50"),
        (0, "EUR", "EUR 0.00"),
        (0, "JPY", "JPY 0"),
        (-2700, "JPY", "JPY -2700"),
        (1, "KWD", "KWD 0.001"),
        (100000000000000000, "EUR", "EUR 1000000000000000.00"),
    ],
)
def test_display_minor_shows_what_display_of_the_money_shows(
    minor: int, currency: str, shown: str
) -> None:
    assert display_minor(minor, currency) == shown
    assert display(Money.of(minor, currency)) == shown
