"""Money as integer minor units plus an ISO 4217 currency code. Never a float."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated, Self

from babel.core import get_global
from babel.numbers import get_currency_precision, get_territory_currencies
from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

# Legal tender somewhere in 2026, per CLDR (through Babel): withdrawn codes such as DEM are refused.
_CURRENCIES_IN_USE_SINCE = date(2026, 1, 1)
ISO_4217_IN_USE = tuple(
    sorted(
        {
            code
            for territory in get_global("territory_currencies")
            for code in get_territory_currencies(
                territory, start_date=_CURRENCIES_IN_USE_SINCE, tender=True
            )
        }
    )
)
_ISO_4217 = frozenset(ISO_4217_IN_USE)

MinorUnits = Annotated[int, Strict()]


class Money(BaseModel):
    """An amount in the currency's minor units (cents for EUR, yen for JPY)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_minor: MinorUnits = Field(
        description="Integer amount in the currency's minor units, e.g. 12345 for EUR 123.45"
    )
    currency: str = Field(
        description="ISO 4217 alphabetic code of a currency in use",
        pattern=r"^[A-Z]{3}$",
        examples=["EUR"],
        json_schema_extra={"enum": list(ISO_4217_IN_USE)},
    )

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, code: str) -> str:
        if code not in _ISO_4217:
            raise ValueError(f"{code} is not the ISO 4217 code of a currency in use")
        return code

    @classmethod
    def of(cls, amount_minor: int, currency: str) -> Self:
        return cls(amount_minor=amount_minor, currency=currency)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def __add__(self, other: Money) -> Money:
        self._require_same_currency(other)
        return Money(amount_minor=self.amount_minor + other.amount_minor, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._require_same_currency(other)
        return Money(amount_minor=self.amount_minor - other.amount_minor, currency=self.currency)

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def _require_same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")


@lru_cache(maxsize=512)
def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits for a currency (2 for EUR, 0 for JPY, 3 for KWD); looked up
    in CLDR once per currency, as amounts are read and written by the thousand."""
    return int(get_currency_precision(currency))
