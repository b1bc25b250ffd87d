import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from ingestion.adapters.csv_mapping import CsvMapping
from ingestion.adapters.files import FileFormat, FileRecord, UnreadableFile, guess_format
from ingestion.adapters.xlsx import open_sheet
from ingestion.domain.limits import (
    MAX_CSV_FIELD_CHARACTERS,
    MAX_XLSX_COLUMNS,
    MAX_XLSX_DIRECTORY_BYTES,
    MAX_XLSX_LOADED_PART_BYTES,
    MAX_XLSX_ROWS,
)
from settle_shared.events.erp import ErpCustomerUpserted, ErpInvoiceIssued

NOW = datetime(2026, 11, 6, tzinfo=UTC)
INVOICE_HEADER = ["Factuur", "Debiteur", "Factuurdatum", "Vervaldatum", "Bedrag"]
CUSTOMER_HEADER = ["Klant", "Naam", "Land", "Taal", "Tijdzone", "Key account", "Gewijzigd"]


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def invoices(*rows: list[Any]) -> bytes:
    return workbook({"Facturen": [INVOICE_HEADER, *rows]})


def invoice_mapping(**changes: object) -> CsvMapping:
    return CsvMapping.model_validate(
        {
            "records": "invoices",
            "currency": "EUR",
            "locale": "nl_NL",
            "date_format": "%d-%m-%Y",
            "columns": {
                "invoice_id": "Factuur",
                "customer_id": "Debiteur",
                "issue_date": "Factuurdatum",
                "due_date": "Vervaldatum",
                "amount": "Bedrag",
            },
            **changes,
        }
    )


def customer_mapping(**changes: object) -> CsvMapping:
    return CsvMapping.model_validate(
        {
            "records": "customers",
            "time_zone": "Europe/Amsterdam",
            "columns": {
                "customer_id": "Klant",
                "name": "Naam",
                "country": "Land",
                "language": "Taal",
                "time_zone": "Tijdzone",
                "strategic_account": "Key account",
                "updated_at": "Gewijzigd",
            },
            **changes,
        }
    )


def read(data: bytes, mapping: CsvMapping, rows: list[int] | None = None) -> list[FileRecord]:
    sheet = open_sheet(io.BytesIO(data), mapping)
    counted = rows if rows is not None else []
    return list(sheet.records("acme-nl", NOW, lambda: counted.append(1)))


def amounts(records: list[FileRecord]) -> list[int]:
    return [
        record.record.amount.amount_minor
        for record in records
        if isinstance(record.record, ErpInvoiceIssued)
    ]


