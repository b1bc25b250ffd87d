import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from settle_local import contracts
from settle_local.paths import repo_root
from settle_shared.clock import FixedClock
from settle_shared.consumer import ConsumerSpec, dead_letter_record
from settle_shared.errors import InvalidMessage
from settle_shared.events import REGISTRY
from settle_shared.messaging import IncomingRecord
from settle_shared.registry import EventType, Topic
from settle_shared.runtime import ServiceDefinition

ASYNCAPI_SCHEMA = repo_root() / "tools/node_modules/@asyncapi/specs/schemas/3.0.0.json"
ReadContract = Callable[[str], str]
ReadJson = Callable[[str], Any]
Document = dict[str, Any]

by_topic = pytest.mark.parametrize("topic", REGISTRY.topics(), ids=lambda t: t.name)
by_type = pytest.mark.parametrize("event_type", REGISTRY.event_types(), ids=lambda t: t.ce_type)


@pytest.fixture(scope="module")
def document(read_contract: ReadContract) -> Document:
    loaded: Document = yaml.safe_load(read_contract(contracts.ASYNCAPI_FILE))
    return loaded


def asyncapi_validator() -> Draft7Validator:
    if not ASYNCAPI_SCHEMA.is_file():
        pytest.fail(f"{ASYNCAPI_SCHEMA} is missing: run `npm ci --prefix tools` (scripts/setup.sh)")
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    # Every definition the schema refers to is bundled in it under its own $id; a registry
    # retrieves nothing it was not given, so nothing is downloaded.
    registry: Registry[Any] = (
        Registry().with_resource(schema["$id"], Resource.from_contents(schema)).crawl()
    )
    return Draft7Validator(schema, registry=registry)


def test_the_document_is_valid_asyncapi_3(document: Document) -> None:
    error = best_match(asyncapi_validator().iter_errors(document))

    assert document["asyncapi"] == "3.0.0"
    assert error is None, f"{error.json_path}: {error.message}" if error else ""


def test_the_official_schema_catches_a_broken_document(document: Document) -> None:
    broken = {**document, "operations": {"x": {"action": "publish", "channel": {}}}}

    assert best_match(asyncapi_validator().iter_errors(broken)) is not None


@by_topic
def test_every_topic_is_a_channel_with_its_owner_and_partitions(
    topic: Topic, document: Document
) -> None:
    channel = document["channels"][topic.name]

    assert channel["address"] == topic.name
    assert channel["x-owner"] == topic.owner
    assert channel["description"] == topic.description
    assert channel["bindings"]["kafka"]["partitions"] == topic.partitions


@by_topic
def test_every_topic_is_sent_by_its_owner(topic: Topic, document: Document) -> None:
    senders = [
        operation["x-service"]
        for operation in document["operations"].values()
        if operation["action"] == "send"
        and operation["channel"]["$ref"] == f"#/channels/{topic.name}"
    ]

    assert senders == [topic.owner]


@by_type
def test_every_event_type_is_a_message_on_its_topic(
    event_type: EventType, document: Document
) -> None:
    message = document["components"]["messages"][event_type.ce_type]
    channel = document["channels"][event_type.topic.name]

    assert message["name"] == event_type.ce_type
    assert message["contentType"] == "application/json"
    assert message["payload"] == {"$ref": f"./schemas/{event_type.ce_type}.json"}
    assert (contracts.contracts_dir() / "schemas" / f"{event_type.ce_type}.json").is_file()
    assert channel["messages"][event_type.ce_type] == {
        "$ref": f"#/components/messages/{event_type.ce_type}"
    }


@by_type
def test_every_message_example_is_a_golden_example_with_its_wire_headers(
    event_type: EventType, document: Document, read_json_contract: ReadJson
) -> None:
    message = document["components"]["messages"][event_type.ce_type]
    headers_schema = resolved(document, f"#/components/messages/{event_type.ce_type}/headers")
    golden = read_json_contract(contracts.example_path(event_type.ce_type))

    assert [example["payload"] for example in message["examples"]] == golden
    for example in message["examples"]:
        assert list(headers_schema.iter_errors(example["headers"])) == []
        assert example["headers"]["ce_type"] == event_type.ce_type
        assert example["headers"]["ce_tenant"] == example["payload"]["tenant"]


def test_the_headers_schema_refuses_another_event_type(document: Document) -> None:
    message = document["components"]["messages"]["settle.invoice.issued.v1"]
    headers_schema = resolved(document, "#/components/messages/settle.invoice.issued.v1/headers")
    forged = {**message["examples"][0]["headers"], "ce_type": "settle.invoice.issued.v2"}

    assert list(headers_schema.iter_errors(forged)) != []


def resolved(document: Document, pointer: str) -> Draft7Validator:
    registry: Registry[Any] = Registry().with_resource(
        "urn:settle:asyncapi", DRAFT7.create_resource(document)
    )
    return Draft7Validator(
        {"$ref": f"urn:settle:asyncapi{pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@pytest.mark.parametrize("package", contracts.SERVICE_PACKAGES)
def test_every_consumed_topic_has_a_receive_operation_by_its_consumer(
    package: str,
    load_service: Callable[[str], ServiceDefinition[Any]],
    document: Document,
) -> None:
    service = load_service(package)
    received = {
        operation["channel"]["$ref"].removeprefix("#/channels/")
        for operation in document["operations"].values()
        if operation["action"] == "receive" and operation["x-service"] == service.name
    }

    assert received == {topic.name for topic in service.consumes}


def test_dead_letter_topics_document_every_header_the_consumer_guard_adds(
    document: Document,
) -> None:
    record = IncomingRecord("invoices.v1", 0, 7, b"acme-nl:C-1", b"{}", [("ce_id", b"1")])
    spec = ConsumerSpec("reader", ("invoices.v1",), {}, "reader.deadletter.v1")
    clock = FixedClock(contracts.EXAMPLE_EPOCH)
    added = {
        name
        for name, _ in dead_letter_record(record, InvalidMessage("bad"), spec, clock).headers
        if (name, _) not in record.headers
    }
    message = document["components"]["messages"][contracts.DEAD_LETTER_MESSAGE]

    assert set(message["headers"]["required"]) == added
    for topic in REGISTRY.topics():
        if topic.is_dead_letter:
            assert list(document["channels"][topic.name]["messages"]) == ["DeadLetterRecord"]
