"""A dunning case: one open invoice of one customer, reminded under one policy until it closes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from uuid import UUID

from dunning.domain.balance import Balance, PaymentsFigure
from settle_shared.events.dunning import CaseCloseReason
from settle_shared.money import Money

CaseStatus = Literal["open", "closed"]


@dataclass(frozen=True)
class Case:
    case_id: UUID
    tenant: str
    customer_id: str
    invoice_id: str
    invoice_number: str
    issue_date: date
    due_date: date
    amount: Money
    credited: Money
    open_amount: Money
    payment_reference: str | None
    invoice_revision: int
    policy: str
    status: CaseStatus
    close_reason: CaseCloseReason | None
    opened_at: datetime
    closed_at: datetime | None

    def balance(self, payments: PaymentsFigure | None) -> Balance:
        return Balance(self.amount, self.credited, payments)

    def why_not_remind(self) -> str | None:
        """Why no reminder may go out for this case now, or None when one may.

        Disputes, promises to pay and pauses become further reasons here.
        """
        if self.status == "closed":
            return f"case closed ({self.close_reason})"
        return None

    def why_not_reopen(self) -> str | None:
        """Why taking a payment off the invoice does not make this closed case collect again, or
        None when it does: only a case closed because the invoice was paid reopens. One closed
        as cancelled, credited or written off stays closed, whatever happens to a payment."""
        if self.status == "open":
            return "the case is open"
        if self.close_reason != "paid":
            return f"case closed ({self.close_reason})"
        return None
