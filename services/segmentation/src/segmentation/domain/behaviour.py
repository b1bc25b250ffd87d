"""Payment-behaviour features of one customer, derived from its invoices and settlements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class InvoiceOutcome:
    due_date: date
    settled_on: date | None

    @property
    def days_late(self) -> int | None:
        if self.settled_on is None:
            return None
        return max(0, (self.settled_on - self.due_date).days)


@dataclass(frozen=True)
class PaymentBehaviour:
    open_invoices: int
    settled_invoices: int
    settled_late: int
    average_days_late: float | None
    overdue_now: int

    @classmethod
    def of(cls, outcomes: list[InvoiceOutcome], today: date) -> PaymentBehaviour:
        settled = [o.days_late for o in outcomes if o.days_late is not None]
        open_ = [o for o in outcomes if o.settled_on is None]
        return cls(
            open_invoices=len(open_),
            settled_invoices=len(settled),
            settled_late=sum(1 for days in settled if days > 0),
            average_days_late=sum(settled) / len(settled) if settled else None,
            overdue_now=sum(1 for o in open_ if o.due_date < today),
        )
