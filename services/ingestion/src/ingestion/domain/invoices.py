"""Invoices as the ERP holds them: what a plausible invoice satisfies, and what an invoice says
(its content), which tells a harmless repeat from a real change."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from stdnum import iso11649

from ingestion.domain.fingerprint import fingerprint
from ingestion.domain.timestamps import updated_at_problems
from settle_shared.errors import Problem
from settle_shared.events.erp import ErpInvoice
from settle_shared.money import Money

LATEST_ISSUE_AHEAD = timedelta(days=365)
EARLIEST_ISSUE_BACK = timedelta(days=3652)
LONGEST_PAYMENT_TERM = timedelta(days=365)
LARGEST_AMOUNT_MINOR = 10**15 - 1
LONGEST_PAYMENT_TERMS = 64


def invoice_problems(invoice: ErpInvoice, now: datetime) -> list[Problem]:
    """Everything wrong with an invoice beyond its schema, all at once."""
    return [
        *_due_date_problems(invoice.issue_date, invoice.due_date),
        *issue_date_problems(invoice.issue_date, now.date()),
        *amount_problems(invoice.amount, "credit notes are not invoices"),
        *_payment_reference_problems(invoice.payment_reference),
        *_payment_terms_problems(invoice.payment_terms),
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


def issue_date_problems(issued: date, today: date) -> list[Problem]:
    if issued > today + LATEST_ISSUE_AHEAD:
        return [Problem("/issue_date", f"the issue date {issued} is more than a year after today")]
    if issued < today - EARLIEST_ISSUE_BACK:
        return [Problem("/issue_date", f"the issue date {issued} is more than ten years ago")]
    return []


def amount_problems(amount: Money, why_positive: str) -> list[Problem]:
    if amount.amount_minor <= 0:
        return [
            Problem(
                "/amount/amount_minor",
                f"the amount must be positive, not {amount.amount_minor} ({why_positive})",
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


def _payment_terms_problems(terms: str | None) -> list[Problem]:
    if terms is None:
        return []
    if not terms.strip():
        return [Problem("/payment_terms", "the payment terms are blank; omit them instead")]
    if len(terms) > LONGEST_PAYMENT_TERMS:
        return [
            Problem(
                "/payment_terms",
                f"payment terms are a code of at most {LONGEST_PAYMENT_TERMS} characters "
                f"(e.g. NET14), not {len(terms)} characters of text",
            )
        ]
    return []


def _looks_like_creditor_reference(reference: str) -> bool:
    compact: str = iso11649.compact(reference)
    return compact.startswith("RF") and compact[2:4].isdigit()


@dataclass(frozen=True)
class InvoiceContent:
    """What an invoice says. Its version stamp and the reason for a change are not content."""

    customer_id: str
    invoice_number: str
    issue_date: date
    due_date: date
    amount: Money
    payment_reference: str | None
    payment_terms: str | None

    @classmethod
    def of(cls, invoice: ErpInvoice) -> InvoiceContent:
        return cls(
            customer_id=invoice.customer_id,
            invoice_number=invoice.invoice_number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            amount=invoice.amount,
            payment_reference=invoice.payment_reference,
            payment_terms=invoice.payment_terms,
        )

    def as_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "customer_id": self.customer_id,
            "invoice_number": self.invoice_number,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "amount": {"amount_minor": self.amount.amount_minor, "currency": self.amount.currency},
            "payment_reference": self.payment_reference,
        }
        # Fields added after the first release count only when present, so the fingerprints
        # stored before they existed still match the same invoice sent again without them.
        if self.payment_terms is not None:
            document["payment_terms"] = self.payment_terms
        return document

    def fingerprint(self) -> str:
        return fingerprint(self.as_document())


def differences(held: InvoiceContent, incoming: InvoiceContent) -> list[Problem]:
    """Where an incoming version departs from the one held, field by field."""
    before, after = _leaves(held.as_document()), _leaves(incoming.as_document())
    return [
        Problem(pointer, f"held as {_json(before.get(pointer))}, now {_json(after.get(pointer))}")
        for pointer in sorted(before.keys() | after.keys(), key=_field_order)
        if before.get(pointer) != after.get(pointer)
    ]


def changed_fields(held: InvoiceContent, incoming: InvoiceContent) -> list[str]:
    """The top-level fields an amendment changed, in contract order ("amount", "due_date")."""
    before, after = held.as_document(), incoming.as_document()
    return [
        name
        for name in _FIELD_ORDER
        if name in before.keys() | after.keys() and before.get(name) != after.get(name)
    ]


_FIELD_ORDER = (
    "customer_id",
    "invoice_number",
    "issue_date",
    "due_date",
    "amount",
    "payment_reference",
    "payment_terms",
)


def _field_order(pointer: str) -> tuple[int, str]:
    return (_FIELD_ORDER.index(pointer.split("/")[1]), pointer)


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
