"""Ingestion's tables, read and written inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ingestion.domain.customers import CustomerVersion
from ingestion.domain.invoices import InvoiceContent, InvoiceStatus
from settle_shared.events.common import CustomerMaster
from settle_shared.locks import customer_key, lock_until_commit
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
    content: InvoiceContent
    erp_updated_at: datetime
    revision: int
    content_hash: str
    status: InvoiceStatus
    received_before_customer: bool
    received_at: datetime


class IngestionRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def lock_customer(self, tenant: str, customer_id: str) -> None:
        """Serialise concurrent versions of one customer (topic and HTTP may race)."""
        await lock_until_commit(self._connection, customer_key(tenant, customer_id))

    async def customer(self, tenant: str, customer_id: str) -> StoredCustomer | None:
        row = await self._connection.fetchrow(
            """SELECT tenant, customer_id, master, erp_updated_at, content_hash, revision,
                      received_at
               FROM customers WHERE tenant = $1 AND customer_id = $2""",
            tenant,
            customer_id,
        )
        return _customer(row) if row else None

    async def save_customer(self, customer: StoredCustomer) -> None:
        await self._connection.execute(
            """INSERT INTO customers AS c
                   (tenant, customer_id, master, erp_updated_at, content_hash, revision,
                    received_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   master = EXCLUDED.master, erp_updated_at = EXCLUDED.erp_updated_at,
                   content_hash = EXCLUDED.content_hash, revision = EXCLUDED.revision,
                   received_at = EXCLUDED.received_at""",
            customer.tenant,
            customer.customer_id,
            customer.master.model_dump(mode="json"),
            customer.version.updated_at,
            customer.version.content_hash,
            customer.revision,
            customer.received_at,
        )

    async def advance_erp_updated_at(
        self, tenant: str, customer_id: str, updated_at: datetime
    ) -> None:
        """Remember that the ERP stamped the same content later, so older versions stay stale."""
        await self._connection.execute(
            """UPDATE customers SET erp_updated_at = GREATEST(erp_updated_at, $3)
               WHERE tenant = $1 AND customer_id = $2""",
            tenant,
            customer_id,
            updated_at,
        )

    async def customer_known(self, tenant: str, customer_id: str) -> bool:
        known: bool = await self._connection.fetchval(
            "SELECT EXISTS (SELECT FROM customers WHERE tenant = $1 AND customer_id = $2)",
            tenant,
            customer_id,
        )
        return known

    async def add_invoice(self, invoice: StoredInvoice) -> bool:
        """Store a first issue; False (and nothing written) if the id was already issued."""
        content = invoice.content
        inserted = await self._connection.fetchval(
            """INSERT INTO invoices
                   (tenant, invoice_id, customer_id, invoice_number, issue_date, due_date,
                    amount_minor, currency, payment_reference, erp_updated_at, revision,
                    content_hash, status, received_before_customer, received_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT (tenant, invoice_id) DO NOTHING
               RETURNING true""",
            invoice.tenant,
            invoice.invoice_id,
            content.customer_id,
            content.invoice_number,
            content.issue_date,
            content.due_date,
            content.amount.amount_minor,
            content.amount.currency,
            content.payment_reference,
            invoice.erp_updated_at,
            invoice.revision,
            invoice.content_hash,
            invoice.status,
            invoice.received_before_customer,
            invoice.received_at,
        )
        return inserted is True

    async def invoice(self, tenant: str, invoice_id: str) -> StoredInvoice | None:
        row = await self._connection.fetchrow(
            """SELECT tenant, invoice_id, customer_id, invoice_number, issue_date, due_date,
                      amount_minor, currency, payment_reference, erp_updated_at, revision,
                      content_hash, status, received_before_customer, received_at
               FROM invoices WHERE tenant = $1 AND invoice_id = $2""",
            tenant,
            invoice_id,
        )
        return _invoice(row) if row else None


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
        content=InvoiceContent(
            customer_id=row["customer_id"],
            invoice_number=row["invoice_number"],
            issue_date=row["issue_date"],
            due_date=row["due_date"],
            amount=Money.of(row["amount_minor"], row["currency"]),
            payment_reference=row["payment_reference"],
        ),
        erp_updated_at=row["erp_updated_at"],
        revision=row["revision"],
        content_hash=row["content_hash"],
        status=row["status"],
        received_before_customer=row["received_before_customer"],
        received_at=row["received_at"],
    )
