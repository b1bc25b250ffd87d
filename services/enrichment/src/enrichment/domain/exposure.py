"""Exposure: what a customer owes on open invoices, held against its credit limit.

Exposure is kept in one currency per customer: the credit limit's, or without a limit the currency
of the customer's first recorded invoice. Open invoices in other currencies are not counted (they
are reported as uncounted), since there is no exchange rate to add them with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from settle_shared.money import Money


@dataclass(frozen=True)
class OpenItem:
    """One invoice as far as exposure is concerned. Payment news may arrive before the invoice:
    then the amount is unknown until it does.

    `amount_minor` is the latest revision's amount, `credited_minor` the linked credit notes in the
    invoice's currency; `paid_minor` and `remaining_minor` are what payments last said was paid in
    total and left open."""

    invoice_id: str
    currency: str
    amount_minor: int | None
    remaining_minor: int | None = None
    settled: bool = False
    paid_minor: int | None = None
    credited_minor: int = 0
    cancelled: bool = False

    @property
    def open_minor(self) -> int:
        """What is still owed, by the rule dunning's reminders use, so the two agree: the amount
        less credit notes less what payments says was paid, but never more than payments' open
        amount. Payments nets amendments and credit notes too, and its topic is not ordered with
        invoices.v1: whichever side counted a reduction first is the lower, and nothing is counted
        twice. A cancelled or settled invoice leaves nothing open."""
        if self.settled or self.cancelled:
            return 0
        if self.amount_minor is None:
            return self.remaining_minor or 0
        left = self.amount_minor - self.credited_minor - (self.paid_minor or 0)
        if self.remaining_minor is not None:
            left = min(left, self.remaining_minor)
        return max(0, left)


@dataclass(frozen=True)
class Exposure:
    open_amount: Money | None
    open_invoices: int
    uncounted_invoices: int

    @property
    def currency(self) -> str | None:
        return self.open_amount.currency if self.open_amount else None

    @classmethod
    def of(cls, items: Sequence[OpenItem], limit: Money | None) -> Exposure:
        """Items in the order they were first recorded."""
        currency = limit.currency if limit else next((item.currency for item in items), None)
        open_items = [item for item in items if item.open_minor > 0]
        counted = [item for item in open_items if item.currency == currency]
        return cls(
            open_amount=(
                Money.of(sum(item.open_minor for item in counted), currency) if currency else None
            ),
            open_invoices=len(counted),
            uncounted_invoices=len(open_items) - len(counted),
        )

    def exceeds(self, limit: Money | None) -> bool:
        return (
            limit is not None
            and self.open_amount is not None
            and self.open_amount.currency == limit.currency
            and self.open_amount.amount_minor > limit.amount_minor
        )


@dataclass(frozen=True)
class Crossing:
    """Exposure went above the limit: what to tell credit managers."""

    credit_limit: Money
    exposure: Money


@dataclass(frozen=True)
class LimitCheck:
    over_limit: bool
    crossing: Crossing | None = None


def check_limit(exposure: Exposure, limit: Money | None, was_over: bool) -> LimitCheck:
    """A crossing when exposure goes above the limit; none while it stays above, so the next one
    needs the exposure to come back under the limit first."""
    if limit is None or exposure.open_amount is None or not exposure.exceeds(limit):
        return LimitCheck(over_limit=False)
    return LimitCheck(
        over_limit=True, crossing=None if was_over else Crossing(limit, exposure.open_amount)
    )
