"""Use cases: accept what the ERP sends (customers, and the invoice lifecycle: issues, amendments,
cancellations, credit notes), store it, and announce each real change exactly once.

Every entry point runs the same two use cases, on one record (a topic event, a PUT) or thousands
(a batch request, a file import chunk), in the caller's transaction: validate each record, lock
every record touched, load what is held in a few queries, decide record by record in memory (so
two versions of one record in a batch are ordered like two requests), then write and queue the
events in bulk. One refused record never stops the others; the caller decides what a refusal
means (a dead letter, a problem document, a line in an import report).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ingestion.adapters.files import FileRecord
from ingestion.adapters.outbox import EventSink
from ingestion.adapters.repository import (
    IngestionRepository,
    StoredCreditNote,
    StoredCustomer,
    StoredInvoice,
)
from ingestion.domain.credit_notes import (
    CreditNoteContent,
    credit_note_problems,
    receive_credit_note,
)
from ingestion.domain.customers import CustomerChange, CustomerVersion, compare, customer_problems
from ingestion.domain.invoices import InvoiceContent, invoice_problems
from ingestion.domain.lifecycle import (
    Decision,
    InvoiceState,
    Outcome,
    Refusal,
    receive_cancellation,
    receive_version,
)
from ingestion.domain.records import ErpRecord
from ingestion.domain.timestamps import updated_at_problems
from settle_shared.consumer import Received
from settle_shared.db import Database, Transaction
from settle_shared.errors import InvalidMessage, Problem, RejectedMessage
from settle_shared.events.erp import (
    ErpCreditNoteIssued,
    ErpCustomerUpserted,
    ErpInvoiceAmended,
    ErpInvoiceCancelled,
    ErpInvoiceIssued,
)
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    CustomerUpserted,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.locks import customer_key
from settle_shared.registry import EventPayload

log = logging.getLogger(__name__)

InvoiceCommand = ErpInvoiceIssued | ErpInvoiceAmended | ErpInvoiceCancelled | ErpCreditNoteIssued


@dataclass(frozen=True)
class Accepted:
    """What became of a record, and the record as now held (a receipt needs no second read)."""

    outcome: Outcome | CustomerChange
    held: StoredCustomer | StoredInvoice | StoredCreditNote
    customer_known: bool = True

    @property
    def revision(self) -> int | None:
        if isinstance(self.held, StoredInvoice):
            return self.held.state.revision
        if isinstance(self.held, StoredCustomer):
            return self.held.revision
        return None


Result = Accepted | Refusal


# Topic consumers


def consumer_handler(
    outbox: EventSink,
) -> Callable[[Transaction, Received[ErpRecord]], Awaitable[None]]:
    """One handler for every ERP event type: a refused record becomes a dead letter."""

    async def handle(tx: Transaction, received: Received[ErpRecord]) -> None:
        [result] = await record(tx, outbox, received.payload.tenant, [received.payload])
        if isinstance(result, Refusal):
            raise InvalidMessage(result.reason, result.problems)

    return handle


def consumer_batch_handler(
    outbox: EventSink,
) -> Callable[[Transaction, Sequence[Received[ErpRecord]]], Awaitable[dict[int, RejectedMessage]]]:
    """Many ERP records in one transaction, tenant by tenant; the refused ones are returned to be
    dead-lettered, by position."""

    async def handle(
        tx: Transaction, batch: Sequence[Received[ErpRecord]]
    ) -> dict[int, RejectedMessage]:
        positions_by_tenant: dict[str, list[int]] = {}
        for position, received in enumerate(batch):
            positions_by_tenant.setdefault(received.payload.tenant, []).append(position)
        refused: dict[int, RejectedMessage] = {}
        for tenant, positions in positions_by_tenant.items():
            results = await record(tx, outbox, tenant, [batch[p].payload for p in positions])
            for position, result in zip(positions, results, strict=True):
                if isinstance(result, Refusal):
                    refused[position] = InvalidMessage(result.reason, result.problems)
        return refused

    return handle


async def record(
    tx: Transaction, outbox: EventSink, tenant: str, records: Sequence[ErpRecord]
) -> list[Result]:
    """Customers first, then the invoice lifecycle, each result at its record's position."""
    customers = [(i, r) for i, r in enumerate(records) if isinstance(r, ErpCustomerUpserted)]
    invoices = [(i, r) for i, r in enumerate(records) if not isinstance(r, ErpCustomerUpserted)]
    results: dict[int, Result] = {}
    if customers:
        outcomes = await record_customers(tx, outbox, tenant, [r for _, r in customers])
        results.update(zip([i for i, _ in customers], outcomes, strict=True))
    if invoices:
        outcomes = await record_invoice_events(tx, outbox, tenant, [r for _, r in invoices])
        results.update(zip([i for i, _ in invoices], outcomes, strict=True))
    return [results[i] for i in range(len(records))]


