"""CSV and spreadsheet exports, read row by row as the file streams, with the columns, number
and date formats and encoding their mapping declares. Every problem of a row is reported at its
line and column; a row with problems is skipped and the file goes on."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from babel.numbers import NumberFormatError, get_group_symbol, parse_decimal

from ingestion.adapters.csv_mapping import CsvMapping
from ingestion.adapters.files import FileRecord, UnreadableFile, validated
from ingestion.domain.amounts import AmountError, minor_units
from ingestion.domain.limits import MAX_CSV_FIELD_CHARACTERS
from settle_shared.errors import Problem
from settle_shared.events.erp import ErpCustomerUpserted, ErpInvoiceIssued

_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})
_SPACES = (" ", "\u00a0", "\u202f")


def read_csv(
    source: IO[bytes], mapping: CsvMapping, tenant: str, imported_at: datetime
) -> Iterator[FileRecord]:
    csv.field_size_limit(MAX_CSV_FIELD_CHARACTERS)
    lines = _decoded_lines(source, mapping.encoding)
    rows = csv.reader(lines, delimiter=mapping.delimiter, quotechar=mapping.quotechar, strict=True)
    header = _header(rows, mapping)
    build = _invoice if mapping.records == "invoices" else _customer
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            raise UnreadableFile(
                f"line {rows.line_num + 1} cannot be read: {error}",
                [Problem(f"line {rows.line_num + 1}", str(error))],
            ) from error
        if any(cell.strip() for cell in cells):
            row = _Row(rows.line_num, header, cells, mapping, tenant, imported_at)
            yield build(row)


def _decoded_lines(source: IO[bytes], encoding: str) -> Iterator[str]:
    """The file's lines as text, decoded one by one so that a byte the encoding cannot read is
    reported at its own line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    for number, line in enumerate(source, start=1):
        try:
            yield decoder.decode(line)
        except UnicodeDecodeError as error:
            raise UnreadableFile(
                f"line {number} is not {encoding} text",
                [Problem(f"line {number}, byte {error.start + 1}", str(error.reason))],
            ) from error


def _header(rows: Any, mapping: CsvMapping) -> dict[str, int]:
    try:
        names = [name.strip() for name in next(rows)]
    except StopIteration:
        raise UnreadableFile("the file is empty", [Problem("line 1", "no header row")]) from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise UnreadableFile(
            f"the header cannot be read: {error}", [Problem("line 1", str(error))]
        ) from error
    positions = {name: index for index, name in enumerate(names)}
    missing = [column for column in mapping.columns.values() if column not in positions]
    if missing:
        raise UnreadableFile(
            f"the header lacks {len(missing)} mapped column(s)",
            [Problem("line 1", f"no column {column!r}") for column in missing],
        )
    return positions


@dataclass
class _Row:
    """One row's cells by mapped field, and what is wrong with them."""

    line: int
    header: dict[str, int]
    cells: list[str]
    mapping: CsvMapping
    tenant: str
    imported_at: datetime
    fields: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.header):
            self.problems.append(
                Problem(
                    f"line {self.line}",
                    f"{len(self.cells)} cells where the header has {len(self.header)}",
                )
            )

    @property
    def location(self) -> str:
        return f"line {self.line}"

    def where(self, name: str) -> str:
        column = self.mapping.columns[name]
        return f"line {self.line}, column {self.header[column] + 1} ({column})"

    def text(self, name: str, pointer: str) -> str | None:
        """The cell's text, in the contract's words when the mapping translates them."""
        if name not in self.mapping.columns:
            return None
        index = self.header[self.mapping.columns[name]]
        value = self.cells[index].strip() if index < len(self.cells) else ""
        self.fields[pointer] = self.where(name)
        return self.translated(name, value) or None

    def translated(self, name: str, value: str) -> str:
        return self.mapping.values.get(name, {}).get(value, value)

    def parsed(self, name: str, pointer: str, parse: Callable[[str], Any]) -> Any:
        value = self.text(name, pointer)
        if value is None:
            return None
        try:
            return parse(value)
        except (ValueError, NumberFormatError, AmountError) as error:
            self.problems.append(Problem(self.where(name), _message(value, error)))
            return None

    def date(self, name: str) -> date | None:
        pattern = self.mapping.date_format
        parsed: date | None = self.parsed(
            name, f"/{name}", lambda value: datetime.strptime(value, pattern).date()
        )
        return parsed

    def updated_at(self) -> datetime:
        stamp: datetime | None = self.parsed("updated_at", "/updated_at", self._timestamp)
        return stamp or self.imported_at

    def _timestamp(self, value: str) -> datetime:
        pattern = self.mapping.timestamp_format
        stamp = datetime.strptime(value, pattern) if pattern else datetime.fromisoformat(value)
        if stamp.tzinfo is not None:
            return stamp
        if self.mapping.time_zone is None:
            raise ValueError("the time has no offset and the mapping declares no time_zone")
        return stamp.replace(tzinfo=ZoneInfo(self.mapping.time_zone))

    def amount(self) -> dict[str, Any] | None:
        currency = self.text("currency", "/amount/currency") or self.mapping.currency
        text = self.text("amount", "/amount")
        if text is None or currency is None:
            return None
        try:
            minor = minor_units(_decimal(text, self.mapping.locale), currency)
        except (NumberFormatError, AmountError) as error:
            self.problems.append(Problem(self.where("amount"), _message(text, error)))
            return None
        return {"amount_minor": minor, "currency": currency}


