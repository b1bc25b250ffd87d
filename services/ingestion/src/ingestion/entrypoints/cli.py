"""`python -m ingestion import FILE... --tenant T [--format F] [--mapping M] [--dry-run]`

Imports ERP files into the service's database, through the same use cases as the topics and the
HTTP API, streaming each file with a progress bar on standard error. Standard output gets JSON
lines: with `--dry-run`, every canonical event the import would publish
(`{"event", "topic", "key", "data"}`); always, every rejected record
(`{"rejected", "reason", "problems"}`). A dry run changes nothing: its one transaction is rolled
back and no event is queued. Exit status: 0 all accepted, 1 some records rejected, 2 a file
could not be read at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ingestion import handlers
from ingestion.adapters.cii import read_cii
from ingestion.adapters.csv_mapping import CsvMapping, load_mapping
from ingestion.adapters.csv_records import read_csv
from ingestion.adapters.files import FileFormat, FileRecord, UnreadableFile, counted, guess_format
from ingestion.adapters.jsonl import read_jsonl
from ingestion.adapters.outbox import CollectingSink, EventSink, TransactionalOutbox
from ingestion.adapters.ubl import read_ubl
from ingestion.adapters.xlsx import open_sheet
from ingestion.bootstrap import SERVICE, IngestionSettings
from ingestion.domain.limits import MAX_FILE_BYTES
from settle_shared.clock import Clock, SystemClock
from settle_shared.db import Database, create_pool
from settle_shared.outbox import OutboxWriter
from settle_shared.settings import TENANT_PATTERN

EXIT_REJECTIONS = 1
EXIT_UNREADABLE = 2


@dataclass(frozen=True)
class ImportRequest:
    files: list[Path]
    tenant: str
    file_format: FileFormat | None
    mapping: CsvMapping | None
    dry_run: bool
    chunk_size: int


def main(argv: Sequence[str]) -> int:
    """Run the import command with the service's settings; returns the exit status."""
    return asyncio.run(run(argv, IngestionSettings(), SystemClock()))


async def run(argv: Sequence[str], settings: IngestionSettings, clock: Clock) -> int:
    console = Console(stderr=True)
    try:
        request = _parse(argv)
    except UnreadableFile as error:
        _print_unreadable(console, error)
        return EXIT_UNREADABLE
    return await _import(request, settings, clock, console)


def _parse(argv: Sequence[str]) -> ImportRequest:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion import",
        description="Import ERP files: CSV and .xlsx exports (with a column mapping), UBL 2.1 "
        "and CII e-invoices, or JSON lines of ERP records.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--tenant", required=True, help="the tenant the records belong to")
    parser.add_argument("--format", choices=[f.value for f in FileFormat], default=None)
    parser.add_argument(
        "--mapping", type=Path, help="the column mapping (TOML) of a CSV or .xlsx file"
    )
    parser.add_argument("--dry-run", action="store_true", help="print, change nothing")
    parser.add_argument("--chunk-size", type=int, default=500, help="records per transaction")
    args = parser.parse_args(argv)
    if not TENANT_PATTERN.fullmatch(args.tenant):
        parser.error(f"{args.tenant!r} is not a valid tenant")
    return ImportRequest(
        files=args.files,
        tenant=args.tenant,
        file_format=FileFormat(args.format) if args.format else None,
        mapping=load_mapping(args.mapping) if args.mapping else None,
        dry_run=args.dry_run,
        chunk_size=max(1, args.chunk_size),
    )


async def _import(
    request: ImportRequest, settings: IngestionSettings, clock: Clock, console: Console
) -> int:
    pool = await create_pool(settings.database_url, 2)
    db = Database(pool, OutboxWriter(f"/settle/{SERVICE.name}", clock), clock)
    collected = CollectingSink()
    sink: EventSink = collected if request.dry_run else TransactionalOutbox()
    status = 0
    try:
        for path in request.files:
            try:
                report = await _import_file(db, sink, request, path, clock, console)
            except UnreadableFile as error:
                _print_unreadable(console, error, path)
                status = EXIT_UNREADABLE
                continue
            _print_events(collected)
            _print_rejections(report)
            _print_summary(console, path, report, request.dry_run)
            if report.rejections and status == 0:
                status = EXIT_REJECTIONS
    finally:
        await pool.close()
    return status


