"""Event contracts. Importing this package registers every topic and event type in REGISTRY."""

from settle_shared.events import (
    delivery,
    dunning,
    enrichment,
    erp,
    ingestion,
    payments,
    segmentation,
)
from settle_shared.events.topics import REGISTRY

__all__ = [
    "REGISTRY",
    "delivery",
    "dunning",
    "enrichment",
    "erp",
    "ingestion",
    "payments",
    "segmentation",
]
