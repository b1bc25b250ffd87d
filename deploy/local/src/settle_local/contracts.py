"""Generates `contracts/` from the code, or checks that the committed files have not drifted.

    python -m settle_local.contracts                       write contracts/
    python -m settle_local.contracts --check               exit 1 listing every drifted file
    python -m settle_local.contracts --services a b ...    only these services (default: all six)

The sources are the event models and topic registry (`settle_shared.events`), the dead-letter and
CloudEvents encoders, and each service's `SERVICE` definition (consumed topics, HTTP routes).
Everything under contracts/ is generated; a file the generator does not produce is stale.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from settle_local.paths import repo_root
from settle_shared.clock import FixedClock
from settle_shared.cloudevents import JSON_CONTENT_TYPE, SPEC_VERSION
from settle_shared.consumer import ConsumerSpec, dead_letter_record
from settle_shared.errors import InvalidMessage, RejectedMessage, UndecodableMessage
from settle_shared.events import REGISTRY
from settle_shared.events.common import TenantId
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.events.topics import SEGMENTATION_DEAD_LETTER
from settle_shared.messaging import IncomingRecord
from settle_shared.publishing import envelope, to_record
from settle_shared.registry import EventPayload, EventRegistry, EventType, Topic
from settle_shared.runtime import ServiceDefinition, openapi_app

SERVICE_PACKAGES = ("ingestion", "enrichment", "segmentation", "dunning", "delivery", "payments")
ERP = "erp"
CONTRACTS_URL = "https://settle.dev/contracts/"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE = "asyncapi.yaml"
README_FILE = "README.md"
REGENERATE = "uv run python -m settle_local.contracts"
DEAD_LETTER_MESSAGE = "DeadLetterRecord"
CE_HEADERS_SCHEMA = "CloudEventsHeaders"
KAFKA_BINDING_VERSION = "0.5.0"
EXAMPLE_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
EXAMPLE_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
_DIFF_LINES = 40
_DIFF_WIDTH = 160

ServiceList = Sequence[ServiceDefinition[Any]]


class ContractsError(Exception):
    """The code cannot be turned into contracts as it stands; the message says what to fix."""


def schema_path(ce_type: str) -> str:
    return f"schemas/{ce_type}.json"


def example_path(ce_type: str) -> str:
    return f"examples/{ce_type}.json"


def openapi_path(service: str) -> str:
    return f"openapi/{service}.json"


def contracts_dir() -> Path:
    return repo_root() / "contracts"


# Services


def load_services(packages: Sequence[str] = SERVICE_PACKAGES) -> list[ServiceDefinition[Any]]:
    """Each package's `bootstrap.SERVICE`; fails naming every package that cannot be loaded."""
    services: list[ServiceDefinition[Any]] = []
    failures: list[str] = []
    for package in packages:
        try:
            service = importlib.import_module(f"{package}.bootstrap").SERVICE
        except Exception as error:  # a half-written service can fail in any way at import
            failures.append(f"{package}: {type(error).__name__}: {error}")
            continue
        if not isinstance(service, ServiceDefinition):
            failures.append(f"{package}: bootstrap.SERVICE is not a ServiceDefinition")
            continue
        services.append(service)
    if failures:
        loadable = [p for p in packages if not any(f.startswith(f"{p}:") for f in failures)]
        raise ContractsError(
            "cannot load these services' bootstrap.SERVICE:\n  "
            + "\n  ".join(failures)
            + f"\ngenerate the others with --services {' '.join(loadable)}"
        )
    return services


# Generation


def generate(services: ServiceList, registry: EventRegistry = REGISTRY) -> dict[str, str]:
    """Every contract file, by path relative to contracts/, with its exact content."""
    event_types = registry.event_types()
    _require_documentation(event_types)
    files: dict[str, str] = {}
    for event_type in event_types:
        files[schema_path(event_type.ce_type)] = _json(event_schema(event_type))
        files[example_path(event_type.ce_type)] = _json(event_type.examples())
    for service in services:
        files[openapi_path(service.name)] = _json(openapi_app(service).openapi(), sort_keys=True)
    files[ASYNCAPI_FILE] = _yaml(asyncapi_document(registry, services))
    files[README_FILE] = readme(registry, services)
    return dict(sorted(files.items()))


