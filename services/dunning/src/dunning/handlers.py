"""Use cases: open a case per invoice, follow the invoice, the customer and its payments, fire
due timers."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from dunning.adapters.repository import (
    Action,
    DeliveryReport,
    DueTimer,
    DunningRepository,
    InvoicePayment,
    KnownCustomer,
)
from dunning.domain.balance import Balance, PaymentsFigure
from dunning.domain.calendar import SendCalendar, SendingRules
from dunning.domain.cases import Case
from dunning.domain.channels import CustomerProfile, Delivery, Unreachable, choose_delivery
from dunning.domain.policies import Policy, Step, policy_for
from dunning.domain.schedule import NextSteps, next_steps
from settle_shared.consumer import Received
from settle_shared.db import Transaction
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.common import CustomerMaster
from settle_shared.events.delivery import DeliveryStatusChanged
from settle_shared.events.dunning import (
    CaseClosed,
    CaseCloseReason,
    CaseOpened,
    ReminderRequested,
)
from settle_shared.events.enrichment import CustomerEnriched
from settle_shared.events.ingestion import (
    CanonicalInvoice,
    CreditNoteIssued,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoicePartiallyPaid, InvoiceReopened, InvoiceSettled
from settle_shared.events.segmentation import CustomerSegmented
from settle_shared.money import Money

log = logging.getLogger(__name__)

PROFILE_WAIT = timedelta(hours=1)


class DunningHandlers:
    def __init__(self, rules: SendingRules) -> None:
        self._rules = rules

    async def invoice_issued(self, tx: Transaction, received: Received[InvoiceIssued]) -> None:
        await self._follow_invoice(tx, received.payload)

    async def invoice_amended(self, tx: Transaction, received: Received[InvoiceAmended]) -> None:
        await self._follow_invoice(tx, received.payload)

    async def invoice_cancelled(
        self, tx: Transaction, received: Received[InvoiceCancelled]
    ) -> None:
        """Close the case for good: nothing is owed. A cancellation is final whatever its
        revision (an amendment is of an open invoice; there is no reinstating one), and it is
        remembered, so that no case opens for the invoice afterwards, whatever is replayed."""
        event = received.payload
        repository = DunningRepository(tx.connection)
        await repository.lock_customer(event.tenant, event.customer_id)
        await repository.record_cancellation(
            event.tenant, event.invoice_id, event.revision, event.reason, tx.clock.now()
        )
        case = await repository.case_for_invoice(event.tenant, event.invoice_id, for_update=True)
        if case is not None and case.status == "open":
            await _close(tx, repository, case, "cancelled")

    async def credit_note_issued(
        self, tx: Transaction, received: Received[CreditNoteIssued]
    ) -> None:
        """A linked credit note lowers what its invoice's case asks for, once per credit note; one
        that leaves nothing owed closes the case as credited. It is remembered even before the
        case exists. A credit note linked to no invoice is credit on the customer's account, to be
        allocated in the ERP: it changes no case."""
        event = received.payload
        if event.invoice_id is None:
            log.info(
                "credit note linked to no invoice; no case changes",
                extra={"tenant": event.tenant, "credit_note_id": event.credit_note_id},
            )
            return
        if event.amount.amount_minor <= 0:
            raise InvalidMessage(
                f"credit note {event.credit_note_id} credits {event.amount.amount_minor}",
                [Problem("/amount/amount_minor", "a credit note credits a positive amount")],
            )
        repository = DunningRepository(tx.connection)
        await repository.lock_customer(event.tenant, event.customer_id)
        case = await repository.case_for_invoice(event.tenant, event.invoice_id, for_update=True)
        if case is not None and case.amount.currency != event.amount.currency:
            raise InvalidMessage(
                f"credit note in {event.amount.currency}, invoice in {case.amount.currency}",
                [Problem("/amount/currency", "differs from the invoice currency")],
            )
        recorded = await repository.record_credit_note(
            event.tenant,
            event.credit_note_id,
            event.invoice_id,
            event.amount,
            event.issue_date,
            tx.clock.now(),
        )
        if not recorded or case is None or case.status != "open":
            return
        payment = await repository.invoice_payment(case.tenant, case.invoice_id)
        credited_case = replace(case, credited=case.credited + event.amount)
        await _apply_balance(tx, repository, credited_case, _figure(payment))

    async def _follow_invoice(self, tx: Transaction, event: CanonicalInvoice) -> None:
        """Open a case for the invoice, or bring its case up to this revision of it.

        Issues and amendments both carry the whole invoice: an amendment that finds no case opens
        one. An event not newer than the case's revision is stale (a replay) and changes nothing.
        """
        repository = DunningRepository(tx.connection)
        await repository.lock_customer(event.tenant, event.customer_id)
        case = await repository.case_for_invoice(event.tenant, event.invoice_id, for_update=True)
        if case is None:
            await self._open_case(tx, repository, event)
        elif event.revision <= case.invoice_revision:
            log.info("stale invoice revision ignored", extra=_ids(event))
        elif case.status != "open":
            log.info(
                "invoice changed after its case closed; the case stays closed", extra=_ids(event)
            )
        else:
            await self._amend_case(tx, repository, case, event)

    async def _open_case(
        self, tx: Transaction, repository: DunningRepository, event: CanonicalInvoice
    ) -> None:
        if await repository.is_cancelled(event.tenant, event.invoice_id):
            log.info("invoice cancelled before it was issued here; no case", extra=_ids(event))
            return
        payment = await repository.invoice_payment(event.tenant, event.invoice_id)
        if payment is not None and payment.settled:
            log.info("invoice settled before it was issued here; no case", extra=_ids(event))
            return
        if payment is not None and payment.open_amount.currency != event.amount.currency:
            raise InvalidMessage(
                f"invoice in {event.amount.currency} but paid in {payment.open_amount.currency}",
                [Problem("/amount/currency", "differs from the currency payments recorded")],
            )
        credited = await _credited(repository, event)
        balance = Balance(event.amount, credited, _figure(payment))
        if balance.closes_as() is not None:
            log.info(
                "nothing owed on the invoice by the time it arrived; no case", extra=_ids(event)
            )
            return
        customer = await repository.customer(event.tenant, event.customer_id)
        policy = policy_for(customer.segment if customer else None)
        now = tx.clock.now()
        case = Case(
            case_id=uuid4(),
            tenant=event.tenant,
            customer_id=event.customer_id,
            invoice_id=event.invoice_id,
            invoice_number=event.invoice_number,
            issue_date=event.issue_date,
            due_date=event.due_date,
            amount=event.amount,
            credited=credited,
            open_amount=balance.open_amount,
            payment_reference=event.payment_reference,
            invoice_revision=event.revision,
            policy=policy.name,
            status="open",
            close_reason=None,
            opened_at=now,
            closed_at=None,
        )
        await repository.insert_case(case)
        plan = await _plan(repository, case, policy, 1, self._calendar(customer), now)
        await _record(repository, case.case_id, policy, plan, now)
        await tx.publish(_opened(case, policy, now))

    async def _amend_case(
        self, tx: Transaction, repository: DunningRepository, case: Case, event: CanonicalInvoice
    ) -> None:
        """Take the invoice's new terms; reschedule the steps not yet done when the due date moved.

        Steps already sent (or skipped) stay done. The pending step is planned again from the new
        due date under the usual rules: a due date moved later pushes it later; one moved earlier
        can make steps overdue, and those go out from the next send time on, one per send time.
        """
        payment = await repository.invoice_payment(case.tenant, case.invoice_id)
        amended = replace(
            case,
            invoice_number=event.invoice_number,
            issue_date=event.issue_date,
            due_date=event.due_date,
            amount=event.amount,
            credited=_credited_in(event, case, payment),
            payment_reference=event.payment_reference,
            invoice_revision=event.revision,
        )
        closed = await _apply_balance(tx, repository, amended, _figure(payment))
        if closed or amended.due_date == case.due_date:
            return
        customer = await repository.customer(case.tenant, case.customer_id)
        cause = f"due date moved to {amended.due_date}"
        calendar = self._calendar(customer)
        await _replan(repository, amended, policy_for(case.policy), calendar, tx.clock.now(), cause)

    async def profile_changed(self, tx: Transaction, received: Received[CustomerEnriched]) -> None:
        event = received.payload
        repository = DunningRepository(tx.connection)
        await repository.lock_customer(event.tenant, event.customer_id)
        profile = _profile(event.master)
        if await repository.save_profile(
            event.tenant, event.customer_id, profile, event.revision, tx.clock.now()
        ):
            await self._replan_open_cases(
                tx, repository, event.tenant, event.customer_id, "customer profile changed"
            )

    async def customer_segmented(
        self, tx: Transaction, received: Received[CustomerSegmented]
    ) -> None:
        event = received.payload
        repository = DunningRepository(tx.connection)
        await repository.lock_customer(event.tenant, event.customer_id)
        if policy_for(event.segment).name != event.segment:
            log.warning(
                "no policy for this segment; the standard policy applies",
                extra={"segment": event.segment},
            )
        if await repository.save_segment(
            event.tenant, event.customer_id, event.segment, event.revision, tx.clock.now()
        ):
            await self._replan_open_cases(
                tx, repository, event.tenant, event.customer_id, f"segment is {event.segment}"
            )

    async def invoice_settled(self, tx: Transaction, received: Received[InvoiceSettled]) -> None:
        event = received.payload
        repository = DunningRepository(tx.connection)
        await repository.lock_customer(event.tenant, event.customer_id)
        await repository.record_settlement(
            event.tenant, event.invoice_id, event.paid.currency, event.settled_at
        )
        case = await repository.case_for_invoice(event.tenant, event.invoice_id, for_update=True)
        if case is not None and case.status == "open":
            await _close(tx, repository, case, "paid")

    async def invoice_partially_paid(
        self, tx: Transaction, received: Received[InvoicePartiallyPaid]
    ) -> None:
        """Take payments' newest figure for the invoice; see `domain.balance` for how it combines
        with the amendments and credit notes received here."""
        event = received.payload
        repository = DunningRepository(tx.connection)
        await repository.lock_customer(event.tenant, event.customer_id)
        case = await repository.case_for_invoice(event.tenant, event.invoice_id, for_update=True)
        if case is not None:
            _check_payment_currencies(case, event.paid, event.open_amount)
        figure = PaymentsFigure(event.paid, event.open_amount)
        newest = await repository.record_partial_payment(
            event.tenant, event.invoice_id, figure, event.paid_at
        )
        if newest and case is not None and case.status == "open":
            await _apply_balance(tx, repository, case, figure)

    async def invoice_reopened(self, tx: Transaction, received: Received[InvoiceReopened]) -> None:
        """A person took a payment off the invoice: what it left open is owed again. A case that
        closed because of the payment collects again from the step it had reached; one closed for
        any other reason stays closed. News about the invoice older than payments' latest is
        ignored, and a reopening that arrives before the invoice is kept for its case."""
        event = received.payload
        repository = DunningRepository(tx.connection)
        await repository.lock_customer(event.tenant, event.customer_id)
        case = await repository.case_for_invoice(event.tenant, event.invoice_id, for_update=True)
        if case is not None:
            _check_payment_currencies(case, event.paid, event.open_amount)
        figure = PaymentsFigure(event.paid, event.open_amount)
        if not await repository.record_reopening(
            event.tenant, event.invoice_id, figure, event.reopened_at
        ):
            log.info(
                "reopening older than payments' latest news of the invoice; ignored",
                extra={"tenant": event.tenant, "invoice_id": event.invoice_id},
            )
            return
        if case is None:
            return
        if case.status == "open":
            await _apply_balance(tx, repository, case, figure)
            return
        await self._reopen_case(tx, repository, case, figure)

    async def _reopen_case(
        self, tx: Transaction, repository: DunningRepository, case: Case, figure: PaymentsFigure
    ) -> None:
        refused = case.why_not_reopen()
        open_amount = case.balance(figure).open_amount
        if refused is None and open_amount.amount_minor == 0:
            refused = "nothing is owed on the invoice"
        if refused is not None:
            log.info(
                "payment taken off the invoice; the case stays closed",
                extra={"case_id": str(case.case_id), "because": refused},
            )
            return
        await repository.reopen_case(case.case_id, open_amount)
        reopened = replace(case, status="open", close_reason=None, open_amount=open_amount)
        customer = await repository.customer(case.tenant, case.customer_id)
        policy = policy_for(customer.segment if customer else None)
        now = tx.clock.now()
        await _replan(
            repository, reopened, policy, self._calendar(customer), now, "payment taken off"
        )
        await tx.publish(_opened(reopened, policy, now))

    async def delivery_status_changed(
        self, tx: Transaction, received: Received[DeliveryStatusChanged]
    ) -> None:
        event = received.payload
        unknown = InvalidMessage(
            f"no reminder {event.action_id} for tenant {event.tenant}",
            [Problem("/action_id", "unknown action")],
        )
        try:
            action_id = UUID(event.action_id)
        except ValueError as error:
            raise unknown from error
        report = DeliveryReport(event.status, event.provider, event.detail, event.occurred_at)
        outcome = await DunningRepository(tx.connection).record_delivery(
            event.tenant, action_id, report
        )
        if outcome == "unknown":
            raise unknown

    async def fire_timer(self, tx: Transaction, timer: DueTimer) -> None:
        """Send the reminder of a due timer, or say why not, and set the next step's timer.

        Runs inside the transaction that claimed the timer and locked its case.
        """
        repository = DunningRepository(tx.connection)
        now = tx.clock.now()
        case = await repository.case(timer.case_id)
        if case is None:
            raise LookupError(f"timer {timer.timer_id} points at no case")
        blocker = case.why_not_remind()
        if blocker is not None:
            await repository.finish_timer(timer.timer_id, "cancelled", blocker, now)
            return
        customer = await repository.customer(case.tenant, case.customer_id)
        profile = customer.profile if customer else None
        if profile is None:
            await _postpone(repository, timer, "customer profile not known yet", now)
            return
        policy = policy_for(case.policy)
        step = policy.step(timer.step)
        if step is None:
            reason = f"policy {policy.name} has no step {timer.step}"
            await repository.finish_timer(timer.timer_id, "cancelled", reason, now)
            return
        await self._remind_once(tx, repository, case, timer, step, profile, now)
        plan = await _plan(
            repository, case, policy, timer.step + 1, self._rules.calendar(profile.time_zone), now
        )
        await _record(repository, case.case_id, policy, plan, now)

    async def _remind_once(
        self,
        tx: Transaction,
        repository: DunningRepository,
        case: Case,
        timer: DueTimer,
        step: Step,
        profile: CustomerProfile,
        now: datetime,
    ) -> None:
        if await repository.action_exists(case.case_id, timer.step):
            reason = "already reminded for this step"
            await repository.finish_timer(timer.timer_id, "fired", reason, now)
            return
        delivery = choose_delivery(step.channel, profile)
        if isinstance(delivery, Unreachable):
            log.warning(
                "reminder step skipped: no reachable channel",
                extra={"case_id": str(case.case_id), "step": timer.step},
            )
            await repository.finish_timer(timer.timer_id, "skipped", delivery.reason, now)
            return
        action = _action(case, timer.step, step, delivery, now)
        await repository.insert_action(action)
        await tx.publish(_reminder(case, action, profile))
        await repository.finish_timer(timer.timer_id, "fired", None, now)

    async def _replan_open_cases(
        self,
        tx: Transaction,
        repository: DunningRepository,
        tenant: str,
        customer_id: str,
        cause: str,
    ) -> None:
        """Move the pending step of each open case to the customer's current policy and zone."""
        customer = await repository.customer(tenant, customer_id)
        policy = policy_for(customer.segment if customer else None)
        calendar = self._calendar(customer)
        now = tx.clock.now()
        for case in await repository.open_cases_for_update(tenant, customer_id):
            await _replan(repository, case, policy, calendar, now, cause)

    def _calendar(self, customer: KnownCustomer | None) -> SendCalendar:
        profile = customer.profile if customer else None
        return self._rules.calendar(profile.time_zone if profile else None)


