"""Turning an event payload into a CloudEvent and a Kafka record. The outbox uses this; so do
producers outside Settle's services (the ERP simulator, tests)."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from settle_shared.cloudevents import CloudEvent
from settle_shared.messaging import OutgoingRecord
from settle_shared.registry import EventPayload


def envelope(
    payload: EventPayload,
    *,
    source: str,
    time: datetime,
    event_id: str | None = None,
    trace: dict[str, str] | None = None,
) -> CloudEvent:
    return CloudEvent(
        id=event_id or str(uuid4()),
        type=type(payload).event_type.ce_type,
        source=source,
        time=time,
        tenant=payload.tenant,
        subject=payload.subject(),
        data=payload.model_dump(mode="json"),
        trace=trace or {},
    )


def destination(payload: EventPayload) -> tuple[str, bytes]:
    """The topic an event goes to, and its partition key."""
    return type(payload).event_type.topic.name, payload.partition_key().encode()


def to_record(payload: EventPayload, event: CloudEvent) -> OutgoingRecord:
    topic, key = destination(payload)
    return OutgoingRecord(topic=topic, key=key, value=event.to_value(), headers=event.to_headers())
