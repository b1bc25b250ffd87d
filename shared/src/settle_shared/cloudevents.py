"""CloudEvents 1.0 in Kafka binary content mode.

Attributes travel as `ce_*` headers, the JSON payload is the record value, and W3C trace context
travels as a plain `traceparent` header. The wire identity is the `ce_type` (which includes the
version), never a Python class name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from settle_shared.errors import UndecodableMessage

SPEC_VERSION = "1.0"
JSON_CONTENT_TYPE = "application/json"
TRACE_HEADERS = ("traceparent", "tracestate")
_REQUIRED = ("id", "source", "type", "specversion")
Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class CloudEvent:
    id: str
    type: str
    source: str
    time: datetime
    tenant: str
    data: dict[str, Any]
    subject: str | None = None
    dataschema: str | None = None
    trace: dict[str, str] = field(default_factory=dict)

    def to_headers(self) -> Headers:
        return [(name, value.encode()) for name, value in self.header_texts()]

    def header_texts(self) -> list[tuple[str, str]]:
        """The Kafka headers as text (the outbox stores them so, as JSON)."""
        attributes = (
            ("specversion", SPEC_VERSION),
            ("id", self.id),
            ("source", self.source),
            ("type", self.type),
            ("time", self.time.isoformat()),
            ("tenant", self.tenant),
            ("subject", self.subject),
            ("dataschema", self.dataschema),
        )
        texts = [(f"ce_{name}", value) for name, value in attributes if value]
        texts.append(("content-type", JSON_CONTENT_TYPE))
        texts.extend(self.trace.items())
        return texts

    def to_value(self) -> bytes:
        return orjson.dumps(self.data)


def from_kafka(value: bytes | None, headers: Headers) -> CloudEvent:
    """Read a binary-mode CloudEvent, or raise `UndecodableMessage` saying exactly what is wrong."""
    attributes = _ce_attributes(headers)
    missing = [name for name in _REQUIRED if name not in attributes]
    if missing:
        raise UndecodableMessage(
            f"missing CloudEvents header(s): {', '.join('ce_' + m for m in missing)}"
        )
    if attributes["specversion"] != SPEC_VERSION:
        raise UndecodableMessage(f"unsupported ce_specversion {attributes['specversion']!r}")
    if "tenant" not in attributes:
        raise UndecodableMessage("missing ce_tenant header: every event carries its tenant")
    content_type = _header(headers, "content-type") or JSON_CONTENT_TYPE
    if content_type.split(";")[0].strip() != JSON_CONTENT_TYPE:
        raise UndecodableMessage(f"unsupported content-type {content_type!r}, expected JSON")
    return CloudEvent(
        id=attributes["id"],
        type=attributes["type"],
        source=attributes["source"],
        time=_parse_time(attributes.get("time")),
        tenant=attributes["tenant"],
        subject=attributes.get("subject"),
        dataschema=attributes.get("dataschema"),
        data=_parse_json_object(value),
        trace={name: v for name in TRACE_HEADERS if (v := _header(headers, name)) is not None},
    )


def _ce_attributes(headers: Headers) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for name, raw in headers:
        if name.startswith("ce_"):
            attributes[name[3:]] = _text(name, raw)
    return attributes


def _header(headers: Headers, wanted: str) -> str | None:
    for name, raw in headers:
        if name.lower() == wanted:
            return _text(name, raw)
    return None


def _text(name: str, raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as error:
        raise UndecodableMessage(f"header {name} is not UTF-8") from error


def _parse_time(raw: str | None) -> datetime:
    if raw is None:
        raise UndecodableMessage("missing ce_time header")
    try:
        instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise UndecodableMessage(f"ce_time {raw!r} is not an RFC 3339 timestamp") from error
    if instant.tzinfo is None:
        raise UndecodableMessage(f"ce_time {raw!r} has no UTC offset")
    return instant


def _parse_json_object(value: bytes | None) -> dict[str, Any]:
    if value is None:
        raise UndecodableMessage("record has no value (tombstones are not events)")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise UndecodableMessage(f"value is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise UndecodableMessage(f"value is JSON {type(data).__name__}, expected an object")
    return data