def _require_documentation(event_types: Sequence[EventType]) -> None:
    missing = [t.ce_type for t in event_types if not t.examples()]
    undescribed = [t.ce_type for t in event_types if not t.description]
    problems = [f"{ce_type} has no golden example" for ce_type in missing]
    problems += [f"{ce_type} has no docstring to describe it" for ce_type in undescribed]
    if problems:
        raise ContractsError(
            "every event type needs a docstring and at least one example in "
            'model_config["json_schema_extra"]["examples"]:\n  ' + "\n  ".join(problems)
        )


def event_schema(event_type: EventType) -> dict[str, Any]:
    generated = event_type.model.model_json_schema()
    header = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{CONTRACTS_URL}{schema_path(event_type.ce_type)}",
        "title": event_type.ce_type,
        "description": event_type.description,
    }
    return header | {k: v for k, v in generated.items() if k not in header}


# AsyncAPI


def asyncapi_document(registry: EventRegistry, services: ServiceList) -> dict[str, Any]:
    topics = registry.topics()
    messages = {t.ce_type: _event_message(t) for t in registry.event_types()}
    if any(topic.is_dead_letter for topic in topics):
        messages[DEAD_LETTER_MESSAGE] = _dead_letter_message()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Settle events",
            "version": "1.0.0",
            "description": _ASYNCAPI_DESCRIPTION,
        },
        "defaultContentType": JSON_CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "{bootstrap_servers}",
                "protocol": "kafka",
                "description": "The Kafka cluster every service and ERP connector uses.",
                "variables": {
                    "bootstrap_servers": {
                        "default": "127.0.0.1:9092",
                        "description": "Services read it from KAFKA_BOOTSTRAP_SERVERS.",
                    }
                },
            }
        },
        "channels": {topic.name: _channel(registry, topic) for topic in topics},
        "operations": _operations(registry, services),
        "components": {
            "schemas": {CE_HEADERS_SCHEMA: _cloudevents_headers()},
            "messages": messages,
        },
    }


_ASYNCAPI_DESCRIPTION = """\
The Kafka topics of Settle, who publishes and who consumes each, and their messages.

Every record is a CloudEvents 1.0 event in Kafka binary content mode: the attributes travel as
`ce_*` headers (plus W3C `traceparent`), the record value is the JSON payload, validated by the
JSON Schema of its event type (`schemas/<ce_type>.json`, draft 2020-12). The wire identity of an
event is its `ce_type`, which includes the version. Consumers skip types they do not handle, and
ignore payload fields they do not know. See README.md for the money, date and evolution rules.
"""


def _channel(registry: EventRegistry, topic: Topic) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": topic.name,
        "description": topic.description,
        "x-owner": topic.owner,
    }
    if topic.dead_letter_of:
        channel["x-dead-letter-of"] = topic.dead_letter_of
    channel["messages"] = {
        name: {"$ref": f"#/components/messages/{name}"} for name in _message_names(registry, topic)
    }
    channel["bindings"] = {
        "kafka": {"partitions": topic.partitions, "bindingVersion": KAFKA_BINDING_VERSION}
    }
    return channel


def _operations(registry: EventRegistry, services: ServiceList) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic in registry.topics():
        operations[f"{topic.owner}.sends.{topic.name}"] = _operation(
            registry, topic, "send", topic.owner, _send_summary(topic)
        )
    for service in sorted(services, key=lambda s: s.name):
        for topic in sorted(service.consumes, key=lambda t: t.name):
            operations[f"{service.name}.receives.{topic.name}"] = _operation(
                registry, topic, "receive", service.name, f"{service.name} consumes {topic.name}"
            )
    return dict(sorted(operations.items()))


def _send_summary(topic: Topic) -> str:
    if topic.owner == ERP:
        return f"ERP systems publish to {topic.name}"
    if topic.is_dead_letter:
        return f"{topic.owner} copies the records it cannot process to {topic.name}"
    return f"{topic.owner} publishes to {topic.name} (through its transactional outbox)"