def replaced(data: bytes, part: str, content: bytes) -> bytes:
    """The workbook with one part's content replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            body = content if member.filename == part else source.read(member)
            target.writestr(member, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def refusal(data: bytes, mapping: CsvMapping | None = None) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as raised:
        read(data, mapping or invoice_mapping())
    return raised.value


DATES = [datetime(2026, 10, 1), datetime(2026, 10, 31)]


def test_numbers_typed_in_cells_become_minor_units_without_losing_or_inventing_cents() -> None:
    records = read(
        invoices(
            ["F-1", "C-1", *DATES, 1234.56],
            ["F-2", "C-1", *DATES, 1234],
            ["F-3", "C-1", *DATES, 0.1],
        ),
        invoice_mapping(),
    )

    assert amounts(records) == [123456, 123400, 10]


def test_a_float_with_binary_noise_is_read_as_the_spreadsheet_shows_it() -> None:
    noisy_sum = 197.93 + 1036.63
    assert repr(noisy_sum) == "1234.5600000000002"

    records = read(
        invoices(["F-1", "C-1", *DATES, noisy_sum], ["F-2", "C-1", *DATES, 0.1 + 0.2]),
        invoice_mapping(),
    )

    assert amounts(records) == [123456, 30]


def test_a_float_with_a_fraction_of_a_cent_is_refused_at_its_cell() -> None:
    [record] = read(invoices(["F-1", "C-1", *DATES, 12.345]), invoice_mapping())

    assert record.record is None
    [problem] = record.problems
    assert problem.location == "sheet 'Facturen', row 2, column E (Bedrag)"
    assert "more decimals than EUR's 2" in problem.message


def test_a_float_too_large_to_hold_its_cents_exactly_is_refused() -> None:
    [record] = read(invoices(["F-1", "C-1", *DATES, 123456789012345.67]), invoice_mapping())

    assert "15 significant digits" in record.problems[0].message


def test_a_currency_without_decimals_takes_whole_numbers_only() -> None:
    mapping = invoice_mapping(currency="JPY")

    records = read(invoices(["F-1", "C-1", *DATES, 1234.0], ["F-2", "C-1", *DATES, 12.5]), mapping)

    assert amounts(records) == [1234]
    assert "more decimals than JPY's 0" in records[1].problems[0].message


def test_text_cells_are_read_with_the_mappings_locale_and_date_format() -> None:
    [record] = read(
        invoices(["F-1", "C-1", "01-10-2026", "31-10-2026", "1.234,56"]), invoice_mapping()
    )

    assert isinstance(record.record, ErpInvoiceIssued)
    assert record.record.amount.amount_minor == 123456
    assert (record.record.issue_date.isoformat(), record.record.due_date.isoformat()) == (
        "2026-10-01",
        "2026-10-31",
    )


def test_date_cells_are_dates_and_a_time_of_day_in_a_date_column_is_refused() -> None:
    records = read(
        invoices(
            ["F-1", "C-1", *DATES, 10],
            ["F-2", "C-1", DATES[0], datetime(2026, 10, 31, 14, 30), 10],
            ["F-3", "C-1", DATES[0], 46000, 10],
        ),
        invoice_mapping(),
    )

    assert isinstance(records[0].record, ErpInvoiceIssued)
    assert records[0].record.due_date.isoformat() == "2026-10-31"
    assert records[1].problems[0].location == "sheet 'Facturen', row 3, column D (Vervaldatum)"
    assert "time of day" in records[1].problems[0].message
    assert "not a date" in records[2].problems[0].message


def test_an_empty_row_is_skipped_and_the_rows_after_it_keep_their_numbers() -> None:
    read_rows: list[int] = []

    records = read(
        invoices(["F-1", "C-1", *DATES, 10], [], [None, None], ["F-4", "C-1", *DATES, "x"]),
        invoice_mapping(),
        read_rows,
    )

    assert [record.location for record in records] == [
        "sheet 'Facturen', row 2",
        "sheet 'Facturen', row 5",
    ]
    assert records[1].problems[0].location == "sheet 'Facturen', row 5, column E (Bedrag)"
    assert len(read_rows) == 5


def test_every_problem_of_a_row_is_reported_at_its_cell() -> None:
    [record] = read(invoices(["F-1", "C-1", "1-13-2026", True, "12,345"]), invoice_mapping())

    assert [problem.location for problem in record.problems] == [
        "sheet 'Facturen', row 2, column C (Factuurdatum)",
        "sheet 'Facturen', row 2, column D (Vervaldatum)",
        "sheet 'Facturen', row 2, column E (Bedrag)",
    ]


def test_a_schema_problem_is_located_at_the_cell_it_came_from() -> None:
    [record] = read(invoices(["F-1", None, *DATES, 10]), invoice_mapping())

    assert record.record is None
    assert record.problems[0].location == "sheet 'Facturen', row 2, column B (Debiteur)"


def test_the_sheet_key_picks_the_customers_sheet_with_typed_cells() -> None:
    data = workbook(
        {
            "Facturen": [INVOICE_HEADER],
            "Klanten": [
                CUSTOMER_HEADER,
                [
                    1001,
                    "Bakkerij Jansen",
                    "NL",
                    "nl",
                    "Europe/Amsterdam",
                    True,
                    datetime(2026, 10, 1, 9, 30),
                ],
                [1002, "Slagerij Smit", "NL", "nl", "Europe/Amsterdam", "ja", None],
            ],
        }
    )

    records = read(
        data, customer_mapping(sheet="Klanten", values={"strategic_account": {"ja": "yes"}})
    )

    first, second = (record.record for record in records)
    assert isinstance(first, ErpCustomerUpserted)
    assert isinstance(second, ErpCustomerUpserted)
    assert first.customer_id == "1001"
    assert first.master.strategic_account is True
    assert first.updated_at.isoformat() == "2026-10-01T09:30:00+02:00"
    assert second.master.strategic_account is True
    assert second.updated_at == NOW


def test_without_a_sheet_key_the_first_sheet_is_read() -> None:
    data = workbook(
        {"Facturen": [INVOICE_HEADER, ["F-1", "C-1", *DATES, 10]], "Klanten": [CUSTOMER_HEADER]}
    )

    assert amounts(read(data, invoice_mapping())) == [1000]


def test_a_sheet_the_workbook_lacks_is_refused_naming_the_sheets_it_has() -> None:
    error = refusal(invoices(), invoice_mapping(sheet="Debiteuren"))

    assert error.reason == "the workbook has no sheet 'Debiteuren'"
    assert error.problems[0].message == "its sheets: 'Facturen'"


def test_a_header_without_a_mapped_column_is_refused_at_the_header_row() -> None:
    data = workbook({"Facturen": [["Factuur", "Debiteur", "Factuurdatum", "Bedrag"]]})

    error = refusal(data)

    assert [(p.location, p.message) for p in error.problems] == [
        ("sheet 'Facturen', row 1", "no column 'Vervaldatum'")
    ]


def test_a_cell_longer_than_a_field_may_be_is_a_problem_of_its_row() -> None:
    long_name = "x" * (MAX_CSV_FIELD_CHARACTERS + 1)

    [record] = read(invoices([long_name, "C-1", *DATES, 10]), invoice_mapping())

    assert record.record is None
    assert record.problems[0].location == "sheet 'Facturen', row 2, column A (Factuur)"
    assert "more than the limit" in record.problems[0].message


def test_a_header_wider_than_the_column_limit_is_refused() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(INVOICE_HEADER)
    sheet.cell(row=1, column=MAX_XLSX_COLUMNS + 1, value="Extra")
    buffer = io.BytesIO()
    book.save(buffer)

    error = refusal(buffer.getvalue())

    assert f"more than {MAX_XLSX_COLUMNS} columns" in error.reason


def test_a_sheet_running_past_the_row_limit_is_stopped_there() -> None:
    data = invoices(["F-1", "C-1", *DATES, 10])
    last = MAX_XLSX_ROWS + 1
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    far_row = f'<row r="{last}"><c r="A{last}" t="inlineStr"><is><t>F-9</t></is></c></row>'
    data = replaced(
        data,
        "xl/worksheets/sheet1.xml",
        sheet.replace(b"</sheetData>", far_row.encode() + b"</sheetData>"),
    )

    error = refusal(data)

    assert error.problems[0].location == f"sheet 'Facturen', row {last}"


def test_an_archive_declaring_a_huge_unpacked_size_is_refused_before_it_is_read() -> None:
    data = bytearray(invoices(["F-1", "C-1", *DATES, 10]))
    directory = data.find(b"PK\x01\x02")
    data[directory + 24 : directory + 28] = (0xFFFFFFF0).to_bytes(4, "little")

    error = refusal(bytes(data))

    assert error.reason.startswith("the workbook is too large: the workbook unpacks to")
    assert error.problems[0].location == "archive"


def declaring_directory_size(data: bytes, size: int, zip64: bool) -> bytes:
    """The archive with its end record (or a zip64 end record put before it) declaring a
    directory of `size` bytes."""
    end = data.rfind(b"PK\x05\x06")
    record = bytearray(data[end:])
    if not zip64:
        record[12:16] = size.to_bytes(4, "little")
        return data[:end] + bytes(record)
    record[12:16] = (0xFFFFFFFF).to_bytes(4, "little")
    zip64_end = (
        b"PK\x06\x06"
        + (44).to_bytes(8, "little")
        + bytes(12)
        + bytes(16)
        + size.to_bytes(8, "little")
        + bytes(8)
    )
    locator = b"PK\x06\x07" + bytes(4) + end.to_bytes(8, "little") + (1).to_bytes(4, "little")
    return data[:end] + zip64_end + locator + bytes(record)


@pytest.mark.parametrize("zip64", [False, True])
def test_an_archive_declaring_a_huge_directory_is_refused_before_it_is_parsed(
    zip64: bool,
) -> None:
    data = invoices(["F-1", "C-1", *DATES, 10])

    error = refusal(declaring_directory_size(data, MAX_XLSX_DIRECTORY_BYTES + 1, zip64))

    assert f"its zip directory takes {MAX_XLSX_DIRECTORY_BYTES + 1} bytes" in error.reason


def test_a_highly_compressible_part_read_whole_is_refused_before_it_is_read() -> None:
    data = invoices(["F-1", "C-1", *DATES, 10])
    bomb = replaced(data, "xl/styles.xml", b" " * (MAX_XLSX_LOADED_PART_BYTES + 1))
    assert len(bomb) < len(data) + 100_000

    error = refusal(bomb)

    assert error.problems[0].location == "xl/styles.xml"
    assert "part read whole" in error.reason


def test_a_file_that_is_no_zip_archive_is_refused() -> None:
    error = refusal(b"Factuur;Debiteur\nF-1;C-1\n")

    assert error.reason == "the file is not an .xlsx workbook (not a zip archive)"


def test_a_password_protected_workbook_is_refused_with_the_reason() -> None:
    error = refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))

    assert "password-protected" in error.reason


def test_a_truncated_workbook_is_refused_as_not_a_zip() -> None:
    data = invoices(["F-1", "C-1", *DATES, 10])

    error = refusal(data[: len(data) // 2])

    assert "not an .xlsx workbook" in error.reason


def test_a_zip_without_a_workbook_inside_is_refused_as_damaged() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")

    error = refusal(out.getvalue())

    assert error.reason.startswith("the workbook is damaged")


def test_a_sheet_whose_xml_breaks_off_is_refused_where_it_streams() -> None:
    data = invoices(["F-1", "C-1", *DATES, 10], ["F-2", "C-1", *DATES, 10])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    broken = sheet[: sheet.index(b"F-2")]
    records = open_sheet(
        io.BytesIO(replaced(data, "xl/worksheets/sheet1.xml", broken)), invoice_mapping()
    ).records("acme-nl", NOW, lambda: None)

    assert next(records).location == "sheet 'Facturen', row 2"
    with pytest.raises(UnreadableFile) as raised:
        next(records)
    assert raised.value.reason.startswith("the workbook is damaged: no element found")


def test_a_sheet_declaring_xml_entities_is_refused_before_they_expand() -> None:
    data = invoices(["F-1", "C-1", *DATES, 10])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    declaration = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    hostile = declaration + sheet

    error = refusal(replaced(data, "xl/worksheets/sheet1.xml", hostile))

    assert error.reason.startswith("the workbook is damaged: EntitiesForbidden")


def test_an_xlsx_file_is_recognised_by_its_name() -> None:
    assert guess_format(Path("export.XLSX"), b"PK\x03\x04") is FileFormat.XLSX