async def _apply_balance(
    tx: Transaction, repository: DunningRepository, case: Case, payments: PaymentsFigure | None
) -> bool:
    """Store the case with what it now asks for; close it when nothing is owed (True then)."""
    balance = case.balance(payments)
    await repository.update_invoice(replace(case, open_amount=balance.open_amount))
    reason = balance.closes_as()
    if reason is None:
        return False
    await _close(tx, repository, case, reason)
    return True


async def _close(
    tx: Transaction, repository: DunningRepository, case: Case, reason: CaseCloseReason
) -> None:
    now = tx.clock.now()
    await repository.close_case(case.case_id, reason, now)
    await repository.cancel_pending(case.case_id, f"case closed ({reason})", now)
    await tx.publish(
        CaseClosed(
            tenant=case.tenant,
            customer_id=case.customer_id,
            case_id=str(case.case_id),
            invoice_id=case.invoice_id,
            reason=reason,
            closed_at=now,
        )
    )


def _opened(case: Case, policy: Policy, now: datetime) -> CaseOpened:
    return CaseOpened(
        tenant=case.tenant,
        customer_id=case.customer_id,
        case_id=str(case.case_id),
        invoice_id=case.invoice_id,
        policy=policy.name,
        opened_at=now,
    )


async def _credited(repository: DunningRepository, event: CanonicalInvoice) -> Money:
    """The credit notes that arrived for the invoice before its case opened."""
    currency = event.amount.currency
    credits = await repository.credits(event.tenant, event.invoice_id)
    if any(credit.currency != currency for credit in credits):
        raise InvalidMessage(
            f"invoice in {currency} but credited in "
            + ", ".join(credit.currency for credit in credits),
            [Problem("/amount/currency", "differs from the currency of its credit notes")],
        )
    return credits[0] if credits else Money.of(0, currency)


