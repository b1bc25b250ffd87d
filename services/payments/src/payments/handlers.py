"""Use cases: keep open items and payer names current (invoices issued, amended, cancelled,
credited), import bank statements, match what came in, apply what the ERP applied, let a person
match and unmatch, and tell everyone what that did to each invoice."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Literal, Protocol

from payments.adapters.ledger import ErpPayment, LedgerRepository, StoredInvoice
from payments.adapters.statement_files import read_statement_file
from payments.adapters.statements import PaymentRecord, StatementRepository
from payments.domain.booking import (
    EntryKeys,
    PaymentLine,
    account_id,
    kind_of,
    payment_id,
    payment_lines,
)
from payments.domain.checks import CheckedStatement, check_file
from payments.domain.ledger import InvoiceBalance
from payments.domain.matching import (
    Decision,
    IncomingPayment,
    Matched,
    Tolerance,
    Unmatched,
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

log = logging.getLogger(__name__)


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
    """Check the whole file, then import it one statement per transaction. Nothing is applied
    unless every statement of the file reads and adds up."""
    checked = await asyncio.to_thread(_check, file)
    await _refuse_conflicts(db, tenant, checked)
    file.seek(0)
    reports = []
    for statement, entries in sections(read_statement_file(file)):
        async with db.transaction() as tx:
            report = await _import_statement(
                tx, tenant, checked[statement.number - 1], entries, tolerance
            )
        reports.append(report)
    return ImportReport(tuple(reports))


def _check(file: IO[bytes]) -> list[CheckedStatement]:
    return check_file(read_statement_file(file))


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


async def _import_statement(
    tx: Transaction,
    tenant: str,
    checked: CheckedStatement,
    entries: Iterator[Entry],
    tolerance: Tolerance,
) -> StatementReport:
    statement = checked.statement
    account = statement.account.identifier
    store = StatementRepository(tx.connection)
    await store.lock_imports(tenant)
    known = await store.fingerprint(tenant, account, statement.statement_id)
    if known == checked.fingerprint:
        return StatementReport(
            statement.statement_id, account, "already_imported", checked.entries, Counter()
        )
    if known is not None:
        raise StatementConflict(statement)
    await store.save_statement(tenant, checked, tx.clock.now())
    counts: Counter[str] = Counter()
    keys = EntryKeys()
    for entry in entries:
        kind = kind_of(entry)
        counts[kind] += 1
        key = keys.key(entry) if kind != "not_booked" else None
        first = key is not None and await store.book_entry(
            tenant, account, key, statement.statement_id, entry.number
        )
        await store.save_entry(tenant, account, statement.statement_id, entry, kind, key, first)
        if key is not None and not first:
            counts["already_booked"] += 1
        elif key is not None and kind == "credit":
            for line in payment_lines(entry):
                arrival = _Arrival(statement, entry, line, key)
                decision = await receive(tx, tenant, arrival.payment(tenant), arrival, tolerance)
                counts["payments"] += 1
                counts["matched" if isinstance(decision, Matched) else "unmatched"] += 1
    return StatementReport(statement.statement_id, account, "imported", checked.entries, counts)


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
    await tx.publish(
        PaymentReceived(
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
    )
    if isinstance(decision, Matched):
        await apply_match(tx, ledger, tenant, payment, decision, automatic=True)
    else:
        await _queue(tx, tenant, payment, decision, now)
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
    await tx.publish(
        PaymentMatched(
            tenant=tenant,
            customer_id=match.customer_id,
            payment_id=payment.payment_id,
            allocations=[
                Allocation(
                    invoice_id=a.invoice_id, invoice_number=a.invoice_number, amount=a.amount
                )
                for a in match.invoices
            ],
            automatic=automatic,
            evidence=Evidence(
                signals=list(match.evidence.signals), rejected=list(match.evidence.rejected)
            ),
            matched_at=now,
        )
    )
    for invoice, balance in applied:
        await _announce(tx, ledger, tenant, invoice, balance)


async def _queue(
    tx: Transaction, tenant: str, payment: IncomingPayment, unmatched: Unmatched, now: datetime
) -> None:
    await tx.publish(
        PaymentUnmatched(
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
    )


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
        await tx.publish(
            InvoiceSettled(
                tenant=tenant,
                customer_id=invoice.customer_id,
                invoice_id=invoice.invoice_id,
                invoice_number=invoice.invoice_number,
                paid=balance.paid,
                payment_ids=payment_ids,
                settled_at=now,
            )
        )
        return
    await ledger.reopen(tenant, invoice.invoice_id)
    await tx.publish(
        InvoicePartiallyPaid(
            tenant=tenant,
            customer_id=invoice.customer_id,
            invoice_id=invoice.invoice_id,
            invoice_number=invoice.invoice_number,
            paid=balance.paid,
            open_amount=balance.open_amount,
            payment_ids=payment_ids,
            paid_at=now,
        )
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
        status="unmatched",
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
