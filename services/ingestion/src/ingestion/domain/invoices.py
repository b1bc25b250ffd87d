"""Invoices as issued by the ERP: what a plausible invoice satisfies, and what tells a harmless
duplicate from a different invoice under an id already issued."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from stdnum import iso11649

from ingestion.domain.fingerprint import fingerprint
from ingestion.domain.timestamps import updated_at_problems
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.erp import ErpInvoiceIssued
from settle_shared.money import Money

LATEST_ISSUE_AHEAD = timedelta(days=365)
EARLIEST_ISSUE_BACK = timedelta(days=3652)
LONGEST_PAYMENT_TERM = timedelta(days=365)
LARGEST_AMOUNT_MINOR = 10**15 - 1


def invoice_problems(invoice: ErpInvoiceIssued, now: datetime) -> list[Problem]:
    """Everything wrong with an invoice beyond its schema, all at once."""
    return [
        *_due_date_problems(invoice.issue_date, invoice.due_date),
        *_issue_date_problems(invoice.issue_date, now.date()),
        *_amount_problems(invoice.amount),
        *_payment_reference_problems(invoice.payment_reference),
        *updated_at_problems(invoice.updated_at, now),
    ]


def _due_date_problems(issued: date, due: date) -> list[Problem]:
    if due < issued:
        return [Problem("/due_date", f"the due date {due} is before the issue date {issued}")]
    if due - issued > LONGEST_PAYMENT_TERM:
        return [
            Problem(
                "/due_date",
                f"a payment term of {(due - issued).days} days (due {due}, issued {issued}) is "
                f"longer than {LONGEST_PAYMENT_TERM.days} days",
            )
        ]
    return []


def _issue_date_problems(issued: date, today: date) -> list[Problem]:
    if issued > today + LATEST_ISSUE_AHEAD:
        return [Problem("/issue_date", f"the issue date {issued} is more than a year after today")]
    if issued < today - EARLIEST_ISSUE_BACK:
        return [Problem("/issue_date", f"the issue date {issued} is more than ten years ago")]
    return []


def _amount_problems(amount: Money) -> list[Problem]:
    if amount.amount_minor <= 0:
        return [
            Problem(
                "/amount/amount_minor",
                f"the amount must be positive, not {amount.amount_minor} "
                "(credit notes are not invoices)",
            )
        ]
    if amount.amount_minor > LARGEST_AMOUNT_MINOR:
        return [Problem("/amount/amount_minor", "the amount has more than 15 digits")]
    return []


def _payment_reference_problems(reference: str | None) -> list[Problem]:
    if reference is None:
        return []
    if not reference.strip():
        return [Problem("/payment_reference", "the payment reference is blank; omit it instead")]
    if _looks_like_creditor_reference(reference) and not iso11649.is_valid(reference):
        return [
            Problem(
                "/payment_reference",
                f"{reference} looks like an ISO 11649 creditor reference (RF) but is not a "
                "valid one: payments quoting it could not be matched",
            )
        ]
    return []


def _looks_like_creditor_reference(reference: str) -> bool:
    compact: str = iso11649.compact(reference)
    return compact.startswith("RF") and compact[2:4].isdigit()


@dataclass(frozen=True)
class InvoiceContent:
    """What an invoice says; two issues of one invoice id must say the same."""

    customer_id: str
    invoice_number: str
    issue_date: date
    due_date: date
    amount: Money
    payment_reference: str | None

    @classmethod
    def of(cls, invoice: ErpInvoiceIssued) -> InvoiceContent:
        return cls(
            customer_id=invoice.customer_id,
            invoice_number=invoice.invoice_number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            amount=invoice.amount,
            payment_reference=invoice.payment_reference,
        )

    def as_document(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "invoice_number": self.invoice_number,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "amount": self.amount.model_dump(mode="json"),
            "payment_reference": self.payment_reference,
        }

    def fingerprint(self) -> str:
        return fingerprint(self.as_document())


InvoiceStatus = Literal["open"]


class InvoiceIssueOutcome(StrEnum):
    ISSUED = "issued"
    DUPLICATE = "duplicate"


class InvoiceReissued(InvalidMessage):
    """An invoice id issued again with other content: an amendment, which this contract lacks."""

    def __init__(self, invoice_id: str, differences: list[Problem]) -> None:
        super().__init__(
            f"invoice {invoice_id} was already issued with different content; amendments are "
            f"not supported by {ErpInvoiceIssued.event_type.ce_type}",
            differences,
        )


def differences(issued: InvoiceContent, again: InvoiceContent) -> list[Problem]:
    """Where a second issue departs from the first, field by field."""
    before, after = _leaves(issued.as_document()), _leaves(again.as_document())
    return [
        Problem(
            pointer,
            f"already issued as {_json(before[pointer])}, now {_json(after[pointer])}",
        )
        for pointer in before
        if before[pointer] != after[pointer]
    ]


def _leaves(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for name, value in document.items():
        pointer = f"{prefix}/{name}"
        if isinstance(value, Mapping):
            leaves.update(_leaves(value, pointer))
        else:
            leaves[pointer] = value
    return leaves


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
