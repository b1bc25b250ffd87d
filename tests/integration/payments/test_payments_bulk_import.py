"""A large statement is imported in chunks: every entry accounted for, every payment matched or
queued once, every event published once, and an import cut short resumes without crediting
anything twice."""

import asyncio
import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from payments import statement_import
from payments.adapters.ledger import LedgerRepository
from payments.bootstrap import SERVICE, Components, PaymentsSettings
from payments.domain.matching import Tolerance
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import CreditNoteIssued, CustomerUpserted, InvoiceIssued
from settle_shared.events.topics import PAYMENTS
from settle_shared.outbox import OutboxBatch
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bank import Portfolio
from settle_simulators.camt_generator import (
    GeneratedStatement,
    sized_portfolio,
    write_large_statement,
)

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
TENANT = "acme-nl"
KEY = "key-acme-0123456789"
ENTRIES = 2_000

RECEIVED = "settle.payment.received.v1"
MATCHED = "settle.payment.matched.v1"
UNMATCHED = "settle.payment.unmatched.v1"
SETTLED = "settle.invoice.settled.v1"
PARTIALLY_PAID = "settle.invoice.partially-paid.v1"


@pytest.fixture(scope="module")
def book() -> Portfolio:
    return sized_portfolio(ENTRIES, seed=7)


@pytest.fixture(scope="module")
def statement_file(book: Portfolio) -> tuple[bytes, GeneratedStatement]:
    out = io.BytesIO()
    written = write_large_statement(out, book, "STMT-BULK-0001", NOW)
    return out.getvalue(), written


@pytest.fixture
async def service(fresh_database: str, book: Portfolio) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, PaymentsSettings(database_url=fresh_database), FixedClock(NOW)
    )
    for payload in _open_item_book(book):
        harness.publish(payload)
    await harness.consume()
    await _learn_known_accounts(harness, book)
    yield harness
    await harness.close()


def _open_item_book(
    book: Portfolio,
) -> list[CustomerUpserted | InvoiceIssued | CreditNoteIssued]:
    customers: list[CustomerUpserted | InvoiceIssued | CreditNoteIssued] = [
        CustomerUpserted.model_validate(
            {
                "tenant": TENANT,
                "customer_id": customer.customer_id,
                "master": {**CUSTOMER_EXAMPLE["master"], "name": customer.name},
                "revision": 1,
                "updated_at": NOW,
                "received_at": NOW,
            }
        )
        for customer in book.customers
    ]
    items: list[CustomerUpserted | InvoiceIssued | CreditNoteIssued] = [
        CreditNoteIssued(
            tenant=TENANT,
            customer_id=item.customer_id,
            credit_note_id=item.item_id,
            credit_note_number=item.number,
            issue_date=item.issue_date,
            amount=item.amount,
            received_at=NOW,
        )
        if item.credit
        else InvoiceIssued(
            tenant=TENANT,
            customer_id=item.customer_id,
            invoice_id=item.item_id,
            invoice_number=item.number,
            issue_date=item.issue_date,
            due_date=item.due_date,
            amount=item.amount,
            payment_reference=item.payment_reference,
            revision=1,
            received_at=NOW,
        )
        for item in book.items
    ]
    return customers + items


async def _learn_known_accounts(service: ServiceHarness, book: Portfolio) -> None:
    """The bank's history: accounts earlier matches taught (no event carries them)."""
    await service.pool.executemany(
        """INSERT INTO payer_accounts (tenant, account, customer_id, confirmations, updated_at)
           VALUES ($1, $2, $3, 1, $4)""",
        [(TENANT, account, customer, NOW) for account, customer in book.known_accounts().items()],
    )


async def _import(service: ServiceHarness, xml: bytes) -> statement_import.ImportReport:
    assert isinstance(service.wiring.state, Components)
    return await statement_import.import_statements(
        service.wiring.state.db, TENANT, io.BytesIO(xml), Tolerance()
    )


async def _relay_everything(service: ServiceHarness) -> None:
    while await service.relay_outbox():
        pass