def _decimal(text: str, locale: str) -> Decimal:
    if get_group_symbol(locale) in _SPACES:
        text = "".join(ch for ch in text if ch not in _SPACES)
    return parse_decimal(text, locale=locale, strict=True)


def _message(value: str, error: Exception) -> str:
    return f"{value!r}: {error}"


def _invoice(row: _Row) -> FileRecord:
    invoice_id = row.text("invoice_id", "/invoice_id")
    data = {
        "tenant": row.tenant,
        "customer_id": row.text("customer_id", "/customer_id"),
        "invoice_id": invoice_id,
        "invoice_number": row.text("invoice_number", "/invoice_number") or invoice_id,
        "issue_date": row.date("issue_date"),
        "due_date": row.date("due_date"),
        "amount": row.amount(),
        "payment_reference": row.text("payment_reference", "/payment_reference"),
        "payment_terms": row.text("payment_terms", "/payment_terms"),
        "updated_at": row.updated_at(),
    }
    if "invoice_number" not in row.mapping.columns:
        row.fields["/invoice_number"] = row.fields["/invoice_id"]
    return validated(ErpInvoiceIssued.model_validate, data, row.location, row.fields, row.problems)


def _customer(row: _Row) -> FileRecord:
    master: dict[str, Any] = {
        name: row.text(name, f"/master/{name}")
        for name in ("name", "country", "language", "time_zone", "registration_number")
    }
    master["vat_number"] = row.text("vat_number", "/master/vat_number")
    master["preferred_channel"] = row.text("preferred_channel", "/master/preferred_channel")
    channels = row.text("consented_channels", "/master/consented_channels")
    if channels is not None:
        master["consented_channels"] = [
            row.translated("consented_channels", channel.strip())
            for channel in channels.split(row.mapping.list_separator)
        ]
    master["strategic_account"] = row.parsed(
        "strategic_account", "/master/strategic_account", _flag
    )
    master["contacts"] = _contacts(row)
    master["postal_address"] = _postal_address(row)
    master["codes"] = {
        name.removeprefix("codes."): value
        for name in row.mapping.columns
        if name.startswith("codes.") and (value := row.text(name, "/master/codes")) is not None
    }
    data = {
        "tenant": row.tenant,
        "customer_id": row.text("customer_id", "/customer_id"),
        "master": {name: value for name, value in master.items() if value is not None},
        "updated_at": row.updated_at(),
    }
    return validated(
        ErpCustomerUpserted.model_validate, data, row.location, row.fields, row.problems
    )


def _contacts(row: _Row) -> list[dict[str, str]]:
    contacts: list[dict[str, str]] = []
    for role in ("accounts_payable", "buyer", "legal", "other"):
        pointer = f"/master/contacts/{len(contacts)}"
        contact = {
            attribute: value
            for attribute in ("name", "email", "phone", "language")
            if (value := row.text(f"contacts.{role}.{attribute}", f"{pointer}/{attribute}"))
        }
        if contact:
            contacts.append({"role": role, **contact})
    return contacts


def _postal_address(row: _Row) -> dict[str, Any] | None:
    pointer = "/master/postal_address"
    lines = [
        line
        for number in range(1, 5)
        if (line := row.text(f"postal_address.line{number}", f"{pointer}/lines"))
    ]
    parts = {
        part: row.text(f"postal_address.{part}", f"{pointer}/{part}")
        for part in ("postal_code", "city", "country")
    }
    if not lines and not any(parts.values()):
        return None
    return {"lines": lines, **{k: v for k, v in parts.items() if v is not None}}


def _flag(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError("not a yes/no value (true, false, yes, no, 1, 0; or map it in [values])")