def _credited_in(event: CanonicalInvoice, case: Case, payment: InvoicePayment | None) -> Money:
    """The case's credits in the amended invoice's currency. The currency may change only while
    nothing was credited or paid on the invoice: there is no rate to convert those with."""
    currency = event.amount.currency
    if currency == case.amount.currency:
        return case.credited
    if case.credited.amount_minor or payment is not None:
        raise InvalidMessage(
            f"invoice amended to {currency} but already credited or paid in {case.amount.currency}",
            [Problem("/amount/currency", "differs from the currency credited or paid")],
        )
    return Money.of(0, currency)


def _check_payment_currencies(case: Case, paid: Money, open_amount: Money) -> None:
    if {open_amount.currency, paid.currency} != {case.amount.currency}:
        raise InvalidMessage(
            f"open amount in {open_amount.currency}, paid in {paid.currency}, "
            f"invoice in {case.amount.currency}",
            [Problem("/open_amount/currency", "differs from the invoice currency")],
        )


def _figure(payment: InvoicePayment | None) -> PaymentsFigure | None:
    return payment.figure if payment is not None else None


async def _plan(
    repository: DunningRepository,
    case: Case,
    policy: Policy,
    from_step: int,
    calendar: SendCalendar,
    now: datetime,
) -> NextSteps:
    last_reminder_at = await repository.last_reminder_at(case.case_id)
    return next_steps(policy, from_step, case.due_date, calendar, now, last_reminder_at)


