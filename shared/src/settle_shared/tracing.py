"""W3C trace context carried in message headers and outbox rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from settle_shared.cloudevents import TRACE_HEADERS

tracer = trace.get_tracer("settle_shared")


def current_trace_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {name: value for name, value in carrier.items() if name in TRACE_HEADERS}


@contextmanager
def consuming(trace_headers: dict[str, str], topic: str, event_type: str) -> Iterator[None]:
    """A consumer span that continues the producer's trace."""
    context = propagate.extract(trace_headers)
    attributes = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.operation.type": "process",
        "cloudevents.event_type": event_type,
    }
    with tracer.start_as_current_span(
        f"process {topic}", context=context, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


@contextmanager
def consuming_batch(trace_headers: Sequence[dict[str, str]], topic: str) -> Iterator[None]:
    """One span for records handled together, linked to each record's producer trace."""
    links = [
        trace.Link(span_context)
        for headers in trace_headers
        if (
            span_context := trace.get_current_span(propagate.extract(headers)).get_span_context()
        ).is_valid
    ]
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.operation.type": "process",
        "messaging.batch.message_count": len(trace_headers),
    }
    with tracer.start_as_current_span(
        f"process {topic}", kind=SpanKind.CONSUMER, links=links, attributes=attributes
    ):
        yield