def _operation(
    registry: EventRegistry, topic: Topic, action: str, service: str, summary: str
) -> dict[str, Any]:
    names = _message_names(registry, topic)
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{topic.name}"},
        "summary": summary,
        "x-service": service,
        "messages": [{"$ref": f"#/channels/{topic.name}/messages/{name}"} for name in names],
    }


def _message_names(registry: EventRegistry, topic: Topic) -> list[str]:
    if topic.is_dead_letter:
        return [DEAD_LETTER_MESSAGE]
    return [t.ce_type for t in registry.types_on(topic)]


def key_format(model: type[EventPayload]) -> str:
    """The record key's format, e.g. `<tenant>:<customer id>`."""
    # The payload builds its own key; given placeholders instead of values, it spells the format.
    return model.model_construct(None, **_placeholders(model)).partition_key()


def subject_format(model: type[EventPayload]) -> str | None:
    return model.model_construct(None, **_placeholders(model)).subject()


def _placeholders(model: type[EventPayload]) -> dict[str, str]:
    return {name: f"<{name.replace('_', ' ')}>" for name in model.model_fields}


_CE_HEADERS: dict[str, dict[str, Any]] = {
    "ce_specversion": {"const": SPEC_VERSION, "description": "CloudEvents specification version."},
    "ce_id": {
        "minLength": 1,
        "description": "Unique id of the event; consumers deduplicate on it, so a retry reuses it.",
    },
    "ce_source": {
        "minLength": 1,
        "description": (
            "Who produced the event, a URI reference: /settle/<service> for Settle services, "
            "/erp/<system> for ERP systems."
        ),
    },
    "ce_type": {"description": "Event type and version: the wire identity of the payload."},
    "ce_time": {
        "format": "date-time",
        "description": "When the event happened: RFC 3339 with a UTC offset.",
    },
    "ce_subject": {"description": "The entity the event is about."},
    "ce_tenant": {"description": "The tenant (CloudEvents extension); equals the payload's."},
    "content-type": {"const": JSON_CONTENT_TYPE, "description": "Media type of the value."},
    "traceparent": {
        "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        "description": "W3C trace context of the producer's span, when it had one.",
    },
    "tracestate": {"description": "W3C trace state, vendor-specific, alongside traceparent."},
}
_CE_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_tenant")


