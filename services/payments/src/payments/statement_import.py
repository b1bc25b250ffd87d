"""Importing bank statement files: every statement checked whole, then its entries booked and
their payments matched a chunk at a time, each chunk committed with the position it reached."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import islice
from typing import IO, Literal, TypeVar

from payments import corrections
from payments.adapters.ledger import AllocationRow, InvoiceChange, LedgerRepository
from payments.adapters.statement_files import read_statement_file
from payments.adapters.statements import ImportProgress, PaymentRecord, StatementRepository
from payments.domain.booking import (
    EntryKeys,
    KeyedEntry,
    PaymentLine,
    TakenBack,
    account_id,
    key_entries,
    payment_id,
    payment_lines,
    taken_back,
)
from payments.domain.checks import CheckedStatement, check_file
from payments.domain.ledger import InvoiceBalance
from payments.domain.matching import Allocation as MatchAllocation
from payments.domain.matching import (
    Decision,
    IncomingPayment,
    Matched,
    Tolerance,
    apply,
    clues_of,
    decide,
)
from payments.domain.statement import Entry, Statement, StatementItem, sections
from payments.events import (
    Arrival,
    balance_event,
    matched_event,
    payment_record,
    received_event,
    unmatched_event,
)
from settle_shared.db import Database, Transaction
from settle_shared.events.payments import PaymentSource
from settle_shared.outbox import OutboxBatch
from settle_shared.registry import EventPayload

CHUNK_ENTRIES = 1000
# Events turned into outbox rows between two looks at the chunk's writes (a few ms of CPU).
EVENTS_PER_TURN = 250
T = TypeVar("T")


class StatementConflict(Exception):
    """A statement with this id was imported before with different content."""

    def __init__(self, statement: Statement) -> None:
        super().__init__(
            f"statement {statement.statement_id} of account {statement.account.identifier} "
            "was imported before with different content"
        )


@dataclass(frozen=True)
class StatementReport:
    statement_id: str
    account: str
    status: Literal["imported", "already_imported"]
    entries: int
    counts: Counter[str]


@dataclass(frozen=True)
class ImportReport:
    statements: tuple[StatementReport, ...]

    @property
    def imported(self) -> bool:
        return any(report.status == "imported" for report in self.statements)


async def import_statements(
    db: Database, tenant: str, file: IO[bytes], tolerance: Tolerance
) -> ImportReport:
    """Check the whole file, then import it statement by statement, a chunk of entries per
    transaction. Nothing is applied unless every statement of the file reads and adds up."""
    # The file is read twice, in one helper thread: whole, to check it; then again, a chunk
    # ahead of the one being matched and written. Reading is compiled and cheaper than keeping
    # what the first pass read (memory must not grow with the file).
    with ThreadPoolExecutor(1, thread_name_prefix="statement-reader") as reader:
        loop = asyncio.get_running_loop()
        checked = await loop.run_in_executor(reader, check_file, _items(file))
        await _refuse_conflicts(db, tenant, checked)
        reports: list[StatementReport] = []
        current: _StatementImport | None = None
        async for item in _read_ahead(reader, _keyed_chunks(_items(file))):
            if isinstance(item, Statement):
                if current is not None:
                    reports.append(await current.finish())
                current = await _StatementImport.begin(
                    db, tenant, checked[item.number - 1], tolerance
                )
            else:
                assert current is not None, "a reader yields a statement before its entries"
                await current.add(item)
        if current is not None:
            reports.append(await current.finish())
    return ImportReport(tuple(reports))


def _items(file: IO[bytes]) -> Iterator[StatementItem]:
    """The file's statements and entries, read from its start when first asked for (in the
    reader thread)."""
    yield from read_statement_file(file)


def _keyed_chunks(items: Iterator[StatementItem]) -> Iterator[Statement | list[KeyedEntry]]:
    """Each statement, then its entries, keyed, a chunk at a time."""
    for statement, entries in sections(items):
        yield statement
        keys = EntryKeys()
        while chunk := key_entries(islice(entries, CHUNK_ENTRIES), keys):
            yield chunk


async def _read_ahead(reader: Executor, items: Iterator[T]) -> AsyncIterator[T]:
    """The items, each read in `reader` while the caller works on the one before."""
    loop = asyncio.get_running_loop()
    upcoming = loop.run_in_executor(reader, next, items, None)
    while (item := await upcoming) is not None:
        upcoming = loop.run_in_executor(reader, next, items, None)
        yield item


async def _refuse_conflicts(db: Database, tenant: str, checked: list[CheckedStatement]) -> None:
    async with db.pool.acquire() as connection:
        store = StatementRepository(connection)
        for item in checked:
            statement = item.statement
            known = await store.fingerprint(
                tenant, statement.account.identifier, statement.statement_id
            )
            if known is not None and known != item.fingerprint:
                raise StatementConflict(statement)


class _StatementImport:
    """One statement's import. Commit points: the statement row (with its fingerprint) first,
    then each chunk of entries in its own transaction together with the position it reached,
    then the mark that the whole statement is in. If the process dies after chunk 37 of 100,
    chunks 1-37 are committed whole and nothing of chunk 38 is; uploading the file again finds
    the statement unfinished and imports from chunk 38 on. Entry keys also keep an entry that
    another (overlapping) statement booked from being credited twice."""

    def __init__(
        self,
        db: Database,
        tenant: str,
        checked: CheckedStatement,
        tolerance: Tolerance,
        progress: ImportProgress,
    ) -> None:
        self.db = db
        self.tenant = tenant
        self.checked = checked
        self.tolerance = tolerance
        self.progress = progress
        self.counts: Counter[str] = Counter()

    @classmethod
    async def begin(
        cls, db: Database, tenant: str, checked: CheckedStatement, tolerance: Tolerance
    ) -> _StatementImport:
        statement = checked.statement
        async with db.transaction() as tx:
            store = StatementRepository(tx.connection)
            await store.lock_imports(tenant)
            progress = await store.lock_progress(
                tenant, statement.account.identifier, statement.statement_id
            )
            if progress is None:
                await store.save_statement(tenant, checked, tx.clock.now())
                progress = ImportProgress(checked.fingerprint, 0, completed=False)
            elif progress.fingerprint != checked.fingerprint:
                raise StatementConflict(statement)
        return cls(db, tenant, checked, tolerance, progress)

    async def add(self, chunk: list[KeyedEntry]) -> None:
        if self.progress.completed:
            return
        async with self.db.transaction() as tx:
            await _import_chunk(
                tx, self.tenant, self.checked.statement, chunk, self.tolerance, self.counts
            )

    async def finish(self) -> StatementReport:
        statement = self.checked.statement
        account = statement.account.identifier
        if self.progress.completed:
            return StatementReport(
                statement.statement_id, account, "already_imported", self.checked.entries, Counter()
            )
        async with self.db.transaction() as tx:
            await StatementRepository(tx.connection).complete(
                self.tenant, account, statement.statement_id, tx.clock.now()
            )
        return StatementReport(
            statement.statement_id, account, "imported", self.checked.entries, self.counts
        )


async def _import_chunk(
    tx: Transaction,
    tenant: str,
    statement: Statement,
    chunk: list[KeyedEntry],
    tolerance: Tolerance,
    counts: Counter[str],
) -> None:
    """Book a chunk's entries and match its payments. Entries an earlier (interrupted, or
    concurrent) upload of the same statement committed are skipped, by position."""
    account, statement_id = statement.account.identifier, statement.statement_id
    store = StatementRepository(tx.connection)
    await store.lock_imports(tenant)
    progress = await store.lock_progress(tenant, account, statement_id)
    assert progress is not None, "the statement row is committed before its first chunk"
    fresh = [keyed for keyed in chunk if keyed.entry.number > progress.imported_through]
    if not fresh:
        return
    first_reports = await store.book_entries(tenant, account, statement_id, fresh)
    await store.save_entries(tenant, account, statement_id, fresh, first_reports)
    backs = [
        back
        for keyed in fresh
        if keyed.key is not None and keyed.key in first_reports
        for back in taken_back(keyed.entry)
    ]
    # Payments sent back are locked before the invoices matching locks, the order in which a
    # person's match or unmatch locks them too.
    held = [await corrections.lock_sent_back(tx, tenant, account, back) for back in backs]
    arrivals: list[_Arrival] = []
    for keyed in fresh:
        counts[keyed.kind] += 1
        if keyed.key is not None and keyed.key not in first_reports:
            counts["already_booked"] += 1
        elif keyed.key is not None and keyed.kind == "credit":
            arrivals.extend(
                _Arrival(statement, keyed.entry, line, keyed.key)
                for line in payment_lines(keyed.entry)
            )
    for decision in await _receive_many(tx, tenant, arrivals, tolerance):
        counts["payments"] += 1
        counts["matched" if isinstance(decision, Matched) else "unmatched"] += 1
    await _send_back(tx, tenant, statement, backs, held, counts)
    await store.advance(tenant, account, statement_id, fresh[-1].entry.number)


async def _send_back(
    tx: Transaction,
    tenant: str,
    statement: Statement,
    backs: list[TakenBack],
    held: list[PaymentRecord | None],
    counts: Counter[str],
) -> None:
    """Send back what the chunk's debits name: a payment held since the chunk began, else one
    this chunk received (a payment may go back in the statement that booked it)."""
    account, statement_id = statement.account.identifier, statement.statement_id
    sent: set[str] = set()
    for back, locked in zip(backs, held, strict=True):
        payment = locked
        if payment is None or payment.payment_id in sent:
            payment = await corrections.lock_sent_back(tx, tenant, account, back)
        if payment is None:
            counts["sent_back_unknown"] += 1
            continue
        await corrections.send_back(tx, tenant, payment, back, statement_id)
        sent.add(payment.payment_id)
        counts["sent_back"] += 1


async def _receive_many(
    tx: Transaction, tenant: str, arrivals: list[_Arrival], tolerance: Tolerance
) -> list[Decision]:
    """`receive` for many payments at once: one look-up of every item they may pay, matched in
    order against it (a payment that settles an invoice is seen by the next one), then every
    change and event written in bulk."""
    if not arrivals:
        return []
    ledger = LedgerRepository(tx.connection)
    payments = [arrival.payment(tenant) for arrival in arrivals]
    clues = [clues_of(payment) for payment in payments]
    candidates = await ledger.open_items_for_many(tenant, payments, clues)
    decisions: list[Decision] = []
    for payment, payment_clues in zip(payments, clues, strict=True):
        decision = decide(payment, candidates.items, tolerance, payment_clues)
        apply(candidates.items, payment, decision)
        decisions.append(decision)
    paid = {a.invoice_id for d in decisions if isinstance(d, Matched) for a in d.invoices}
    book = _ChunkBook(
        tenant,
        tx.clock.now(),
        {invoice_id: candidates.balance(invoice_id) for invoice_id in paid},
        await ledger.payment_ids_of(tenant, paid),
    )
    for payment, arrival, decision in zip(payments, arrivals, decisions, strict=True):
        book.add(payment, arrival, decision)
    await book.save(tx, ledger)
    return decisions


class _ChunkBook:
    """What a chunk's decisions change and announce, gathered in order and written at once."""

    def __init__(
        self,
        tenant: str,
        now: datetime,
        balances: dict[str, InvoiceBalance],
        payment_ids: dict[str, list[str]],
    ) -> None:
        self.tenant = tenant
        self.now = now
        self.balances = balances
        self.payment_ids = payment_ids
        self.payments: list[tuple[PaymentRecord, int]] = []
        self.allocations: list[AllocationRow] = []
        self.changes: dict[str, InvoiceChange] = {}
        self.credits_used: Counter[str] = Counter()
        self.accounts: Counter[tuple[str, str]] = Counter()
        self.events: list[EventPayload] = []

    def add(self, payment: IncomingPayment, arrival: Arrival, decision: Decision) -> None:
        booked_on = payment.booked_on or self.now.date()
        record = payment_record(payment, arrival, decision, booked_on, self.now)
        matched = decision if isinstance(decision, Matched) else None
        self.payments.append((record, matched.unapplied_minor if matched else 0))
        self.events.append(received_event(self.tenant, payment, arrival, booked_on))
        if isinstance(decision, Matched):
            self._match(payment, decision)
        else:
            self.events.append(unmatched_event(self.tenant, payment, decision, self.now))

    def _match(self, payment: IncomingPayment, match: Matched) -> None:
        applied: list[tuple[MatchAllocation, InvoiceBalance]] = []
        for allocation in match.allocations:
            written_off = 0 if allocation.is_credit else allocation.written_off_minor
            self.allocations.append(
                AllocationRow(
                    payment.payment_id,
                    allocation.invoice_id,
                    allocation.amount,
                    written_off,
                    allocation.is_credit,
                )
            )
            if allocation.is_credit:
                self.credits_used[allocation.invoice_id] += allocation.amount_minor
            else:
                applied.append((allocation, self._pay(payment, allocation)))
        if match.teaches_account and payment.payer_account:
            self.accounts[(payment.payer_account, match.customer_id)] += 1
        self.events.append(matched_event(self.tenant, payment, match, True, self.now))
        for invoice, balance in applied:
            payment_ids = list(self.payment_ids[invoice.invoice_id])
            event = balance_event(self.tenant, invoice, balance, payment_ids, self.now)
            if event is not None:
                self.events.append(event)

    def _pay(self, payment: IncomingPayment, allocation: MatchAllocation) -> InvoiceBalance:
        invoice_id = allocation.invoice_id
        before = self.balances[invoice_id]
        after = replace(
            before,
            paid=before.paid + allocation.amount,
            written_off_minor=before.written_off_minor + allocation.written_off_minor,
        )
        self.balances[invoice_id] = after
        self.payment_ids[invoice_id].append(payment.payment_id)
        change = self.changes.get(invoice_id, InvoiceChange(invoice_id, 0, 0, None))
        self.changes[invoice_id] = InvoiceChange(
            invoice_id,
            change.paid_minor + allocation.amount_minor,
            change.written_off_minor + allocation.written_off_minor,
            after.settled if after.paid.amount_minor else change.settled,
        )
        return after

    async def save(self, tx: Transaction, ledger: LedgerRepository) -> None:
        # The chunk's rows are written while its events become outbox rows, so PostgreSQL
        # works on the one while Python works on the other. Only the writes use the
        # connection until both are done; the outbox rows are stored after them.
        writes = asyncio.create_task(self._write_rows(tx, ledger))
        try:
            batch = await _outbox_batch(tx, self.events)
        except BaseException:
            writes.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await writes
            raise
        await writes
        await tx.publish_batch(batch)

    async def _write_rows(self, tx: Transaction, ledger: LedgerRepository) -> None:
        await StatementRepository(tx.connection).save_payments(self.tenant, self.payments)
        await ledger.save_allocations(self.tenant, self.allocations, self.now)
        await ledger.apply_to_invoices(self.tenant, list(self.changes.values()), self.now)
        await ledger.use_credits(self.tenant, self.credits_used)
        await ledger.learn_accounts(self.tenant, self.accounts, self.now)