def _events(service: ServiceHarness, ce_type: str) -> list[dict[str, Any]]:
    return payloads(service.published(PAYMENTS.name, ce_type))


async def _count(pool: asyncpg.Pool, table: str) -> int:
    count: int = await pool.fetchval(f"SELECT count(*) FROM {table}")
    return count


async def test_every_entry_of_a_large_statement_is_booked_and_every_payment_matched_or_queued(
    service: ServiceHarness, book: Portfolio, statement_file: tuple[bytes, GeneratedStatement]
) -> None:
    xml, written = statement_file

    report = await _import(service, xml)
    await _relay_everything(service)

    [imported] = report.statements
    assert imported.status == "imported"
    assert imported.counts["credit"] == written.credits == len(book.payments)
    assert imported.counts["debit"] == written.debits
    assert await _count(service.pool, "statement_entries") == ENTRIES
    assert await _count(service.pool, "booked_entries") == ENTRIES
    assert await _count(service.pool, "payments") == len(book.payments)
    received = {event["payment_id"] for event in _events(service, RECEIVED)}
    matched = [event["payment_id"] for event in _events(service, MATCHED)]
    unmatched = [event["payment_id"] for event in _events(service, UNMATCHED)]
    assert len(received) == len(book.payments) == len(_events(service, RECEIVED))
    assert sorted(matched + unmatched) == sorted(received)
    assert imported.counts["matched"] == len(matched) > 0.85 * len(book.payments)
    assert imported.counts["unmatched"] == len(unmatched)


async def test_the_events_of_a_large_import_agree_with_what_is_stored(
    service: ServiceHarness, statement_file: tuple[bytes, GeneratedStatement]
) -> None:
    await _import(service, statement_file[0])
    await _relay_everything(service)

    last_word: dict[str, str] = {}
    for record in service.published(PAYMENTS.name):
        event = payloads([record])[0]
        if "invoice_id" in event and "open_amount" in event:
            last_word[event["invoice_id"]] = "partially paid"
        elif "invoice_id" in event and "settled_at" in event:
            last_word[event["invoice_id"]] = "settled"
    rows = await service.pool.fetch(
        "SELECT invoice_id, settled_at, paid_minor FROM open_items WHERE paid_minor > 0"
    )
    stored = {
        row["invoice_id"]: "settled" if row["settled_at"] else "partially paid" for row in rows
    }
    assert last_word == stored
    allocated = await service.pool.fetchval(
        """SELECT coalesce(sum(amount_minor), 0) FROM allocations
           WHERE source = 'bank' AND kind = 'invoice'"""
    )
    paid = await service.pool.fetchval("SELECT coalesce(sum(paid_minor), 0) FROM open_items")
    assert allocated == paid > 0
    settled_events = _events(service, SETTLED)
    assert all(event["payment_ids"] for event in settled_events)
    assert len(settled_events) + len(_events(service, PARTIALLY_PAID)) >= len(
        _events(service, MATCHED)
    )


async def test_a_large_statement_uploaded_twice_credits_nothing_twice(
    service: ServiceHarness, statement_file: tuple[bytes, GeneratedStatement]
) -> None:
    await _import(service, statement_file[0])
    await _relay_everything(service)
    events_before = len(service.published(PAYMENTS.name))

    again = await _import(service, statement_file[0])
    await _relay_everything(service)

    assert [report.status for report in again.statements] == ["already_imported"]
    assert len(service.published(PAYMENTS.name)) == events_before
    assert await _count(service.pool, "payments") == len(_events(service, RECEIVED))