def _event_message(event_type: EventType) -> dict[str, Any]:
    records = [_example_record(event_type, i, ex) for i, ex in enumerate(event_type.examples())]
    examples = [example for _, example in records]
    summary, _, details = event_type.description.partition("\n")
    message: dict[str, Any] = {
        "name": event_type.ce_type,
        "title": f"{event_type.ce_type} on {event_type.topic.name}",
        "summary": summary.strip(),
    }
    if details.strip():
        message["description"] = details.strip()
    return message | {
        "contentType": JSON_CONTENT_TYPE,
        "headers": _event_headers(event_type, [e["headers"] for e in examples]),
        "payload": {"$ref": f"./{schema_path(event_type.ce_type)}"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"Record key: {key_format(event_type.model)}",
                    "examples": [key for key, _ in records],
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "examples": examples,
    }


def _event_headers(event_type: EventType, examples: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    undocumented = sorted({name for headers in examples for name in headers} - set(_CE_HEADERS))
    if undocumented:
        raise ContractsError(f"headers on the wire without a description: {undocumented}")
    specific: dict[str, Any] = {
        "type": "object",
        "properties": {"ce_type": {"const": event_type.ce_type}},
    }
    subject = subject_format(event_type.model)
    if subject is not None:
        specific["required"] = ["ce_subject"]
        specific["properties"]["ce_subject"] = {
            "description": f"The entity the event is about: {subject}."
        }
    return {"allOf": [{"$ref": f"#/components/schemas/{CE_HEADERS_SCHEMA}"}, specific]}


def _cloudevents_headers() -> dict[str, Any]:
    properties = {name: {"type": "string", **schema} for name, schema in _CE_HEADERS.items()}
    tenant = TypeAdapter(TenantId).json_schema()
    properties["ce_tenant"] |= {k: v for k, v in tenant.items() if k in ("pattern", "examples")}
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in Kafka binary mode, and W3C trace context.",
        "required": list(_CE_REQUIRED),
        "properties": properties,
    }


def _example_record(
    event_type: EventType, index: int, example: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The record key and the AsyncAPI message example of a golden example."""
    try:
        payload = event_type.model.model_validate(example)
    except ValidationError as error:
        raise ContractsError(f"{event_type.ce_type} golden example is invalid: {error}") from error
    event = envelope(
        payload,
        source="/erp/sap" if event_type.topic.owner == ERP else f"/settle/{event_type.topic.owner}",
        time=_example_time(payload),
        event_id=str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{CONTRACTS_URL}{event_type.ce_type}/{index}")
        ),
        trace={"traceparent": EXAMPLE_TRACEPARENT},
    )
    record = to_record(payload, event)
    return (record.key or b"").decode(), {
        "name": f"golden-{index + 1}",
        "summary": f"Golden example {index + 1} of {event_type.ce_type}",
        "headers": {name: value.decode() for name, value in record.headers},
        "payload": example,
    }


def _example_time(payload: EventPayload) -> datetime:
    """The latest instant in the payload (else its latest date, at noon UTC): when it happened."""
    values = list(_leaves(payload.model_dump()))
    instants = [v for v in values if isinstance(v, datetime)]
    if instants:
        return max(instants)
    dates = [v for v in values if isinstance(v, date)]
    return datetime.combine(max(dates), time(12), UTC) if dates else EXAMPLE_EPOCH


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


_DEAD_LETTER_HEADERS = {
    "settle-dlq-reason": "Why the record was rejected, in one sentence.",
    "settle-dlq-kind": "undecodable (not a readable CloudEvent), invalid (payload breaks its "
    "schema or a business rule) or rejected (the handler refused it).",
    "settle-dlq-problems": 'JSON array of {"location", "message"}: each thing wrong, where '
    "(JSON pointer, CSV line:column or XML path).",
    "settle-dlq-consumer": "The consumer group that rejected it.",
    "settle-dlq-source-topic": "Topic the record was read from.",
    "settle-dlq-source-partition": "Partition it was read from.",
    "settle-dlq-source-offset": "Offset it was read from.",
    "settle-dlq-failed-at": "When it was rejected, RFC 3339 with a UTC offset.",
}
_REJECTION_KINDS = sorted(
    {rejection.kind for rejection in (RejectedMessage, UndecodableMessage, InvalidMessage)}
)


def _dead_letter_message() -> dict[str, Any]:
    example = _dead_letter_example()
    documented = set(_DEAD_LETTER_HEADERS)
    produced = {name for name in example["headers"] if name.startswith("settle-dlq-")}
    if produced != documented:
        raise ContractsError(
            f"dead_letter_record() writes {sorted(produced)}; documented are {sorted(documented)}"
        )
    properties: dict[str, dict[str, Any]] = {
        name: {"type": "string", "description": description}
        for name, description in _DEAD_LETTER_HEADERS.items()
    }
    properties["settle-dlq-kind"]["enum"] = _REJECTION_KINDS
    properties["settle-dlq-failed-at"]["format"] = "date-time"
    return {
        "name": DEAD_LETTER_MESSAGE,
        "title": "Dead-letter record",
        "summary": "The original record unchanged plus settle-dlq-* headers.",
        "description": (
            "A record a consumer could not process: its key, value and headers copied unchanged "
            "(so the ce_* headers of the original event, if it had any, are still there), plus "
            "settle-dlq-* headers saying why and where from. No Settle service consumes these "
            "topics: they are for operators to inspect."
        ),
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "description": "The original record's headers, plus these.",
            "required": sorted(documented),
            "properties": properties,
        },
        "payload": {
            "description": (
                "The original record's value, byte for byte: usually a CloudEvent's JSON payload, "
                "but undecodable records land here too."
            )
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": ["string", "null"],
                    "description": "The original record's key, unchanged.",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "examples": [example],
    }


def _dead_letter_example() -> dict[str, Any]:
    """An invoice whose amount is not an integer, as segmentation dead-letters it."""
    invoice_type = InvoiceIssued.event_type
    invoice = InvoiceIssued.model_validate(invoice_type.examples()[0])
    sent_at = _example_time(invoice)
    original = to_record(
        invoice,
        envelope(
            invoice,
            source="/settle/ingestion",
            time=sent_at,
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{CONTRACTS_URL}dead-letter")),
        ),
    )
    value = invoice.model_dump(mode="json")
    value["amount"]["amount_minor"] = 1234.5
    topic = invoice_type.topic.name
    incoming = IncomingRecord(
        topic, 3, 4711, original.key, json.dumps(value).encode(), original.headers
    )
    spec = ConsumerSpec("segmentation", (topic,), {}, SEGMENTATION_DEAD_LETTER.name)
    clock = FixedClock(sent_at + timedelta(seconds=1))
    dead = dead_letter_record(incoming, _rejection(invoice_type, value), spec, clock)
    return {
        "name": "invalid-amount",
        "summary": "segmentation rejected an invoice whose amount is not an integer",
        "headers": {name: raw.decode() for name, raw in dead.headers},
        "payload": value,
    }


def _rejection(event_type: EventType, data: dict[str, Any]) -> InvalidMessage:
    try:
        event_type.parse(data)
    except InvalidMessage as rejection:
        return rejection
    raise ContractsError(f"the dead-letter example is a valid {event_type.ce_type}")


# README


def readme(registry: EventRegistry, services: ServiceList) -> str:
    consumers = _consumers_by_topic(services)
    sections = [
        _README_HEAD,
        "## Topics\n\n" + _topics_table(registry, consumers),
        "## Event types\n\n" + _event_types_table(registry),
        "## HTTP APIs\n\n" + _apis_table(services),
    ]
    return "\n".join(sections)


def _consumers_by_topic(services: ServiceList) -> dict[str, list[str]]:
    consumers: dict[str, list[str]] = {}
    for service in sorted(services, key=lambda s: s.name):
        for topic in service.consumes:
            consumers.setdefault(topic.name, []).append(service.name)
    return consumers


def _topics_table(registry: EventRegistry, consumers: Mapping[str, list[str]]) -> str:
    rows = [
        "| topic | owner | key | partitions | event types | consumers |",
        "|---|---|---|---|---|---|",
    ]
    for topic in registry.topics():
        types = _message_names(registry, topic)
        owner = "ERP systems" if topic.owner == ERP else topic.owner
        readers = consumers.get(topic.name) or (["operators"] if topic.is_dead_letter else [])
        rows.append(
            f"| `{topic.name}` | {owner} | {_keys(registry, topic)} | {topic.partitions} | "
            f"{', '.join(f'`{t}`' for t in types)} | {', '.join(readers)} |"
        )
    return "\n".join(rows) + "\n"


def _keys(registry: EventRegistry, topic: Topic) -> str:
    if topic.is_dead_letter:
        return topic.key
    types_by_key: dict[str, list[str]] = {}
    for event_type in registry.types_on(topic):
        types_by_key.setdefault(key_format(event_type.model), []).append(f"`{event_type.ce_type}`")
    parts = [f"`{topic.key}`"] if topic.key in types_by_key else []
    parts += [
        f"`{key}` for {', '.join(types)}" for key, types in types_by_key.items() if key != topic.key
    ]
    return "; ".join(parts)


def _event_types_table(registry: EventRegistry) -> str:
    rows = ["| event type | topic | schema | example | what it says |", "|---|---|---|---|---|"]
    for t in registry.event_types():
        summary = " ".join(t.description.split("\n\n")[0].split())
        rows.append(
            f"| `{t.ce_type}` | `{t.topic.name}` | [schema]({schema_path(t.ce_type)}) | "
            f"[example]({example_path(t.ce_type)}) | {summary} |"
        )
    return "\n".join(rows) + "\n"


def _apis_table(services: ServiceList) -> str:
    rows = ["| service | OpenAPI | what it does |", "|---|---|---|"]
    for service in sorted(services, key=lambda s: s.name):
        path = openapi_path(service.name)
        rows.append(f"| {service.name} | [{path}]({path}) | {service.description} |")
    return "\n".join(rows) + "\n"


_README_HEAD = f"""\
# Settle contracts

The language-neutral contract of Settle for ERP integrators and channel providers. Generated from
the code by `{REGENERATE}`; do not edit by hand. The contract tests (and
`{REGENERATE} --check`) fail when a file here differs from what the code says.

## What is here

| path | what |
|---|---|
| [`asyncapi.yaml`](asyncapi.yaml) | AsyncAPI 3.0 document: every Kafka topic, who publishes and who consumes it, its messages with their headers, keys and golden examples |
| `schemas/<event type>.json` | JSON Schema (draft 2020-12) of each event type's payload, one file per type and version |
| `examples/<event type>.json` | the golden example payloads of each event type, as a JSON array; each validates against its schema |
| `openapi/<service>.json` | OpenAPI document of each service's HTTP API |

## Events on Kafka: CloudEvents 1.0 in binary mode

Every record is a CloudEvent in Kafka binary content mode: the record value is the event's JSON
payload, validated by the schema of its type, and the attributes travel as headers (UTF-8 strings):

| Kafka header | CloudEvents attribute | value |
|---|---|---|
| `ce_specversion` | `specversion` | `1.0` |
| `ce_id` | `id` | unique per event; consumers deduplicate on it, so a producer's retry must reuse it |
| `ce_source` | `source` | the producer: `/settle/<service>`, or `/erp/<system>` for ERP systems |
| `ce_type` | `type` | event type and version, e.g. `settle.invoice.issued.v1`: the wire identity (never a class name) |
| `ce_time` | `time` | when it happened, RFC 3339 with a UTC offset |
| `ce_subject` | `subject` | the entity the event is about (the invoice, payment, case, message or customer id) |
| `ce_tenant` | `tenant` (extension) | the tenant; must equal the payload's `tenant` |
| `content-type` | `datacontenttype` | `application/json` |
| `traceparent`, `tracestate` | W3C trace context | the producer's trace, continued by every consumer |

The record key is `<tenant>:<customer id>` wherever one customer's events must stay in order (one
customer, one partition); the table below gives the exact key of each topic. A record without the
required headers, with an unknown `ce_specversion`, a payload that breaks its schema, or a
`ce_tenant` that differs from the payload's goes to the consumer's dead-letter topic; the stream goes
on. Consumers skip event types they do not handle and ignore payload fields they do not know.

## Payload rules

- **Money** is an object `{{"amount_minor": 123450, "currency": "EUR"}}`: an integer in the
  currency's minor units (cents for EUR, yen for JPY, fils for KWD) and an ISO 4217 code. Never a
  float: `12.5` or an unknown currency is rejected.
- **Dates** (`issue_date`, `due_date`, `paid_on`, ...) are ISO 8601 calendar dates: `2026-11-16`.
- **Instants** (`*_at`) are ISO 8601 / RFC 3339 date-times in UTC with an explicit offset:
  `2026-11-02T09:15:00Z` or `2026-11-02T09:15:00+00:00`. A time without an offset is rejected.
- **Tenant**: every event carries `tenant`, the legal entity / company code the ERP invoices from;
  ids (`customer_id`, `invoice_id`, ...) are unique within a tenant.

## Evolution

- Within a version, changes are additive only: a new optional field, or a new event type on a
  topic. Consumers ignore fields and skip event types they do not know.
- A breaking change (removing or renaming a field, changing its type, meaning or unit, making an
  optional field required, adding a value to an enumeration, since enumerations are closed) is a
  new version: a new event type `<name>.v<N+1>` and, when the topic's key or partitioning changes,
  a new topic `<topic>.v<N+1>`. The old type or topic keeps being published until its consumers
  have moved.

## Dead letters

Each service has a dead-letter topic. A record it cannot process is copied there unchanged (key,
value, headers) with `settle-dlq-*` headers giving the reason, the kind, the problems (JSON pointers),
the consumer and the source topic, partition and offset. See the `{DEAD_LETTER_MESSAGE}` message in
`asyncapi.yaml`.
"""


# Files


def _json(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=sort_keys) + "\n"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def _yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


@dataclass(frozen=True)
class Drift:
    path: str
    problem: str
    diff: str = ""

    def report(self) -> str:
        return f"{self.path}: {self.problem}" + (f"\n{self.diff}" if self.diff else "")


def drifted(
    files: Mapping[str, str], root: Path, services: Sequence[str] = SERVICE_PACKAGES
) -> list[Drift]:
    """Every difference between the generated files and those under root. Only the OpenAPI
    documents of `services` (names) are answered for; other services' are left alone."""
    drifts: list[Drift] = []
    for path, content in files.items():
        target = root / path
        if not target.is_file():
            drifts.append(Drift(path, "missing"))
        elif (committed := target.read_text(encoding="utf-8")) != content:
            drifts.append(
                Drift(path, "differs from the code", _short_diff(path, committed, content))
            )
    drifts += [Drift(path, "stale: not generated") for path in _stale(files, root, services)]
    return sorted(drifts, key=lambda drift: drift.path)


def _stale(files: Mapping[str, str], root: Path, services: Sequence[str]) -> list[str]:
    if not root.is_dir():
        return []
    present = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(p for p in present if p not in files and _managed(p, services))


def _managed(path: str, services: Sequence[str]) -> bool:
    """Whether this run answers for the file: another service's OpenAPI is left alone."""
    folder, _, name = path.partition("/")
    return folder != "openapi" or name.removesuffix(".json") in services


def _short_diff(path: str, committed: str, generated: str) -> str:
    lines = list(
        difflib.unified_diff(
            committed.splitlines(),
            generated.splitlines(),
            f"committed/{path}",
            f"generated/{path}",
            lineterm="",
            n=1,
        )
    )
    shown = [_clipped(line) for line in lines[:_DIFF_LINES]]
    if len(lines) > _DIFF_LINES:
        shown.append(f"... {len(lines) - _DIFF_LINES} more diff lines")
    return "\n".join(f"    {line}" for line in shown)


def _clipped(line: str) -> str:
    return line if len(line) <= _DIFF_WIDTH else f"{line[:_DIFF_WIDTH]}..."


def write(files: Mapping[str, str], root: Path, services: Sequence[str] = SERVICE_PACKAGES) -> None:
    for path in _stale(files, root, services):
        (root / path).unlink()
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != content:
            target.write_text(content, encoding="utf-8")


# Command line


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    root = contracts_dir()
    try:
        services = load_services(args.services)
        files = generate(services)
    except ContractsError as error:
        print(f"contracts: {error}", file=sys.stderr)
        return 2
    names = [service.name for service in services]
    left_out = sorted(set(SERVICE_PACKAGES) - set(args.services))
    if left_out:
        print(
            f"contracts: without {', '.join(left_out)}: {ASYNCAPI_FILE} and {README_FILE} miss "
            "their operations and consumers, and their OpenAPI documents are not generated",
            file=sys.stderr,
        )
    if args.check:
        return _check(files, root, names)
    write(files, root, names)
    print(f"contracts: {len(files)} files up to date in {root}")
    return 0


def _check(files: Mapping[str, str], root: Path, services: Sequence[str]) -> int:
    drifts = drifted(files, root, services)
    if not drifts:
        print(f"contracts: {len(files)} files match the code")
        return 0
    print(f"contracts: {len(drifts)} file(s) drifted from the code:", file=sys.stderr)
    for drift in drifts:
        print(f"  {drift.report()}", file=sys.stderr)
    print(f"regenerate with: {REGENERATE}", file=sys.stderr)
    return 1


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m settle_local.contracts",
        description="Generate contracts/ from the event models, topic registry and services.",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if any file drifted"
    )
    parser.add_argument(
        "--services",
        nargs="+",
        choices=SERVICE_PACKAGES,
        default=list(SERVICE_PACKAGES),
        metavar="SERVICE",
        help=f"services to load (default: all of {', '.join(SERVICE_PACKAGES)})",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
