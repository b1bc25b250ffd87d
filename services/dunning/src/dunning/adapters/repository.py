"""Dunning's tables, read and written inside the caller's transaction.

Lock order, everywhere: the customer's advisory lock, then case rows, then their timers. The
scheduler claims a timer and its case together with SKIP LOCKED and never waits for a lock, so it
cannot deadlock with the consumers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from dunning.domain.balance import PaymentsFigure
from dunning.domain.cases import Case, CaseStatus
from dunning.domain.channels import CustomerProfile
from dunning.domain.schedule import SkippedStep, TimerPlan, TimerRecord, TimerState
from settle_shared.events.common import Channel, Contact, PostalAddress
from settle_shared.events.dunning import CaseCloseReason, Recipient
from settle_shared.locks import customer_key, lock_until_commit
from settle_shared.money import Money
from settle_shared.pg import Connection

DeliveryOutcome = Literal["recorded", "stale", "unknown"]


@dataclass(frozen=True)
class KnownCustomer:
    profile: CustomerProfile | None
    segment: str | None


@dataclass(frozen=True)
class DueTimer:
    timer_id: int
    case_id: UUID
    step: int
    due_at: datetime


@dataclass(frozen=True)
class PendingTimer:
    timer_id: int
    step: int
    due_at: datetime


@dataclass(frozen=True)
class InvoicePayment:
    paid: Money
    open_amount: Money
    settled: bool

    @property
    def figure(self) -> PaymentsFigure:
        return PaymentsFigure(self.paid, self.open_amount)


@dataclass(frozen=True)
class DeliveryReport:
    status: str
    provider: str | None
    detail: str | None
    changed_at: datetime


@dataclass(frozen=True)
class Action:
    action_id: UUID
    case_id: UUID
    tenant: str
    customer_id: str
    step: int
    step_name: str
    template: str
    channel: Channel
    language: str
    recipient: Recipient
    amount_due: Money
    requested_at: datetime
    delivery: DeliveryReport | None = None


class DunningRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def lock_customer(self, tenant: str, customer_id: str) -> None:
        """Serialise one customer's events, which arrive on several topics and consumers."""
        await lock_until_commit(self._connection, customer_key(tenant, customer_id))

    # Customers

    async def save_profile(
        self, tenant: str, customer_id: str, profile: CustomerProfile, revision: int, at: datetime
    ) -> bool:
        """Store the profile unless a newer revision is already stored; True if stored."""
        stored = await self._connection.fetchval(
            """INSERT INTO customers AS c
                   (tenant, customer_id, name, language, time_zone, contacts, preferred_channel,
                    consented_channels, postal_address, profile_revision, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   name = EXCLUDED.name, language = EXCLUDED.language,
                   time_zone = EXCLUDED.time_zone, contacts = EXCLUDED.contacts,
                   preferred_channel = EXCLUDED.preferred_channel,
                   consented_channels = EXCLUDED.consented_channels,
                   postal_address = EXCLUDED.postal_address,
                   profile_revision = EXCLUDED.profile_revision, updated_at = EXCLUDED.updated_at
               WHERE c.profile_revision IS NULL OR c.profile_revision < EXCLUDED.profile_revision
               RETURNING true""",
            tenant,
            customer_id,
            profile.name,
            profile.language,
            profile.time_zone,
            [contact.model_dump(mode="json") for contact in profile.contacts],
            profile.preferred_channel,
            list(profile.consented_channels),
            profile.postal_address.model_dump(mode="json") if profile.postal_address else None,
            revision,
            at,
        )
        return stored is True

    async def save_segment(
        self, tenant: str, customer_id: str, segment: str, revision: int, at: datetime
    ) -> bool:
        """Store the segment unless a newer revision is already stored; True if stored."""
        stored = await self._connection.fetchval(
            """INSERT INTO customers AS c (tenant, customer_id, segment, segment_revision, updated_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   segment = EXCLUDED.segment, segment_revision = EXCLUDED.segment_revision,
                   updated_at = EXCLUDED.updated_at
               WHERE c.segment_revision IS NULL OR c.segment_revision < EXCLUDED.segment_revision
               RETURNING true""",
            tenant,
            customer_id,
            segment,
            revision,
            at,
        )
        return stored is True

    async def customer(self, tenant: str, customer_id: str) -> KnownCustomer | None:
        row = await self._connection.fetchrow(
            "SELECT * FROM customers WHERE tenant = $1 AND customer_id = $2", tenant, customer_id
        )
        if row is None:
            return None
        return KnownCustomer(_profile(row) if row["profile_revision"] else None, row["segment"])

    # Cases

    async def insert_case(self, case: Case) -> None:
        await self._connection.execute(
            """INSERT INTO cases
                   (case_id, tenant, customer_id, invoice_id, invoice_number, issue_date,
                    due_date, currency, amount_minor, credited_minor, open_amount_minor,
                    payment_reference, invoice_revision, policy, status, opened_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)""",
            case.case_id,
            case.tenant,
            case.customer_id,
            case.invoice_id,
            case.invoice_number,
            case.issue_date,
            case.due_date,
            case.amount.currency,
            case.amount.amount_minor,
            case.credited.amount_minor,
            case.open_amount.amount_minor,
            case.payment_reference,
            case.invoice_revision,
            case.policy,
            case.status,
            case.opened_at,
        )

    async def case_for_invoice(
        self, tenant: str, invoice_id: str, *, for_update: bool = False
    ) -> Case | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._connection.fetchrow(
            "SELECT * FROM cases WHERE tenant = $1 AND invoice_id = $2" + lock, tenant, invoice_id
        )
        return _case(row) if row else None

    async def case(self, case_id: UUID, tenant: str | None = None) -> Case | None:
        """A case by id; with `tenant`, only if it is that tenant's."""
        row = await self._connection.fetchrow(
            "SELECT * FROM cases WHERE case_id = $1 AND ($2::text IS NULL OR tenant = $2)",
            case_id,
            tenant,
        )
        return _case(row) if row else None

    async def open_cases_for_update(self, tenant: str, customer_id: str) -> list[Case]:
        rows = await self._connection.fetch(
            """SELECT * FROM cases WHERE tenant = $1 AND customer_id = $2 AND status = 'open'
               ORDER BY seq FOR UPDATE""",
            tenant,
            customer_id,
        )
        return [_case(row) for row in rows]

    async def close_case(self, case_id: UUID, reason: CaseCloseReason, at: datetime) -> None:
        await self._connection.execute(
            """UPDATE cases SET status = 'closed', close_reason = $2, closed_at = $3
               WHERE case_id = $1""",
            case_id,
            reason,
            at,
        )

    async def reopen_case(self, case_id: UUID, open_amount: Money) -> None:
        await self._connection.execute(
            """UPDATE cases SET status = 'open', close_reason = NULL, closed_at = NULL,
                   open_amount_minor = $2
               WHERE case_id = $1""",
            case_id,
            open_amount.amount_minor,
        )

    async def update_invoice(self, case: Case) -> None:
        """Store what the case knows of its invoice: terms, revision, credits, open amount."""
        await self._connection.execute(
            """UPDATE cases SET invoice_number = $2, issue_date = $3, due_date = $4,
                   currency = $5, amount_minor = $6, credited_minor = $7, open_amount_minor = $8,
                   payment_reference = $9, invoice_revision = $10
               WHERE case_id = $1""",
            case.case_id,
            case.invoice_number,
            case.issue_date,
            case.due_date,
            case.amount.currency,
            case.amount.amount_minor,
            case.credited.amount_minor,
            case.open_amount.amount_minor,
            case.payment_reference,
            case.invoice_revision,
        )

    async def set_policy(self, case_id: UUID, policy: str) -> None:
        await self._connection.execute(
            "UPDATE cases SET policy = $2 WHERE case_id = $1", case_id, policy
        )

    async def cases_page(
        self, tenant: str, status: CaseStatus | None, after_seq: int, limit: int
    ) -> list[tuple[int, Case]]:
        rows = await self._connection.fetch(
            """SELECT * FROM cases
               WHERE tenant = $1 AND ($2::text IS NULL OR status = $2) AND seq > $3
               ORDER BY seq LIMIT $4""",
            tenant,
            status,
            after_seq,
            limit,
        )
        return [(row["seq"], _case(row)) for row in rows]

    # Payments received for invoices, whether or not their case exists yet

    async def invoice_payment(self, tenant: str, invoice_id: str) -> InvoicePayment | None:
        row = await self._connection.fetchrow(
            """SELECT currency, paid_minor, open_amount_minor, settled_at FROM invoice_payments
               WHERE tenant = $1 AND invoice_id = $2""",
            tenant,
            invoice_id,
        )
        if row is None:
            return None
        currency = row["currency"]
        return InvoicePayment(
            Money.of(row["paid_minor"], currency),
            Money.of(row["open_amount_minor"], currency),
            row["settled_at"] is not None,
        )

    async def record_settlement(
        self, tenant: str, invoice_id: str, currency: str, settled_at: datetime
    ) -> None:
        await self._connection.execute(
            """INSERT INTO invoice_payments AS p
                   (tenant, invoice_id, currency, open_amount_minor, settled_at, paid_at)
               VALUES ($1, $2, $3, 0, $4, $4)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   open_amount_minor = 0, settled_at = EXCLUDED.settled_at,
                   paid_at = EXCLUDED.paid_at
               WHERE p.settled_at IS NULL""",
            tenant,
            invoice_id,
            currency,
            settled_at,
        )

    async def record_partial_payment(
        self, tenant: str, invoice_id: str, figure: PaymentsFigure, paid_at: datetime
    ) -> bool:
        """Keep the newest figure of an unsettled invoice; True if this one is it."""
        stored = await self._connection.fetchval(
            """INSERT INTO invoice_payments AS p
                   (tenant, invoice_id, currency, paid_minor, open_amount_minor, paid_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   currency = EXCLUDED.currency, paid_minor = EXCLUDED.paid_minor,
                   open_amount_minor = EXCLUDED.open_amount_minor, paid_at = EXCLUDED.paid_at
               WHERE p.settled_at IS NULL AND p.paid_at <= EXCLUDED.paid_at
               RETURNING true""",
            tenant,
            invoice_id,
            figure.open_amount.currency,
            figure.paid.amount_minor,
            figure.open_amount.amount_minor,
            paid_at,
        )
        return stored is True

    async def record_reopening(
        self, tenant: str, invoice_id: str, figure: PaymentsFigure, reopened_at: datetime
    ) -> bool:
        """Keep the figure of an invoice a payment was taken off, unless payments said something
        newer about the invoice (a settlement or payment after the reopening); True if kept."""
        # Payments stamps its settlements, payments and reopenings of one invoice with its own
        # clock while holding the invoice's row, so their times order them.
        stored = await self._connection.fetchval(
            """INSERT INTO invoice_payments AS p
                   (tenant, invoice_id, currency, paid_minor, open_amount_minor, paid_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   currency = EXCLUDED.currency, paid_minor = EXCLUDED.paid_minor,
                   open_amount_minor = EXCLUDED.open_amount_minor, settled_at = NULL,
                   paid_at = EXCLUDED.paid_at
               WHERE p.paid_at <= EXCLUDED.paid_at
               RETURNING true""",
            tenant,
            invoice_id,
            figure.open_amount.currency,
            figure.paid.amount_minor,
            figure.open_amount.amount_minor,
            reopened_at,
        )
        return stored is True

    # Credit notes and cancellations, whether or not the invoice's case exists yet

    async def record_credit_note(
        self,
        tenant: str,
        credit_note_id: str,
        invoice_id: str,
        amount: Money,
        issue_date: date,
        at: datetime,
    ) -> bool:
        """Remember a linked credit note; False if it was already known (counted once)."""
        stored = await self._connection.fetchval(
            """INSERT INTO credit_notes
                   (tenant, credit_note_id, invoice_id, currency, amount_minor, issue_date,
                    recorded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant, credit_note_id) DO NOTHING
               RETURNING true""",
            tenant,
            credit_note_id,
            invoice_id,
            amount.currency,
            amount.amount_minor,
            issue_date,
            at,
        )
        return stored is True

    async def credits(self, tenant: str, invoice_id: str) -> list[Money]:
        """The credit notes linked to an invoice, added up per currency."""
        rows = await self._connection.fetch(
            """SELECT currency, sum(amount_minor)::bigint AS credited FROM credit_notes
               WHERE tenant = $1 AND invoice_id = $2 GROUP BY currency ORDER BY currency""",
            tenant,
            invoice_id,
        )
        return [Money.of(row["credited"], row["currency"]) for row in rows]

    async def record_cancellation(
        self, tenant: str, invoice_id: str, revision: int, reason: str | None, at: datetime
    ) -> None:
        """Remember that the invoice was cancelled; the first cancellation stands."""
        await self._connection.execute(
            """INSERT INTO invoice_cancellations
                   (tenant, invoice_id, revision, reason, cancelled_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (tenant, invoice_id) DO NOTHING""",
            tenant,
            invoice_id,
            revision,
            reason,
            at,
        )

    async def is_cancelled(self, tenant: str, invoice_id: str) -> bool:
        cancelled: bool = await self._connection.fetchval(
            """SELECT EXISTS (SELECT 1 FROM invoice_cancellations
                              WHERE tenant = $1 AND invoice_id = $2)""",
            tenant,
            invoice_id,
        )
        return cancelled

    # Timers

    async def claim_due_timers(self, now: datetime, limit: int) -> list[DueTimer]:
        """Lock due timers and their cases for this transaction, skipping any another holds."""
        rows = await self._connection.fetch(
            """SELECT t.timer_id, t.case_id, t.step, t.due_at
               FROM timers t JOIN cases c ON c.case_id = t.case_id
               WHERE t.state = 'pending' AND t.due_at <= $1
               ORDER BY t.due_at, t.timer_id
               LIMIT $2
               FOR UPDATE OF t, c SKIP LOCKED""",
            now,
            limit,
        )
        return [DueTimer(**dict(row)) for row in rows]

    async def pending_timer(self, case_id: UUID) -> PendingTimer | None:
        row = await self._connection.fetchrow(
            """SELECT timer_id, step, due_at FROM timers
               WHERE case_id = $1 AND state = 'pending'""",
            case_id,
        )
        return PendingTimer(**dict(row)) if row else None

    async def last_step_done(self, case_id: UUID) -> int:
        """The highest step fired or skipped so far; 0 before the first."""
        done: int = await self._connection.fetchval(
            """SELECT coalesce(max(step), 0) FROM timers
               WHERE case_id = $1 AND state IN ('fired', 'skipped')""",
            case_id,
        )
        return done

    async def insert_timer(self, case_id: UUID, policy: str, plan: TimerPlan, at: datetime) -> None:
        await self._connection.execute(
            """INSERT INTO timers
                   (case_id, step, step_name, policy, due_at, state, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)""",
            case_id,
            plan.step,
            plan.step_name,
            policy,
            plan.due_at,
            at,
        )

    async def insert_skipped(
        self, case_id: UUID, policy: str, skipped: SkippedStep, at: datetime
    ) -> None:
        await self._connection.execute(
            """INSERT INTO timers (case_id, step, step_name, policy, due_at, state, reason,
                                   created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, 'skipped', $6, $5, $5)""",
            case_id,
            skipped.step,
            skipped.step_name,
            policy,
            at,
            skipped.reason,
        )

    async def finish_timer(
        self, timer_id: int, state: TimerState, reason: str | None, at: datetime
    ) -> None:
        await self._connection.execute(
            """UPDATE timers SET state = $2::text, reason = $3, updated_at = $4::timestamptz,
                   fired_at = CASE WHEN $2::text = 'fired' THEN $4::timestamptz END
               WHERE timer_id = $1""",
            timer_id,
            state,
            reason,
            at,
        )

    async def postpone_timer(
        self, timer_id: int, due_at: datetime, reason: str, at: datetime
    ) -> None:
        await self._connection.execute(
            "UPDATE timers SET due_at = $2, reason = $3, updated_at = $4 WHERE timer_id = $1",
            timer_id,
            due_at,
            reason,
            at,
        )

    async def cancel_pending(self, case_id: UUID, reason: str, at: datetime) -> None:
        await self._connection.execute(
            """UPDATE timers SET state = 'cancelled', reason = $2, updated_at = $3
               WHERE case_id = $1 AND state = 'pending'""",
            case_id,
            reason,
            at,
        )

    async def record_timer_failure(self, timer_id: int, error: str, at: datetime) -> None:
        """Count the failure and retry later, backing off from a minute up to an hour."""
        await self._connection.execute(
            """UPDATE timers SET attempts = attempts + 1, last_error = $2, updated_at = $3::timestamptz,
                   due_at = $3::timestamptz + least(interval '1 minute' * power(2, attempts), interval '1 hour')
               WHERE timer_id = $1""",
            timer_id,
            error,
            at,
        )

    async def timers(self, case_id: UUID) -> list[TimerRecord]:
        rows = await self._connection.fetch(
            """SELECT step, step_name, due_at, state, reason, fired_at FROM timers
               WHERE case_id = $1 ORDER BY timer_id""",
            case_id,
        )
        return [TimerRecord(**dict(row)) for row in rows]

    # Actions

    async def action_exists(self, case_id: UUID, step: int) -> bool:
        exists: bool = await self._connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM actions WHERE case_id = $1 AND step = $2)",
            case_id,
            step,
        )
        return exists

    async def insert_action(self, action: Action) -> None:
        await self._connection.execute(
            """INSERT INTO actions
                   (action_id, case_id, tenant, customer_id, step, step_name, template, channel,
                    language, recipient, currency, amount_due_minor, requested_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
            action.action_id,
            action.case_id,
            action.tenant,
            action.customer_id,
            action.step,
            action.step_name,
            action.template,
            action.channel,
            action.language,
            action.recipient.model_dump(mode="json", exclude_none=True),
            action.amount_due.currency,
            action.amount_due.amount_minor,
            action.requested_at,
        )

    async def last_reminder_at(self, case_id: UUID) -> datetime | None:
        last: datetime | None = await self._connection.fetchval(
            "SELECT max(requested_at) FROM actions WHERE case_id = $1", case_id
        )
        return last

    async def actions(self, case_id: UUID) -> list[Action]:
        rows = await self._connection.fetch(
            "SELECT * FROM actions WHERE case_id = $1 ORDER BY step", case_id
        )
        return [_action(row) for row in rows]

    async def record_delivery(
        self, tenant: str, action_id: UUID, report: DeliveryReport
    ) -> DeliveryOutcome:
        """Keep the latest delivery status of an action; older reports do not overwrite it."""
        row = await self._connection.fetchrow(
            """SELECT delivery_changed_at FROM actions
               WHERE tenant = $1 AND action_id = $2 FOR UPDATE""",
            tenant,
            action_id,
        )
        if row is None:
            return "unknown"
        last_change = row["delivery_changed_at"]
        if last_change is not None and last_change > report.changed_at:
            return "stale"
        await self._connection.execute(
            """UPDATE actions SET delivery_status = $2, delivery_provider = $3,
                   delivery_detail = $4, delivery_changed_at = $5
               WHERE action_id = $1""",
            action_id,
            report.status,
            report.provider,
            report.detail,
            report.changed_at,
        )
        return "recorded"


_ACTION_COLUMNS = (
    "action_id",
    "case_id",
    "tenant",
    "customer_id",
    "step",
    "step_name",
    "template",
    "channel",
    "language",
    "requested_at",
)


def _profile(row: asyncpg.Record) -> CustomerProfile:
    address = row["postal_address"]
    return CustomerProfile(
        name=row["name"],
        language=row["language"],
        time_zone=row["time_zone"],
        contacts=tuple(Contact.model_validate(contact) for contact in row["contacts"]),
        preferred_channel=row["preferred_channel"],
        consented_channels=tuple(row["consented_channels"]),
        postal_address=PostalAddress.model_validate(address) if address else None,
    )


def _case(row: asyncpg.Record) -> Case:
    currency = row["currency"]
    return Case(
        case_id=row["case_id"],
        tenant=row["tenant"],
        customer_id=row["customer_id"],
        invoice_id=row["invoice_id"],
        invoice_number=row["invoice_number"],
        issue_date=row["issue_date"],
        due_date=row["due_date"],
        amount=Money.of(row["amount_minor"], currency),
        credited=Money.of(row["credited_minor"], currency),
        open_amount=Money.of(row["open_amount_minor"], currency),
        payment_reference=row["payment_reference"],
        invoice_revision=row["invoice_revision"],
        policy=row["policy"],
        status=row["status"],
        close_reason=row["close_reason"],
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
    )


def _action(row: asyncpg.Record) -> Action:
    fields: dict[str, Any] = {name: row[name] for name in _ACTION_COLUMNS}
    delivery = None
    if row["delivery_status"] is not None:
        delivery = DeliveryReport(
            row["delivery_status"],
            row["delivery_provider"],
            row["delivery_detail"],
            row["delivery_changed_at"],
        )
    return Action(
        **fields,
        recipient=Recipient.model_validate(row["recipient"]),
        amount_due=Money.of(row["amount_due_minor"], row["currency"]),
        delivery=delivery,
    )
