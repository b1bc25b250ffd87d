"""Amounts as banks write them (decimal text) turned into Money exactly, and back for people."""

from __future__ import annotations

import re

from payments_core._native import display_minor
from settle_shared.money import ISO_4217_IN_USE, Money, currency_exponent

__all__ = [
    "MAX_DIGITS",
    "AmountError",
    "display",
    "display_minor",
    "minor_units",
    "money_from_text",
]

# ISO 20022 amounts: a non-negative xs:decimal with at most 18 digits in all.
_DECIMAL = re.compile(r"^(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?$")
MAX_DIGITS = 18
_CURRENCIES = frozenset(ISO_4217_IN_USE)


class AmountError(ValueError):
    pass


def money_from_text(text: str, currency: str) -> Money:
    """'1234.5' EUR -> 123450 cents. Refuses signs, exponents and more decimals than the
    currency has (a trailing zero beyond them is fine: '105.750' EUR is 10575 cents)."""
    return Money.of(minor_units(text, currency), currency)


def minor_units(text: str, currency: str) -> int:
    stripped = text.strip()
    found = _DECIMAL.match(stripped)
    if found is None:
        raise AmountError(f"{text!r} is not a plain decimal amount")
    whole, fraction = found["whole"], found["fraction"] or ""
    if len((whole + fraction).lstrip("0")) > MAX_DIGITS:
        raise AmountError(f"{stripped} has more than {MAX_DIGITS} digits")
    if currency not in _CURRENCIES:
        raise AmountError(f"{currency!r} is not an ISO 4217 currency code")
    exponent = currency_exponent(currency)
    if fraction[exponent:].strip("0"):
        raise AmountError(f"{currency} {stripped} has more decimals than {currency}'s {exponent}")
    # The digits shifted by the exponent, as text: no Decimal for each amount of a statement.
    return int(whole + fraction[:exponent].ljust(exponent, "0"))


def display(money: Money) -> str:
    """'EUR 1234.50': for evidence and error messages, not for invoices. `display_minor` does
    the same for an amount in minor units (compiled: evidence puts several amounts into words
    for nearly every payment of a statement)."""
    return display_minor(money.amount_minor, money.currency)
