"""Which topics payments reads, and which handler each event type goes to."""

from __future__ import annotations

from payments import handlers
from settle_shared.consumer import ConsumerSpec
from settle_shared.db import Database
from settle_shared.events.erp import ErpPaymentRecorded
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    CustomerUpserted,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.topics import CUSTOMERS, ERP_PAYMENTS, INVOICES, PAYMENTS_DEAD_LETTER


def consumers(db: Database) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="payments",
            topics=(INVOICES.name, CUSTOMERS.name, ERP_PAYMENTS.name),
            handlers={
                InvoiceIssued: db.idempotent(handlers.invoice_issued),
                InvoiceAmended: db.idempotent(handlers.invoice_amended),
                InvoiceCancelled: db.idempotent(handlers.invoice_cancelled),
                CreditNoteIssued: db.idempotent(handlers.credit_note_issued),
                CustomerUpserted: db.idempotent(handlers.customer_upserted),
                ErpPaymentRecorded: db.idempotent(handlers.erp_payment_recorded),
            },
            dead_letter_topic=PAYMENTS_DEAD_LETTER.name,
        )
    ]
