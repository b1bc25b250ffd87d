"""Use cases: keep open items and payer names current (invoices issued, amended, cancelled,
credited), import bank statements, match what came in, apply what the ERP applied, let a person
match and unmatch, and tell everyone what that did to each invoice."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import islice
from typing import IO, Literal, Protocol, TypeVar

from payments.adapters.ledger import (
    AllocationRow,
    ErpPayment,
    InvoiceChange,
    LedgerRepository,
    StoredInvoice,
)
from payments.adapters.statement_files import read_statement_file
from payments.adapters.statements import ImportProgress, PaymentRecord, StatementRepository
from payments.domain.booking import (
    EntryKeys,
    KeyedEntry,
    PaymentLine,
    account_id,
    key_entries,
    payment_id,
    payment_lines,
)
from payments.domain.checks import CheckedStatement, check_file
from payments.domain.ledger import InvoiceBalance
from payments.domain.matching import Allocation as MatchAllocation
from payments.domain.matching import (
    Decision,
    IncomingPayment,
    Matched,
    Tolerance,
    Unmatched,
    apply,
    clues_of,
    decide,
)
from payments.domain.matching import Evidence as _DomainEvidence
from payments.domain.references import check_reference
from payments.domain.statement import CreditorReference, Entry, Statement, sections
from settle_shared.consumer import Received
from settle_shared.db import Database, Transaction
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.erp import ErpPaymentRecorded
from settle_shared.events.ingestion import (
    CanonicalInvoice,
    CreditNoteIssued,
    CustomerUpserted,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import (
    Allocation,
    Evidence,
    InvoicePartiallyPaid,
    InvoiceSettled,
    PaymentMatched,
    PaymentReceived,
    PaymentSource,
    PaymentUnmatched,
    Suggestion,
)
from settle_shared.registry import EventPayload

log = logging.getLogger(__name__)

CHUNK_ENTRIES = 1000
T = TypeVar("T")


class _Invoice(Protocol):
    @property
    def invoice_id(self) -> str: ...

    @property
    def invoice_number(self) -> str: ...

    @property
    def customer_id(self) -> str: ...


# Consumers


async def customer_upserted(tx: Transaction, received: Received[CustomerUpserted]) -> None:
    event = received.payload
    await LedgerRepository(tx.connection).save_customer(
        event.tenant, event.customer_id, event.master.name, event.revision, tx.clock.now()
    )


async def invoice_issued(tx: Transaction, received: Received[InvoiceIssued]) -> None:
    await _invoice_changed(tx, received.payload)


async def invoice_amended(tx: Transaction, received: Received[InvoiceAmended]) -> None:
    """The invoice as it now is: its amount may have changed, and with it what stays open."""
    await _invoice_changed(tx, received.payload)


async def _invoice_changed(tx: Transaction, event: CanonicalInvoice) -> None:
    ledger = LedgerRepository(tx.connection)
    known = await ledger.invoice(event.tenant, event.invoice_id)
    if known is not None and known.revision >= event.revision:
        return
    if (
        known is not None
        and known.balance.paid.amount_minor
        and (known.balance.amount.currency != event.amount.currency)
    ):
        raise InvalidMessage(
            f"invoice {event.invoice_id} was paid in {known.balance.amount.currency}; "
            f"revision {event.revision} asks {event.amount.currency}",
            [Problem("/amount/currency", "differs from the currency already paid")],
        )
    await ledger.save_invoice(event, tx.clock.now())
    stored = await _stored(ledger, event.tenant, event.invoice_id)
    for credit_note_id, amount in await ledger.pending_credits(event.tenant, event.invoice_id):
        if amount.currency == event.amount.currency:
            await ledger.credit_invoice(
                event.tenant, event.invoice_id, credit_note_id, amount, tx.clock.now()
            )
    balance = await ledger.balance(event.tenant, event.invoice_id)
    assert balance is not None, "the invoice was just saved"
    if known is None or balance.open_amount != known.balance.open_amount:
        await _announce(tx, ledger, event.tenant, stored, balance)
    for payment in await ledger.pending_erp_payments(event.tenant, event.invoice_id):
        await _apply_erp_payment(
            tx, ledger, event.tenant, payment, await _stored(ledger, event.tenant, event.invoice_id)
        )


async def invoice_cancelled(tx: Transaction, received: Received[InvoiceCancelled]) -> None:
    """Nothing is owed on it any more: no payment is matched to it from now on."""
    event = received.payload
    await LedgerRepository(tx.connection).cancel_invoice(
        event.tenant, event.invoice_id, event.revision, tx.clock.now()
    )


async def credit_note_issued(tx: Transaction, received: Received[CreditNoteIssued]) -> None:
    """A credit note linked to an invoice reduces what is open on it (now, or when the invoice
    arrives); one linked to none is the customer's credit, netted when a payment pays an
    invoice less the credit."""
    event = received.payload
    ledger = LedgerRepository(tx.connection)
    if not await ledger.save_credit_note(event, tx.clock.now()) or event.invoice_id is None:
        return
    invoice = await ledger.invoice(event.tenant, event.invoice_id)
    if invoice is None:
        return
    if invoice.customer_id != event.customer_id:
        raise InvalidMessage(
            f"credit note {event.credit_note_id} is for customer {event.customer_id} but "
            f"invoice {event.invoice_id} belongs to {invoice.customer_id}",
            [Problem("/customer_id", "differs from the invoice's customer")],
        )
    if invoice.balance.amount.currency != event.amount.currency:
        raise InvalidMessage(
            f"credit note {event.credit_note_id} is in {event.amount.currency} but invoice "
            f"{event.invoice_id} is in {invoice.balance.amount.currency}",
            [Problem("/amount/currency", "differs from the invoice's currency")],
        )
    balance = await ledger.credit_invoice(
        event.tenant, event.invoice_id, event.credit_note_id, event.amount, tx.clock.now()
    )
    await _announce(tx, ledger, event.tenant, invoice, balance)


async def erp_payment_recorded(tx: Transaction, received: Received[ErpPaymentRecorded]) -> None:
    """The ERP applied a payment itself. Applied now if the invoice is known here, else as soon
    as it is (the ERP's payment can overtake the invoice through ingestion)."""
    event = received.payload
    ledger = LedgerRepository(tx.connection)
    invoice = await ledger.invoice(event.tenant, event.invoice_id)
    if not await ledger.record_erp_payment(event, tx.clock.now()):
        return
    if invoice is None:
        log.info("ERP payment for an invoice not known yet", extra={"payment": event.payment_id})
        return
    payment = ErpPayment(
        event.payment_id, event.customer_id, event.invoice_id, event.amount, event.paid_on
    )
    await _apply_erp_payment(tx, ledger, event.tenant, payment, invoice)


async def _apply_erp_payment(
    tx: Transaction,
    ledger: LedgerRepository,
    tenant: str,
    payment: ErpPayment,
    invoice: StoredInvoice,
) -> None:
    if payment.customer_id != invoice.customer_id:
        raise InvalidMessage(
            f"payment {payment.payment_id} names customer {payment.customer_id} but invoice "
            f"{invoice.invoice_id} belongs to {invoice.customer_id}",
            [Problem("/customer_id", "differs from the invoice's customer")],
        )
    if payment.amount.currency != invoice.balance.amount.currency:
        raise InvalidMessage(
            f"payment {payment.payment_id} is in {payment.amount.currency} but invoice "
            f"{invoice.invoice_id} is in {invoice.balance.amount.currency}",
            [Problem("/amount/currency", "differs from the invoice's currency")],
        )
    now = tx.clock.now()
    balance = await ledger.add_payment(
        tenant, invoice.invoice_id, "erp", payment.payment_id, payment.amount, now
    )
    await ledger.mark_erp_payment_applied(tenant, payment.payment_id, now)
    await _announce(tx, ledger, tenant, invoice, balance)


# Statement import


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
    # lxml must stay in the one thread that parses; the next chunk is read there while the
    # current one is matched and written.
    with ThreadPoolExecutor(1, thread_name_prefix="statement-reader") as reader:
        checked = await asyncio.get_running_loop().run_in_executor(reader, _check, file)
        await _refuse_conflicts(db, tenant, checked)
        file.seek(0)
        reports: list[StatementReport] = []
        current: _StatementImport | None = None
        async for item in _read_ahead(reader, _keyed_chunks(file)):
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


def _check(file: IO[bytes]) -> list[CheckedStatement]:
    return check_file(read_statement_file(file))


def _keyed_chunks(file: IO[bytes]) -> Iterator[Statement | list[KeyedEntry]]:
    """Each statement, then its entries, keyed, a chunk at a time."""
    for statement, entries in sections(read_statement_file(file)):
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
    await store.advance(tenant, account, statement_id, fresh[-1].entry.number)


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
    candidates = await ledger.open_items_for_many(tenant, payments)
    decisions: list[Decision] = []
    for payment in payments:
        decision = decide(payment, candidates.items, tolerance)
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
        record = _record(payment, arrival, decision, booked_on, self.now)
        matched = decision if isinstance(decision, Matched) else None
        self.payments.append((record, matched.unapplied_minor if matched else 0))
        self.events.append(_received_event(self.tenant, payment, arrival, booked_on))
        if isinstance(decision, Matched):
            self._match(payment, decision)
        else:
            self.events.append(_unmatched_event(self.tenant, payment, decision, self.now))

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
        self.events.append(_matched_event(self.tenant, payment, match, True, self.now))
        for invoice, balance in applied:
            payment_ids = list(self.payment_ids[invoice.invoice_id])
            event = _balance_event(self.tenant, invoice, balance, payment_ids, self.now)
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
        await StatementRepository(tx.connection).save_payments(self.tenant, self.payments)
        await ledger.save_allocations(self.tenant, self.allocations, self.now)
        await ledger.apply_to_invoices(self.tenant, list(self.changes.values()), self.now)
        await ledger.use_credits(self.tenant, self.credits_used)
        await ledger.learn_accounts(self.tenant, self.accounts, self.now)
        await tx.publish_many(self.events)


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


class Arrival(Protocol):
    """Where a payment came from: a statement line, a payment service provider's webhook."""

    @property
    def source(self) -> PaymentSource: ...

    @property
    def account(self) -> str | None: ...

    @property
    def statement_id(self) -> str | None: ...

    @property
    def value_date(self) -> date | None: ...

    @property
    def end_to_end_id(self) -> str | None: ...

    @property
    def bank_reference(self) -> str | None: ...


async def receive(
    tx: Transaction,
    tenant: str,
    payment: IncomingPayment,
    arrival: Arrival,
    tolerance: Tolerance,
) -> Decision:
    """Record one payment, match it, and announce what it did."""
    ledger = LedgerRepository(tx.connection)
    items = await ledger.open_items_for(tenant, payment, clues_of(payment))
    decision = decide(payment, items, tolerance)
    now = tx.clock.now()
    booked_on = payment.booked_on or now.date()
    await StatementRepository(tx.connection).save_payment(
        tenant, _record(payment, arrival, decision, booked_on, now)
    )
    await tx.publish(_received_event(tenant, payment, arrival, booked_on))
    if isinstance(decision, Matched):
        await apply_match(tx, ledger, tenant, payment, decision, automatic=True)
    else:
        await queue_for_a_person(tx, tenant, payment, decision, now)
    return decision


async def apply_match(
    tx: Transaction,
    ledger: LedgerRepository,
    tenant: str,
    payment: IncomingPayment,
    match: Matched,
    *,
    automatic: bool,
) -> None:
    """Apply a match (the matcher's, or a person's): allocations, credit notes netted, the
    payer account learned, and the events dunning and segmentation act on."""
    now = tx.clock.now()
    applied: list[tuple[_Invoice, InvoiceBalance]] = []
    for allocation in match.allocations:
        if allocation.is_credit:
            await ledger.net_credit(
                tenant, allocation.invoice_id, payment.payment_id, allocation.amount, now
            )
            continue
        balance = await ledger.add_payment(
            tenant,
            allocation.invoice_id,
            "bank",
            payment.payment_id,
            allocation.amount,
            now,
            allocation.written_off_minor,
        )
        applied.append((allocation, balance))
    if match.teaches_account and payment.payer_account:
        await ledger.learn_account(tenant, payment.payer_account, match.customer_id, now)
    await StatementRepository(tx.connection).mark_matched(
        tenant, payment.payment_id, _evidence_record(match.evidence), match.unapplied_minor
    )
    await tx.publish(_matched_event(tenant, payment, match, automatic, now))
    for invoice, balance in applied:
        await _announce(tx, ledger, tenant, invoice, balance)


async def queue_for_a_person(
    tx: Transaction, tenant: str, payment: IncomingPayment, unmatched: Unmatched, now: datetime
) -> None:
    """Put the payment in the work queue, with its ranked suggestions."""
    await tx.publish(_unmatched_event(tenant, payment, unmatched, now))


async def _announce(
    tx: Transaction,
    ledger: LedgerRepository,
    tenant: str,
    invoice: _Invoice,
    balance: InvoiceBalance,
) -> None:
    """Tell dunning, segmentation and enrichment what an invoice's balance now is: settled
    (nothing open), or partly paid with what stays open. An invoice nothing was paid on yet
    is announced by ingestion alone."""
    if not balance.paid.amount_minor:
        return
    payment_ids = await ledger.payment_ids(tenant, invoice.invoice_id)
    now = tx.clock.now()
    if balance.settled:
        await ledger.mark_settled(tenant, invoice.invoice_id, now)
    else:
        await ledger.reopen(tenant, invoice.invoice_id)
    event = _balance_event(tenant, invoice, balance, payment_ids, now)
    assert event is not None, "something was paid"
    await tx.publish(event)


# Events


def _received_event(
    tenant: str, payment: IncomingPayment, arrival: Arrival, booked_on: date
) -> PaymentReceived:
    return PaymentReceived(
        tenant=tenant,
        payment_id=payment.payment_id,
        amount=payment.amount,
        booked_on=booked_on,
        value_date=arrival.value_date,
        payer_name=payment.payer_name,
        payer_account=payment.payer_account,
        remittance=" ".join(payment.remittance) or None,
        structured_reference=payment.references[0].value if payment.references else None,
        bank_reference=arrival.bank_reference,
        source=arrival.source,
        statement_id=arrival.statement_id,
    )


def _matched_event(
    tenant: str, payment: IncomingPayment, match: Matched, automatic: bool, now: datetime
) -> PaymentMatched:
    return PaymentMatched(
        tenant=tenant,
        customer_id=match.customer_id,
        payment_id=payment.payment_id,
        allocations=[
            Allocation(invoice_id=a.invoice_id, invoice_number=a.invoice_number, amount=a.amount)
            for a in match.invoices
        ],
        automatic=automatic,
        evidence=Evidence(
            signals=list(match.evidence.signals), rejected=list(match.evidence.rejected)
        ),
        matched_at=now,
    )


def _unmatched_event(
    tenant: str, payment: IncomingPayment, unmatched: Unmatched, now: datetime
) -> PaymentUnmatched:
    return PaymentUnmatched(
        tenant=tenant,
        payment_id=payment.payment_id,
        amount=payment.amount,
        reason=unmatched.reason,
        suggestions=[
            Suggestion(
                customer_id=s.customer_id,
                invoice_ids=list(s.invoice_ids),
                score=s.score,
                reason=s.reason,
            )
            for s in unmatched.suggestions
        ],
        evidence=Evidence(
            signals=list(unmatched.evidence.signals),
            rejected=list(unmatched.evidence.rejected),
        ),
        queued_at=now,
    )


def _balance_event(
    tenant: str,
    invoice: _Invoice,
    balance: InvoiceBalance,
    payment_ids: list[str],
    now: datetime,
) -> InvoiceSettled | InvoicePartiallyPaid | None:
    """What an invoice's balance now is: settled (nothing open), or partly paid with what stays
    open; None while nothing was paid on it."""
    if not balance.paid.amount_minor:
        return None
    if balance.settled:
        return InvoiceSettled(
            tenant=tenant,
            customer_id=invoice.customer_id,
            invoice_id=invoice.invoice_id,
            invoice_number=invoice.invoice_number,
            paid=balance.paid,
            payment_ids=payment_ids,
            settled_at=now,
        )
    return InvoicePartiallyPaid(
        tenant=tenant,
        customer_id=invoice.customer_id,
        invoice_id=invoice.invoice_id,
        invoice_number=invoice.invoice_number,
        paid=balance.paid,
        open_amount=balance.open_amount,
        payment_ids=payment_ids,
        paid_at=now,
    )


async def _stored(ledger: LedgerRepository, tenant: str, invoice_id: str) -> StoredInvoice:
    stored = await ledger.invoice(tenant, invoice_id)
    assert stored is not None, "the invoice was just saved"
    return stored


def _record(
    payment: IncomingPayment,
    arrival: Arrival,
    decision: Decision,
    booked_on: date,
    now: datetime,
) -> PaymentRecord:
    unmatched = decision if isinstance(decision, Unmatched) else None
    return PaymentRecord(
        payment_id=payment.payment_id,
        source=arrival.source,
        account=arrival.account,
        statement_id=arrival.statement_id,
        amount=payment.amount,
        booked_on=booked_on,
        value_date=arrival.value_date,
        payer_name=payment.payer_name,
        payer_account=payment.payer_account,
        remittance=list(payment.remittance),
        references=[_reference(reference) for reference in payment.references],
        end_to_end_id=arrival.end_to_end_id,
        bank_reference=arrival.bank_reference,
        status="matched" if isinstance(decision, Matched) else "unmatched",
        reason=unmatched.reason if unmatched else None,
        evidence=_evidence_record(decision.evidence),
        suggestions=[
            {
                "customer_id": s.customer_id,
                "invoice_ids": list(s.invoice_ids),
                "invoice_numbers": [number for _, number in s.items],
                "score": s.score,
                "reason": s.reason,
            }
            for s in (unmatched.suggestions if unmatched else ())
        ],
        received_at=now,
    )


def _evidence_record(evidence: Evidence | _DomainEvidence) -> dict[str, list[str]]:
    return {"signals": list(evidence.signals), "rejected": list(evidence.rejected)}


def _reference(reference: CreditorReference) -> dict[str, object]:
    check = check_reference(reference)
    return {
        "value": reference.value,
        "code": reference.code,
        "issuer": reference.issuer,
        "scheme": check.scheme,
        "valid": check.trusted,
    }
