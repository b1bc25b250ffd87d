"""Spreadsheet exports in Office Open XML (.xlsx), read with the same mapping as a CSV export.

The workbook streams: openpyxl reads it in read-only mode, one row of one sheet at a time, so a
large sheet never sits in memory. Before openpyxl sees the file its archive is checked, so that a
zip bomb, an encrypted workbook or a file that is no workbook at all is refused with the reason.
A cell holds text, a number or a date; each is read as what it is (see csv_records.MappedRow).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from ingestion.adapters.csv_mapping import CsvMapping
from ingestion.adapters.csv_records import Cell, MappedRow, header_positions, record_builder
from ingestion.adapters.files import FileRecord, UnreadableFile
from ingestion.domain.limits import (
    MAX_CSV_FIELD_CHARACTERS,
    MAX_FILE_BYTES,
    MAX_XLSX_COLUMNS,
    MAX_XLSX_DIRECTORY_BYTES,
    MAX_XLSX_LOADED_PART_BYTES,
    MAX_XLSX_ROWS,
    MAX_XLSX_UNCOMPRESSED_BYTES,
)
from settle_shared.errors import Problem

# A password-protected workbook is not a zip but an OLE compound file, like a legacy .xls.
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The end records of a zip archive (APPNOTE 4.3.14-16): where its directory's size is declared.
_END_RECORD = b"PK\x05\x06"
_END_RECORD_BYTES = 22
_LONGEST_COMMENT = 0xFFFF
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_BYTES = 20
_ZIP64_END_RECORD = b"PK\x06\x06"
_WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
_BROKEN = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    KeyError,
    ValueError,
    SyntaxError,
    InvalidFileException,
)
"""What a corrupt archive or part raises in zipfile and openpyxl (XML errors are SyntaxErrors;
defusedxml, which openpyxl uses when installed, refuses DTDs and entities with ValueErrors)."""


@dataclass
class XlsxSheet:
    """The mapped sheet of an open workbook, ready to stream."""

    workbook: Workbook
    sheet: ReadOnlyWorksheet
    mapping: CsvMapping
    declared_rows: int | None
    """The row count the sheet declares (its dimension), for progress; it may be missing or
    wrong, so it never limits what is read."""

    def records(
        self, tenant: str, imported_at: datetime, on_row: Callable[[], None]
    ) -> Iterator[FileRecord]:
        """The sheet's records, one per non-empty row after the header; `on_row` is called for
        every row read. The workbook is closed when the records end."""
        try:
            yield from self._records(tenant, imported_at, on_row)
        finally:
            self.workbook.close()

    def _records(
        self, tenant: str, imported_at: datetime, on_row: Callable[[], None]
    ) -> Iterator[FileRecord]:
        title = self.sheet.title
        names = self._header(f"sheet {title!r}, row 1")
        on_row()
        header = header_positions(names, self.mapping, f"sheet {title!r}, row 1")
        build = record_builder(self.mapping)
        rows = _values(self.sheet, min_row=2, max_col=len(names))
        for number, values in enumerate(rows, start=2):
            on_row()
            location = f"sheet {title!r}, row {number}"
            if number > MAX_XLSX_ROWS:
                raise _too_large(f"more than {MAX_XLSX_ROWS} rows", location)
            cells = [_cell(value) for value in values]
            if any(cell is not None and cell != "" for cell in cells):
                problems = _cut_long_cells(cells, location, names)
                yield build(
                    MappedRow(
                        location,
                        header,
                        cells,
                        _letter,
                        self.mapping,
                        tenant,
                        imported_at,
                        problems=problems,
                    )
                )

    def _header(self, where: str) -> list[str]:
        with closing(
            _values(self.sheet, min_row=1, max_row=1, max_col=MAX_XLSX_COLUMNS + 1)
        ) as first:
            values = list(next(first, ()))
        while values and values[-1] in (None, ""):
            values.pop()
        if len(values) > MAX_XLSX_COLUMNS:
            raise _too_large(f"more than {MAX_XLSX_COLUMNS} columns", where)
        if not values:
            raise UnreadableFile("the sheet is empty", [Problem(where, "no header row")])
        return ["" if value is None else str(value) for value in values]


def open_sheet(source: IO[bytes], mapping: CsvMapping) -> XlsxSheet:
    """The sheet the mapping names (else the first) of the workbook in `source`, a seekable
    binary file, once the archive has been checked."""
    _check_archive(source)
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except _BROKEN as error:
        raise _corrupt(error) from error
    try:
        sheet = _sheet(workbook, mapping.sheet)
    except UnreadableFile:
        workbook.close()
        raise
    declared_rows = sheet.max_row
    # The declared dimension may be wrong (some writers leave it at A1); reading stops only
    # where the sheet's rows do.
    sheet.reset_dimensions()
    return XlsxSheet(workbook, sheet, mapping, declared_rows)


def _check_archive(source: IO[bytes]) -> None:
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    if size > MAX_FILE_BYTES:
        raise _too_large(f"the file is larger than the limit of {MAX_FILE_BYTES} bytes", "file")
    if source.read(len(_OLE_SIGNATURE)) == _OLE_SIGNATURE:
        raise UnreadableFile(
            "the workbook is password-protected or a legacy .xls, not an .xlsx",
            [
                Problem(
                    "byte 1", "an OLE compound file: save the workbook as .xlsx without a password"
                )
            ],
        )
    directory = _directory_bytes(source, size)
    if directory is not None and directory > MAX_XLSX_DIRECTORY_BYTES:
        raise _too_large(
            f"its zip directory takes {directory} bytes, more than the limit of "
            f"{MAX_XLSX_DIRECTORY_BYTES}",
            "archive",
        )
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except _BROKEN as error:
        raise UnreadableFile(
            "the file is not an .xlsx workbook (not a zip archive)", [Problem("file", str(error))]
        ) from error
    source.seek(0)
    _check_members(members)


def _directory_bytes(source: IO[bytes], size: int) -> int | None:
    """The size of the archive's directory as its end record declares it, read before zipfile
    parses the directory whole; None without an end record (zipfile then refuses the file)."""
    start = max(0, size - _END_RECORD_BYTES - _LONGEST_COMMENT)
    source.seek(start)
    tail = source.read()
    at = tail.rfind(_END_RECORD)
    if at < 0 or len(tail) - at < _END_RECORD_BYTES:
        return None
    declared = _number(tail[at + 12 : at + 16])
    if declared != 0xFFFFFFFF or start + at < _ZIP64_LOCATOR_BYTES:
        return declared
    source.seek(start + at - _ZIP64_LOCATOR_BYTES)
    locator = source.read(_ZIP64_LOCATOR_BYTES)
    if not locator.startswith(_ZIP64_LOCATOR):
        return declared
    source.seek(_number(locator[8:16]))
    record = source.read(56)
    return _number(record[40:48]) if record.startswith(_ZIP64_END_RECORD) else declared


def _number(little_endian: bytes) -> int:
    return int.from_bytes(little_endian, "little")


def _check_members(members: Sequence[zipfile.ZipInfo]) -> None:
    """zipfile never unpacks more than a member declares (a member that holds more fails its
    checksum), so the declared sizes bound what the workbook can cost."""
    encrypted = [member.filename for member in members if member.flag_bits & 0x1]
    if encrypted:
        raise UnreadableFile(
            "the workbook's archive is encrypted",
            [Problem(name, "an encrypted archive member") for name in encrypted],
        )
    total = sum(member.file_size for member in members)
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise _too_large(
            f"the workbook unpacks to {total} bytes, more than the limit of "
            f"{MAX_XLSX_UNCOMPRESSED_BYTES}",
            "archive",
        )
    for member in members:
        whole = not _WORKSHEET_PART.fullmatch(member.filename)
        if whole and member.file_size > MAX_XLSX_LOADED_PART_BYTES:
            raise _too_large(
                f"{member.filename} unpacks to {member.file_size} bytes, more than the limit of "
                f"{MAX_XLSX_LOADED_PART_BYTES} for a part read whole",
                member.filename,
            )


def _sheet(workbook: Workbook, name: str | None) -> ReadOnlyWorksheet:
    names = workbook.sheetnames
    chosen = name if name is not None else next(iter(names), None)
    if chosen is None or chosen not in names:
        raise UnreadableFile(
            f"the workbook has no sheet {chosen!r}" if chosen else "the workbook has no sheet",
            [Problem("workbook", f"its sheets: {', '.join(map(repr, names)) or 'none'}")],
        )
    sheet = workbook[chosen]
    if not isinstance(sheet, ReadOnlyWorksheet):
        raise UnreadableFile(
            f"the sheet {chosen!r} holds no cells (a chart sheet)",
            [Problem(f"sheet {chosen!r}", "not a worksheet")],
        )
    return sheet


def _values(
    sheet: ReadOnlyWorksheet, min_row: int, max_col: int, max_row: int | None = None
) -> Generator[tuple[object, ...]]:
    """The sheet's rows of cell values, each `max_col` wide (padded with None); a sheet that
    turns out damaged as it streams is refused there."""
    # The stubs borrow iter_rows from Worksheet, whose self type a ReadOnlyWorksheet is not.
    rows: Generator[tuple[object, ...]] = sheet.iter_rows(  # type: ignore[misc]
        min_row=min_row, max_row=max_row, max_col=max_col, values_only=True
    )
    try:
        yield from rows
    except _BROKEN as error:
        raise _corrupt(error) from error


def _cell(value: object) -> Cell:
    if value is None or isinstance(
        value, str | bool | int | float | Decimal | datetime | date | time | timedelta
    ):
        return value
    return str(value)


def _cut_long_cells(cells: list[Cell], location: str, names: list[str]) -> list[Problem]:
    """Empties every cell longer than a CSV field may be, each a problem of its row."""
    problems = []
    for index, cell in enumerate(cells):
        if isinstance(cell, str) and len(cell) > MAX_CSV_FIELD_CHARACTERS:
            where = f"{location}, column {_letter(index)} ({names[index]})"
            message = f"{len(cell)} characters, more than the limit of {MAX_CSV_FIELD_CHARACTERS}"
            problems.append(Problem(where, message))
            cells[index] = None
    return problems


def _letter(index: int) -> str:
    return get_column_letter(index + 1)


def _too_large(reason: str, where: str) -> UnreadableFile:
    return UnreadableFile(f"the workbook is too large: {reason}", [Problem(where, reason)])


def _corrupt(error: BaseException) -> UnreadableFile:
    """openpyxl wraps what went wrong in a general message; the precise reason is the cause."""
    while (cause := error.__cause__ or error.__context__) is not None:
        error = cause
    reason = str(error) or type(error).__name__
    return UnreadableFile(
        f"the workbook is damaged: {reason}",
        [Problem("workbook", f"{type(error).__name__}: {reason}")],
    )
