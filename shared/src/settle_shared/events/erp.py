"""What ERP systems publish: the contract ERP integrators write to."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, field_validator

from settle_shared.events.common import CustomerEvent, CustomerMaster, EntityId, TenantId
from settle_shared.events.topics import ERP_CUSTOMERS, ERP_INVOICES, ERP_PAYMENTS, REGISTRY
from settle_shared.money import Money
from settle_shared.registry import EventPayload

CUSTOMER_EXAMPLE: dict[str, Any] = {
    "tenant": "acme-nl",
    "customer_id": "C-1001",
    "master": {
        "name": "Bakkerij de Vries B.V.",
        "country": "NL",
        "language": "nl",
        "time_zone": "Europe/Amsterdam",
        "registration_number": "12345678",
        "contacts": [
            {"role": "accounts_payable", "name": "Anna de Vries", "email": "ap@devries.example"}
        ],
        "preferred_channel": "email",
        "consented_channels": ["email", "sms"],
        "strategic_account": False,
        "codes": {"sector": "food", "size": "small", "region": "north"},
    },
    "updated_at": "2026-11-02T09:15:00+00:00",
}


@REGISTRY.event("erp.customer.upserted", 1, ERP_CUSTOMERS)
class ErpCustomerUpserted(CustomerEvent):
    """The ERP created or changed a customer's master data. Carries the whole current record."""

    model_config = ConfigDict(json_schema_extra={"examples": [CUSTOMER_EXAMPLE]})

    master: CustomerMaster
    updated_at: AwareDatetime = Field(
        description="When the ERP last changed the record; orders versions of the same customer"
    )

    def subject(self) -> str:
        return self.customer_id


class ErpInvoice(CustomerEvent):
    """The fields of an invoice as the ERP holds it (a base, not an event type itself)."""

    invoice_id: EntityId = Field(description="The ERP's document id, unique within the tenant")
    invoice_number: EntityId = Field(description="The number printed on the invoice")
    issue_date: date
    due_date: date
    amount: Money = Field(description="Total amount payable, tax included")
    payment_reference: str | None = Field(
        default=None, description="Structured creditor reference printed on the invoice"
    )
    payment_terms: str | None = Field(
        default=None, description="The ERP's payment terms code, e.g. NET14", examples=["NET14"]
    )
    updated_at: AwareDatetime = Field(
        description="When the ERP last changed the invoice; orders versions of the same invoice"
    )

    def subject(self) -> str:
        return self.invoice_id


@REGISTRY.event("erp.invoice.issued", 1, ERP_INVOICES)
class ErpInvoiceIssued(ErpInvoice):
    """The ERP issued an invoice to a customer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "invoice_id": "INV-2026-000123",
                    "invoice_number": "2026-000123",
                    "issue_date": "2026-11-02",
                    "due_date": "2026-11-16",
                    "amount": {"amount_minor": 123450, "currency": "EUR"},
                    "payment_reference": "RF18539007547034",
                    "updated_at": "2026-11-02T09:20:00+00:00",
                }
            ]
        }
    )


@REGISTRY.event("erp.invoice.amended", 1, ERP_INVOICES)
class ErpInvoiceAmended(ErpInvoice):
    """The ERP changed an issued invoice (amount, due date, payment terms, reference). Carries the
    whole invoice as it now is; `updated_at` orders the versions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "invoice_id": "INV-2026-000123",
                    "invoice_number": "2026-000123",
                    "issue_date": "2026-11-02",
                    "due_date": "2026-11-30",
                    "amount": {"amount_minor": 113450, "currency": "EUR"},
                    "payment_reference": "RF18539007547034",
                    "payment_terms": "NET28",
                    "reason": "discount agreed with the buyer",
                    "updated_at": "2026-11-05T10:00:00+00:00",
                }
            ]
        }
    )

    reason: str | None = None


