"""Payment-behaviour features of one customer, derived from its invoices and settlements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class InvoiceOutcome:
    """How one invoice went: its due date as last amended, and when payments settled it.

    A credit note is never a payment: it only lowers what is owed. An invoice that was cancelled,
    or credited in full before it was paid, closed without the customer paying it: it says nothing
    about how the customer pays, so it is neither open nor a sample of its lateness. (The amount is
    unknown for invoices recorded before amounts were kept; those count as not credited in full.)
    """

    due_date: date
    settled_on: date | None
    cancelled: bool = False
    amount_minor: int | None = None
    credited_minor: int = 0

    @property
    def days_late(self) -> int | None:
        if self.settled_on is None:
            return None
        return max(0, (self.settled_on - self.due_date).days)

    @property
    def credited_in_full(self) -> bool:
        return self.amount_minor is not None and self.credited_minor >= self.amount_minor

    @property
    def counts(self) -> bool:
        """Whether the invoice tells how the customer pays: as a sample once paid, else open."""
        if self.cancelled:
            return False
        return self.settled_on is not None or not self.credited_in_full


@dataclass(frozen=True)
class PaymentBehaviour:
    open_invoices: int
    settled_invoices: int
    settled_late: int
    average_days_late: float | None
    overdue_now: int

    @classmethod
    def of(cls, outcomes: list[InvoiceOutcome], today: date) -> PaymentBehaviour:
        counted = [o for o in outcomes if o.counts]
        settled = [o.days_late for o in counted if o.days_late is not None]
        open_ = [o for o in counted if o.settled_on is None]
        return cls(
            open_invoices=len(open_),
            settled_invoices=len(settled),
            settled_late=sum(1 for days in settled if days > 0),
            average_days_late=sum(settled) / len(settled) if settled else None,
            overdue_now=sum(1 for o in open_ if o.due_date < today),
        )
