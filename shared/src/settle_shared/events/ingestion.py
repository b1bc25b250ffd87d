"""Canonical customers and invoices, as validated and stored by the ingestion service."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AwareDatetime, ConfigDict, Field, field_validator

from settle_shared.events.common import CustomerEvent, CustomerMaster, EntityId
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.topics import CUSTOMERS, INVOICES, REGISTRY
from settle_shared.money import Money


@REGISTRY.event("settle.customer.upserted", 1, CUSTOMERS)
class CustomerUpserted(CustomerEvent):
    """A customer's master data was accepted; carries the whole current record."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**CUSTOMER_EXAMPLE, "revision": 1, "received_at": "2026-11-02T09:15:02+00:00"}
            ]
        }
    )

    master: CustomerMaster
    revision: int = Field(ge=1, description="Increases by one with every accepted change")
    updated_at: AwareDatetime = Field(description="When the ERP last changed the record")
    received_at: AwareDatetime

    def subject(self) -> str:
        return self.customer_id


class CanonicalInvoice(CustomerEvent):
    """An invoice as accepted by ingestion (a base, not an event type itself)."""

    invoice_id: EntityId
    invoice_number: EntityId
    issue_date: date
    due_date: date
    amount: Money
    payment_reference: str | None = None
    payment_terms: str | None = None
    revision: int = Field(ge=1, description="Increases by one with every accepted change")
    received_at: AwareDatetime

    def subject(self) -> str:
        return self.invoice_id


_INVOICE_EXAMPLE: dict[str, Any] = {
    "tenant": "acme-nl",
    "customer_id": "C-1001",
    "invoice_id": "INV-2026-000123",
    "invoice_number": "2026-000123",
    "issue_date": "2026-11-02",
    "due_date": "2026-11-16",
    "amount": {"amount_minor": 123450, "currency": "EUR"},
    "payment_reference": "RF18539007547034",
    "revision": 1,
    "received_at": "2026-11-02T09:20:01+00:00",
}


@REGISTRY.event("settle.invoice.issued", 1, INVOICES)
class InvoiceIssued(CanonicalInvoice):
    """An invoice was accepted and is open."""

    model_config = ConfigDict(json_schema_extra={"examples": [_INVOICE_EXAMPLE]})


@REGISTRY.event("settle.invoice.amended", 1, INVOICES)
class InvoiceAmended(CanonicalInvoice):
    """An open invoice changed; carries the whole invoice as it now is and what changed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_INVOICE_EXAMPLE,
                    "due_date": "2026-11-30",
                    "amount": {"amount_minor": 113450, "currency": "EUR"},
                    "payment_terms": "NET28",
                    "revision": 2,
                    "changes": ["amount", "due_date", "payment_terms"],
                    "reason": "discount agreed with the buyer",
                    "received_at": "2026-11-05T10:00:01+00:00",
                }
            ]
        }
    )

    changes: list[str] = Field(min_length=1, description="The fields that changed")
    reason: str | None = None


@REGISTRY.event("settle.invoice.cancelled", 1, INVOICES)
class InvoiceCancelled(CustomerEvent):
    """An invoice was cancelled in the ERP: nothing is owed on it; stop collecting it. Final: no
    amendment follows a cancellation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "invoice_id": "INV-2026-000123",
                    "invoice_number": "2026-000123",
                    "revision": 3,
                    "reason": "issued to the wrong customer",
                    "received_at": "2026-11-06T08:30:01+00:00",
                }
            ]
        }
    )

    invoice_id: EntityId
    invoice_number: EntityId
    revision: int = Field(ge=1)
    reason: str | None = None
    received_at: AwareDatetime

    def subject(self) -> str:
        return self.invoice_id


@REGISTRY.event("settle.credit-note.issued", 1, INVOICES)
class CreditNoteIssued(CustomerEvent):
    """A credit note was accepted; when linked, it reduces what is owed on that invoice."""

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
                    "received_at": "2026-11-08T11:00:01+00:00",
                }
            ]
        }
    )

    credit_note_id: EntityId
    credit_note_number: EntityId
    invoice_id: EntityId | None = None
    issue_date: date
    amount: Money = Field(description="The amount credited, as a positive amount")
    reason: str | None = None
    received_at: AwareDatetime

    @field_validator("amount")
    @classmethod
    def _credit_is_positive(cls, amount: Money) -> Money:
        if amount.amount_minor <= 0:
            raise ValueError("a credit note credits a positive amount")
        return amount

    def subject(self) -> str:
        return self.credit_note_id
