"""Changes to what a payment paid after it arrived: a person's corrections of matching
(matching a payment from the work queue by hand, taking a wrong match off its invoices), and
payments the bank sends back to the payer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from payments import handlers
from payments.adapters.ledger import LedgerRepository
from payments.adapters.statements import PaymentRecord, StatementRepository
from payments.domain.booking import TakenBack
from payments.domain.manual import Requested, manual_match
from payments.domain.matching import (
    Decision,
    IncomingPayment,
    Matched,
    Tolerance,
    Unmatched,
    clues_of,
    decide,
)
from payments.domain.openitems import OpenItem
from settle_shared.db import Transaction
from settle_shared.events.payments import InvoiceReopened, PaymentReturned


class PaymentNotFound(Exception):
    pass


class PaymentAlreadyMatched(Exception):
    pass


class PaymentNotMatched(Exception):
    pass


class PaymentReturnedToPayer(Exception):
    pass


async def match_by_hand(
    tx: Transaction,
    tenant: str,
    payment_id: str,
    requested: Sequence[Requested],
    who: str,
    note: str,
) -> Matched:
    """Apply a person's match. The payment row is locked first, so a retried request waits for
    the first and then finds the payment matched; invoices are locked in id order."""
    record = await StatementRepository(tx.connection).lock_payment(tenant, payment_id)
    if record is None:
        raise PaymentNotFound(f"payment {payment_id}")
    if record.status == "matched":
        raise PaymentAlreadyMatched(f"payment {payment_id} is matched already")
    if record.status == "returned":
        raise PaymentReturnedToPayer(
            f"payment {payment_id} went back to the payer: {record.reason}"
        )
    ledger = LedgerRepository(tx.connection)
    items = await ledger.lock_items(tenant, {r.invoice_id for r in requested})
    match = manual_match(record.amount, requested, items, who, note)
    await handlers.apply_match(tx, ledger, tenant, incoming(record), match, automatic=False)
    return match


async def unmatch(
    tx: Transaction, tenant: str, payment_id: str, who: str, why: str, tolerance: Tolerance
) -> Unmatched:
    """Reverse a match: the payment comes off its invoices and goes back to the work queue,
    saying who took it off and why. Lock order as in `match_by_hand`: the payment, then its
    invoices by id."""
    reason = f"unmatched by hand by {who}: {why}"
    store = StatementRepository(tx.connection)
    record = await store.lock_payment(tenant, payment_id)
    if record is None:
        raise PaymentNotFound(f"payment {payment_id}")
    if record.status != "matched":
        raise PaymentNotMatched(f"payment {payment_id} is not matched")
    ledger = LedgerRepository(tx.connection)
    invoices = await _take_off_invoices(tx, ledger, tenant, payment_id, reason)
    payment = incoming(record)
    # A wrong match discredits what it taught: this account paying for that customer.
    if payment.payer_account:
        for customer_id in sorted({item.customer_id for item in invoices}):
            await ledger.forget_account(tenant, payment.payer_account, customer_id)
    queued = _requeued(payment, await _redecided(ledger, tenant, payment, tolerance), reason)
    await store.requeue(tenant, payment_id, queued.reason, _evidence(queued), _suggestions(queued))
    await handlers.queue_for_a_person(tx, tenant, payment, queued, tx.clock.now())
    return queued


async def lock_sent_back(
    tx: Transaction, tenant: str, account: str, back: TakenBack
) -> PaymentRecord | None:
    """The one payment on the account that a debit sends back to the payer, locked; None when
    no single payment is the one it names."""
    if back.end_to_end_id is None:
        return None
    store = StatementRepository(tx.connection)
    return await store.lock_payment_sent_back(tenant, account, back.end_to_end_id, back.amount)


async def send_back(
    tx: Transaction, tenant: str, payment: PaymentRecord, back: TakenBack, statement_id: str
) -> None:
    """Take a payment the bank sent back to the payer off its invoices, reopening them, and out
    of the work queue. Lock order as in `unmatch`: the payment (locked by `lock_sent_back`),
    then its invoices by id."""
    end_to_end_id = back.end_to_end_id
    assert end_to_end_id is not None, "`lock_sent_back` finds a payment by its end-to-end id"
    reason = f"sent back to the payer by statement {statement_id} ({back.reason})"
    ledger = LedgerRepository(tx.connection)
    invoices = await _take_off_invoices(tx, ledger, tenant, payment.payment_id, reason)
    await StatementRepository(tx.connection).mark_returned(tenant, payment.payment_id, reason)
    await tx.publish(
        PaymentReturned(
            tenant=tenant,
            payment_id=payment.payment_id,
            amount=payment.amount,
            end_to_end_id=end_to_end_id,
            reason=reason,
            reopened_invoice_ids=[invoice.invoice_id for invoice in invoices],
            statement_id=statement_id,
            returned_at=tx.clock.now(),
        )
    )


async def _take_off_invoices(
    tx: Transaction, ledger: LedgerRepository, tenant: str, payment_id: str, reason: str
) -> list[OpenItem]:
    """Take a payment off the invoices it paid, each reopened for `reason`; the invoices
    (locked by id, after the payment)."""
    applied = await StatementRepository(tx.connection).allocations(tenant, payment_id)
    invoices = await ledger.lock_items(tenant, {a.invoice_id for a in applied})
    await ledger.remove_allocations(tenant, payment_id)
    now = tx.clock.now()
    for invoice in invoices:
        await _reopen(tx, ledger, tenant, invoice, payment_id, reason, now)
    return invoices


async def _reopen(
    tx: Transaction,
    ledger: LedgerRepository,
    tenant: str,
    invoice: OpenItem,
    payment_id: str,
    reason: str,
    now: datetime,
) -> None:
    balance = await ledger.balance(tenant, invoice.invoice_id)
    assert balance is not None, "the invoice is locked"
    if not balance.settled:
        await ledger.reopen(tenant, invoice.invoice_id)
    await tx.publish(
        InvoiceReopened(
            tenant=tenant,
            customer_id=invoice.customer_id,
            invoice_id=invoice.invoice_id,
            invoice_number=invoice.invoice_number,
            paid=balance.paid,
            open_amount=balance.open_amount,
            payment_ids=await ledger.payment_ids(tenant, invoice.invoice_id),
            reversed_payment_id=payment_id,
            reason=reason,
            reopened_at=now,
        )
    )


async def _redecided(
    ledger: LedgerRepository, tenant: str, payment: IncomingPayment, tolerance: Tolerance
) -> Decision:
    clues = clues_of(payment)
    items = await ledger.open_items_for(tenant, payment, clues)
    return decide(payment, items, tolerance, clues)


def _requeued(payment: IncomingPayment, decision: Decision, reason: str) -> Unmatched:
    """What the queue shows: the person's reason, and what matching now suggests (nothing when
    it would match by itself, for that is what a person just undid)."""
    suggestions = decision.suggestions if isinstance(decision, Unmatched) else ()
    return Unmatched(reason, suggestions, decision.evidence)


def _evidence(unmatched: Unmatched) -> dict[str, list[str]]:
    return {
        "signals": list(unmatched.evidence.signals),
        "rejected": list(unmatched.evidence.rejected),
    }


def _suggestions(unmatched: Unmatched) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": s.customer_id,
            "invoice_ids": list(s.invoice_ids),
            "invoice_numbers": [number for _, number in s.items],
            "score": s.score,
            "reason": s.reason,
        }
        for s in unmatched.suggestions
    ]


def incoming(record: PaymentRecord) -> IncomingPayment:
    return IncomingPayment(
        payment_id=record.payment_id,
        amount=record.amount,
        payer_name=record.payer_name,
        payer_account=record.payer_account,
        remittance=tuple(record.remittance),
        references=(),
        booked_on=record.booked_on,
    )
