"""Which topics segmentation reads, and which handler each event type goes to."""

from __future__ import annotations

from segmentation import handlers
from settle_shared.consumer import ConsumerSpec
from settle_shared.db import Database
from settle_shared.events.enrichment import CustomerEnriched
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoiceReopened, InvoiceSettled
from settle_shared.events.topics import (
    CUSTOMERS_ENRICHED,
    INVOICES,
    PAYMENTS,
    SEGMENTATION_DEAD_LETTER,
)


def consumers(db: Database) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="segmentation",
            topics=(CUSTOMERS_ENRICHED.name, INVOICES.name, PAYMENTS.name),
            handlers={
                CustomerEnriched: db.idempotent(handlers.profile_changed),
                InvoiceIssued: db.idempotent(handlers.invoice_issued),
                InvoiceAmended: db.idempotent(handlers.invoice_amended),
                InvoiceCancelled: db.idempotent(handlers.invoice_cancelled),
                CreditNoteIssued: db.idempotent(handlers.credit_note_issued),
                InvoiceSettled: db.idempotent(handlers.invoice_settled),
                InvoiceReopened: db.idempotent(handlers.invoice_reopened),
            },
            dead_letter_topic=SEGMENTATION_DEAD_LETTER.name,
        )
    ]
