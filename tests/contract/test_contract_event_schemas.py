import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from settle_local import contracts
from settle_shared.events import REGISTRY
from settle_shared.money import Money
from settle_shared.registry import EventType

ReadJson = Callable[[str], Any]
JsonPath = tuple[str | int, ...]

EVENT_TYPES = REGISTRY.event_types()
by_type = pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.ce_type)


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(schema).iter_errors(instance)]


def examples_of(event_type: EventType, read_json: ReadJson) -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = read_json(contracts.example_path(event_type.ce_type))
    assert examples, f"{event_type.ce_type} has no golden example"
    return examples


@by_type
def test_every_schema_is_a_valid_2020_12_schema_of_its_event_type(
    event_type: EventType, read_json_contract: ReadJson
) -> None:
    schema = read_json_contract(contracts.schema_path(event_type.ce_type))

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://settle.dev/contracts/schemas/{event_type.ce_type}.json"
    assert schema["title"] == event_type.ce_type
    assert schema["description"] == event_type.description != ""


@by_type
def test_every_golden_example_validates_against_its_schema(
    event_type: EventType, read_json_contract: ReadJson
) -> None:
    schema = read_json_contract(contracts.schema_path(event_type.ce_type))

    for example in examples_of(event_type, read_json_contract):
        assert schema_errors(schema, example) == []


@by_type
def test_every_golden_example_round_trips_through_its_model_without_loss(
    event_type: EventType, read_json_contract: ReadJson
) -> None:
    for example in examples_of(event_type, read_json_contract):
        dumped = event_type.model.model_validate(example).model_dump(mode="json")

        assert normalised(dumped) == normalised(example)


def normalised(value: Any) -> Any:
    """Absent and null mean the same; instants compare as UTC instants, whatever their offset."""
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if isinstance(value, str):
        return as_utc_instant(value)
    return value


def as_utc_instant(text: str) -> str:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return text
    return instant.astimezone(UTC).isoformat() if instant.tzinfo else text


def money_paths(value: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    if isinstance(value, dict):
        if set(value) == {"amount_minor", "currency"}:
            yield path
        for key, item in value.items():
            yield from money_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from money_paths(item, (*path, index))


def with_change(example: dict[str, Any], path: JsonPath, field: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(example)
    target: Any = changed
    for step in path:
        target = target[step]
    target[field] = value
    return changed


def money_cases() -> Iterator[tuple[EventType, JsonPath]]:
    for event_type in EVENT_TYPES:
        for path in money_paths(event_type.examples()[0]):
            yield event_type, path


MONEY_CASES = list(money_cases())
by_money_field = pytest.mark.parametrize(
    ("event_type", "path"),
    MONEY_CASES,
    ids=[f"{t.ce_type}:/{'/'.join(map(str, p))}" for t, p in MONEY_CASES],
)


def test_the_events_carry_money() -> None:
    assert len(MONEY_CASES) >= 10


@by_money_field
def test_a_float_amount_is_rejected_by_the_schema_and_the_model(
    event_type: EventType, path: JsonPath, read_json_contract: ReadJson
) -> None:
    schema = read_json_contract(contracts.schema_path(event_type.ce_type))
    example = examples_of(event_type, read_json_contract)[0]
    changed = with_change(example, path, "amount_minor", 12.5)

    assert schema_errors(schema, changed) != []
    with pytest.raises(ValidationError):
        event_type.model.model_validate(changed)


@by_money_field
def test_an_unknown_currency_is_rejected_by_the_schema_and_the_model(
    event_type: EventType, path: JsonPath, read_json_contract: ReadJson
) -> None:
    schema = read_json_contract(contracts.schema_path(event_type.ce_type))
    example = examples_of(event_type, read_json_contract)[0]
    changed = with_change(example, path, "currency", "ABC")

    assert schema_errors(schema, changed) != []
    with pytest.raises(ValidationError):
        event_type.model.model_validate(changed)


def test_the_schemas_allow_exactly_the_currencies_money_accepts(
    read_json_contract: ReadJson,
) -> None:
    schema = read_json_contract(contracts.schema_path("settle.invoice.issued.v1"))
    allowed = schema["$defs"]["Money"]["properties"]["currency"]["enum"]

    assert {"EUR", "JPY", "KWD", "CHF"} <= set(allowed)
    for code in allowed:
        assert Money.of(100, code).currency == code


def test_an_instant_without_an_offset_and_a_malformed_date_are_rejected(
    read_json_contract: ReadJson,
) -> None:
    invoice = REGISTRY.lookup("settle.invoice.issued.v1")
    assert invoice is not None
    schema = read_json_contract(contracts.schema_path(invoice.ce_type))
    example = examples_of(invoice, read_json_contract)[0]

    for field, bad in (("received_at", "2026-11-02T09:20:01"), ("due_date", "16-11-2026")):
        changed = {**example, field: bad}
        assert schema_errors(schema, changed) != [], field
        with pytest.raises(ValidationError):
            invoice.model.model_validate(changed)


@by_type
def test_every_event_names_its_tenant(event_type: EventType, read_json_contract: ReadJson) -> None:
    schema = read_json_contract(contracts.schema_path(event_type.ce_type))

    assert "tenant" in schema["required"]
    assert schema_errors(schema, {**event_type.examples()[0], "tenant": "has spaces"}) != []
