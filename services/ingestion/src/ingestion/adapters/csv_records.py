"""CSV and spreadsheet exports, read row by row as the file streams, with the columns, number
and date formats and encoding their mapping declares. The rows of both are built into records
here: a CSV cell is text, a spreadsheet cell may also be a number, a date or a yes/no. Every
problem of a row is reported at its line (or sheet row) and column; a row with problems is
skipped and the file goes on."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
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

Cell = str | bool | int | float | Decimal | datetime | date | time | timedelta | None
"""A cell as a reader gives it: always text from a CSV file, typed from a spreadsheet."""

_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})
_SPACES = (" ", "\u00a0", "\u202f")
_SPREADSHEET_DIGITS = 15


def read_csv(
    source: IO[bytes], mapping: CsvMapping, tenant: str, imported_at: datetime
) -> Iterator[FileRecord]:
    csv.field_size_limit(MAX_CSV_FIELD_CHARACTERS)
    lines = _decoded_lines(source, mapping.encoding)
    rows = csv.reader(lines, delimiter=mapping.delimiter, quotechar=mapping.quotechar, strict=True)
    header = header_positions(_header_names(rows), mapping, "line 1")
    build = record_builder(mapping)
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
            location = f"line {rows.line_num}"
            row = MappedRow(location, header, cells, _numbered, mapping, tenant, imported_at)
            if len(cells) != len(header):
                message = f"{len(cells)} cells where the header has {len(header)}"
                row.problems.append(Problem(location, message))
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


def _header_names(rows: Any) -> list[str]:
    try:
        return list(next(rows))
    except StopIteration:
        raise UnreadableFile("the file is empty", [Problem("line 1", "no header row")]) from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise UnreadableFile(
            f"the header cannot be read: {error}", [Problem("line 1", str(error))]
        ) from error


def header_positions(names: Sequence[str], mapping: CsvMapping, where: str) -> dict[str, int]:
    """Each header name's position; refuses a header that lacks a column the mapping maps."""
    positions = {name.strip(): index for index, name in enumerate(names)}
    missing = [column for column in mapping.columns.values() if column not in positions]
    if missing:
        raise UnreadableFile(
            f"the header lacks {len(missing)} mapped column(s)",
            [Problem(where, f"no column {column!r}") for column in missing],
        )
    return positions


def _numbered(index: int) -> str:
    return str(index + 1)


def record_builder(mapping: CsvMapping) -> Callable[[MappedRow], FileRecord]:
    return _invoice if mapping.records == "invoices" else _customer