async def _replan(
    repository: DunningRepository,
    case: Case,
    policy: Policy,
    calendar: SendCalendar,
    now: datetime,
    cause: str,
) -> None:
    from_step = await repository.last_step_done(case.case_id) + 1
    plan = await _plan(repository, case, policy, from_step, calendar, now)
    pending = await repository.pending_timer(case.case_id)
    current = (pending.step, pending.due_at) if pending else None
    planned = (plan.timer.step, plan.timer.due_at) if plan.timer else None
    if case.policy == policy.name and not plan.skipped and current == planned:
        return
    await repository.cancel_pending(case.case_id, f"rescheduled: {cause}", now)
    await repository.set_policy(case.case_id, policy.name)
    await _record(repository, case.case_id, policy, plan, now)


async def _record(
    repository: DunningRepository, case_id: UUID, policy: Policy, plan: NextSteps, now: datetime
) -> None:
    for skipped in plan.skipped:
        log.info("reminder step skipped", extra={"case_id": str(case_id), "step": skipped.step})
        await repository.insert_skipped(case_id, policy.name, skipped, now)
    if plan.timer is not None:
        await repository.insert_timer(case_id, policy.name, plan.timer, now)


async def _postpone(
    repository: DunningRepository, timer: DueTimer, reason: str, now: datetime
) -> None:
    log.warning(
        "reminder postponed",
        extra={"case_id": str(timer.case_id), "step": timer.step, "reason": reason},
    )
    await repository.postpone_timer(timer.timer_id, now + PROFILE_WAIT, reason, now)


