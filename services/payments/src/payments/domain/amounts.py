"""Amounts as banks write them (decimal text) turned into Money exactly, and back for people."""

from __future__ import annotations

from payments_core._native import display_minor, minor_units
from settle_shared.money import Money

__all__ = [
    "AmountError",
    "display",
    "display_minor",
    "minor_units",
    "money_from_text",
]


class AmountError(ValueError):
    pass


def money_from_text(text: str, currency: str) -> Money:
    """'1234.5' EUR -> 123450 cents. Refuses signs, exponents and more decimals than the
    currency has (a trailing zero beyond them is fine: '105.750' EUR is 10575 cents); an amount
    it refuses raises `AmountError`. `minor_units` does the same without the Money (compiled:
    every amount of every statement goes through it)."""
    return Money.of(minor_units(text, currency), currency)


def display(money: Money) -> str:
    """'EUR 1234.50': for evidence and error messages, not for invoices. `display_minor` does
    the same for an amount in minor units (compiled: evidence puts several amounts into words
    for nearly every payment of a statement)."""
    return display_minor(money.amount_minor, money.currency)
