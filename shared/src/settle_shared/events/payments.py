"""Payments received and matched, and what that did to invoices; published by payments."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from settle_shared.events.common import CustomerEvent, EntityId, TenantId
from settle_shared.events.topics import PAYMENTS, REGISTRY
from settle_shared.money import Money
from settle_shared.registry import EventPayload

PaymentSource = Literal["camt.053", "camt.054", "mt940", "psp", "erp"]

_PAYMENT_ID = "pmt-2026-11-20-0001"
_CASE_CUSTOMER = {"tenant": "acme-nl", "customer_id": "C-1001"}


class Evidence(BaseModel):
    """Why a payment was matched the way it was: signals found and candidates turned down."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    signals: list[str] = Field(description="e.g. 'structured reference RF18539007547034 valid'")
    rejected: list[str] = Field(
        default_factory=list, description="Candidates considered and why each was turned down"
    )


class Allocation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    invoice_id: EntityId
    invoice_number: EntityId
    amount: Money


@REGISTRY.event("settle.payment.received", 1, PAYMENTS)
class PaymentReceived(EventPayload):
    """A payment arrived (bank statement, PSP or ERP). Said once per payment, matched or not."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "payment_id": _PAYMENT_ID,
                    "amount": {"amount_minor": 123450, "currency": "EUR"},
                    "booked_on": "2026-11-20",
                    "value_date": "2026-11-20",
                    "payer_name": "Bakkerij de Vries B.V.",
                    "payer_account": "NL91ABNA0417164300",
                    "remittance": "Invoice 2026-000123",
                    "structured_reference": "RF18539007547034",
                    "bank_reference": "20261120-000001",
                    "source": "camt.053",
                    "statement_id": "STMT-2026-11-20",
                }
            ]
        }
    )

    tenant: TenantId
    payment_id: EntityId
    amount: Money
    booked_on: date
    value_date: date | None = None
    payer_name: str | None = None
    payer_account: str | None = Field(default=None, description="IBAN or other account id")
    remittance: str | None = Field(default=None, description="Unstructured remittance text")
    structured_reference: str | None = None
    bank_reference: str | None = None
    source: PaymentSource
    statement_id: str | None = None

    def partition_key(self) -> str:
        return f"{self.tenant}:payment:{self.payment_id}"

    def subject(self) -> str:
        return self.payment_id


@REGISTRY.event("settle.payment.matched", 1, PAYMENTS)
class PaymentMatched(CustomerEvent):
    """A payment was allocated to one or more invoices of one customer, with the evidence."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_CASE_CUSTOMER,
                    "payment_id": _PAYMENT_ID,
                    "allocations": [
                        {
                            "invoice_id": "INV-2026-000123",
                            "invoice_number": "2026-000123",
                            "amount": {"amount_minor": 123450, "currency": "EUR"},
                        }
                    ],
                    "automatic": True,
                    "evidence": {
                        "signals": ["structured reference RF18539007547034 valid and known"],
                        "rejected": [],
                    },
                    "matched_at": "2026-11-20T10:00:00+00:00",
                }
            ]
        }
    )

    payment_id: EntityId
    allocations: list[Allocation] = Field(min_length=1)
    automatic: bool
    evidence: Evidence
    matched_at: AwareDatetime

    def subject(self) -> str:
        return self.payment_id


class Suggestion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    customer_id: EntityId
    invoice_ids: list[EntityId] = Field(min_length=1)
    score: float = Field(ge=0, le=1)
    reason: str