# Customers


async def record_customers(
    tx: Transaction, outbox: EventSink, tenant: str, customers: Sequence[ErpCustomerUpserted]
) -> list[Result]:
    """Store each newer, different version as the next revision; ignore stale and identical
    ones (an identical one still moves the stamp on, so older versions stay stale)."""
    now = tx.clock.now()
    results: list[Result | None] = [
        _invalid(f"customer {c.customer_id}", customer_problems(c, now)) for c in customers
    ]
    valid = [(i, c) for i, c in enumerate(customers) if results[i] is None]
    repository = IngestionRepository(tx.connection)
    await repository.lock(customer_key(tenant, c.customer_id) for _, c in valid)
    held = await repository.customers(tenant, (c.customer_id for _, c in valid))
    changed: dict[str, StoredCustomer] = {}
    restamped: dict[str, datetime] = {}
    events: list[EventPayload] = []
    for index, customer in valid:
        incoming = CustomerVersion.of(customer)
        stored = held.get(customer.customer_id)
        change = CustomerChange.CREATED if stored is None else compare(stored.version, incoming)
        if change is CustomerChange.STALE:
            _log_stale(customer, stored)
        elif change is CustomerChange.UNCHANGED:
            # Move the stamp on in memory too: a later record of this batch compares with it.
            assert stored is not None
            stamped = replace(
                stored, version=replace(stored.version, updated_at=customer.updated_at)
            )
            held[customer.customer_id] = stamped
            if customer.customer_id in changed:
                changed[customer.customer_id] = stamped
            else:
                restamped[customer.customer_id] = customer.updated_at
        else:
            revision = 1 if stored is None else stored.revision + 1
            accepted = StoredCustomer(
                tenant, customer.customer_id, customer.master, incoming, revision, now
            )
            held[customer.customer_id] = changed[customer.customer_id] = accepted
            events.append(_customer_upserted(accepted))
        results[index] = Accepted(change, held[customer.customer_id])
    await repository.save_customers(list(changed.values()))
    await repository.advance_customers(
        tenant, {k: v for k, v in restamped.items() if k not in changed}
    )
    await outbox.publish(tx, events)
    return _complete(results)


def _log_stale(customer: ErpCustomerUpserted, stored: StoredCustomer | None) -> None:
    log.info(
        "stale customer version ignored",
        extra={
            "tenant": customer.tenant,
            "customer_id": customer.customer_id,
            "updated_at": customer.updated_at.isoformat(),
            "stored_updated_at": stored.version.updated_at.isoformat() if stored else None,
        },
    )


def _customer_upserted(customer: StoredCustomer) -> CustomerUpserted:
    return CustomerUpserted(
        tenant=customer.tenant,
        customer_id=customer.customer_id,
        master=customer.master,
        revision=customer.revision,
        updated_at=customer.version.updated_at,
        received_at=customer.received_at,
    )


# The invoice lifecycle


@dataclass
class _Ledger:
    """What a batch holds and changes while it is decided, record by record."""

    tenant: str
    now: datetime
    invoices: dict[str, InvoiceState]
    known_customers: set[str]
    notes: dict[str, StoredCreditNote]
    credited: dict[str, int]
    changed_invoices: dict[str, InvoiceState] = field(default_factory=dict)
    new_notes: list[StoredCreditNote] = field(default_factory=list)
    events: list[EventPayload] = field(default_factory=list)


