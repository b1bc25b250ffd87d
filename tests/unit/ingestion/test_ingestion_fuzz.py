"""Random and mutated input never crashes a reader and never yields a record that breaks the
contract: everything either is refused with located problems or is a valid ERP record."""

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.adapters.cii import read_cii
from ingestion.adapters.csv_mapping import CsvMapping
from ingestion.adapters.csv_records import read_csv
from ingestion.adapters.files import FileRecord, UnreadableFile, counted
from ingestion.adapters.jsonl import read_jsonl
from ingestion.adapters.ubl import read_ubl
from ingestion.domain.invoices import invoice_problems
from ingestion.domain.limits import json_depth
from ingestion.domain.records import RECORD_TYPES, parse_record
from settle_shared.events.erp import ErpInvoice, ErpInvoiceIssued
from settle_shared.money import ISO_4217_IN_USE

NOW = datetime(2026, 11, 6, tzinfo=UTC)
UBL_SAMPLE = (
    Path(__file__).parents[2] / "fixtures" / "corpora" / "ubl" / "en16931_ubl_invoice_example1.xml"
).read_bytes()
INVOICE = ErpInvoiceIssued.event_type.examples()[0]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
MAPPING = CsvMapping.model_validate(
    {
        "records": "invoices",
        "delimiter": ";",
        "locale": "nl_NL",
        "date_format": "%d-%m-%Y",
        "currency": "EUR",
        "columns": {
            "invoice_id": "id",
            "customer_id": "customer",
            "issue_date": "issued",
            "due_date": "due",
            "amount": "amount",
        },
    }
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def source(data: bytes) -> io.BufferedReader:
    return counted(io.BytesIO(data), 10**8, lambda _: None)


def read_or_refuse(read: Callable[[], list[FileRecord]]) -> list[FileRecord] | UnreadableFile:
    try:
        return read()
    except UnreadableFile as refused:
        return refused


def assert_sound(outcome: list[FileRecord] | UnreadableFile) -> None:
    if isinstance(outcome, UnreadableFile):
        assert outcome.reason, "an unreadable file says why"
        return
    records = outcome
    for found in records:
        if found.record is None:
            assert found.problems, "a refused record says why"
            assert all(p.location for p in found.problems)
        else:
            assert type(found.record) in RECORD_TYPES.values()
            amount = getattr(found.record, "amount", None)
            if amount is not None:
                assert isinstance(amount.amount_minor, int)
                assert amount.currency in ISO_4217_IN_USE


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_json_lines_reader(data: bytes) -> None:
    assert_sound(list(read_jsonl(source(data), "acme-nl")))


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_xml_readers(data: bytes) -> None:
    assert_sound(read_or_refuse(lambda: read_ubl(source(data), "acme-nl", NOW)))
    assert_sound(read_or_refuse(lambda: read_cii(source(data), "acme-nl", NOW)))


@FUZZ
@given(st.integers(min_value=0, max_value=len(UBL_SAMPLE) - 1), st.binary(min_size=1, max_size=8))
def test_a_mutated_ubl_invoice_is_read_soundly_or_refused(position: int, noise: bytes) -> None:
    mutated = UBL_SAMPLE[:position] + noise + UBL_SAMPLE[position + len(noise) :]
    assert_sound(read_or_refuse(lambda: read_ubl(source(mutated), "acme-nl", NOW)))


@FUZZ
@given(st.text(max_size=400))
def test_random_text_never_crashes_the_csv_reader(text: str) -> None:
    data = ("id;customer;issued;due;amount\n" + text).encode()
    assert_sound(read_or_refuse(lambda: list(read_csv(source(data), MAPPING, "acme-nl", NOW))))


@FUZZ
@given(st.sampled_from(sorted(INVOICE)), JSON_VALUES)
def test_a_mutated_invoice_is_refused_with_its_location_or_still_a_valid_invoice(
    field: str, value: Any
) -> None:
    data = {**INVOICE, field: value}
    parsed = parse_record({"type": "erp.invoice.issued.v1", "data": data}, "acme-nl", "/item")
    if isinstance(parsed, list):
        assert all(problem.location.startswith("/item/") for problem in parsed)
        return
    assert isinstance(parsed, ErpInvoice)
    assert isinstance(parsed.amount.amount_minor, int)
    if not invoice_problems(parsed, NOW):
        assert parsed.due_date >= parsed.issue_date
        assert parsed.amount.amount_minor > 0


@FUZZ
@given(JSON_VALUES)
def test_any_json_value_is_a_record_or_located_problems(value: Any) -> None:
    parsed = parse_record(value, "acme-nl", "/items/0")
    if isinstance(parsed, list):
        assert parsed
        assert all(problem.location.startswith("/items/0") for problem in parsed)


def nesting(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    return 0


@FUZZ
@given(JSON_VALUES)
def test_the_depth_scanner_agrees_with_the_parsed_nesting(value: Any) -> None:
    assert json_depth(json.dumps(value).encode()) == nesting(value)
    assert json_depth(json.dumps(value, ensure_ascii=False).encode()) == nesting(value)


@pytest.mark.parametrize(
    ("document", "depth"),
    [
        (rb'{"a": "[[[{{{"}', 1),
        (rb'{"a": "\"[[[", "b": [1]}', 2),
        (rb'["\\", [["\\\""]]]', 3),
        (rb'["]]]", [[]]]', 3),
        (rb'{"a": "\u005b\\[", "b": {"c": []}}', 3),
        (b"[]", 1),
        (b"42", 0),
    ],
)
def test_the_depth_scanner_is_not_fooled_by_brackets_quotes_or_escapes_in_strings(
    document: bytes, depth: int
) -> None:
    assert json_depth(document) == depth
    assert json_depth(document) == nesting(json.loads(document))
