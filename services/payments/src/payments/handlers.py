"""Use cases: keep open items and payer names current, import bank statements, match what came
in, apply what the ERP applied, and tell everyone what that did to each invoice."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Literal, Protocol

from payments.adapters.camt053 import read_camt053
from payments.adapters.ledger import ErpPayment, LedgerRepository, StoredInvoice
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
    Unmatched,
    clues_of,
    decide,
)
from payments.domain.references import check_reference
from payments.domain.statement import CreditorReference, Entry, Statement, sections
from settle_shared.consumer import Received
from settle_shared.db import Database, Transaction
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.erp import ErpPaymentRecorded
from settle_shared.events.ingestion import CustomerUpserted, InvoiceIssued
from settle_shared.events.payments import (
    Allocation,
    Evidence,
    InvoicePartiallyPaid,
    InvoiceSettled,
    PaymentMatched,
    PaymentReceived,
    PaymentUnmatched,
    Suggestion,
)

log = logging.getLogger(__name__)

SOURCE = "camt.053"
SIMILAR_CANDIDATES = 20


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
    event = received.payload
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
    stored = await _stored(ledger, event)
    if stored.settled_at is None and stored.balance.settled:
        await _settle(tx, ledger, event.tenant, stored, stored.balance)
    for payment in await ledger.pending_erp_payments(event.tenant, event.invoice_id):
        await _apply_erp_payment(tx, ledger, event.tenant, payment, await _stored(ledger, event))


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
    if invoice.settled_at is None:
        await _settle(tx, ledger, tenant, invoice, balance)


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


async def import_statements(db: Database, tenant: str, file: IO[bytes]) -> ImportReport:
    """Check the whole file, then import it one statement per transaction. Nothing is applied
    unless every statement of the file reads and adds up."""
    checked = await asyncio.to_thread(_check, file)
    await _refuse_conflicts(db, tenant, checked)
    file.seek(0)
    reports = []
    for statement, entries in sections(read_camt053(file)):
        async with db.transaction() as tx:
            report = await _import_statement(tx, tenant, checked[statement.number - 1], entries)
        reports.append(report)
    return ImportReport(tuple(reports))


def _check(file: IO[bytes]) -> list[CheckedStatement]:
    return check_file(read_camt053(file))


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
    tx: Transaction, tenant: str, checked: CheckedStatement, entries: Iterator[Entry]
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
                decision = await _receive(tx, tenant, statement, entry, key, line)
                counts["payments"] += 1
                counts["matched" if isinstance(decision, Matched) else "unmatched"] += 1
    return StatementReport(statement.statement_id, account, "imported", checked.entries, counts)


async def _receive(
    tx: Transaction,
    tenant: str,
    statement: Statement,
    entry: Entry,
    entry_key: str,
    line: PaymentLine,
) -> Decision:
    """Record one credit transfer, match it, and announce what it did."""
    account = statement.account.identifier
    payment = IncomingPayment(
        payment_id=payment_id(tenant, account, entry_key, line.index),
        amount=line.amount,
        payer_name=line.payer.name if line.payer else None,
        payer_account=account_id(line.payer),
        remittance=line.remittance,
        references=line.references,
        referred_documents=line.referred_documents,
    )
    ledger = LedgerRepository(tx.connection)
    clues = clues_of(payment)
    candidates = [
        *await ledger.identified_candidates(
            tenant, clues.trusted_reference_keys, clues.number_keys
        ),
        *await ledger.similar_candidates(
            tenant, payment.amount, clues.payer_name_key, SIMILAR_CANDIDATES
        ),
    ]
    decision = decide(payment, candidates)
    now = tx.clock.now()
    booked_on = entry.booking_date or entry.value_date or now.date()
    await StatementRepository(tx.connection).save_payment(
        tenant, _record(payment, statement, entry, line, decision, booked_on, now)
    )
    await tx.publish(
        PaymentReceived(
            tenant=tenant,
            payment_id=payment.payment_id,
            amount=payment.amount,
            booked_on=booked_on,
            value_date=entry.value_date,
            payer_name=payment.payer_name,
            payer_account=payment.payer_account,
            remittance=" ".join(payment.remittance) or None,
            structured_reference=payment.references[0].value if payment.references else None,
            bank_reference=line.bank_reference,
            source=SOURCE,
            statement_id=statement.statement_id,
        )
    )
    if isinstance(decision, Matched):
        await _apply_match(tx, ledger, tenant, payment, decision, now)
    else:
        await _queue(tx, tenant, payment, decision, now)
    return decision


async def _apply_match(
    tx: Transaction,
    ledger: LedgerRepository,
    tenant: str,
    payment: IncomingPayment,
    match: Matched,
    now: datetime,
) -> None:
    invoice = match.invoice
    balance = await ledger.add_payment(
        tenant, invoice.invoice_id, "bank", payment.payment_id, match.applied, now
    )
    await tx.publish(
        PaymentMatched(
            tenant=tenant,
            customer_id=invoice.customer_id,
            payment_id=payment.payment_id,
            allocations=[
                Allocation(
                    invoice_id=invoice.invoice_id,
                    invoice_number=invoice.invoice_number,
                    amount=match.applied,
                )
            ],
            automatic=True,
            evidence=Evidence(
                signals=list(match.evidence.signals), rejected=list(match.evidence.rejected)
            ),
            matched_at=now,
        )
    )
    await _settle(tx, ledger, tenant, invoice, balance)


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
                    customer_id=s.invoice.customer_id,
                    invoice_ids=[s.invoice.invoice_id],
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


async def _settle(
    tx: Transaction,
    ledger: LedgerRepository,
    tenant: str,
    invoice: _Invoice,
    balance: InvoiceBalance,
) -> None:
    """Settle the invoice if nothing stays open, and tell dunning and segmentation its balance."""
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
    else:
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


async def _stored(ledger: LedgerRepository, event: InvoiceIssued) -> StoredInvoice:
    stored = await ledger.invoice(event.tenant, event.invoice_id)
    assert stored is not None, "the invoice was just saved"
    return stored


def _record(
    payment: IncomingPayment,
    statement: Statement,
    entry: Entry,
    line: PaymentLine,
    decision: Decision,
    booked_on: date,
    now: datetime,
) -> PaymentRecord:
    unmatched = decision if isinstance(decision, Unmatched) else None
    return PaymentRecord(
        payment_id=payment.payment_id,
        source=SOURCE,
        account=statement.account.identifier,
        statement_id=statement.statement_id,
        amount=payment.amount,
        booked_on=booked_on,
        value_date=entry.value_date,
        payer_name=payment.payer_name,
        payer_account=payment.payer_account,
        remittance=list(payment.remittance),
        references=[_reference(reference) for reference in payment.references],
        end_to_end_id=line.end_to_end_id,
        bank_reference=line.bank_reference,
        status="unmatched" if unmatched else "matched",
        reason=unmatched.reason if unmatched else None,
        evidence={
            "signals": list(decision.evidence.signals),
            "rejected": list(decision.evidence.rejected),
        },
        suggestions=[
            {
                "customer_id": s.invoice.customer_id,
                "invoice_id": s.invoice.invoice_id,
                "invoice_number": s.invoice.invoice_number,
                "score": s.score,
                "reason": s.reason,
            }
            for s in (unmatched.suggestions if unmatched else ())
        ],
        received_at=now,
    )


def _reference(reference: CreditorReference) -> dict[str, object]:
    check = check_reference(reference)
    return {
        "value": reference.value,
        "code": reference.code,
        "issuer": reference.issuer,
        "scheme": check.scheme,
        "valid": check.valid,
    }
