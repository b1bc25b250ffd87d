"""Use cases: keep open items and payer names current (invoices issued, amended, cancelled,
credited), match a payment as it arrives, apply what the ERP applied, apply a person's match,
and tell everyone what that did to each invoice. Statement files: `statement_import`."""

from __future__ import annotations

import logging
from datetime import datetime

from payments.adapters.ledger import ErpPayment, LedgerRepository, StoredInvoice
from payments.adapters.statements import StatementRepository
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
from payments.events import (
    Arrival,
    InvoiceIdentity,
    balance_event,
    evidence_record,
    matched_event,
    payment_record,
    received_event,
    unmatched_event,
)
from settle_shared.consumer import Received
from settle_shared.db import Transaction
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

log = logging.getLogger(__name__)


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


async def receive(
    tx: Transaction,
    tenant: str,
    payment: IncomingPayment,
    arrival: Arrival,
    tolerance: Tolerance,
) -> Decision:
    """Record one payment, match it, and announce what it did."""
    ledger = LedgerRepository(tx.connection)
    clues = clues_of(payment)
    items = await ledger.open_items_for(tenant, payment, clues)
    decision = decide(payment, items, tolerance, clues)
    now = tx.clock.now()
    booked_on = payment.booked_on or now.date()
    await StatementRepository(tx.connection).save_payment(
        tenant, payment_record(payment, arrival, decision, booked_on, now)
    )
    await tx.publish(received_event(tenant, payment, arrival, booked_on))
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
    applied: list[tuple[InvoiceIdentity, InvoiceBalance]] = []
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
        tenant, payment.payment_id, evidence_record(match.evidence), match.unapplied_minor
    )
    await tx.publish(matched_event(tenant, payment, match, automatic, now))
    for invoice, balance in applied:
        await _announce(tx, ledger, tenant, invoice, balance)


async def queue_for_a_person(
    tx: Transaction, tenant: str, payment: IncomingPayment, unmatched: Unmatched, now: datetime
) -> None:
    """Put the payment in the work queue, with its ranked suggestions."""
    await tx.publish(unmatched_event(tenant, payment, unmatched, now))


async def _announce(
    tx: Transaction,
    ledger: LedgerRepository,
    tenant: str,
    invoice: InvoiceIdentity,
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
    event = balance_event(tenant, invoice, balance, payment_ids, now)
    assert event is not None, "something was paid"
    await tx.publish(event)


async def _stored(ledger: LedgerRepository, tenant: str, invoice_id: str) -> StoredInvoice:
    stored = await ledger.invoice(tenant, invoice_id)
    assert stored is not None, "the invoice was just saved"
    return stored
