"""Use cases: keep each customer's features current and re-decide its segment when they change."""

from __future__ import annotations

from segmentation.adapters.repository import SegmentationRepository
from segmentation.domain.behaviour import PaymentBehaviour
from segmentation.domain.rules import RiskProfile, decide
from settle_shared.consumer import Received
from settle_shared.db import Transaction
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.enrichment import CustomerEnriched
from settle_shared.events.ingestion import (
    CanonicalInvoice,
    CreditNoteIssued,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoiceReopened, InvoiceSettled
from settle_shared.events.segmentation import CustomerSegmented


async def profile_changed(tx: Transaction, received: Received[CustomerEnriched]) -> None:
    event = received.payload
    repository = SegmentationRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    profile = RiskProfile(
        strategic_account=event.master.strategic_account,
        bureau_score=event.credit.score,
        bureau_rating=event.credit.rating,
    )
    if await repository.save_profile(
        event.tenant, event.customer_id, profile, event.revision, tx.clock.now()
    ):
        await resegment(tx, repository, event.tenant, event.customer_id)


async def invoice_issued(tx: Transaction, received: Received[InvoiceIssued]) -> None:
    event = received.payload
    repository = SegmentationRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    await _record_invoice(repository, event)


async def invoice_amended(tx: Transaction, received: Received[InvoiceAmended]) -> None:
    """The newest revision's due date is the one lateness is measured against, also for invoices
    already paid; an older revision (a replay) changes nothing."""
    event = received.payload
    repository = SegmentationRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    if await _record_invoice(repository, event):
        await resegment(tx, repository, event.tenant, event.customer_id)


async def invoice_cancelled(tx: Transaction, received: Received[InvoiceCancelled]) -> None:
    """A cancelled invoice is neither open nor a sample, for good: later revisions do not undo it."""
    event = received.payload
    repository = SegmentationRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    if await repository.record_cancellation(event.tenant, event.invoice_id):
        await resegment(tx, repository, event.tenant, event.customer_id)


async def credit_note_issued(tx: Transaction, received: Received[CreditNoteIssued]) -> None:
    """A credit note is not a payment and settles nothing. A linked one counts towards its
    invoice's credits (in the invoice's currency), and an invoice credited in full before it is
    paid stops counting as open. One linked to no invoice changes no invoice."""
    event = received.payload
    if event.invoice_id is None:
        return
    if event.amount.amount_minor <= 0:
        raise InvalidMessage(
            f"credit note {event.credit_note_id} credits {event.amount.amount_minor}",
            [Problem("/amount/amount_minor", "a credit note credits a positive amount")],
        )
    repository = SegmentationRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    if await repository.record_credit_note(
        event.tenant, event.credit_note_id, event.invoice_id, event.amount
    ):
        await resegment(tx, repository, event.tenant, event.customer_id)


async def _record_invoice(repository: SegmentationRepository, event: CanonicalInvoice) -> bool:
    return await repository.record_invoice(
        event.tenant,
        event.customer_id,
        event.invoice_id,
        event.due_date,
        event.amount,
        event.revision,
    )


async def invoice_settled(tx: Transaction, received: Received[InvoiceSettled]) -> None:
    event = received.payload
    repository = SegmentationRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    if await repository.record_settlement(event.tenant, event.invoice_id, event.settled_at):
        await resegment(tx, repository, event.tenant, event.customer_id)


async def invoice_reopened(tx: Transaction, received: Received[InvoiceReopened]) -> None:
    """A person took a payment off the invoice: it no longer counts as paid (nor how late it was
    paid), and is open, overdue once past its due date, until it is settled again."""
    event = received.payload
    repository = SegmentationRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    if await repository.record_reopening(event.tenant, event.invoice_id, event.reopened_at):
        await resegment(tx, repository, event.tenant, event.customer_id)


async def resegment(
    tx: Transaction, repository: SegmentationRepository, tenant: str, customer_id: str
) -> None:
    """Decide again; announce the segment when it is new or different. Waits for a profile."""
    profile = await repository.profile(tenant, customer_id)
    if profile is None:
        return
    now = tx.clock.now()
    behaviour = PaymentBehaviour.of(await repository.outcomes(tenant, customer_id), now.date())
    decision = decide(profile, behaviour)
    current = await repository.assignment(tenant, customer_id)
    if current is not None and current.segment == decision.segment:
        return
    assignment = await repository.assign(tenant, customer_id, decision, now)
    await tx.publish(
        CustomerSegmented(
            tenant=tenant,
            customer_id=customer_id,
            segment=decision.segment,
            previous_segment=current.segment if current else None,
            rule=decision.rule,
            reasons=list(decision.reasons),
            decided_at=now,
            revision=assignment.revision,
        )
    )
