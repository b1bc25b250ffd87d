"""What payments tells everyone: the events for a payment received, matched or queued for a
person and for an invoice's new balance, and the record of a payment as it is stored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from payments.adapters.statements import PaymentRecord
from payments.domain.ledger import InvoiceBalance
from payments.domain.matching import Decision, IncomingPayment, Matched, Unmatched
from payments.domain.matching import Evidence as _DomainEvidence
from payments.domain.references import check_reference
from payments.domain.statement import CreditorReference
from settle_shared.events.payments import (
    Allocation,
    Evidence,
    InvoicePartiallyPaid,
    InvoiceSettled,
    PaymentMatched,
    PaymentReceived,
    PaymentSource,
    PaymentUnmatched,
    Suggestion,
)


class InvoiceIdentity(Protocol):
    @property
    def invoice_id(self) -> str: ...

    @property
    def invoice_number(self) -> str: ...

    @property
    def customer_id(self) -> str: ...


class Arrival(Protocol):
    """Where a payment came from: a statement line, a payment service provider's webhook."""

    @property
    def source(self) -> PaymentSource: ...

    @property
    def account(self) -> str | None: ...

    @property
    def statement_id(self) -> str | None: ...

    @property
    def value_date(self) -> date | None: ...

    @property
    def end_to_end_id(self) -> str | None: ...

    @property
    def bank_reference(self) -> str | None: ...


def received_event(
    tenant: str, payment: IncomingPayment, arrival: Arrival, booked_on: date
) -> PaymentReceived:
    return PaymentReceived(
        tenant=tenant,
        payment_id=payment.payment_id,
        amount=payment.amount,
        booked_on=booked_on,
        value_date=arrival.value_date,
        payer_name=payment.payer_name,
        payer_account=payment.payer_account,
        remittance=" ".join(payment.remittance) or None,
        structured_reference=payment.references[0].value if payment.references else None,
        bank_reference=arrival.bank_reference,
        source=arrival.source,
        statement_id=arrival.statement_id,
    )


def matched_event(
    tenant: str, payment: IncomingPayment, match: Matched, automatic: bool, now: datetime
) -> PaymentMatched:
    return PaymentMatched(
        tenant=tenant,
        customer_id=match.customer_id,
        payment_id=payment.payment_id,
        allocations=[
            Allocation(invoice_id=a.invoice_id, invoice_number=a.invoice_number, amount=a.amount)
            for a in match.invoices
        ],
        automatic=automatic,
        evidence=Evidence(
            signals=list(match.evidence.signals), rejected=list(match.evidence.rejected)
        ),
        matched_at=now,
    )


def unmatched_event(
    tenant: str, payment: IncomingPayment, unmatched: Unmatched, now: datetime
) -> PaymentUnmatched:
    return PaymentUnmatched(
        tenant=tenant,
        payment_id=payment.payment_id,
        amount=payment.amount,
        reason=unmatched.reason,
        suggestions=[
            Suggestion(
                customer_id=s.customer_id,
                invoice_ids=list(s.invoice_ids),
                score=s.score,
                reason=s.reason,
            )
            for s in unmatched.suggestions
        ],
        evidence=Evidence(
            signals=list(unmatched.evidence.signals),
            rejected=list(unmatched.evidence.rejected),
        ),
        queued_at=now,
    )


def balance_event(
    tenant: str,
    invoice: InvoiceIdentity,
    balance: InvoiceBalance,
    payment_ids: list[str],
    now: datetime,
) -> InvoiceSettled | InvoicePartiallyPaid | None:
    """What an invoice's balance now is: settled (nothing open), or partly paid with what stays
    open; None while nothing was paid on it."""
    if not balance.paid.amount_minor:
        return None
    if balance.settled:
        return InvoiceSettled(
            tenant=tenant,
            customer_id=invoice.customer_id,
            invoice_id=invoice.invoice_id,
            invoice_number=invoice.invoice_number,
            paid=balance.paid,
            payment_ids=payment_ids,
            settled_at=now,
        )
    return InvoicePartiallyPaid(
        tenant=tenant,
        customer_id=invoice.customer_id,
        invoice_id=invoice.invoice_id,
        invoice_number=invoice.invoice_number,
        paid=balance.paid,
        open_amount=balance.open_amount,
        payment_ids=payment_ids,
        paid_at=now,
    )


def payment_record(
    payment: IncomingPayment,
    arrival: Arrival,
    decision: Decision,
    booked_on: date,
    now: datetime,
) -> PaymentRecord:
    unmatched = decision if isinstance(decision, Unmatched) else None
    return PaymentRecord(
        payment_id=payment.payment_id,
        source=arrival.source,
        account=arrival.account,
        statement_id=arrival.statement_id,
        amount=payment.amount,
        booked_on=booked_on,
        value_date=arrival.value_date,
        payer_name=payment.payer_name,
        payer_account=payment.payer_account,
        remittance=list(payment.remittance),
        references=[_reference(reference) for reference in payment.references],
        end_to_end_id=arrival.end_to_end_id,
        bank_reference=arrival.bank_reference,
        status="matched" if isinstance(decision, Matched) else "unmatched",
        reason=unmatched.reason if unmatched else None,
        evidence=evidence_record(decision.evidence),
        suggestions=[
            {
                "customer_id": s.customer_id,
                "invoice_ids": list(s.invoice_ids),
                "invoice_numbers": [number for _, number in s.items],
                "score": s.score,
                "reason": s.reason,
            }
            for s in (unmatched.suggestions if unmatched else ())
        ],
        received_at=now,
    )


def evidence_record(evidence: Evidence | _DomainEvidence) -> dict[str, list[str]]:
    return {"signals": list(evidence.signals), "rejected": list(evidence.rejected)}


def _reference(reference: CreditorReference) -> dict[str, object]:
    check = check_reference(reference)
    return {
        "value": reference.value,
        "code": reference.code,
        "issuer": reference.issuer,
        "scheme": check.scheme,
        "valid": check.trusted,
    }
