"""Which topics enrichment reads, and which handler each event type goes to."""

from __future__ import annotations

from enrichment import handlers
from enrichment.handlers import CustomerEnrichment
from settle_shared.consumer import ConsumerSpec
from settle_shared.db import Database
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    CustomerUpserted,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoicePartiallyPaid, InvoiceReopened, InvoiceSettled
from settle_shared.events.topics import CUSTOMERS, ENRICHMENT_DEAD_LETTER, INVOICES, PAYMENTS


def consumers(db: Database, enrichment: CustomerEnrichment) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="enrichment",
            topics=(CUSTOMERS.name, INVOICES.name, PAYMENTS.name),
            handlers={
                # Idempotent inside: it asks the bureau first, then runs db.idempotent itself.
                CustomerUpserted: enrichment.customer_upserted,
                InvoiceIssued: db.idempotent(handlers.invoice_issued),
                InvoiceAmended: db.idempotent(handlers.invoice_amended),
                InvoiceCancelled: db.idempotent(handlers.invoice_cancelled),
                CreditNoteIssued: db.idempotent(handlers.credit_note_issued),
                InvoiceSettled: db.idempotent(handlers.invoice_settled),
                InvoicePartiallyPaid: db.idempotent(handlers.invoice_partially_paid),
                InvoiceReopened: db.idempotent(handlers.invoice_reopened),
            },
            dead_letter_topic=ENRICHMENT_DEAD_LETTER.name,
        )
    ]
