"""Ingestion's tables, read and written inside the caller's transaction, many rows per statement
(a batch of thousands of records costs a handful of round trips)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ingestion.domain.credit_notes import CreditNoteContent, HeldCreditNote
from ingestion.domain.customers import CustomerVersion
from ingestion.domain.invoices import InvoiceContent
from ingestion.domain.lifecycle import InvoiceState, InvoiceStatus
from settle_shared.events.common import CustomerMaster
from settle_shared.money import Money
from settle_shared.pg import Connection


@dataclass(frozen=True)
class StoredCustomer:
    tenant: str
    customer_id: str
    master: CustomerMaster
    version: CustomerVersion
    revision: int
    received_at: datetime


@dataclass(frozen=True)
class StoredInvoice:
    tenant: str
    invoice_id: str
    state: InvoiceState


@dataclass(frozen=True)
class StoredCreditNote:
    tenant: str
    credit_note_id: str
    content: CreditNoteContent
    reason: str | None
    erp_updated_at: datetime
    received_at: datetime

    @property
    def held(self) -> HeldCreditNote:
        return HeldCreditNote(self.content, self.erp_updated_at)


@dataclass(frozen=True)
class InvoicePage:
    invoices: list[StoredInvoice]
    next_after: str | None


_INVOICE_COLUMNS = """tenant, invoice_id, customer_id, invoice_number, issue_date, due_date,
    amount_minor, currency, payment_reference, payment_terms, erp_updated_at, revision,
    content_hash, status, cancel_reason, received_before_customer, received_at"""
_CUSTOMER_COLUMNS = (
    "tenant, customer_id, master, erp_updated_at, content_hash, revision, received_at"
)
_CREDIT_NOTE_COLUMNS = """tenant, credit_note_id, customer_id, credit_note_number, invoice_id,
    issue_date, amount_minor, currency, reason, erp_updated_at, content_hash, received_at"""


class IngestionRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def lock(self, keys: Iterable[str]) -> None:
        """Hold, until commit, the advisory lock of every key: versions of one record sent at
        once (topic and HTTP, two batches) are decided one after the other. Locks are taken in
        one order (by lock number) so two batches never wait on each other in a circle."""
        await self._connection.execute(
            """SELECT pg_advisory_xact_lock(lock_number) FROM (
                   SELECT DISTINCT hashtextextended(key, 0) AS lock_number
                   FROM unnest($1::text[]) AS key ORDER BY lock_number) AS ordered""",
            sorted(set(keys)),
        )

    # Customers

    async def customers(self, tenant: str, ids: Iterable[str]) -> dict[str, StoredCustomer]:
        rows = await self._connection.fetch(
            f"SELECT {_CUSTOMER_COLUMNS} FROM customers "
            "WHERE tenant = $1 AND customer_id = ANY($2::text[])",
            tenant,
            list(set(ids)),
        )
        return {row["customer_id"]: _customer(row) for row in rows}

    async def customer(self, tenant: str, customer_id: str) -> StoredCustomer | None:
        return (await self.customers(tenant, [customer_id])).get(customer_id)

    async def save_customers(self, customers: Sequence[StoredCustomer]) -> None:
        if not customers:
            return
        await self._connection.execute(
            f"""INSERT INTO customers AS c ({_CUSTOMER_COLUMNS})
                SELECT tenant, customer_id, master::jsonb, erp_updated_at, content_hash,
                       revision, received_at
                FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
                            $6::integer[], $7::timestamptz[])
                     AS incoming(tenant, customer_id, master, erp_updated_at, content_hash,
                                 revision, received_at)
                ON CONFLICT (tenant, customer_id) DO UPDATE SET
                    master = EXCLUDED.master, erp_updated_at = EXCLUDED.erp_updated_at,
                    content_hash = EXCLUDED.content_hash, revision = EXCLUDED.revision,
                    received_at = EXCLUDED.received_at""",
            [c.tenant for c in customers],
            [c.customer_id for c in customers],
            [json.dumps(c.master.model_dump(mode="json")) for c in customers],
            [c.version.updated_at for c in customers],
            [c.version.content_hash for c in customers],
            [c.revision for c in customers],
            [c.received_at for c in customers],
        )

    async def advance_customers(self, tenant: str, stamps: dict[str, datetime]) -> None:
        """Remember that the ERP stamped the same content later, so older versions stay stale."""
        if not stamps:
            return
        await self._connection.execute(
            """UPDATE customers AS c SET erp_updated_at = GREATEST(c.erp_updated_at, s.stamp)
               FROM unnest($2::text[], $3::timestamptz[]) AS s(customer_id, stamp)
               WHERE c.tenant = $1 AND c.customer_id = s.customer_id""",
            tenant,
            list(stamps),
            list(stamps.values()),
        )

    async def known_customers(self, tenant: str, ids: Iterable[str]) -> set[str]:
        rows = await self._connection.fetch(
            "SELECT customer_id FROM customers WHERE tenant = $1 AND customer_id = ANY($2::text[])",
            tenant,
            list(set(ids)),
        )
        return {row["customer_id"] for row in rows}

    async def customer_known(self, tenant: str, customer_id: str) -> bool:
        return bool(await self.known_customers(tenant, [customer_id]))

    # Invoices

    async def invoices(self, tenant: str, ids: Iterable[str]) -> dict[str, StoredInvoice]:
        rows = await self._connection.fetch(
            f"SELECT {_INVOICE_COLUMNS} FROM invoices "
            "WHERE tenant = $1 AND invoice_id = ANY($2::text[])",
            tenant,
            list(set(ids)),
        )
        return {row["invoice_id"]: _invoice(row) for row in rows}

    async def invoice(self, tenant: str, invoice_id: str) -> StoredInvoice | None:
        return (await self.invoices(tenant, [invoice_id])).get(invoice_id)

    async def invoice_page(
        self,
        tenant: str,
        *,
        customer_id: str | None,
        status: InvoiceStatus | None,
        after: str | None,
        limit: int,
    ) -> InvoicePage:
        rows = await self._connection.fetch(
            f"""SELECT {_INVOICE_COLUMNS} FROM invoices
                WHERE tenant = $1 AND ($2::text IS NULL OR customer_id = $2)
                  AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR invoice_id > $4)
                ORDER BY invoice_id LIMIT $5""",
            tenant,
            customer_id,
            status,
            after,
            limit + 1,
        )
        invoices = [_invoice(row) for row in rows[:limit]]
        return InvoicePage(invoices, invoices[-1].invoice_id if len(rows) > limit else None)

    async def save_invoices(self, invoices: Sequence[StoredInvoice]) -> None:
        if not invoices:
            return
        states = [invoice.state for invoice in invoices]
        await self._connection.execute(
            f"""INSERT INTO invoices ({_INVOICE_COLUMNS})
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[],
                    $6::date[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                    $11::timestamptz[], $12::integer[], $13::text[], $14::text[], $15::text[],
                    $16::boolean[], $17::timestamptz[])
                ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                    customer_id = EXCLUDED.customer_id, invoice_number = EXCLUDED.invoice_number,
                    issue_date = EXCLUDED.issue_date, due_date = EXCLUDED.due_date,
                    amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
                    payment_reference = EXCLUDED.payment_reference,
                    payment_terms = EXCLUDED.payment_terms,
                    erp_updated_at = EXCLUDED.erp_updated_at, revision = EXCLUDED.revision,
                    content_hash = EXCLUDED.content_hash, status = EXCLUDED.status,
                    cancel_reason = EXCLUDED.cancel_reason, received_at = EXCLUDED.received_at""",
            [invoice.tenant for invoice in invoices],
            [invoice.invoice_id for invoice in invoices],
            [s.content.customer_id for s in states],
            [s.content.invoice_number for s in states],
            [s.content.issue_date for s in states],
            [s.content.due_date for s in states],
            [s.content.amount.amount_minor for s in states],
            [s.content.amount.currency for s in states],
            [s.content.payment_reference for s in states],
            [s.content.payment_terms for s in states],
            [s.erp_updated_at for s in states],
            [s.revision for s in states],
            [s.content_hash for s in states],
            [s.status for s in states],
            [s.cancel_reason for s in states],
            [s.received_before_customer for s in states],
            [s.received_at for s in states],
        )

    # Credit notes

    async def credit_notes(self, tenant: str, ids: Iterable[str]) -> dict[str, StoredCreditNote]:
        rows = await self._connection.fetch(
            f"SELECT {_CREDIT_NOTE_COLUMNS} FROM credit_notes "
            "WHERE tenant = $1 AND credit_note_id = ANY($2::text[])",
            tenant,
            list(set(ids)),
        )
        return {row["credit_note_id"]: _credit_note(row) for row in rows}

    async def credit_note(self, tenant: str, credit_note_id: str) -> StoredCreditNote | None:
        return (await self.credit_notes(tenant, [credit_note_id])).get(credit_note_id)

    async def credited(self, tenant: str, invoice_ids: Iterable[str]) -> dict[str, int]:
        """How much the credit notes held credit on each invoice, in minor units."""
        rows = await self._connection.fetch(
            """SELECT invoice_id, sum(amount_minor) AS credited FROM credit_notes
               WHERE tenant = $1 AND invoice_id = ANY($2::text[]) GROUP BY invoice_id""",
            tenant,
            list(set(invoice_ids)),
        )
        return {row["invoice_id"]: int(row["credited"]) for row in rows}

    async def add_credit_notes(self, notes: Sequence[StoredCreditNote]) -> None:
        if not notes:
            return
        contents = [note.content for note in notes]
        await self._connection.execute(
            f"""INSERT INTO credit_notes ({_CREDIT_NOTE_COLUMNS})
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                    $6::date[], $7::bigint[], $8::text[], $9::text[], $10::timestamptz[],
                    $11::text[], $12::timestamptz[])""",
            [note.tenant for note in notes],
            [note.credit_note_id for note in notes],
            [c.customer_id for c in contents],
            [c.credit_note_number for c in contents],
            [c.invoice_id for c in contents],
            [c.issue_date for c in contents],
            [c.amount.amount_minor for c in contents],
            [c.amount.currency for c in contents],
            [note.reason for note in notes],
            [note.erp_updated_at for note in notes],
            [c.fingerprint() for c in contents],
            [note.received_at for note in notes],
        )


def _customer(row: asyncpg.Record) -> StoredCustomer:
    return StoredCustomer(
        tenant=row["tenant"],
        customer_id=row["customer_id"],
        master=CustomerMaster.model_validate(row["master"]),
        version=CustomerVersion(row["erp_updated_at"], row["content_hash"]),
        revision=row["revision"],
        received_at=row["received_at"],
    )


def _invoice(row: asyncpg.Record) -> StoredInvoice:
    return StoredInvoice(
        tenant=row["tenant"],
        invoice_id=row["invoice_id"],
        state=InvoiceState(
            content=InvoiceContent(
                customer_id=row["customer_id"],
                invoice_number=row["invoice_number"],
                issue_date=row["issue_date"],
                due_date=row["due_date"],
                amount=Money.of(row["amount_minor"], row["currency"]),
                payment_reference=row["payment_reference"],
                payment_terms=row["payment_terms"],
            ),
            erp_updated_at=row["erp_updated_at"],
            revision=row["revision"],
            status=row["status"],
            received_before_customer=row["received_before_customer"],
            received_at=row["received_at"],
            cancel_reason=row["cancel_reason"],
        ),
    )


def _credit_note(row: asyncpg.Record) -> StoredCreditNote:
    return StoredCreditNote(
        tenant=row["tenant"],
        credit_note_id=row["credit_note_id"],
        content=CreditNoteContent(
            customer_id=row["customer_id"],
            credit_note_number=row["credit_note_number"],
            invoice_id=row["invoice_id"],
            issue_date=row["issue_date"],
            amount=Money.of(row["amount_minor"], row["currency"]),
        ),
        reason=row["reason"],
        erp_updated_at=row["erp_updated_at"],
        received_at=row["received_at"],
    )