async def _outbox_batch(tx: Transaction, events: list[EventPayload]) -> OutboxBatch:
    """The events as outbox rows, a slice at a time: between slices the chunk's writes get to
    send their next statement."""
    batch = tx.outbox_batch()
    for start in range(0, len(events), EVENTS_PER_TURN):
        await asyncio.sleep(0)
        batch.add(events[start : start + EVENTS_PER_TURN])
    return batch


@dataclass(frozen=True)
class _Arrival:
    """Where a payment line was read: its statement and entry."""

    statement: Statement
    entry: Entry
    line: PaymentLine
    entry_key: str

    def payment(self, tenant: str) -> IncomingPayment:
        line = self.line
        return IncomingPayment(
            payment_id=payment_id(
                tenant, self.statement.account.identifier, self.entry_key, line.index
            ),
            amount=line.amount,
            payer_name=line.payer.name if line.payer else None,
            payer_account=account_id(line.payer),
            remittance=line.remittance,
            references=line.references,
            referred_documents=line.referred_documents,
            booked_on=self.entry.booking_date or self.entry.value_date,
        )

    @property
    def source(self) -> PaymentSource:
        return self.statement.source

    @property
    def account(self) -> str | None:
        return self.statement.account.identifier

    @property
    def statement_id(self) -> str | None:
        return self.statement.statement_id

    @property
    def value_date(self) -> date | None:
        return self.entry.value_date

    @property
    def end_to_end_id(self) -> str | None:
        return self.line.end_to_end_id

    @property
    def bank_reference(self) -> str | None:
        return self.line.bank_reference