def _profile(master: CustomerMaster) -> CustomerProfile:
    return CustomerProfile(
        name=master.name,
        language=master.language,
        time_zone=master.time_zone,
        contacts=tuple(master.contacts),
        preferred_channel=master.preferred_channel,
        consented_channels=tuple(master.consented_channels),
        postal_address=master.postal_address,
    )


def _action(case: Case, number: int, step: Step, delivery: Delivery, now: datetime) -> Action:
    return Action(
        action_id=uuid4(),
        case_id=case.case_id,
        tenant=case.tenant,
        customer_id=case.customer_id,
        step=number,
        step_name=step.name,
        template=step.template,
        channel=delivery.channel,
        language=delivery.language,
        recipient=delivery.recipient,
        amount_due=case.open_amount,
        requested_at=now,
    )


def _reminder(case: Case, action: Action, profile: CustomerProfile) -> ReminderRequested:
    return ReminderRequested(
        tenant=case.tenant,
        customer_id=case.customer_id,
        action_id=str(action.action_id),
        case_id=str(case.case_id),
        invoice_id=case.invoice_id,
        invoice_number=case.invoice_number,
        step=action.step,
        step_name=action.step_name,
        channel=action.channel,
        template=action.template,
        language=action.language,
        recipient=action.recipient,
        customer_name=profile.name,
        amount_due=action.amount_due,
        due_date=case.due_date,
        payment_reference=case.payment_reference,
        requested_at=action.requested_at,
    )


def _ids(event: CanonicalInvoice) -> dict[str, str | int]:
    return {"tenant": event.tenant, "invoice_id": event.invoice_id, "revision": event.revision}
