"""Use cases: keep each customer's profile and exposure current, announce profile changes and raise
an alert when exposure crosses the credit limit."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from enrichment.adapters.bureau import BureauClient
from enrichment.adapters.repository import EnrichmentRepository
from enrichment.domain.credit import (
    NOT_REQUESTED,
    Company,
    Unavailable,
    assessment_of,
    is_fresh,
)
from enrichment.domain.exposure import Exposure, check_limit
from enrichment.domain.profile import CustomerProfile
from settle_shared.consumer import Received
from settle_shared.db import Database, Transaction
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.common import CustomerMaster
from settle_shared.events.enrichment import CreditAssessment, CreditLimitExceeded, CustomerEnriched
from settle_shared.events.ingestion import (
    CanonicalInvoice,
    CreditNoteIssued,
    CustomerUpserted,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoicePartiallyPaid, InvoiceReopened, InvoiceSettled
from settle_shared.money import Money

log = logging.getLogger(__name__)


class UnknownCustomer(LookupError):
    pass


class NothingToLookUp(Exception):
    """The customer has no registration number the bureau could know it by."""


class BureauUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Assessed:
    """The assessment to apply, and the bureau's new answer to cache with it, if it gave one."""

    credit: CreditAssessment
    company: Company | None = None
    to_cache: CreditAssessment | None = None


class CustomerEnrichment:
    """Customer changes that may need the bureau. The bureau is asked between short reads and the
    transaction that applies its answer: no transaction is held open across the HTTP call."""

    def __init__(self, db: Database, bureau: BureauClient, cache_age: timedelta) -> None:
        self._db = db
        self._bureau = bureau
        self._cache_age = cache_age

    async def customer_upserted(self, received: Received[CustomerUpserted]) -> None:
        async with self._db.pool.acquire() as connection:
            handled = await EnrichmentRepository(connection).already_handled(
                received.consumer, received.event.id
            )
        if handled:
            received.mark_duplicate()
            return
        event = received.payload
        assessed = await self._assess(event.tenant, event.master)
        await self._db.idempotent(partial(apply_customer_upserted, assessed=assessed))(received)

    async def refresh_bureau(self, tenant: str, customer_id: str) -> None:
        """Ask the bureau now, whatever the cache holds; announce the profile if it changed."""
        async with self._db.pool.acquire() as connection:
            before = await EnrichmentRepository(connection).profile(tenant, customer_id)
        if before is None:
            raise UnknownCustomer(customer_id)
        company = Company.of(before.master)
        if company is None:
            raise NothingToLookUp(customer_id)
        answer = await self._bureau.look_up(company)
        if isinstance(answer, Unavailable):
            raise BureauUnavailable(answer.reason)
        credit = assessment_of(answer, self._bureau.name, self._db.clock.now(), None)
        async with self._db.transaction() as tx:
            repository = EnrichmentRepository(tx.connection)
            await repository.lock_customer(tenant, customer_id)
            await repository.cache_assessment(tenant, company, credit)
            current = await repository.profile(tenant, customer_id)
            if current is None:
                raise UnknownCustomer(customer_id)
            if Company.of(current.master) == company:
                # Otherwise the master data changed during the call, and its own lookup applies.
                await revise_profile(tx, repository, current, replace(current, credit=credit))

    async def _assess(self, tenant: str, master: CustomerMaster) -> Assessed:
        company = Company.of(master)
        if company is None:
            return Assessed(NOT_REQUESTED)
        async with self._db.pool.acquire() as connection:
            cached = await EnrichmentRepository(connection).cached_assessment(tenant, company)
        if cached is not None and is_fresh(cached, self._db.clock.now(), self._cache_age):
            return Assessed(cached, company)
        answer = await self._bureau.look_up(company)
        credit = assessment_of(answer, self._bureau.name, self._db.clock.now(), cached)
        return Assessed(credit, company, None if isinstance(answer, Unavailable) else credit)


async def apply_customer_upserted(
    tx: Transaction, received: Received[CustomerUpserted], assessed: Assessed
) -> None:
    event = received.payload
    repository = EnrichmentRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    if assessed.company is not None and assessed.to_cache is not None:
        await repository.cache_assessment(event.tenant, assessed.company, assessed.to_cache)
    current = await repository.profile(event.tenant, event.customer_id)
    if current is not None and current.is_stale(event.revision):
        log.info(
            "stale customer revision ignored",
            extra={
                "tenant": event.tenant,
                "customer_id": event.customer_id,
                "revision": event.revision,
                "stored_revision": current.master_revision,
            },
        )
        return
    proposed = (
        replace(
            current, master=event.master, master_revision=event.revision, credit=assessed.credit
        )
        if current is not None
        else CustomerProfile(
            event.tenant, event.customer_id, event.master, event.revision, assessed.credit
        )
    )
    await revise_profile(tx, repository, current, proposed)


async def set_manual_limit(
    tx: Transaction, tenant: str, customer_id: str, limit: Money | None
) -> None:
    """Set (or with None, remove) the manual credit limit; announce the profile if that changed
    the limit in force."""
    repository = EnrichmentRepository(tx.connection)
    await repository.lock_customer(tenant, customer_id)
    current = await repository.profile(tenant, customer_id)
    if current is None:
        raise UnknownCustomer(customer_id)
    await revise_profile(tx, repository, current, replace(current, manual_limit=limit))


