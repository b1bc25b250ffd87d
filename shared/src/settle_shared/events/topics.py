"""Every Kafka topic in the system, with its owner, key and partition count (DESIGN.md section 1)."""

from __future__ import annotations

from settle_shared.registry import CUSTOMER_KEY, EventRegistry, Topic

REGISTRY = EventRegistry()


def _topic(name: str, owner: str, description: str, partitions: int = 6) -> Topic:
    return REGISTRY.topic(Topic(name, owner, partitions, CUSTOMER_KEY, description))


def _dead_letter(name: str, owner: str) -> Topic:
    return REGISTRY.topic(
        Topic(
            name,
            owner,
            partitions=3,
            key="the original record's key",
            description=(
                f"Records {owner} could not process, copied unchanged (key, value, headers) with "
                "the reason in settle-dlq-* headers."
            ),
            dead_letter_of=owner,
        )
    )


ERP_CUSTOMERS = _topic("erp.customers.v1", "erp", "Customer master data published by ERP systems.")
ERP_INVOICES = _topic("erp.invoices.v1", "erp", "Invoice lifecycle published by ERP systems.")
ERP_PAYMENTS = _topic("erp.payments.v1", "erp", "Payments the ERP already knows about.")

CUSTOMERS = _topic("customers.v1", "ingestion", "Canonical customer master data.")
INVOICES = _topic("invoices.v1", "ingestion", "Canonical invoice lifecycle.")
INGESTION_REJECTED = _dead_letter("ingestion.rejected.v1", "ingestion")

CUSTOMERS_ENRICHED = _topic(
    "customers.enriched.v1", "enrichment", "Customer profiles with bureau data and credit limit."
)
CREDIT_ALERTS = _topic("credit.alerts.v1", "enrichment", "Credit risk alerts.", partitions=3)
ENRICHMENT_DEAD_LETTER = _dead_letter("enrichment.deadletter.v1", "enrichment")

CUSTOMERS_SEGMENTED = _topic(
    "customers.segmented.v1", "segmentation", "Segment decisions with their explanation."
)
SEGMENTATION_DEAD_LETTER = _dead_letter("segmentation.deadletter.v1", "segmentation")

DUNNING_ACTIONS = _topic("dunning.actions.v1", "dunning", "Reminders to send, one per case step.")
DUNNING_CASES = _topic("dunning.cases.v1", "dunning", "Dunning case lifecycle.")
DUNNING_DEAD_LETTER = _dead_letter("dunning.deadletter.v1", "dunning")

DELIVERY_STATUS = _topic("delivery.status.v1", "delivery", "Message delivery status changes.")
DELIVERY_DEAD_LETTER = _dead_letter("delivery.deadletter.v1", "delivery")

PAYMENTS = REGISTRY.topic(
    Topic(
        "payments.v1",
        "payments",
        6,
        f"{CUSTOMER_KEY} once the payer is known; <tenant>:payment:<payment id> for a payment "
        "received or unmatched (so 'received' and 'matched' may arrive in either order)",
        "Payments received and matched; invoices settled or partially paid.",
    )
)
PAYMENTS_DEAD_LETTER = _dead_letter("payments.deadletter.v1", "payments")

DEAD_LETTER_TOPIC_OF = {
    topic.dead_letter_of: topic for topic in REGISTRY.topics() if topic.dead_letter_of
}