async def record_invoice_events(
    tx: Transaction, outbox: EventSink, tenant: str, commands: Sequence[InvoiceCommand]
) -> list[Result]:
    now = tx.clock.now()
    results: list[Result | None] = [_invalid(_describe(c), _problems(c, now)) for c in commands]
    valid = [(i, c) for i, c in enumerate(commands) if results[i] is None]
    invoice_ids = {c.invoice_id for _, c in valid if c.invoice_id is not None}
    note_ids = {c.credit_note_id for _, c in valid if isinstance(c, ErpCreditNoteIssued)}
    repository = IngestionRepository(tx.connection)
    await repository.lock(
        [f"{tenant}:invoice:{i}" for i in invoice_ids]
        + [f"{tenant}:credit-note:{n}" for n in note_ids]
    )
    held = await repository.invoices(tenant, invoice_ids)
    # Only credit notes need the notes held and what they credit: a plain batch of invoices
    # costs two queries fewer.
    ledger = _Ledger(
        tenant=tenant,
        now=now,
        invoices={invoice_id: stored.state for invoice_id, stored in held.items()},
        known_customers=await repository.known_customers(tenant, (c.customer_id for _, c in valid)),
        notes=await repository.credit_notes(tenant, note_ids) if note_ids else {},
        credited=await repository.credited(tenant, invoice_ids) if note_ids else {},
    )
    for index, command in valid:
        results[index] = _decide(ledger, command)
    await repository.save_invoices(
        [StoredInvoice(tenant, i, state) for i, state in ledger.changed_invoices.items()]
    )
    await repository.add_credit_notes(ledger.new_notes)
    await outbox.publish(tx, ledger.events)
    return _complete(results)


def _decide(ledger: _Ledger, command: InvoiceCommand) -> Result:
    if isinstance(command, ErpCreditNoteIssued):
        return _decide_credit_note(ledger, command)
    held = ledger.invoices.get(command.invoice_id)
    if isinstance(command, ErpInvoiceCancelled):
        decision = receive_cancellation(
            held,
            command.invoice_id,
            command.customer_id,
            command.updated_at,
            command.reason,
            now=ledger.now,
        )
    else:
        decision = receive_version(
            held,
            command.invoice_id,
            InvoiceContent.of(command),
            command.updated_at,
            customer_known=command.customer_id in ledger.known_customers,
            now=ledger.now,
        )
    if isinstance(decision, Refusal):
        return decision
    if decision.state is not held:
        ledger.invoices[command.invoice_id] = decision.state
        ledger.changed_invoices[command.invoice_id] = decision.state
    event = _invoice_event(ledger.tenant, command, decision)
    if event is not None:
        ledger.events.append(event)
    return Accepted(
        decision.outcome,
        StoredInvoice(ledger.tenant, command.invoice_id, decision.state),
        customer_known=decision.state.content.customer_id in ledger.known_customers,
    )


def _decide_credit_note(ledger: _Ledger, note: ErpCreditNoteIssued) -> Result:
    held = ledger.notes.get(note.credit_note_id)
    invoice = ledger.invoices.get(note.invoice_id) if note.invoice_id else None
    credited = ledger.credited.get(note.invoice_id, 0) if note.invoice_id else 0
    decision = receive_credit_note(held.held if held else None, note, invoice, credited)
    if isinstance(decision, Refusal):
        return decision
    if held is not None:
        return Accepted(decision, held)
    stored = StoredCreditNote(
        ledger.tenant,
        note.credit_note_id,
        CreditNoteContent.of(note),
        note.reason,
        note.updated_at,
        ledger.now,
    )
    ledger.notes[note.credit_note_id] = stored
    ledger.new_notes.append(stored)
    if note.invoice_id:
        ledger.credited[note.invoice_id] = credited + note.amount.amount_minor
    ledger.events.append(_credit_note_issued(stored))
    return Accepted(decision, stored)


def _invoice_event(tenant: str, command: InvoiceCommand, decision: Decision) -> EventPayload | None:
    state = decision.state
    content = state.content
    fields: dict[str, Any] = {
        "tenant": tenant,
        "customer_id": content.customer_id,
        "invoice_id": command.invoice_id,
        "invoice_number": content.invoice_number,
        "revision": state.revision,
        "received_at": state.received_at,
    }
    whole_invoice: dict[str, Any] = {
        **fields,
        "issue_date": content.issue_date,
        "due_date": content.due_date,
        "amount": content.amount,
        "payment_reference": content.payment_reference,
        "payment_terms": content.payment_terms,
    }
    if decision.outcome is Outcome.ISSUED:
        if state.received_before_customer:
            log.info(
                "invoice accepted before its customer",
                extra={"tenant": tenant, "invoice_id": command.invoice_id},
            )
        return InvoiceIssued(**whole_invoice)
    if decision.outcome is Outcome.AMENDED:
        reason = command.reason if isinstance(command, ErpInvoiceAmended) else None
        return InvoiceAmended(**whole_invoice, changes=list(decision.changes), reason=reason)
    if decision.outcome is Outcome.CANCELLED:
        return InvoiceCancelled(**fields, reason=state.cancel_reason)
    return None


