"""An invoice's balance: what it asks, what was paid, credited (linked credit notes) or written
off (a short payment within tolerance) against it, and what stays open."""

from __future__ import annotations

from dataclasses import dataclass

from settle_shared.money import Money


@dataclass(frozen=True)
class InvoiceBalance:
    amount: Money
    paid: Money
    credited_minor: int = 0
    written_off_minor: int = 0

    @property
    def open_minor(self) -> int:
        remaining = (
            self.amount.amount_minor
            - self.paid.amount_minor
            - self.credited_minor
            - self.written_off_minor
        )
        return max(0, remaining)

    @property
    def open_amount(self) -> Money:
        return Money.of(self.open_minor, self.amount.currency)

    @property
    def settled(self) -> bool:
        """Something was paid and nothing stays open. (An invoice credited in full without a
        payment is not settled by one: nothing is owed, and no payment says so.)"""
        return self.paid.amount_minor > 0 and self.open_minor == 0
