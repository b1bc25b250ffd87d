"""Segmentation's tables, read and written inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from segmentation.domain.behaviour import InvoiceOutcome
from segmentation.domain.rules import RiskProfile, SegmentDecision
from settle_shared.locks import customer_key, lock_until_commit
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
        self, tenant: str, customer_id: str, invoice_id: str, due_date: date
    ) -> None:
        await self._connection.execute(
            """INSERT INTO invoice_outcomes (tenant, customer_id, invoice_id, due_date)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET due_date = EXCLUDED.due_date""",
            tenant,
            customer_id,
            invoice_id,
            due_date,
        )

    async def record_settlement(self, tenant: str, invoice_id: str, settled_on: date) -> bool:
        """Mark a known invoice settled; False if the invoice is unknown here."""
        result = await self._connection.execute(
            """UPDATE invoice_outcomes SET settled_on = $3
               WHERE tenant = $1 AND invoice_id = $2 AND settled_on IS NULL""",
            tenant,
            invoice_id,
            settled_on,
        )
        return result.endswith(" 1")

    async def outcomes(self, tenant: str, customer_id: str) -> list[InvoiceOutcome]:
        rows = await self._connection.fetch(
            """SELECT due_date, settled_on FROM invoice_outcomes
               WHERE tenant = $1 AND customer_id = $2""",
            tenant,
            customer_id,
        )
        return [InvoiceOutcome(row["due_date"], row["settled_on"]) for row in rows]

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
