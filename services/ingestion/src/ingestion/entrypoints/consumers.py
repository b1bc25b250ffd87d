"""Which topics ingestion reads, and which handler each event type goes to."""

from __future__ import annotations

from ingestion import handlers
from settle_shared.consumer import ConsumerSpec
from settle_shared.db import Database
from settle_shared.events.erp import ErpCustomerUpserted, ErpInvoiceIssued
from settle_shared.events.topics import ERP_CUSTOMERS, ERP_INVOICES, INGESTION_REJECTED


def consumers(db: Database) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="ingestion",
            topics=(ERP_CUSTOMERS.name, ERP_INVOICES.name),
            handlers={
                ErpCustomerUpserted: db.idempotent(handlers.customer_upserted),
                ErpInvoiceIssued: db.idempotent(handlers.invoice_issued),
            },
            dead_letter_topic=INGESTION_REJECTED.name,
        )
    ]
