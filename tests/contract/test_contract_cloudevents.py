from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from settle_local import contracts
from settle_shared.cloudevents import from_kafka
from settle_shared.events import REGISTRY
from settle_shared.publishing import envelope, to_record
from settle_shared.registry import EventType

ReadJson = Callable[[str], Any]
SENT_AT = datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
CLOUDEVENTS_HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_tenant",
    "content-type",
}

by_type = pytest.mark.parametrize("event_type", REGISTRY.event_types(), ids=lambda t: t.ce_type)


def golden(event_type: EventType, read_json: ReadJson) -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = read_json(contracts.example_path(event_type.ce_type))
    assert examples
    return examples


@by_type
def test_a_golden_example_survives_the_trip_through_kafka_headers(
    event_type: EventType, read_json_contract: ReadJson
) -> None:
    for example in golden(event_type, read_json_contract):
        payload = event_type.model.model_validate(example)
        record = to_record(payload, envelope(payload, source="/settle/test", time=SENT_AT))

        decoded = from_kafka(record.value, record.headers)

        assert record.topic == event_type.topic.name
        assert record.key == payload.partition_key().encode()
        assert decoded.type == event_type.ce_type
        assert decoded.tenant == example["tenant"]
        assert decoded.subject == payload.subject()
        assert decoded.time == SENT_AT
        assert decoded.data == payload.model_dump(mode="json")
        assert event_type.model.model_validate(decoded.data) == payload


@by_type
def test_the_wire_carries_exactly_the_cloudevents_headers_and_no_class_name(
    event_type: EventType, read_json_contract: ReadJson
) -> None:
    for example in golden(event_type, read_json_contract):
        payload = event_type.model.model_validate(example)
        record = to_record(payload, envelope(payload, source="/settle/test", time=SENT_AT))
        names = [name for name, _ in record.headers]
        wire = b"".join(value for _, value in record.headers) + (record.value or b"")

        expected = CLOUDEVENTS_HEADERS | ({"ce_subject"} if payload.subject() else set())
        assert sorted(names) == sorted(expected)
        assert event_type.model.__name__.encode() not in wire
        assert event_type.model.__module__.encode() not in wire


def test_trace_context_travels_beside_the_cloudevents_headers() -> None:
    event_type = REGISTRY.event_types()[0]
    payload = event_type.model.model_validate(event_type.examples()[0])
    event = envelope(
        payload, source="/settle/test", time=SENT_AT, trace={"traceparent": TRACEPARENT}
    )

    decoded = from_kafka(event.to_value(), event.to_headers())

    assert decoded.trace == {"traceparent": TRACEPARENT}
    assert ("traceparent", TRACEPARENT.encode()) in event.to_headers()
