"""What every file reader yields: ERP records, each with where it was found in the file, or the
problems that kept it from being one. A file that cannot be read at all raises `UnreadableFile`."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ingestion.domain.records import ErpRecord
from settle_shared.errors import Problem


class FileFormat(StrEnum):
    CSV = "csv"
    UBL = "ubl"
    CII = "cii"
    JSONL = "jsonl"
    XLSX = "xlsx"


class UnreadableFile(Exception):
    def __init__(self, reason: str, problems: list[Problem]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems = problems


@dataclass(frozen=True)
class FileRecord:
    """One record of a file: `location` names it (a line, a document), `fields` where each field
    (by JSON pointer) came from, so a problem with `/due_date` points into the file."""

    location: str
    record: ErpRecord | None
    problems: tuple[Problem, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)

    def locate(self, pointer: str) -> str:
        """Where the field named by the pointer, or the nearest field holding it, was read."""
        parts = pointer.split("/")
        while len(parts) > 1:
            where = self.fields.get("/".join(parts))
            if where is not None:
                return where
            parts.pop()
        return f"{self.location}: {pointer}" if pointer else self.location

    def located(self, problems: tuple[Problem, ...] | list[Problem]) -> list[Problem]:
        return [Problem(self.locate(p.location), p.message) for p in problems]


def validated(
    model: Callable[[dict[str, Any]], ErpRecord],
    data: dict[str, Any],
    location: str,
    fields: Mapping[str, str],
    problems: list[Problem],
) -> FileRecord:
    """Build the record from the fields read, adding the schema's problems to the reader's."""
    if problems:
        return FileRecord(location, None, tuple(problems), fields)
    try:
        return FileRecord(location, model(data), (), fields)
    except ValidationError as error:
        found = [
            Problem("".join(f"/{part}" for part in detail["loc"]), detail["msg"])
            for detail in error.errors()
        ]
        unplaced = FileRecord(location, None, (), fields)
        return FileRecord(location, None, tuple(unplaced.located(found)), fields)


class CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read from it (for progress) and refuses to read past
    a limit, so that an oversized file is stopped while it streams. Wrap it in a buffer."""

    def __init__(self, raw: IO[bytes], limit: int, on_read: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._on_read = on_read
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._raw.read(len(buffer))
        self.consumed += len(chunk)
        if self.consumed > self._limit:
            raise UnreadableFile(
                f"the file is larger than the limit of {self._limit} bytes",
                [Problem(f"byte {self._limit}", "the file goes on past the limit")],
            )
        buffer[: len(chunk)] = chunk
        self._on_read(len(chunk))
        return len(chunk)


def counted(raw: IO[bytes], limit: int, on_read: Callable[[int], None]) -> io.BufferedReader:
    return io.BufferedReader(CountingReader(raw, limit, on_read))


def guess_format(path: Path, head: bytes) -> FileFormat | None:
    """The format a file is in, from its name and first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return FileFormat.CSV
    if suffix in (".jsonl", ".ndjson"):
        return FileFormat.JSONL
    if suffix == ".xlsx":
        return FileFormat.XLSX
    if b"urn:oasis:names:specification:ubl:schema:xsd:" in head:
        return FileFormat.UBL
    if b"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice" in head:
        return FileFormat.CII
    return None


Records = Iterator[FileRecord]
