"""Amounts written as decimal text (files, spreadsheets, e-invoices) turned into minor units,
refusing any amount that would lose a fraction of a cent."""

from __future__ import annotations

from decimal import Decimal

from settle_shared.money import ISO_4217_IN_USE, currency_exponent

_CURRENCIES = frozenset(ISO_4217_IN_USE)


class AmountError(ValueError):
    pass


def minor_units(amount: Decimal, currency: str) -> int:
    """12.34 EUR is 1234; 12.345 EUR is refused rather than rounded."""
    if currency not in _CURRENCIES:
        raise AmountError(f"{currency!r} is not the ISO 4217 code of a currency in use")
    if not amount.is_finite():
        raise AmountError(f"{amount} is not an amount")
    exponent = currency_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise AmountError(
            f"{amount} has more decimals than {currency}'s {exponent}: it would lose a fraction "
            "of the minor unit"
        )
    return int(scaled)