async def _import_file(
    db: Database,
    sink: EventSink,
    request: ImportRequest,
    path: Path,
    clock: Clock,
    console: Console,
) -> handlers.ImportReport:
    with path.open("rb") as raw:
        file_format = request.file_format or guess_format(path, raw.read(4096))
        raw.seek(0)
        if file_format is None:
            raise UnreadableFile(f"cannot tell the format of {path.name}; give --format", [])
        with _progress(console, by_rows=file_format is FileFormat.XLSX) as progress:
            task = progress.add_task(path.name, total=None)
            records = _reader(request, file_format, raw, _Progress(progress, task), clock.now())
            return await handlers.import_records(
                db,
                sink,
                request.tenant,
                records,
                chunk_size=request.chunk_size,
                dry_run=request.dry_run,
            )


@dataclass(frozen=True)
class _Progress:
    bar: Progress
    task: TaskID

    def expect(self, total: int | None) -> None:
        self.bar.update(self.task, total=total)

    def advance(self, amount: int = 1) -> None:
        self.bar.advance(self.task, amount)


def _reader(
    request: ImportRequest,
    file_format: FileFormat,
    raw: BinaryIO,
    progress: _Progress,
    imported_at: datetime,
) -> Iterator[FileRecord]:
    """The file's records; progress counts bytes read from a streamed file, rows of a sheet."""
    if file_format is FileFormat.XLSX:
        sheet = open_sheet(raw, _required_mapping(request, file_format))
        progress.expect(sheet.declared_rows)
        return sheet.records(request.tenant, imported_at, progress.advance)
    progress.expect(os.fstat(raw.fileno()).st_size)
    source = counted(raw, MAX_FILE_BYTES, progress.advance)
    readers: dict[FileFormat, Callable[[], Iterator[FileRecord]]] = {
        FileFormat.UBL: lambda: iter(read_ubl(source, request.tenant, imported_at)),
        FileFormat.CII: lambda: iter(read_cii(source, request.tenant, imported_at)),
        FileFormat.JSONL: lambda: read_jsonl(source, request.tenant),
        FileFormat.CSV: lambda: read_csv(
            source, _required_mapping(request, file_format), request.tenant, imported_at
        ),
    }
    return readers[file_format]()


def _required_mapping(request: ImportRequest, file_format: FileFormat) -> CsvMapping:
    if request.mapping is None:
        raise UnreadableFile(
            f"a {file_format.value} file needs its column mapping: give --mapping", []
        )
    return request.mapping


def _progress(console: Console, by_rows: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if by_rows else DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _print_events(collected: CollectingSink) -> None:
    for event in collected.events:
        _print_line(
            {
                "event": event.event_type.ce_type,
                "topic": event.event_type.topic.name,
                "key": event.partition_key(),
                "data": event.model_dump(mode="json"),
            }
        )
    collected.events.clear()


def _print_rejections(report: handlers.ImportReport) -> None:
    for rejection in report.rejections:
        _print_line(
            {
                "rejected": rejection.location,
                "reason": rejection.reason,
                "problems": [problem.as_dict() for problem in rejection.problems],
            }
        )


def _print_line(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")


def _print_summary(
    console: Console, path: Path, report: handlers.ImportReport, dry_run: bool
) -> None:
    table = Table(title=path.name)
    table.add_column("outcome")
    table.add_column("records", justify="right")
    for outcome, count in sorted(report.outcomes.items()):
        table.add_row(outcome, str(count))
    table.add_row(
        "rejected", str(len(report.rejections)), style="red" if report.rejections else None
    )
    console.print(table)
    if dry_run:
        console.print("dry run: nothing changed, nothing published")


def _print_unreadable(console: Console, error: UnreadableFile, path: Path | None = None) -> None:
    console.print(f"[red]{path.name + ': ' if path else ''}{error.reason}[/red]")
    for problem in error.problems:
        console.print(f"  {problem.location}: {problem.message}")
    _print_line(
        {
            "unreadable": str(path) if path else None,
            "reason": error.reason,
            "problems": [problem.as_dict() for problem in error.problems],
        }
    )
