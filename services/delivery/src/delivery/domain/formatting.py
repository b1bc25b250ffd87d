"""Amounts and dates written the way a reader in the given locale expects them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency

from settle_shared.money import Money


def locale_for(language_tag: str) -> Locale | None:
    """The Babel locale of a BCP 47 tag such as `nl` or `fr-BE`; None if Babel does not know it."""
    try:
        return Locale.parse(language_tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None


def money(amount: Money, locale: Locale) -> str:
    """`€ 1.234,50` in nl, `1.234,50 €` in de: minor units scaled by the currency's exponent."""
    major = Decimal(amount.amount_minor).scaleb(-amount.exponent)
    return str(format_currency(major, amount.currency, locale=locale))


def long_date(day: date, locale: Locale) -> str:
    """`16 november 2026` in nl, `16. November 2026` in de, `November 16, 2026` in en."""
    return str(format_date(day, format="long", locale=locale))
