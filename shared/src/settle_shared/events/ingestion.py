"""Canonical customers and invoices, as validated and stored by the ingestion service."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, ConfigDict, Field

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


@REGISTRY.event("settle.invoice.issued", 1, INVOICES)
class InvoiceIssued(CustomerEvent):
    """An invoice was accepted and is open."""

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
                    "revision": 1,
                    "received_at": "2026-11-02T09:20:01+00:00",
                }
            ]
        }
    )

    invoice_id: EntityId
    invoice_number: EntityId
    issue_date: date
    due_date: date
    amount: Money
    payment_reference: str | None = None
    revision: int = Field(ge=1)
    received_at: AwareDatetime

    def subject(self) -> str:
        return self.invoice_id