def _credit_note_issued(note: StoredCreditNote) -> CreditNoteIssued:
    content = note.content
    return CreditNoteIssued(
        tenant=note.tenant,
        customer_id=content.customer_id,
        credit_note_id=note.credit_note_id,
        credit_note_number=content.credit_note_number,
        invoice_id=content.invoice_id,
        issue_date=content.issue_date,
        amount=content.amount,
        reason=note.reason,
        received_at=note.received_at,
    )


def _problems(command: InvoiceCommand, now: datetime) -> list[Problem]:
    if isinstance(command, ErpCreditNoteIssued):
        return credit_note_problems(command, now)
    if isinstance(command, ErpInvoiceCancelled):
        return updated_at_problems(command.updated_at, now)
    return invoice_problems(command, now)


def _describe(command: InvoiceCommand) -> str:
    if isinstance(command, ErpCreditNoteIssued):
        return f"credit note {command.credit_note_id}"
    if isinstance(command, ErpInvoiceCancelled):
        return f"the cancellation of invoice {command.invoice_id}"
    return f"invoice {command.invoice_id}"


def _invalid(what: str, problems: list[Problem]) -> Refusal | None:
    if not problems:
        return None
    return Refusal(
        "invalid",
        "validation-failed",
        "The record is not valid",
        f"{what} breaks {len(problems)} rule(s)",
        tuple(problems),
    )


def _complete(results: list[Result | None]) -> list[Result]:
    complete = [result for result in results if result is not None]
    assert len(complete) == len(results), "every record has a result"
    return complete


# File imports


@dataclass(frozen=True)
class Rejection:
    location: str
    reason: str
    problems: tuple[Problem, ...]


@dataclass
class ImportReport:
    outcomes: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(self.outcomes.values()) + len(self.rejections)


async def import_records(
    db: Database,
    sink: EventSink,
    tenant: str,
    records: Iterable[FileRecord],
    *,
    chunk_size: int = 500,
    dry_run: bool = False,
) -> ImportReport:
    """Import a file's records, a chunk per transaction (a failure loses at most one chunk, and
    importing the file again completes it: what was imported is a duplicate). A dry run decides
    everything in one transaction that is rolled back: nothing is stored or published."""
    report = ImportReport()
    async with db.pool.acquire() as connection:
        outer = connection.transaction()
        if dry_run:
            await outer.start()
        try:
            for chunk in _chunks(records, chunk_size, report):
                if dry_run:
                    tx = Transaction(connection, db.outbox, db.clock)
                    await _import_chunk(tx, sink, tenant, chunk, report)
                    continue
                async with connection.transaction():
                    tx = Transaction(connection, db.outbox, db.clock)
                    await _import_chunk(tx, sink, tenant, chunk, report)
        finally:
            if dry_run:
                await outer.rollback()
    return report


def _chunks(
    records: Iterable[FileRecord], size: int, report: ImportReport
) -> Iterator[list[FileRecord]]:
    chunk: list[FileRecord] = []
    for file_record in records:
        if file_record.record is None:
            report.rejections.append(
                Rejection(
                    file_record.location,
                    f"{file_record.location} breaks {len(file_record.problems)} rule(s)",
                    file_record.problems,
                )
            )
            continue
        chunk.append(file_record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _import_chunk(
    tx: Transaction,
    sink: EventSink,
    tenant: str,
    chunk: list[FileRecord],
    report: ImportReport,
) -> None:
    results = await record(tx, sink, tenant, [r.record for r in chunk if r.record is not None])
    for file_record, result in zip(chunk, results, strict=True):
        if isinstance(result, Refusal):
            located = tuple(file_record.located(result.problems))
            report.rejections.append(Rejection(file_record.location, result.reason, located))
        else:
            outcome = str(result.outcome)
            report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