async def revise_profile(
    tx: Transaction,
    repository: EnrichmentRepository,
    current: CustomerProfile | None,
    proposed: CustomerProfile,
) -> None:
    """Store the proposed profile, announce it when subscribers would learn something new, and
    review exposure, since the limit may have changed. Call with the customer locked."""
    now = tx.clock.now()
    news = current is None or not proposed.tells_the_same_as(current)
    saved = proposed.announced(now) if news else proposed
    await repository.save_profile(saved)
    if news:
        await tx.publish(
            CustomerEnriched(
                tenant=saved.tenant,
                customer_id=saved.customer_id,
                master=saved.master,
                credit=saved.credit,
                credit_limit=saved.credit_limit,
                revision=saved.revision,
                enriched_at=now,
            )
        )
    await review_exposure(tx, repository, saved.tenant, saved.customer_id)


async def invoice_issued(tx: Transaction, received: Received[InvoiceIssued]) -> None:
    await _record_invoice(tx, received.payload)


async def invoice_amended(tx: Transaction, received: Received[InvoiceAmended]) -> None:
    """Exposure follows the newest revision's amount; older revisions (replays) change nothing."""
    await _record_invoice(tx, received.payload)


async def invoice_cancelled(tx: Transaction, received: Received[InvoiceCancelled]) -> None:
    """A cancelled invoice leaves nothing open, for good: later revisions do not reopen it."""
    event = received.payload
    repository = EnrichmentRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    if not await repository.record_cancellation(event.tenant, event.invoice_id):
        log.info(
            "cancellation of an invoice not known here",
            extra={"tenant": event.tenant, "invoice_id": event.invoice_id},
        )
        return
    await review_exposure(tx, repository, event.tenant, event.customer_id)


async def credit_note_issued(tx: Transaction, received: Received[CreditNoteIssued]) -> None:
    """A linked credit note lowers what its invoice leaves open, once per credit note. One linked
    to no invoice is credit on the customer's account until the ERP allocates it; exposure does
    not net it (it errs high rather than low)."""
    event = received.payload
    if event.invoice_id is None:
        log.info(
            "credit note linked to no invoice: exposure unchanged",
            extra={"tenant": event.tenant, "credit_note_id": event.credit_note_id},
        )
        return
    if event.amount.amount_minor <= 0:
        raise InvalidMessage(
            f"credit note {event.credit_note_id} credits {event.amount.amount_minor}",
            [Problem("/amount/amount_minor", "a credit note credits a positive amount")],
        )
    repository = EnrichmentRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    currency = await repository.invoice_currency(event.tenant, event.invoice_id)
    if currency is not None and currency != event.amount.currency:
        raise InvalidMessage(
            f"credit note in {event.amount.currency}, invoice in {currency}",
            [Problem("/amount/currency", "differs from the invoice currency")],
        )
    if await repository.record_credit_note(
        event.tenant, event.customer_id, event.credit_note_id, event.invoice_id, event.amount
    ):
        await review_exposure(tx, repository, event.tenant, event.customer_id)


async def _record_invoice(tx: Transaction, event: CanonicalInvoice) -> None:
    repository = EnrichmentRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    await repository.record_invoice(
        event.tenant, event.customer_id, event.invoice_id, event.amount, event.revision
    )
    exposure = await review_exposure(tx, repository, event.tenant, event.customer_id)
    if exposure.currency != event.amount.currency:
        log.info(
            "invoice not counted in exposure: not in the customer's exposure currency",
            extra={
                "tenant": event.tenant,
                "customer_id": event.customer_id,
                "invoice_id": event.invoice_id,
                "invoice_currency": event.amount.currency,
                "exposure_currency": exposure.currency,
            },
        )


async def invoice_settled(tx: Transaction, received: Received[InvoiceSettled]) -> None:
    event = received.payload
    repository = EnrichmentRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    await repository.record_settlement(
        event.tenant, event.customer_id, event.invoice_id, event.paid.currency, event.settled_at
    )
    await review_exposure(tx, repository, event.tenant, event.customer_id)


async def invoice_partially_paid(tx: Transaction, received: Received[InvoicePartiallyPaid]) -> None:
    event = received.payload
    repository = EnrichmentRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    await repository.record_partial_payment(
        event.tenant,
        event.customer_id,
        event.invoice_id,
        event.paid,
        event.open_amount,
        event.paid_at,
    )
    await review_exposure(tx, repository, event.tenant, event.customer_id)


async def invoice_reopened(tx: Transaction, received: Received[InvoiceReopened]) -> None:
    """A person took a payment off the invoice: what it leaves open is exposure again, and may
    take the customer over its credit limit."""
    event = received.payload
    repository = EnrichmentRepository(tx.connection)
    await repository.lock_customer(event.tenant, event.customer_id)
    if await repository.record_reopening(
        event.tenant, event.invoice_id, event.paid, event.open_amount, event.reopened_at
    ):
        await review_exposure(tx, repository, event.tenant, event.customer_id)


async def review_exposure(
    tx: Transaction, repository: EnrichmentRepository, tenant: str, customer_id: str
) -> Exposure:
    """Hold exposure against the limit in force; alert once when it crosses above."""
    profile = await repository.profile(tenant, customer_id)
    limit = profile.credit_limit if profile else None
    exposure = Exposure.of(await repository.open_items(tenant, customer_id), limit)
    was_over = await repository.over_limit(tenant, customer_id)
    check = check_limit(exposure, limit, was_over)
    if check.over_limit != was_over:
        await repository.set_over_limit(tenant, customer_id, check.over_limit, tx.clock.now())
    if check.crossing is not None:
        await tx.publish(
            CreditLimitExceeded(
                tenant=tenant,
                customer_id=customer_id,
                credit_limit=check.crossing.credit_limit,
                exposure=check.crossing.exposure,
                raised_at=tx.clock.now(),
            )
        )
    return exposure