@REGISTRY.event("settle.payment.unmatched", 1, PAYMENTS)
class PaymentUnmatched(EventPayload):
    """A payment could not be matched unambiguously and waits in the work queue."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "payment_id": "pmt-2026-11-20-0002",
                    "amount": {"amount_minor": 9900, "currency": "EUR"},
                    "reason": "no invoice reference and two invoices of this amount are open",
                    "suggestions": [
                        {
                            "customer_id": "C-1001",
                            "invoice_ids": ["INV-2026-000140"],
                            "score": 0.6,
                            "reason": "amount equal, payer account known",
                        }
                    ],
                    "evidence": {"signals": ["payer account known for C-1001"], "rejected": []},
                    "queued_at": "2026-11-20T10:00:00+00:00",
                }
            ]
        }
    )

    tenant: TenantId
    payment_id: EntityId
    amount: Money
    reason: str
    suggestions: list[Suggestion] = Field(default_factory=list)
    evidence: Evidence
    queued_at: AwareDatetime

    def partition_key(self) -> str:
        return f"{self.tenant}:payment:{self.payment_id}"

    def subject(self) -> str:
        return self.payment_id


@REGISTRY.event("settle.payment.returned", 1, PAYMENTS)
class PaymentReturned(EventPayload):
    """A payment received earlier went back to the payer: the bank reversed its booking, or
    the payer's bank returned it (a direct debit refunded on the payer's objection, say). What
    it paid comes off its invoices, each reopened (settle.invoice.reopened.v1), and it leaves
    the work queue."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "payment_id": _PAYMENT_ID,
                    "amount": {"amount_minor": 123450, "currency": "EUR"},
                    "end_to_end_id": "E2E-2026-0001",
                    "reason": "sent back to the payer on 2026-11-27 (MD06)",
                    "reopened_invoice_ids": ["INV-2026-000123"],
                    "statement_id": "STMT-2026-11-27",
                    "returned_at": "2026-11-27T08:00:00+00:00",
                }
            ]
        }
    )

    tenant: TenantId
    payment_id: EntityId
    amount: Money
    end_to_end_id: str
    reason: str
    reopened_invoice_ids: list[EntityId] = Field(
        description="Invoices the payment was applied to, open again (may be empty)"
    )
    statement_id: str | None = Field(default=None, description="The statement that booked it")
    returned_at: AwareDatetime

    def partition_key(self) -> str:
        return f"{self.tenant}:payment:{self.payment_id}"

    def subject(self) -> str:
        return self.payment_id


@REGISTRY.event("settle.invoice.settled", 1, PAYMENTS)
class InvoiceSettled(CustomerEvent):
    """An invoice is fully paid. Dunning stops on this."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_CASE_CUSTOMER,
                    "invoice_id": "INV-2026-000123",
                    "invoice_number": "2026-000123",
                    "paid": {"amount_minor": 123450, "currency": "EUR"},
                    "payment_ids": [_PAYMENT_ID],
                    "settled_at": "2026-11-20T10:00:00+00:00",
                }
            ]
        }
    )

    invoice_id: EntityId
    invoice_number: EntityId
    paid: Money
    payment_ids: list[EntityId] = Field(min_length=1)
    settled_at: AwareDatetime

    def subject(self) -> str:
        return self.invoice_id


@REGISTRY.event("settle.invoice.partially-paid", 1, PAYMENTS)
class InvoicePartiallyPaid(CustomerEvent):
    """Part of an invoice was paid; the open balance is what remains."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_CASE_CUSTOMER,
                    "invoice_id": "INV-2026-000123",
                    "invoice_number": "2026-000123",
                    "paid": {"amount_minor": 50000, "currency": "EUR"},
                    "open_amount": {"amount_minor": 73450, "currency": "EUR"},
                    "payment_ids": [_PAYMENT_ID],
                    "paid_at": "2026-11-20T10:00:00+00:00",
                }
            ]
        }
    )

    invoice_id: EntityId
    invoice_number: EntityId
    paid: Money
    open_amount: Money
    payment_ids: list[EntityId] = Field(min_length=1)
    paid_at: AwareDatetime

    def subject(self) -> str:
        return self.invoice_id


@REGISTRY.event("settle.invoice.reopened", 1, PAYMENTS)
class InvoiceReopened(CustomerEvent):
    """A payment applied to an invoice was taken off it (a person unmatched it, or the payment
    went back to the payer): the invoice is open again for what remains. Dunning resumes
    collecting it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_CASE_CUSTOMER,
                    "invoice_id": "INV-2026-000123",
                    "invoice_number": "2026-000123",
                    "paid": {"amount_minor": 0, "currency": "EUR"},
                    "open_amount": {"amount_minor": 123450, "currency": "EUR"},
                    "payment_ids": [],
                    "reversed_payment_id": _PAYMENT_ID,
                    "reason": "matched to the wrong invoice; unmatched by a credit manager",
                    "reopened_at": "2026-11-21T09:00:00+00:00",
                }
            ]
        }
    )

    invoice_id: EntityId
    invoice_number: EntityId
    paid: Money = Field(description="What is still paid on the invoice after the reversal")
    open_amount: Money
    payment_ids: list[EntityId] = Field(description="Payments still applied (may be empty)")
    reversed_payment_id: EntityId
    reason: str
    reopened_at: AwareDatetime

    def subject(self) -> str:
        return self.invoice_id
