import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingestion.bootstrap import SERVICE, IngestionSettings
from ingestion.entrypoints import cli
from settle_shared.clock import FixedClock
from settle_shared.events.topics import CUSTOMERS, INVOICES
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 6, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parents[2] / "fixtures"
INGESTION = FIXTURES / "ingestion"
UBL = FIXTURES / "corpora" / "ubl"
CII = FIXTURES / "corpora" / "cii"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, IngestionSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


async def run_import(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    now: datetime = NOW,
) -> tuple[int, list[dict[str, Any]]]:
    settings = IngestionSettings(database_url=database_url)
    status = await cli.run(["--tenant", "acme-nl", *argv], settings, FixedClock(now))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return status, lines


async def announced(service: ServiceHarness, topic: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(topic))


async def test_a_dutch_csv_export_is_imported_with_every_bad_row_located(
    service: ServiceHarness, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = await run_import(
        fresh_database,
        capsys,
        str(INGESTION / "invoices_exact_nl.csv"),
        "--mapping",
        str(INGESTION / "invoices_exact_nl.toml"),
    )

    assert status == cli.EXIT_REJECTIONS
    rejected = {line["rejected"]: line["problems"] for line in lines}
    assert [p["location"] for p in rejected["line 4"]] == [
        "line 4, column 4 (Vervaldatum)",
        "line 4, column 5 (Bedrag)",
    ]
    assert "more decimals than EUR's 2" in rejected["line 4"][1]["message"]
    assert [p["location"] for p in rejected["line 6"]] == ["line 6, column 4 (Vervaldatum)"]
    events = sorted(await announced(service, INVOICES.name), key=lambda e: e["invoice_id"])
    assert [(e["invoice_id"], e["amount"]["amount_minor"]) for e in events] == [
        ("F-2026-001", 123456),
        ("F-2026-002", 9950),
        ("F-2026-004", 4500),
    ]
    assert events[2]["payment_terms"] == "Café terms"


async def test_the_same_file_imported_again_publishes_nothing_new(
    service: ServiceHarness, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = (
        str(INGESTION / "invoices_exact_nl.csv"),
        "--mapping",
        str(INGESTION / "invoices_exact_nl.toml"),
    )
    await run_import(fresh_database, capsys, *arguments)
    await run_import(fresh_database, capsys, *arguments)

    assert len(await announced(service, INVOICES.name)) == 3


async def test_a_dry_run_prints_the_canonical_events_and_changes_nothing(
    service: ServiceHarness, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = await run_import(
        fresh_database,
        capsys,
        str(INGESTION / "customers_utf8_bom.csv"),
        "--mapping",
        str(INGESTION / "customers.toml"),
        "--dry-run",
    )

    assert status == cli.EXIT_REJECTIONS
    events = [line for line in lines if "event" in line]
    assert [e["event"] for e in events] == ["settle.customer.upserted.v1"] * 2
    first = events[0]
    assert (first["topic"], first["key"]) == (CUSTOMERS.name, "acme-nl:C-1001")
    master = first["data"]["master"]
    assert [c["role"] for c in master["contacts"]] == ["accounts_payable", "buyer", "legal"]
    assert master["strategic_account"] is True
    assert master["consented_channels"] == ["email", "sms"]
    assert master["codes"] == {"sector": "food", "size": "small", "region": "north"}
    [rejection] = [line for line in lines if "rejected" in line]
    assert rejection["problems"][0]["location"] == "line 4, column 12 (Key account)"
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM customers") == 0
        assert await connection.fetchval("SELECT count(*) FROM outbox") == 0


async def test_ubl_invoices_and_credit_notes_are_imported_and_a_bad_one_located(
    service: ServiceHarness, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = await run_import(
        fresh_database,
        capsys,
        str(UBL / "en16931_ubl_invoice_example1.xml"),
        str(UBL / "en16931_ubl_creditnote1.xml"),
        str(UBL / "en16931_ubl_invoice_example7_se.xml"),
        now=datetime(2020, 1, 10, tzinfo=UTC),
    )

    assert status == cli.EXIT_REJECTIONS
    [rejection] = [line for line in lines if "rejected" in line]
    assert [p["location"] for p in rejection["problems"]] == [
        "/Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID",
        "/Invoice/cbc:DueDate",
    ]
    [invoice] = [e for e in await announced(service, INVOICES.name) if "invoice_number" in e]
    [note] = [e for e in await announced(service, INVOICES.name) if "credit_note_id" in e]
    assert (invoice["invoice_id"], invoice["customer_id"]) == ("12115118", "10202")
    assert invoice["amount"] == {"amount_minor": 25033, "currency": "EUR"}
    assert invoice["payment_reference"] == "Deb. 10202 / Fact. 12115118"
    assert (note["credit_note_id"], note["amount"]["amount_minor"]) == ("018304 / 28865", 10011)


async def test_a_cii_invoice_is_imported_and_another_under_its_number_cannot_move_it(
    service: ServiceHarness, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = await run_import(
        fresh_database,
        capsys,
        str(CII / "en16931_cii_example3.xml"),
        now=datetime(2014, 1, 10, tzinfo=UTC),
    )
    status, lines = await run_import(
        fresh_database,
        capsys,
        str(CII / "en16931_cii_business_example_01.xml"),
        now=datetime(2014, 1, 11, tzinfo=UTC),
    )

    assert (first, status) == (0, cli.EXIT_REJECTIONS)
    [invoice] = await announced(service, INVOICES.name)
    assert (invoice["invoice_id"], invoice["customer_id"]) == ("TOSL108", "5790000435975")
    assert invoice["amount"] == {"amount_minor": 112500, "currency": "DKK"}
    assert (invoice["due_date"], invoice["payment_reference"]) == ("2013-05-10", "Payref1")
    [rejection] = [line for line in lines if "rejected" in line]
    assert [p["location"] for p in rejection["problems"]] == [
        "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
        "ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/ram:GlobalID",
        "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
        "ram:ApplicableHeaderTradeSettlement/ram:InvoiceCurrencyCode",
    ]
    assert "cannot change its customer or currency" in rejection["reason"]


async def test_json_lines_of_erp_records_are_imported(
    service: ServiceHarness,
    fresh_database: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    records = tmp_path / "records.jsonl"
    invoice = {
        "customer_id": "C-1",
        "invoice_id": "INV-1",
        "invoice_number": "1",
        "issue_date": "2026-11-02",
        "due_date": "2026-11-16",
        "amount": {"amount_minor": 1000, "currency": "EUR"},
        "updated_at": "2026-11-02T10:00:00Z",
    }
    records.write_text(
        json.dumps({"type": "erp.invoice.issued.v1", "data": invoice})
        + "\n{not json\n"
        + json.dumps({"type": "erp.invoice.issued.v1", "data": {**invoice, "amount": 10.5}})
        + "\n"
    )

    status, lines = await run_import(fresh_database, capsys, str(records))

    assert status == cli.EXIT_REJECTIONS
    assert [line["rejected"] for line in lines] == ["line 2", "line 3"]
    assert lines[1]["problems"][0]["location"].startswith("line 3: /data/amount")
    assert len(await announced(service, INVOICES.name)) == 1


async def test_an_unreadable_file_is_reported_with_its_location(
    service: ServiceHarness,
    fresh_database: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes((UBL / "en16931_ubl_invoice_example1.xml").read_bytes()[:3000])

    status, lines = await run_import(fresh_database, capsys, str(broken), "--format", "ubl")

    assert status == cli.EXIT_UNREADABLE
    [line] = lines
    assert "not well-formed XML" in line["reason"]
    assert line["problems"][0]["location"].startswith("line ")


async def test_the_import_command_runs_as_a_module(
    service: ServiceHarness, fresh_database: str
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ingestion",
        "import",
        str(INGESTION / "invoices_exact_nl.csv"),
        "--mapping",
        str(INGESTION / "invoices_exact_nl.toml"),
        "--tenant",
        "acme-nl",
        "--dry-run",
        env={**os.environ, "DATABASE_URL": fresh_database},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)

    assert process.returncode == cli.EXIT_REJECTIONS, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert sum(1 for line in lines if line.get("event") == "settle.invoice.issued.v1") == 3
    assert "dry run: nothing changed" in err.decode()
