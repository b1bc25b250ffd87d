"""Segmentation's tables, read and written inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from segmentation.domain.behaviour import InvoiceOutcome
from segmentation.domain.rules import RiskProfile, SegmentDecision
from settle_shared.locks import customer_key, lock_until_commit
from settle_shared.money import Money
from settle_shared.pg import Connection


@dataclass(frozen=True)
class Assignment:
    tenant: str
    customer_id: str
    segment: str
    rule: str
    reasons: list[str]
    revision: int
    decided_at: datetime


class SegmentationRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def lock_customer(self, tenant: str, customer_id: str) -> None:
        """Serialise concurrent updates of one customer's segment (profile and payment events)."""
        await lock_until_commit(self._connection, customer_key(tenant, customer_id))

    async def save_profile(
        self, tenant: str, customer_id: str, profile: RiskProfile, revision: int, at: datetime
    ) -> bool:
        """Store the profile unless a newer revision is already stored; True if stored."""
        stored = await self._connection.fetchval(
            """INSERT INTO customer_profiles AS p
                   (tenant, customer_id, strategic_account, bureau_score, bureau_rating,
                    profile_revision, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   strategic_account = EXCLUDED.strategic_account,
                   bureau_score = EXCLUDED.bureau_score,
                   bureau_rating = EXCLUDED.bureau_rating,
                   profile_revision = EXCLUDED.profile_revision,
                   updated_at = EXCLUDED.updated_at
               WHERE p.profile_revision < EXCLUDED.profile_revision
               RETURNING true""",
            tenant,
            customer_id,
            profile.strategic_account,
            profile.bureau_score,
            profile.bureau_rating,
            revision,
            at,
        )
        return stored is True

    async def profile(self, tenant: str, customer_id: str) -> RiskProfile | None:
        row = await self._connection.fetchrow(
            """SELECT strategic_account, bureau_score, bureau_rating FROM customer_profiles
               WHERE tenant = $1 AND customer_id = $2""",
            tenant,
            customer_id,
        )
        if row is None:
            return None
        return RiskProfile(row["strategic_account"], row["bureau_score"], row["bureau_rating"])

    async def record_invoice(
        self,
        tenant: str,
        customer_id: str,
        invoice_id: str,
        due_date: date,
        amount: Money,
        revision: int,
    ) -> bool:
        """Store the invoice unless this revision of it is not newer; True if stored."""
        stored = await self._connection.fetchval(
            """INSERT INTO invoice_outcomes AS o
                   (tenant, customer_id, invoice_id, due_date, currency, amount_minor,
                    invoice_revision)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   due_date = EXCLUDED.due_date, currency = EXCLUDED.currency,
                   amount_minor = EXCLUDED.amount_minor,
                   invoice_revision = EXCLUDED.invoice_revision
               WHERE o.invoice_revision < EXCLUDED.invoice_revision
               RETURNING true""",
            tenant,
            customer_id,
            invoice_id,
            due_date,
            amount.currency,
            amount.amount_minor,
            revision,
        )
        return stored is True

    async def record_cancellation(self, tenant: str, invoice_id: str) -> bool:
        """Mark a known invoice cancelled, for good; True if that is news."""
        cancelled = await self._connection.fetchval(
            """UPDATE invoice_outcomes SET cancelled = true
               WHERE tenant = $1 AND invoice_id = $2 AND NOT cancelled
               RETURNING true""",
            tenant,
            invoice_id,
        )
        return cancelled is True

    async def record_credit_note(
        self, tenant: str, credit_note_id: str, invoice_id: str, amount: Money
    ) -> bool:
        """Remember a linked credit note; False if it was already known (counted once)."""
        stored = await self._connection.fetchval(
            """INSERT INTO credit_notes (tenant, credit_note_id, invoice_id, currency, amount_minor)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (tenant, credit_note_id) DO NOTHING
               RETURNING true""",
            tenant,
            credit_note_id,
            invoice_id,
            amount.currency,
            amount.amount_minor,
        )
        return stored is True

    async def record_settlement(self, tenant: str, invoice_id: str, settled_at: datetime) -> bool:
        """Mark a known invoice settled; False if it is unknown here, settled already, or a
        payment was taken off it after this settlement."""
        result = await self._connection.execute(
            """UPDATE invoice_outcomes SET settled_on = $3, settled_at = $4
               WHERE tenant = $1 AND invoice_id = $2 AND settled_on IS NULL
                 AND (reopened_at IS NULL OR reopened_at < $4)""",
            tenant,
            invoice_id,
            settled_at.date(),
            settled_at,
        )
        return result.endswith(" 1")

    async def record_reopening(self, tenant: str, invoice_id: str, reopened_at: datetime) -> bool:
        """A payment was taken off a settled invoice: it is open again. False if the invoice is
        unknown here, not settled, cancelled, or settled again after this reopening."""
        # Payments stamps an invoice's settlements and reopenings with its own clock while
        # holding the invoice's row, so their times order them.
        result = await self._connection.execute(
            """UPDATE invoice_outcomes SET settled_on = NULL, settled_at = NULL, reopened_at = $3
               WHERE tenant = $1 AND invoice_id = $2 AND settled_on IS NOT NULL
                 AND NOT cancelled AND (settled_at IS NULL OR settled_at <= $3)""",
            tenant,
            invoice_id,
            reopened_at,
        )
        return result.endswith(" 1")

    async def outcomes(self, tenant: str, customer_id: str) -> list[InvoiceOutcome]:
        """The customer's invoices, each with its credit notes in the invoice's currency."""
        rows = await self._connection.fetch(
            """SELECT o.due_date, o.settled_on, o.cancelled, o.amount_minor,
                      coalesce(sum(c.amount_minor), 0)::bigint AS credited_minor
               FROM invoice_outcomes o
               LEFT JOIN credit_notes c ON c.tenant = o.tenant AND c.invoice_id = o.invoice_id
                   AND c.currency = o.currency
               WHERE o.tenant = $1 AND o.customer_id = $2
               GROUP BY o.invoice_id, o.due_date, o.settled_on, o.cancelled, o.amount_minor""",
            tenant,
            customer_id,
        )
        return [InvoiceOutcome(**dict(row)) for row in rows]

    async def assignment(self, tenant: str, customer_id: str) -> Assignment | None:
        row = await self._connection.fetchrow(
            """SELECT tenant, customer_id, segment, rule, reasons, revision, decided_at
               FROM segment_assignments WHERE tenant = $1 AND customer_id = $2""",
            tenant,
            customer_id,
        )
        return Assignment(**dict(row)) if row else None

    async def assign(
        self, tenant: str, customer_id: str, decision: SegmentDecision, at: datetime
    ) -> Assignment:
        previous = await self.assignment(tenant, customer_id)
        revision = previous.revision + 1 if previous else 1
        reasons = list(decision.reasons)
        await self._connection.execute(
            """INSERT INTO segment_assignments AS a
                   (tenant, customer_id, segment, rule, reasons, revision, decided_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   segment = EXCLUDED.segment, rule = EXCLUDED.rule, reasons = EXCLUDED.reasons,
                   revision = EXCLUDED.revision, decided_at = EXCLUDED.decided_at""",
            tenant,
            customer_id,
            decision.segment,
            decision.rule,
            reasons,
            revision,
            at,
        )
        await self._connection.execute(
            """INSERT INTO segment_history
                   (tenant, customer_id, segment, previous, rule, reasons, decided_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            tenant,
            customer_id,
            decision.segment,
            previous.segment if previous else None,
            decision.rule,
            reasons,
            at,
        )
        return Assignment(
            tenant, customer_id, decision.segment, decision.rule, reasons, revision, at
        )

    async def distribution(self, tenant: str) -> dict[str, int]:
        rows = await self._connection.fetch(
            """SELECT segment, count(*) AS customers FROM segment_assignments
               WHERE tenant = $1 GROUP BY segment""",
            tenant,
        )
        return {row["segment"]: row["customers"] for row in rows}
