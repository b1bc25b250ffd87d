"""Open items, customer names and what was applied to which invoice, inside the caller's
transaction."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from payments.domain.ledger import InvoiceBalance
from payments.domain.matching import OpenItem
from payments.domain.references import reference_key
from payments.domain.remittance import name_key, number_key
from settle_shared.events.erp import ErpPaymentRecorded
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.money import Money
from settle_shared.pg import Connection

_OPEN_ITEM_COLUMNS = """o.invoice_id, o.invoice_number, o.customer_id, c.name AS customer_name,
    o.payment_reference, o.currency, o.amount_minor, o.paid_minor"""


@dataclass(frozen=True)
class StoredInvoice:
    invoice_id: str
    invoice_number: str
    customer_id: str
    balance: InvoiceBalance
    settled_at: datetime | None
    revision: int


@dataclass(frozen=True)
class ErpPayment:
    payment_id: str
    customer_id: str
    invoice_id: str
    amount: Money
    paid_on: date


class LedgerRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # Customers

    async def save_customer(
        self, tenant: str, customer_id: str, name: str, revision: int, at: datetime
    ) -> bool:
        """Keep the newest revision of a customer's name; True if this one is it."""
        stored = await self._connection.fetchval(
            """INSERT INTO customers AS c (tenant, customer_id, name, name_key, revision, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   name = EXCLUDED.name, name_key = EXCLUDED.name_key,
                   revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at
               WHERE c.revision < EXCLUDED.revision
               RETURNING true""",
            tenant,
            customer_id,
            name,
            name_key(name),
            revision,
            at,
        )
        return stored is True

    # Invoices

    async def invoice(self, tenant: str, invoice_id: str) -> StoredInvoice | None:
        """The invoice, locked for this transaction."""
        row = await self._connection.fetchrow(
            """SELECT invoice_id, invoice_number, customer_id, currency, amount_minor, paid_minor,
                      settled_at, revision
               FROM open_items WHERE tenant = $1 AND invoice_id = $2 FOR UPDATE""",
            tenant,
            invoice_id,
        )
        if row is None:
            return None
        return StoredInvoice(
            invoice_id=row["invoice_id"],
            invoice_number=row["invoice_number"],
            customer_id=row["customer_id"],
            balance=_balance(row),
            settled_at=row["settled_at"],
            revision=row["revision"],
        )

    async def save_invoice(self, event: InvoiceIssued, at: datetime) -> None:
        """Insert the invoice, or take a newer revision's terms over (what was paid stays)."""
        await self._connection.execute(
            """INSERT INTO open_items AS o
                   (tenant, invoice_id, customer_id, invoice_number, number_key, payment_reference,
                    reference_key, currency, amount_minor, due_date, revision, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   invoice_number = EXCLUDED.invoice_number, number_key = EXCLUDED.number_key,
                   payment_reference = EXCLUDED.payment_reference,
                   reference_key = EXCLUDED.reference_key, currency = EXCLUDED.currency,
                   amount_minor = EXCLUDED.amount_minor, due_date = EXCLUDED.due_date,
                   revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at
               WHERE o.revision < EXCLUDED.revision""",
            event.tenant,
            event.invoice_id,
            event.customer_id,
            event.invoice_number,
            number_key(event.invoice_number),
            event.payment_reference,
            reference_key(event.payment_reference) if event.payment_reference else None,
            event.amount.currency,
            event.amount.amount_minor,
            event.due_date,
            event.revision,
            at,
        )

    async def identified_candidates(
        self, tenant: str, reference_keys: Collection[str], number_keys: Collection[str]
    ) -> list[OpenItem]:
        """Open items a reference or an invoice number points at, locked for this transaction."""
        if not reference_keys and not number_keys:
            return []
        rows = await self._connection.fetch(
            f"""SELECT {_OPEN_ITEM_COLUMNS}
                FROM open_items o
                LEFT JOIN customers c ON c.tenant = o.tenant AND c.customer_id = o.customer_id
                WHERE o.tenant = $1 AND o.settled_at IS NULL
                  AND (o.reference_key = ANY($2::text[]) OR o.number_key = ANY($3::text[]))
                ORDER BY o.invoice_id
                FOR UPDATE OF o""",
            tenant,
            list(reference_keys),
            list(number_keys),
        )
        return [_open_item(row) for row in rows]

    async def similar_candidates(
        self, tenant: str, amount: Money, payer_name_key: str | None, limit: int
    ) -> list[OpenItem]:
        """Open items of the same open amount, and those of a customer with the payer's name."""
        same_amount = await self._connection.fetch(
            f"""SELECT {_OPEN_ITEM_COLUMNS}
                FROM open_items o
                LEFT JOIN customers c ON c.tenant = o.tenant AND c.customer_id = o.customer_id
                WHERE o.tenant = $1 AND o.settled_at IS NULL AND o.currency = $2
                  AND o.amount_minor - o.paid_minor = $3
                ORDER BY o.due_date, o.invoice_id LIMIT $4""",
            tenant,
            amount.currency,
            amount.amount_minor,
            limit,
        )
        same_payer: list[asyncpg.Record] = []
        if payer_name_key is not None:
            same_payer = await self._connection.fetch(
                f"""SELECT {_OPEN_ITEM_COLUMNS}
                    FROM customers c
                    JOIN open_items o ON o.tenant = c.tenant AND o.customer_id = c.customer_id
                    WHERE c.tenant = $1 AND c.name_key = $2 AND o.settled_at IS NULL
                    ORDER BY o.due_date, o.invoice_id LIMIT $3""",
                tenant,
                payer_name_key,
                limit,
            )
        return [_open_item(row) for row in [*same_amount, *same_payer]]

    async def add_payment(
        self,
        tenant: str,
        invoice_id: str,
        source: str,
        payment_id: str,
        amount: Money,
        at: datetime,
    ) -> InvoiceBalance:
        """Record `amount` of a payment against the invoice; the invoice's balance after it."""
        await self._connection.execute(
            """INSERT INTO allocations
                   (tenant, source, payment_id, invoice_id, currency, amount_minor, allocated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            tenant,
            source,
            payment_id,
            invoice_id,
            amount.currency,
            amount.amount_minor,
            at,
        )
        row = await self._connection.fetchrow(
            """UPDATE open_items SET paid_minor = paid_minor + $3
               WHERE tenant = $1 AND invoice_id = $2
               RETURNING currency, amount_minor, paid_minor""",
            tenant,
            invoice_id,
            amount.amount_minor,
        )
        assert row is not None, "payments are applied to known invoices only"
        return _balance(row)

    async def mark_settled(self, tenant: str, invoice_id: str, at: datetime) -> None:
        await self._connection.execute(
            """UPDATE open_items SET settled_at = $3
               WHERE tenant = $1 AND invoice_id = $2 AND settled_at IS NULL""",
            tenant,
            invoice_id,
            at,
        )

    async def payment_ids(self, tenant: str, invoice_id: str) -> list[str]:
        rows = await self._connection.fetch(
            """SELECT payment_id FROM allocations WHERE tenant = $1 AND invoice_id = $2
               ORDER BY seq""",
            tenant,
            invoice_id,
        )
        return [row["payment_id"] for row in rows]

    # Payments the ERP applied

    async def record_erp_payment(self, event: ErpPaymentRecorded, at: datetime) -> bool:
        """Remember the ERP's payment; False if it was already known."""
        stored = await self._connection.fetchval(
            """INSERT INTO erp_payments
                   (tenant, payment_id, customer_id, invoice_id, currency, amount_minor, paid_on,
                    recorded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT DO NOTHING RETURNING true""",
            event.tenant,
            event.payment_id,
            event.customer_id,
            event.invoice_id,
            event.amount.currency,
            event.amount.amount_minor,
            event.paid_on,
            at,
        )
        return stored is True

    async def pending_erp_payments(self, tenant: str, invoice_id: str) -> list[ErpPayment]:
        rows = await self._connection.fetch(
            """SELECT payment_id, customer_id, invoice_id, currency, amount_minor, paid_on
               FROM erp_payments WHERE tenant = $1 AND invoice_id = $2 AND applied_at IS NULL
               ORDER BY paid_on, payment_id""",
            tenant,
            invoice_id,
        )
        return [
            ErpPayment(
                payment_id=row["payment_id"],
                customer_id=row["customer_id"],
                invoice_id=row["invoice_id"],
                amount=Money.of(row["amount_minor"], row["currency"]),
                paid_on=row["paid_on"],
            )
            for row in rows
        ]

    async def mark_erp_payment_applied(self, tenant: str, payment_id: str, at: datetime) -> None:
        await self._connection.execute(
            "UPDATE erp_payments SET applied_at = $3 WHERE tenant = $1 AND payment_id = $2",
            tenant,
            payment_id,
            at,
        )


def _balance(row: asyncpg.Record) -> InvoiceBalance:
    return InvoiceBalance(
        amount=Money.of(row["amount_minor"], row["currency"]),
        paid=Money.of(row["paid_minor"], row["currency"]),
    )


def _open_item(row: asyncpg.Record) -> OpenItem:
    balance = _balance(row)
    return OpenItem(
        invoice_id=row["invoice_id"],
        invoice_number=row["invoice_number"],
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        payment_reference=row["payment_reference"],
        amount=balance.amount,
        open_amount=balance.open_amount,
    )
