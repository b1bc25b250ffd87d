import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from ingestion.bootstrap import SERVICE, IngestionSettings
from ingestion.entrypoints import cli
from settle_shared.clock import FixedClock
from settle_shared.events.topics import INVOICES
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 6, 12, 0, tzinfo=UTC)
MAPPING = """
records = "invoices"
locale = "nl_NL"
date_format = "%d-%m-%Y"
currency = "EUR"
sheet = "Facturen"

[columns]
invoice_id = "Factuur"
customer_id = "Debiteur"
issue_date = "Factuurdatum"
due_date = "Vervaldatum"
amount = "Bedrag"
payment_terms = "Betalingsconditie"

[values.payment_terms]
"14 dagen" = "NET14"
"""
HEADER = ["Factuur", "Debiteur", "Factuurdatum", "Vervaldatum", "Bedrag", "Betalingsconditie"]
ISSUED, DUE = datetime(2026, 10, 1), datetime(2026, 10, 31)
ACCEPTED = [
    ("F-2026-001", "1001", 123456),
    ("F-2026-002", "C-1002", 9950),
    ("F-2026-005", "C-1003", 123456),
]


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, IngestionSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


@pytest.fixture
def export(tmp_path: Path) -> tuple[str, str]:
    """A workbook whose invoices are on its second sheet, and the mapping that names it."""
    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "Toelichting"
    notes.append(["Export uit Exact Online"])
    sheet = book.create_sheet("Facturen")
    for row in (
        HEADER,
        ["F-2026-001", 1001, ISSUED, DUE, 1234.56, "14 dagen"],
        ["F-2026-002", "C-1002", "01-10-2026", "31-10-2026", "99,50", None],
        [],
        ["F-2026-004", "C-1002", ISSUED, datetime(2026, 10, 31, 16, 45), 12.345, None],
        ["F-2026-005", "C-1003", ISSUED, DUE, 197.93 + 1036.63, None],
    ):
        sheet.append(row)
    workbook_path, mapping_path = tmp_path / "facturen.xlsx", tmp_path / "facturen.toml"
    book.save(workbook_path)
    mapping_path.write_text(MAPPING, encoding="utf-8")
    return str(workbook_path), str(mapping_path)


async def run_import(
    database_url: str, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[dict[str, Any]]]:
    settings = IngestionSettings(database_url=database_url)
    status = await cli.run(["--tenant", "acme-nl", *argv], settings, FixedClock(NOW))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return status, lines


def accepted(invoice: dict[str, Any]) -> tuple[str, str, int]:
    return invoice["invoice_id"], invoice["customer_id"], invoice["amount"]["amount_minor"]


async def test_an_xlsx_export_is_imported_from_its_mapped_sheet_with_bad_cells_located(
    service: ServiceHarness,
    fresh_database: str,
    capsys: pytest.CaptureFixture[str],
    export: tuple[str, str],
) -> None:
    workbook, mapping = export

    status, lines = await run_import(fresh_database, capsys, workbook, "--mapping", mapping)

    assert status == cli.EXIT_REJECTIONS
    [rejection] = lines
    assert rejection["rejected"] == "sheet 'Facturen', row 5"
    assert [p["location"] for p in rejection["problems"]] == [
        "sheet 'Facturen', row 5, column D (Vervaldatum)",
        "sheet 'Facturen', row 5, column E (Bedrag)",
    ]
    await service.relay_outbox()
    events = sorted(payloads(service.published(INVOICES.name)), key=lambda e: e["invoice_id"])
    assert [accepted(event) for event in events] == ACCEPTED
    assert (events[0]["due_date"], events[0]["payment_terms"]) == ("2026-10-31", "NET14")
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM invoices") == 3


async def test_a_dry_run_of_an_xlsx_export_prints_its_events_and_changes_nothing(
    service: ServiceHarness,
    fresh_database: str,
    capsys: pytest.CaptureFixture[str],
    export: tuple[str, str],
) -> None:
    workbook, mapping = export

    status, lines = await run_import(
        fresh_database, capsys, workbook, "--mapping", mapping, "--dry-run"
    )

    assert status == cli.EXIT_REJECTIONS
    events = [line for line in lines if "event" in line]
    assert {(e["event"], e["topic"]) for e in events} == {
        ("settle.invoice.issued.v1", INVOICES.name)
    }
    assert sorted(accepted(event["data"]) for event in events) == ACCEPTED
    assert [line["rejected"] for line in lines if "rejected" in line] == ["sheet 'Facturen', row 5"]
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM invoices") == 0
        assert await connection.fetchval("SELECT count(*) FROM outbox") == 0


@pytest.fixture
def damaged(export: tuple[str, str], tmp_path: Path) -> str:
    """The export's workbook cut off halfway through."""
    workbook = Path(export[0])
    cut = tmp_path / "damaged.xlsx"
    cut.write_bytes(workbook.read_bytes()[: workbook.stat().st_size // 2])
    return str(cut)


async def test_a_damaged_workbook_is_reported_as_unreadable(
    service: ServiceHarness,
    fresh_database: str,
    capsys: pytest.CaptureFixture[str],
    export: tuple[str, str],
    damaged: str,
) -> None:
    status, lines = await run_import(fresh_database, capsys, damaged, "--mapping", export[1])

    assert status == cli.EXIT_UNREADABLE
    [line] = lines
    assert line["reason"] == "the file is not an .xlsx workbook (not a zip archive)"
