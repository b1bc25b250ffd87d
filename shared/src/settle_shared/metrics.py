"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_PROCESSED = Counter(
    "settle_events_processed_total",
    "Records handled by a consumer, by outcome (processed, duplicate, ignored, dead_lettered)",
    ["consumer", "event_type", "outcome"],
)
CONSUMER_LAG = Gauge(
    "settle_consumer_lag_records",
    "Records on the broker not yet fetched, per partition",
    ["consumer", "topic", "partition"],
)
OUTBOX_DEPTH = Gauge("settle_outbox_depth", "Outbox rows not yet published")
OUTBOX_PUBLISHED = Counter("settle_outbox_published_total", "Outbox rows published to Kafka")
DEAD_LETTERS = Counter(
    "settle_dead_letters_total", "Records sent to a dead-letter topic", ["consumer", "kind"]
)
