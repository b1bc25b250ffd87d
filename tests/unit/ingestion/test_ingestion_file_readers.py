import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.adapters.cii import read_cii
from ingestion.adapters.csv_mapping import CsvMapping, load_mapping
from ingestion.adapters.csv_records import read_csv
from ingestion.adapters.files import FileFormat, UnreadableFile, counted, guess_format
from ingestion.adapters.ubl import read_ubl
from ingestion.domain.amounts import AmountError, minor_units
from ingestion.domain.limits import json_depth
from settle_shared.events.erp import ErpCreditNoteIssued, ErpInvoiceIssued

NOW = datetime(2026, 11, 6, tzinfo=UTC)
FIXTURES = Path(__file__).parents[2] / "fixtures"
UBL = FIXTURES / "corpora" / "ubl"
CII = FIXTURES / "corpora" / "cii"
INGESTION = FIXTURES / "ingestion"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol2;</Invoice>"""


def source(data: bytes) -> io.BufferedReader:
    return counted(io.BytesIO(data), 10**9, lambda _: None)


def mapping(**changes: object) -> CsvMapping:
    base: dict[str, object] = {
        "records": "invoices",
        "currency": "EUR",
        "columns": {
            "invoice_id": "id",
            "customer_id": "customer",
            "issue_date": "issued",
            "due_date": "due",
            "amount": "amount",
        },
    }
    return CsvMapping.model_validate({**base, **changes})


def test_every_ubl_and_cii_sample_is_read() -> None:
    for path in sorted(UBL.glob("*.xml")):
        [record] = read_ubl(source(path.read_bytes()), "acme-nl", NOW)
        assert record.record is not None or record.problems, path.name
    for path in sorted(CII.glob("*.xml")):
        [record] = read_cii(source(path.read_bytes()), "acme-nl", NOW)
        assert isinstance(record.record, ErpInvoiceIssued), path.name


def test_a_ubl_credit_note_becomes_an_erp_credit_note() -> None:
    [record] = read_ubl(source((UBL / "en16931_ubl_creditnote1.xml").read_bytes()), "acme-nl", NOW)
    assert isinstance(record.record, ErpCreditNoteIssued)
    assert (record.record.customer_id, record.record.invoice_id) == ("0000000295", None)
    assert record.record.updated_at == NOW


def test_a_document_with_a_doctype_is_refused_before_its_entities_are_touched() -> None:
    with pytest.raises(UnreadableFile, match="DOCTYPE"):
        read_ubl(source(BILLION_LAUGHS), "acme-nl", NOW)


def test_a_truncated_document_is_located_by_line_and_column() -> None:
    data = (UBL / "en16931_ubl_invoice_example1.xml").read_bytes()[:2000]
    with pytest.raises(UnreadableFile) as raised:
        read_cii(source(data), "acme-nl", NOW)
    assert raised.value.problems[0].location.startswith("line ")


def test_a_ubl_file_is_not_taken_for_cii() -> None:
    data = (UBL / "en16931_ubl_invoice_example1.xml").read_bytes()
    with pytest.raises(UnreadableFile, match="not a UN/CEFACT"):
        read_cii(source(data), "acme-nl", NOW)


def test_the_format_is_told_by_name_and_content() -> None:
    ubl = (UBL / "en16931_ubl_invoice_example1.xml").read_bytes()[:4096]
    cii = (CII / "en16931_cii_example3.xml").read_bytes()[:4096]
    assert guess_format(Path("a.xml"), ubl) is FileFormat.UBL
    assert guess_format(Path("b.xml"), cii) is FileFormat.CII
    assert guess_format(Path("c.CSV"), b"") is FileFormat.CSV
    assert guess_format(Path("d.jsonl"), b"") is FileFormat.JSONL
    assert guess_format(Path("e.bin"), b"\x00") is None


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.34", "EUR", 1234), ("12", "JPY", 12), ("1.005", "KWD", 1005), ("-3.10", "EUR", -310)],
)
def test_decimal_amounts_become_minor_units(text: str, currency: str, minor: int) -> None:
    assert minor_units(Decimal(text), currency) == minor


@pytest.mark.parametrize(("text", "currency"), [("12.345", "EUR"), ("1.5", "JPY"), ("1", "XYZ")])
def test_an_amount_that_would_lose_a_fraction_or_has_no_currency_is_refused(
    text: str, currency: str
) -> None:
    with pytest.raises(AmountError):
        minor_units(Decimal(text), currency)


def test_csv_amounts_follow_the_declared_locale() -> None:
    text = "id;customer;issued;due;amount\nI-1;C-1;2026-11-02;2026-11-16;1\u202f234,50\n"
    [record] = read_csv(
        source(text.encode()), mapping(delimiter=";", locale="fr_FR"), "acme-nl", NOW
    )
    assert isinstance(record.record, ErpInvoiceIssued)
    assert record.record.amount.amount_minor == 123450


def test_a_csv_without_a_mapped_column_is_unreadable_naming_it() -> None:
    text = "id,customer,issued,amount\nI-1,C-1,2026-11-02,10\n"
    with pytest.raises(UnreadableFile) as raised:
        list(read_csv(source(text.encode()), mapping(), "acme-nl", NOW))
    assert [p.message for p in raised.value.problems] == ["no column 'due'"]


def test_text_in_the_wrong_encoding_is_unreadable_at_its_line() -> None:
    text = "id,customer,issued,due,amount\nI-1,C-1,2026-11-02,2026-11-16,10\nI-\xe9,C,x,y,z\n"
    with pytest.raises(UnreadableFile, match="line 3 is not utf-8") as raised:
        list(read_csv(source(text.encode("cp1252")), mapping(), "acme-nl", NOW))
    assert raised.value.problems[0].location == "line 3, byte 3"


def test_a_row_with_missing_cells_says_so() -> None:
    text = "id,customer,issued,due,amount\nI-1,C-1,2026-11-02\n"
    [record] = read_csv(source(text.encode()), mapping(), "acme-nl", NOW)
    assert record.record is None
    assert record.problems[0].message == "3 cells where the header has 5"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('encoding = "klingon"\n[columns]\n', "'klingon' is not a known text encoding"),
        ('[columns]\nprice = "Price"\n', "unknown fields in [columns]: price"),
        ('[columns]\ninvoice_id = "Id"\n', "[columns] must map amount, currency, customer_id"),
    ],
)
def test_a_mapping_with_unknown_or_missing_fields_is_refused(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('records = "invoices"\n' + toml)
    with pytest.raises(UnreadableFile) as raised:
        load_mapping(path)
    assert message in " ".join(p.message for p in raised.value.problems)


def test_the_fixture_mappings_are_valid() -> None:
    assert load_mapping(INGESTION / "invoices_exact_nl.toml").encoding == "cp1252"
    assert load_mapping(INGESTION / "customers.toml").encoding == "utf-8-sig"


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{\\"]]"}]}') == 3
    assert json_depth(b"[" * 100 + b"]" * 100) == 100
    assert json_depth(b'"just a string"') == 0
