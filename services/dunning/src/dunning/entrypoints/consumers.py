"""Which topics dunning reads, and which handler each event type goes to."""

from __future__ import annotations

from dunning.handlers import DunningHandlers
from settle_shared.consumer import ConsumerSpec
from settle_shared.db import Database
from settle_shared.events.delivery import DeliveryStatusChanged
from settle_shared.events.enrichment import CustomerEnriched
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoicePartiallyPaid, InvoiceReopened, InvoiceSettled
from settle_shared.events.segmentation import CustomerSegmented
from settle_shared.events.topics import (
    CUSTOMERS_ENRICHED,
    CUSTOMERS_SEGMENTED,
    DELIVERY_STATUS,
    DUNNING_DEAD_LETTER,
    INVOICES,
    PAYMENTS,
)


def consumers(db: Database, handlers: DunningHandlers) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="dunning",
            topics=(
                INVOICES.name,
                CUSTOMERS_ENRICHED.name,
                CUSTOMERS_SEGMENTED.name,
                PAYMENTS.name,
                DELIVERY_STATUS.name,
            ),
            handlers={
                InvoiceIssued: db.idempotent(handlers.invoice_issued),
                InvoiceAmended: db.idempotent(handlers.invoice_amended),
                InvoiceCancelled: db.idempotent(handlers.invoice_cancelled),
                CreditNoteIssued: db.idempotent(handlers.credit_note_issued),
                CustomerEnriched: db.idempotent(handlers.profile_changed),
                CustomerSegmented: db.idempotent(handlers.customer_segmented),
                InvoiceSettled: db.idempotent(handlers.invoice_settled),
                InvoicePartiallyPaid: db.idempotent(handlers.invoice_partially_paid),
                InvoiceReopened: db.idempotent(handlers.invoice_reopened),
                DeliveryStatusChanged: db.idempotent(handlers.delivery_status_changed),
            },
            dead_letter_topic=DUNNING_DEAD_LETTER.name,
        )
    ]