@dataclass
class MappedRow:
    """One row's cells by mapped field, and what is wrong with them. `label` names a column by
    its position (0-based): 1, 2, ... in a CSV file, A, B, ... in a sheet."""

    location: str
    header: dict[str, int]
    cells: Sequence[Cell]
    label: Callable[[int], str]
    mapping: CsvMapping
    tenant: str
    imported_at: datetime
    fields: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def where(self, name: str) -> str:
        column = self.mapping.columns[name]
        return f"{self.location}, column {self.label(self.header[column])} ({column})"

    def cell(self, name: str, pointer: str) -> Cell:
        """The cell's value (text in the contract's words when the mapping translates it), or
        None when it is empty or the field is not mapped."""
        if name not in self.mapping.columns:
            return None
        index = self.header[self.mapping.columns[name]]
        value = self.cells[index] if index < len(self.cells) else None
        self.fields[pointer] = self.where(name)
        if isinstance(value, str):
            return self.translated(name, value.strip()) or None
        return value

    def text(self, name: str, pointer: str) -> str | None:
        value = self.cell(name, pointer)
        if value is None or isinstance(value, str):
            return value
        return self.translated(name, _as_text(value))

    def translated(self, name: str, value: str) -> str:
        return self.mapping.values.get(name, {}).get(value, value)

    def parsed(self, name: str, pointer: str, parse: Callable[[str], Any]) -> Any:
        value = self.text(name, pointer)
        if value is None:
            return None
        return self._checked(name, value, lambda: parse(value))

    def _checked(self, name: str, value: Cell, convert: Callable[[], Any]) -> Any:
        try:
            return convert()
        except (ValueError, NumberFormatError, AmountError) as error:
            self.problems.append(Problem(self.where(name), _message(value, error)))
            return None

    def date(self, name: str) -> date | None:
        value = self.cell(name, f"/{name}")
        if value is None:
            return None
        pattern = self.mapping.date_format
        parsed: date | None = self._checked(name, value, lambda: _cell_date(value, pattern))
        return parsed

    def updated_at(self) -> datetime:
        value = self.cell("updated_at", "/updated_at")
        if value is None:
            return self.imported_at
        stamp: datetime | None = self._checked("updated_at", value, lambda: self._stamp(value))
        return stamp or self.imported_at

    def _stamp(self, value: Cell) -> datetime:
        if isinstance(value, str):
            pattern = self.mapping.timestamp_format
            stamp = datetime.strptime(value, pattern) if pattern else datetime.fromisoformat(value)
        elif isinstance(value, datetime):
            stamp = value
        else:
            raise ValueError("not a time: format the cell as a date and time, or as text")
        if stamp.tzinfo is not None:
            return stamp
        if self.mapping.time_zone is None:
            raise ValueError("the time has no offset and the mapping declares no time_zone")
        return stamp.replace(tzinfo=ZoneInfo(self.mapping.time_zone))

    def amount(self) -> dict[str, Any] | None:
        currency = self.text("currency", "/amount/currency") or self.mapping.currency
        value = self.cell("amount", "/amount")
        if value is None or currency is None:
            return None
        minor: int | None = self._checked(
            "amount", value, lambda: _minor_units(value, currency, self.mapping.locale)
        )
        return None if minor is None else {"amount_minor": minor, "currency": currency}


def _cell_date(value: Cell, pattern: str) -> date:
    if isinstance(value, str):
        return datetime.strptime(value, pattern).date()
    if isinstance(value, datetime):
        if value.time() != time.min:
            raise ValueError(
                "the date has a time of day: is this the right column? Format the cell as a "
                "date without a time"
            )
        return value.date()
    if isinstance(value, date):
        return value
    raise ValueError("not a date: format the cell as a date, or as text")


def _minor_units(value: Cell, currency: str, locale: str) -> int:
    if isinstance(value, str):
        return minor_units(_decimal(value, locale), currency)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise AmountError("not an amount: format the cell as a number, or as text")
    if not isinstance(value, float):
        return minor_units(Decimal(value), currency)
    minor = minor_units(_shown(value), currency)
    if abs(minor) >= 10 ** (_SPREADSHEET_DIGITS - 2):
        raise AmountError(
            f"a spreadsheet number keeps {_SPREADSHEET_DIGITS} significant digits, too few to "
            f"hold this amount exactly to {currency}'s minor unit: write it as text"
        )
    return minor


def _shown(value: float) -> Decimal:
    """A float cell as the spreadsheet shows it: to 15 significant digits, so that a formula's
    1234.5600000000002 (binary noise of a sum) is the 1234.56 on screen, while 12.345 stays
    12.345 and is refused for a currency of two decimals."""
    return Decimal(f"{value:.{_SPREADSHEET_DIGITS}g}")


def _as_text(value: Cell) -> str:
    """A typed cell in a text field: a customer number typed as a number is that number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{_shown(value).normalize():f}"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _decimal(text: str, locale: str) -> Decimal:
    if get_group_symbol(locale) in _SPACES:
        text = "".join(ch for ch in text if ch not in _SPACES)
    return parse_decimal(text, locale=locale, strict=True)


def _message(value: Cell, error: Exception) -> str:
    text = value if isinstance(value, str) else _as_text(value)
    return f"{text!r}: {error}"


def _invoice(row: MappedRow) -> FileRecord:
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


def _customer(row: MappedRow) -> FileRecord:
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


def _contacts(row: MappedRow) -> list[dict[str, str]]:
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


def _postal_address(row: MappedRow) -> dict[str, Any] | None:
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
