"""Which topics ingestion reads, and which handler each event type goes to."""

from __future__ import annotations

from ingestion import handlers
from ingestion.adapters.outbox import EventSink
from ingestion.domain.records import RECORD_TYPES
from settle_shared.consumer import ConsumerSpec
from settle_shared.db import Database
from settle_shared.events.topics import ERP_CUSTOMERS, ERP_INVOICES, INGESTION_REJECTED


def consumers(db: Database, outbox: EventSink) -> list[ConsumerSpec]:
    handle = db.idempotent(handlers.consumer_handler(outbox))
    handle_many = db.idempotent_batch(handlers.consumer_batch_handler(outbox))
    return [
        ConsumerSpec(
            name="ingestion",
            topics=(ERP_CUSTOMERS.name, ERP_INVOICES.name),
            handlers=dict.fromkeys(RECORD_TYPES.values(), handle),
            dead_letter_topic=INGESTION_REJECTED.name,
            batch_handlers=dict.fromkeys(RECORD_TYPES.values(), handle_many),
        )
    ]
