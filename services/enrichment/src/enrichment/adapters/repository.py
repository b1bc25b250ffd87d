"""Enrichment's tables, read and written inside the caller's transaction (or on a plain connection
for reads)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from enrichment.domain.credit import Company
from enrichment.domain.exposure import OpenItem
from enrichment.domain.profile import CustomerProfile
from settle_shared import inbox
from settle_shared.events.common import CustomerMaster
from settle_shared.events.enrichment import CreditAssessment
from settle_shared.locks import customer_key, lock_until_commit
from settle_shared.money import Money
from settle_shared.pg import Connection


class EnrichmentRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def lock_customer(self, tenant: str, customer_id: str) -> None:
        """Serialise changes to one customer: its events arrive on several topics (and consumers),
        and the HTTP routes change it too."""
        await lock_until_commit(self._connection, customer_key(tenant, customer_id))

    async def already_handled(self, consumer: str, event_id: str) -> bool:
        """Whether the inbox holds the event: lets a redelivery skip the bureau call."""
        return await inbox.seen(self._connection, consumer, event_id)

    async def profile(self, tenant: str, customer_id: str) -> CustomerProfile | None:
        row = await self._connection.fetchrow(
            """SELECT master, master_revision, credit, manual_limit_minor, manual_limit_currency,
                      revision, enriched_at
               FROM customer_profiles WHERE tenant = $1 AND customer_id = $2""",
            tenant,
            customer_id,
        )
        return _profile(tenant, customer_id, row) if row else None

    async def save_profile(self, profile: CustomerProfile) -> None:
        limit = profile.manual_limit
        await self._connection.execute(
            """INSERT INTO customer_profiles AS p
                   (tenant, customer_id, master, master_revision, credit, manual_limit_minor,
                    manual_limit_currency, revision, enriched_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   master = EXCLUDED.master, master_revision = EXCLUDED.master_revision,
                   credit = EXCLUDED.credit, manual_limit_minor = EXCLUDED.manual_limit_minor,
                   manual_limit_currency = EXCLUDED.manual_limit_currency,
                   revision = EXCLUDED.revision, enriched_at = EXCLUDED.enriched_at""",
            profile.tenant,
            profile.customer_id,
            profile.master.model_dump(mode="json"),
            profile.master_revision,
            profile.credit.model_dump(mode="json"),
            limit.amount_minor if limit else None,
            limit.currency if limit else None,
            profile.revision,
            profile.enriched_at,
        )

    async def cached_assessment(self, tenant: str, company: Company) -> CreditAssessment | None:
        stored = await self._connection.fetchval(
            """SELECT assessment FROM bureau_reports
               WHERE tenant = $1 AND country = $2 AND registration_number = $3""",
            tenant,
            company.country,
            company.registration_number,
        )
        return CreditAssessment.model_validate(stored) if stored is not None else None

    async def cache_assessment(
        self, tenant: str, company: Company, assessment: CreditAssessment
    ) -> None:
        await self._connection.execute(
            """INSERT INTO bureau_reports
                   (tenant, country, registration_number, assessment, fetched_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (tenant, country, registration_number) DO UPDATE SET
                   assessment = EXCLUDED.assessment, fetched_at = EXCLUDED.fetched_at""",
            tenant,
            company.country,
            company.registration_number,
            assessment.model_dump(mode="json"),
            assessment.fetched_at,
        )

    async def record_invoice(
        self, tenant: str, customer_id: str, invoice_id: str, amount: Money, revision: int
    ) -> None:
        """Store the invoice's amount unless a newer revision of it is already stored."""
        await self._connection.execute(
            """INSERT INTO open_items AS o
                   (tenant, invoice_id, customer_id, currency, amount_minor, invoice_revision)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   currency = EXCLUDED.currency, amount_minor = EXCLUDED.amount_minor,
                   invoice_revision = EXCLUDED.invoice_revision
               WHERE o.invoice_revision IS NULL OR o.invoice_revision < EXCLUDED.invoice_revision""",
            tenant,
            invoice_id,
            customer_id,
            amount.currency,
            amount.amount_minor,
            revision,
        )

    async def record_settlement(
        self, tenant: str, customer_id: str, invoice_id: str, currency: str, at: datetime
    ) -> None:
        await self._connection.execute(
            """INSERT INTO open_items
                   (tenant, invoice_id, customer_id, currency, settled, payments_at)
               VALUES ($1, $2, $3, $4, true, $5)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   settled = true, payments_at = EXCLUDED.payments_at""",
            tenant,
            invoice_id,
            customer_id,
            currency,
            at,
        )

    async def record_partial_payment(
        self,
        tenant: str,
        customer_id: str,
        invoice_id: str,
        paid: Money,
        open_amount: Money,
        at: datetime,
    ) -> None:
        await self._connection.execute(
            """INSERT INTO open_items
                   (tenant, invoice_id, customer_id, currency, paid_minor, remaining_minor,
                    payments_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   paid_minor = EXCLUDED.paid_minor, remaining_minor = EXCLUDED.remaining_minor,
                   payments_at = EXCLUDED.payments_at""",
            tenant,
            invoice_id,
            customer_id,
            open_amount.currency,
            paid.amount_minor,
            open_amount.amount_minor,
            at,
        )

    async def record_reopening(
        self, tenant: str, invoice_id: str, paid: Money, open_amount: Money, at: datetime
    ) -> bool:
        """A payment was taken off a known invoice: what it leaves open is owed again. False if
        the invoice is unknown here, cancelled, or payments spoke of it after this reopening."""
        # Payments stamps an invoice's settlements, payments and reopenings with its own clock
        # while holding the invoice's row, so their times order them.
        reopened = await self._connection.fetchval(
            """UPDATE open_items SET settled = false, paid_minor = $3, remaining_minor = $4,
                   payments_at = $5
               WHERE tenant = $1 AND invoice_id = $2 AND NOT cancelled
                 AND (payments_at IS NULL OR payments_at <= $5)
               RETURNING true""",
            tenant,
            invoice_id,
            paid.amount_minor,
            open_amount.amount_minor,
            at,
        )
        return reopened is True

    async def record_cancellation(self, tenant: str, invoice_id: str) -> bool:
        """Mark a known invoice cancelled, for good; False if it is unknown here."""
        cancelled = await self._connection.fetchval(
            """UPDATE open_items SET cancelled = true
               WHERE tenant = $1 AND invoice_id = $2
               RETURNING true""",
            tenant,
            invoice_id,
        )
        return cancelled is True

    async def invoice_currency(self, tenant: str, invoice_id: str) -> str | None:
        """The currency of a known invoice's amount; None while the invoice is unknown here."""
        currency: str | None = await self._connection.fetchval(
            """SELECT currency FROM open_items
               WHERE tenant = $1 AND invoice_id = $2 AND amount_minor IS NOT NULL""",
            tenant,
            invoice_id,
        )
        return currency

    async def record_credit_note(
        self, tenant: str, customer_id: str, credit_note_id: str, invoice_id: str, amount: Money
    ) -> bool:
        """Remember a linked credit note; False if it was already known (counted once)."""
        stored = await self._connection.fetchval(
            """INSERT INTO credit_notes
                   (tenant, credit_note_id, customer_id, invoice_id, currency, amount_minor)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant, credit_note_id) DO NOTHING
               RETURNING true""",
            tenant,
            credit_note_id,
            customer_id,
            invoice_id,
            amount.currency,
            amount.amount_minor,
        )
        return stored is True

    async def open_items(self, tenant: str, customer_id: str) -> list[OpenItem]:
        """The customer's invoices, each with its credit notes in the invoice's currency."""
        rows = await self._connection.fetch(
            """SELECT o.invoice_id, o.currency, o.amount_minor, o.remaining_minor, o.settled,
                      o.paid_minor, coalesce(c.credited_minor, 0) AS credited_minor, o.cancelled
               FROM open_items o
               LEFT JOIN (SELECT invoice_id, currency, sum(amount_minor)::bigint AS credited_minor
                          FROM credit_notes WHERE tenant = $1 AND customer_id = $2
                          GROUP BY invoice_id, currency) c
                   ON c.invoice_id = o.invoice_id AND c.currency = o.currency
               WHERE o.tenant = $1 AND o.customer_id = $2 ORDER BY o.recorded""",
            tenant,
            customer_id,
        )
        return [OpenItem(**dict(row)) for row in rows]

    async def over_limit(self, tenant: str, customer_id: str) -> bool:
        over = await self._connection.fetchval(
            "SELECT over_limit FROM credit_watch WHERE tenant = $1 AND customer_id = $2",
            tenant,
            customer_id,
        )
        return over is True

    async def set_over_limit(
        self, tenant: str, customer_id: str, over_limit: bool, at: datetime
    ) -> None:
        await self._connection.execute(
            """INSERT INTO credit_watch (tenant, customer_id, over_limit, changed_at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   over_limit = EXCLUDED.over_limit, changed_at = EXCLUDED.changed_at""",
            tenant,
            customer_id,
            over_limit,
            at,
        )


def _profile(tenant: str, customer_id: str, row: asyncpg.Record) -> CustomerProfile:
    currency = row["manual_limit_currency"]
    return CustomerProfile(
        tenant=tenant,
        customer_id=customer_id,
        master=CustomerMaster.model_validate(row["master"]),
        master_revision=row["master_revision"],
        credit=CreditAssessment.model_validate(row["credit"]),
        manual_limit=Money.of(row["manual_limit_minor"], currency) if currency else None,
        revision=row["revision"],
        enriched_at=row["enriched_at"],
    )