@REGISTRY.event("erp.invoice.cancelled", 1, ERP_INVOICES)
class ErpInvoiceCancelled(CustomerEvent):
    """The ERP cancelled an issued invoice: nothing is owed on it any more. Final: a cancelled
    invoice is never amended or reopened."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "invoice_id": "INV-2026-000123",
                    "reason": "issued to the wrong customer",
                    "updated_at": "2026-11-06T08:30:00+00:00",
                }
            ]
        }
    )

    invoice_id: EntityId
    reason: str | None = None
    updated_at: AwareDatetime

    def subject(self) -> str:
        return self.invoice_id


@REGISTRY.event("erp.credit-note.issued", 1, ERP_INVOICES)
class ErpCreditNoteIssued(CustomerEvent):
    """The ERP issued a credit note to a customer, usually against one of its invoices."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "credit_note_id": "CN-2026-000007",
                    "credit_note_number": "CN-2026-000007",
                    "invoice_id": "INV-2026-000123",
                    "issue_date": "2026-11-08",
                    "amount": {"amount_minor": 10000, "currency": "EUR"},
                    "reason": "two items returned",
                    "updated_at": "2026-11-08T11:00:00+00:00",
                }
            ]
        }
    )

    credit_note_id: EntityId = Field(description="The ERP's document id, unique within the tenant")
    credit_note_number: EntityId = Field(description="The number printed on the credit note")
    invoice_id: EntityId | None = Field(
        default=None, description="The invoice it credits, when the ERP links one"
    )
    issue_date: date
    amount: Money = Field(description="The amount credited, as a positive amount")
    reason: str | None = None
    updated_at: AwareDatetime

    @field_validator("amount")
    @classmethod
    def _credit_is_positive(cls, amount: Money) -> Money:
        if amount.amount_minor <= 0:
            raise ValueError("a credit note credits a positive amount")
        return amount

    def subject(self) -> str:
        return self.credit_note_id


@REGISTRY.event("erp.payment.recorded", 1, ERP_PAYMENTS)
class ErpPaymentRecorded(CustomerEvent):
    """The ERP recorded a payment against one of its invoices (e.g. cash applied in the ERP)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "payment_id": "PAY-88812",
                    "invoice_id": "INV-2026-000123",
                    "amount": {"amount_minor": 50000, "currency": "EUR"},
                    "paid_on": "2026-11-10",
                    "updated_at": "2026-11-10T14:00:00+00:00",
                }
            ]
        }
    )

    payment_id: EntityId
    invoice_id: EntityId
    amount: Money
    paid_on: date
    updated_at: AwareDatetime

    def subject(self) -> str:
        return self.payment_id


STATEMENT_CONTENT_LIMIT = 700_000


@REGISTRY.event("erp.bank-statement.received", 1, ERP_PAYMENTS)
class ErpBankStatementReceived(EventPayload):
    """The ERP forwards a bank statement file it received (camt.053, camt.054 or MT940), to be
    imported exactly as if uploaded over HTTP. The file travels base64-encoded in the record, so
    it must stay under Kafka's default 1 MB record size: larger files go to the HTTP upload."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "file_id": "bank-2026-11-20-001",
                    "media_type": "application/xml",
                    "content_base64": "PD94bWwgdmVyc2lvbj0iMS4wIj8+",
                    "received_at": "2026-11-20T06:00:00+00:00",
                }
            ]
        }
    )

    tenant: TenantId
    file_id: EntityId = Field(description="The ERP's id for the file; a resend uses the same id")
    media_type: Literal["application/xml", "text/xml", "text/plain"] = Field(
        description="application/xml or text/xml for ISO 20022 camt, text/plain for MT940"
    )
    content_base64: str = Field(max_length=STATEMENT_CONTENT_LIMIT, description="The file itself")
    received_at: AwareDatetime

    def partition_key(self) -> str:
        return f"{self.tenant}:bank-statement:{self.file_id}"

    def subject(self) -> str:
        return self.file_id
