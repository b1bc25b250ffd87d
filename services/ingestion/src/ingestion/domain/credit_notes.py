"""Credit notes: what a plausible one satisfies, and what it may credit.

A credit note is issued once and never amended (the contract has no amendment for it): the same
content again is a duplicate, an older stamp is stale, other content is a conflict. A linked
credit note must credit an open invoice of the same customer, in its currency, and the credit
notes of one invoice together never credit more than the invoice is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ingestion.domain.fingerprint import fingerprint
from ingestion.domain.invoices import amount_problems, issue_date_problems
from ingestion.domain.lifecycle import InvoiceState, Outcome, Refusal
from ingestion.domain.timestamps import updated_at_problems
from settle_shared.errors import Problem
from settle_shared.events.erp import ErpCreditNoteIssued
from settle_shared.money import Money


def credit_note_problems(note: ErpCreditNoteIssued, now: datetime) -> list[Problem]:
    """Everything wrong with a credit note beyond its schema, all at once."""
    return [
        *issue_date_problems(note.issue_date, now.date()),
        *amount_problems(note.amount, "a credit note states the amount credited as positive"),
        *updated_at_problems(note.updated_at, now),
    ]


@dataclass(frozen=True)
class CreditNoteContent:
    customer_id: str
    credit_note_number: str
    invoice_id: str | None
    issue_date: date
    amount: Money

    @classmethod
    def of(cls, note: ErpCreditNoteIssued) -> CreditNoteContent:
        return cls(
            customer_id=note.customer_id,
            credit_note_number=note.credit_note_number,
            invoice_id=note.invoice_id,
            issue_date=note.issue_date,
            amount=note.amount,
        )

    def as_document(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "credit_note_number": self.credit_note_number,
            "invoice_id": self.invoice_id,
            "issue_date": self.issue_date.isoformat(),
            "amount": {"amount_minor": self.amount.amount_minor, "currency": self.amount.currency},
        }

    def fingerprint(self) -> str:
        return fingerprint(self.as_document())


@dataclass(frozen=True)
class HeldCreditNote:
    content: CreditNoteContent
    erp_updated_at: datetime


def receive_credit_note(
    held: HeldCreditNote | None,
    note: ErpCreditNoteIssued,
    invoice: InvoiceState | None,
    credited_before: int,
) -> Outcome | Refusal:
    """Decide what a credit note does, given the invoice it credits (if linked) and how much of
    that invoice earlier credit notes credited, in minor units."""
    content = CreditNoteContent.of(note)
    if held is not None:
        return _again(held, note, content)
    if note.invoice_id is None:
        return Outcome.ISSUED
    problems = _link_problems(note, invoice, credited_before)
    if problems:
        return Refusal(
            "conflict",
            "credit-note-unmatched",
            "The credit note does not fit the invoice it credits",
            f"credit note {note.credit_note_id} cannot credit invoice {note.invoice_id}",
            tuple(problems),
        )
    return Outcome.ISSUED


def _again(
    held: HeldCreditNote, note: ErpCreditNoteIssued, content: CreditNoteContent
) -> Outcome | Refusal:
    if note.updated_at < held.erp_updated_at:
        return Outcome.STALE
    if content == held.content:
        return Outcome.DUPLICATE
    return Refusal(
        "conflict",
        "conflict",
        "Credit note already issued with other content",
        f"credit note {note.credit_note_id} was already issued with other content; a credit "
        "note cannot be amended: issue another one",
    )


def _link_problems(
    note: ErpCreditNoteIssued, invoice: InvoiceState | None, credited_before: int
) -> list[Problem]:
    if invoice is None:
        return [Problem("/invoice_id", f"no invoice {note.invoice_id} was received")]
    problems = []
    if invoice.status == "cancelled":
        problems.append(Problem("/invoice_id", f"invoice {note.invoice_id} was cancelled"))
    if invoice.content.customer_id != note.customer_id:
        problems.append(
            Problem(
                "/customer_id",
                f"invoice {note.invoice_id} belongs to customer {invoice.content.customer_id}",
            )
        )
    invoiced = invoice.content.amount
    if invoiced.currency != note.amount.currency:
        problems.append(
            Problem(
                "/amount/currency",
                f"invoice {note.invoice_id} is in {invoiced.currency}, not {note.amount.currency}",
            )
        )
    elif credited_before + note.amount.amount_minor > invoiced.amount_minor:
        problems.append(
            Problem(
                "/amount/amount_minor",
                f"crediting {note.amount.amount_minor} more would credit "
                f"{credited_before + note.amount.amount_minor} of the {invoiced.amount_minor} "
                "invoiced",
            )
        )
    return problems
