"""An invoice's balance: what it asks, what has been paid against it, what stays open."""

from __future__ import annotations

from dataclasses import dataclass

from settle_shared.money import Money


@dataclass(frozen=True)
class InvoiceBalance:
    amount: Money
    paid: Money

    @property
    def open_amount(self) -> Money:
        remaining = self.amount.amount_minor - self.paid.amount_minor
        return Money.of(max(0, remaining), self.amount.currency)

    @property
    def settled(self) -> bool:
        """Nothing stays open. (A zero invoice with nothing paid is not settled by a payment.)"""
        return self.paid.amount_minor > 0 and self.paid.amount_minor >= self.amount.amount_minor
