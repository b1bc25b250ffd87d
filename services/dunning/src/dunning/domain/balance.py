"""What a case asks the debtor to pay, from news that arrives on two topics in no set order.

Three things lower what is owed on an invoice: amendments (invoices.v1), linked credit notes
(invoices.v1) and payments (payments.v1). Payments hears of amendments and credit notes too, and
nets them in the open amount of its `InvoicePartiallyPaid`, but the two topics are not ordered
with respect to each other: when payments' figure arrives, dunning may have counted a credit note
that payments had not yet, or the other way round. So:

- Dunning's own figure is the invoice's latest amount, less the linked credit notes received here,
  less what payments says has been paid in total.
- Payments' open amount is authoritative as a ceiling: a reminder never asks for more than it.
- A reminder asks for the lower of the two. Whichever side has counted a reduction the other has
  not yet is the lower one, and each credit note or amendment is counted once: once both have seen
  the same invoice events, the two figures agree. The price is that an amount raised on a
  partially paid invoice is asked for only once payments restates its open amount; until then
  reminders ask for less, never for more than is owed.
"""

from __future__ import annotations

from dataclasses import dataclass

from settle_shared.events.dunning import CaseCloseReason
from settle_shared.money import Money


@dataclass(frozen=True)
class PaymentsFigure:
    """What payments last said about the invoice: paid in total, and what it leaves open."""

    paid: Money
    open_amount: Money


@dataclass(frozen=True)
class Balance:
    amount: Money
    credited: Money
    payments: PaymentsFigure | None = None

    @property
    def open_amount(self) -> Money:
        """What is still owed: never below zero, never above payments' open amount."""
        left = self.amount - self.credited
        if self.payments is not None:
            left = left - self.payments.paid
            if self.payments.open_amount.amount_minor < left.amount_minor:
                left = self.payments.open_amount
        return Money.of(max(0, left.amount_minor), left.currency)

    def closes_as(self) -> CaseCloseReason | None:
        """Why the case closes when nothing is owed any more (None while something is).

        `credited` whenever a credit note counted, since then the debtor did not pay the invoice
        in full; else `paid` (an amount amended down to what was already paid)."""
        if self.open_amount.amount_minor > 0:
            return None
        return "credited" if self.credited.amount_minor > 0 else "paid"