async def test_an_import_cut_short_resumes_where_it_stopped_without_crediting_twice(
    service: ServiceHarness,
    book: Portfolio,
    statement_file: tuple[bytes, GeneratedStatement],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(statement_import, "CHUNK_ENTRIES", 300)
    import_chunk = statement_import._import_chunk
    chunks = Counter[str]()

    async def dies_in_the_fourth_chunk(*arguments: Any) -> None:
        chunks["started"] += 1
        if chunks["started"] == 4:
            raise ConnectionResetError("the process died")
        await import_chunk(*arguments)

    monkeypatch.setattr(statement_import, "_import_chunk", dies_in_the_fourth_chunk)
    with pytest.raises(ConnectionResetError):
        await _import(service, statement_file[0])
    assert await _count(service.pool, "statement_entries") == 900

    report = await _import(service, statement_file[0])
    await _relay_everything(service)

    assert report.statements[0].status == "imported"
    assert report.statements[0].counts["credit"] + report.statements[0].counts["debit"] == 1100
    assert await _count(service.pool, "statement_entries") == ENTRIES
    assert await _count(service.pool, "payments") == len(book.payments)
    received = [event["payment_id"] for event in _events(service, RECEIVED)]
    assert sorted(received) == sorted(set(received))
    assert len(received) == len(book.payments)
    decided = _events(service, MATCHED) + _events(service, UNMATCHED)
    assert len(decided) == len(book.payments)
    assert await _import(service, statement_file[0]) == statement_import.ImportReport(
        (
            statement_import.StatementReport(
                "STMT-BULK-0001",
                report.statements[0].account,
                "already_imported",
                ENTRIES,
                Counter(),
            ),
        )
    )


@pytest.mark.parametrize(
    ("owner", "part"),
    [(LedgerRepository, "apply_to_invoices"), (OutboxBatch, "add")],
    ids=["the chunk's writes", "its events' outbox rows"],
)
async def test_a_chunk_failing_while_its_rows_and_events_are_written_leaves_nothing_of_itself(
    service: ServiceHarness,
    book: Portfolio,
    statement_file: tuple[bytes, GeneratedStatement],
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    part: str,
) -> None:
    """A chunk's rows are written while its events become outbox rows: whichever fails, the
    chunk commits nothing, the error is the caller's, and the connection serves the rest."""
    monkeypatch.setattr(statement_import, "CHUNK_ENTRIES", 300)
    original = getattr(owner, part)
    calls = Counter[str]()

    def fails_in_the_fourth_chunk(*arguments: Any) -> Any:
        calls["chunks"] += 1
        if calls["chunks"] == 4:
            raise ConnectionResetError("the disk is full")
        return original(*arguments)

    monkeypatch.setattr(owner, part, fails_in_the_fourth_chunk)
    if owner is OutboxBatch:
        # A chunk adds its events a slice at a time; fail on its first slice.
        monkeypatch.setattr(statement_import, "EVENTS_PER_TURN", 100_000)
    with pytest.raises(ConnectionResetError, match="the disk is full"):
        await _import(service, statement_file[0])
    first_payments = await _count(service.pool, "payments")

    assert await _count(service.pool, "statement_entries") == 900
    assert first_payments > 0
    assert first_payments == await service.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = $1", RECEIVED
    )
    monkeypatch.setattr(owner, part, original)
    report = await _import(service, statement_file[0])
    await _relay_everything(service)

    assert report.statements[0].status == "imported"
    assert await _count(service.pool, "statement_entries") == ENTRIES
    assert await _count(service.pool, "payments") == len(book.payments) > first_payments
    received = [event["payment_id"] for event in _events(service, RECEIVED)]
    assert len(received) == len(set(received)) == len(book.payments)


async def test_the_same_statement_uploaded_twice_at_once_credits_each_payment_once(
    service: ServiceHarness,
    book: Portfolio,
    statement_file: tuple[bytes, GeneratedStatement],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(statement_import, "CHUNK_ENTRIES", 250)

    first, second = await asyncio.gather(
        _import(service, statement_file[0]), _import(service, statement_file[0])
    )
    await _relay_everything(service)

    imported = first.statements[0].counts + second.statements[0].counts
    assert imported["credit"] + imported["debit"] == ENTRIES
    assert await _count(service.pool, "statement_entries") == ENTRIES
    assert await _count(service.pool, "payments") == len(book.payments)
    received = [event["payment_id"] for event in _events(service, RECEIVED)]
    assert len(received) == len(set(received)) == len(book.payments)
