"""Open items, customer names and what was applied to which invoice, inside the caller's
transaction."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

import asyncpg

from payments.domain.ledger import InvoiceBalance
from payments.domain.matching import Clues, IncomingPayment
from payments.domain.openitems import ItemStatus, OpenItem, OpenItems, StoredItem
from payments.domain.references import reference_key
from payments.domain.remittance import name_key, number_key, serial_keys
from settle_shared.events.erp import ErpPaymentRecorded
from settle_shared.events.ingestion import CanonicalInvoice, CreditNoteIssued
from settle_shared.money import Money
from settle_shared.pg import Connection

_OPEN_ITEM_COLUMNS = """o.invoice_id, o.invoice_number, o.customer_id, o.payment_reference,
    o.currency, o.amount_minor, o.paid_minor, o.credited_minor, o.written_off_minor,
    o.issue_date, o.due_date, o.settled_at, o.cancelled_at, o.number_key, o.reference_key,
    o.serial_keys"""
_BALANCE_COLUMNS = "currency, amount_minor, paid_minor, credited_minor, written_off_minor"


@dataclass(frozen=True)
class StoredInvoice:
    invoice_id: str
    invoice_number: str
    customer_id: str
    balance: InvoiceBalance
    settled_at: datetime | None
    cancelled_at: datetime | None
    revision: int


@dataclass(frozen=True)
class Candidates:
    """A chunk's open items as matching sees them, and each invoice's balance as stored."""

    items: OpenItems
    stored: dict[str, asyncpg.Record]

    def balance(self, invoice_id: str) -> InvoiceBalance:
        return _balance(self.stored[invoice_id])


@dataclass(frozen=True)
class AllocationRow:
    """What one payment applied to one invoice (or netted of one credit note)."""

    payment_id: str
    invoice_id: str
    amount: Money
    written_off_minor: int
    is_credit: bool


@dataclass(frozen=True)
class InvoiceChange:
    """What a chunk of payments did to one invoice; `settled` None leaves it as it was."""

    invoice_id: str
    paid_minor: int
    written_off_minor: int
    settled: bool | None


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
            f"""SELECT invoice_id, invoice_number, customer_id, {_BALANCE_COLUMNS},
                      settled_at, cancelled_at, revision
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
            cancelled_at=row["cancelled_at"],
            revision=row["revision"],
        )

    async def save_invoice(self, event: CanonicalInvoice, at: datetime) -> None:
        """Insert the invoice, or take a newer revision's terms over (what was paid stays)."""
        await self._connection.execute(
            """INSERT INTO open_items AS o
                   (tenant, invoice_id, customer_id, invoice_number, number_key, payment_reference,
                    reference_key, currency, amount_minor, due_date, revision, updated_at,
                    serial_keys, issue_date)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
               ON CONFLICT (tenant, invoice_id) DO UPDATE SET
                   invoice_number = EXCLUDED.invoice_number, number_key = EXCLUDED.number_key,
                   payment_reference = EXCLUDED.payment_reference,
                   reference_key = EXCLUDED.reference_key, currency = EXCLUDED.currency,
                   amount_minor = EXCLUDED.amount_minor, due_date = EXCLUDED.due_date,
                   revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at,
                   serial_keys = EXCLUDED.serial_keys, issue_date = EXCLUDED.issue_date
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
            list(serial_keys(event.invoice_number)),
            event.issue_date,
        )

    async def cancel_invoice(
        self, tenant: str, invoice_id: str, revision: int, at: datetime
    ) -> bool:
        """Mark the invoice cancelled (no longer a candidate); False if a newer revision is in."""
        done = await self._connection.fetchval(
            """UPDATE open_items SET cancelled_at = $4, revision = $3, updated_at = $4
               WHERE tenant = $1 AND invoice_id = $2 AND revision < $3 RETURNING true""",
            tenant,
            invoice_id,
            revision,
            at,
        )
        return done is True

    async def open_items_for(
        self, tenant: str, payment: IncomingPayment, clues: Clues
    ) -> OpenItems:
        """Every item matching may look at for this payment, locked for this transaction: what
        its references, numbers and payment links name, what its amount would pay, and the
        items and credit notes of the customers its account or name point at."""
        items = OpenItems()
        payers = await self._payer_customers(tenant, payment, clues, items)
        rows = await self._connection.fetch(
            f"""SELECT {_OPEN_ITEM_COLUMNS} FROM open_items o
                WHERE o.tenant = $1 AND (
                    o.reference_key = ANY($2::text[])
                    OR o.serial_keys && $3::text[]
                    OR o.invoice_id = ANY($4::text[])
                    OR o.customer_id = ANY($5::text[]) AND o.settled_at IS NULL
                    OR (o.settled_at IS NULL AND o.currency = $6
                        AND o.amount_minor - o.paid_minor - o.credited_minor
                            - o.written_off_minor = $7))
                ORDER BY o.invoice_id
                FOR UPDATE OF o""",
            tenant,
            list(clues.trusted_reference_keys),
            list(clues.serials),
            list(payment.invoice_ids),
            list(payers),
            payment.amount.currency,
            payment.amount.amount_minor,
        )
        for row in rows:
            items.add_stored(_stored_item(row))
        for credit in await self._customer_credits(tenant, payers):
            items.add(credit)
        return items

    async def _payer_customers(
        self, tenant: str, payment: IncomingPayment, clues: Clues, items: OpenItems
    ) -> set[str]:
        payers: set[str] = set()
        if payment.payer_account:
            for row in await self._connection.fetch(
                """SELECT customer_id, confirmations FROM payer_accounts
                   WHERE tenant = $1 AND account = $2""",
                tenant,
                payment.payer_account,
            ):
                items.learn_account(payment.payer_account, row["customer_id"], row["confirmations"])
                payers.add(row["customer_id"])
        if clues.payer_name_key:
            for row in await self._connection.fetch(
                "SELECT customer_id, name FROM customers WHERE tenant = $1 AND name_key = $2",
                tenant,
                clues.payer_name_key,
            ):
                items.add_customer(row["customer_id"], row["name"])
                payers.add(row["customer_id"])
        return payers

    async def _customer_credits(self, tenant: str, customers: Collection[str]) -> list[OpenItem]:
        if not customers:
            return []
        rows = await self._connection.fetch(
            """SELECT credit_note_id, credit_note_number, customer_id, currency, amount_minor,
                      used_minor, issue_date
               FROM credit_notes
               WHERE tenant = $1 AND customer_id = ANY($2::text[]) AND invoice_id IS NULL
                 AND used_minor < amount_minor
               ORDER BY credit_note_id FOR UPDATE""",
            tenant,
            list(customers),
        )
        return [
            OpenItem(
                invoice_id=row["credit_note_id"],
                invoice_number=row["credit_note_number"],
                customer_id=row["customer_id"],
                currency=row["currency"],
                amount_minor=row["amount_minor"],
                open_minor=row["amount_minor"] - row["used_minor"],
                issue_date=row["issue_date"],
                kind="credit",
            )
            for row in rows
        ]

    async def learn_account(
        self, tenant: str, account: str, customer_id: str, at: datetime
    ) -> None:
        await self._connection.execute(
            """INSERT INTO payer_accounts AS p (tenant, account, customer_id, confirmations,
                                               updated_at)
               VALUES ($1, $2, $3, 1, $4)
               ON CONFLICT (tenant, account, customer_id) DO UPDATE
                   SET confirmations = p.confirmations + 1, updated_at = EXCLUDED.updated_at""",
            tenant,
            account,
            customer_id,
            at,
        )

    async def forget_account(self, tenant: str, account: str, customer_id: str) -> None:
        """A person said this account's payment was not this customer's: stop trusting it."""
        await self._connection.execute(
            "DELETE FROM payer_accounts WHERE tenant = $1 AND account = $2 AND customer_id = $3",
            tenant,
            account,
            customer_id,
        )

    # Credit notes

    async def save_credit_note(self, event: CreditNoteIssued, at: datetime) -> bool:
        """Remember the credit note; False if it was known already."""
        stored = await self._connection.fetchval(
            """INSERT INTO credit_notes
                   (tenant, credit_note_id, customer_id, credit_note_number, invoice_id, currency,
                    amount_minor, issue_date, received_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT DO NOTHING RETURNING true""",
            event.tenant,
            event.credit_note_id,
            event.customer_id,
            event.credit_note_number,
            event.invoice_id,
            event.amount.currency,
            event.amount.amount_minor,
            event.issue_date,
            at,
        )
        return stored is True

    async def pending_credits(self, tenant: str, invoice_id: str) -> list[tuple[str, Money]]:
        rows = await self._connection.fetch(
            """SELECT credit_note_id, currency, amount_minor FROM credit_notes
               WHERE tenant = $1 AND invoice_id = $2 AND applied_at IS NULL
               ORDER BY credit_note_id FOR UPDATE""",
            tenant,
            invoice_id,
        )
        return [
            (row["credit_note_id"], Money.of(row["amount_minor"], row["currency"])) for row in rows
        ]

    async def credit_invoice(
        self, tenant: str, invoice_id: str, credit_note_id: str, amount: Money, at: datetime
    ) -> InvoiceBalance:
        """Take a linked credit note off its invoice; the invoice's balance after it."""
        await self._connection.execute(
            """UPDATE credit_notes SET applied_at = $3
               WHERE tenant = $1 AND credit_note_id = $2""",
            tenant,
            credit_note_id,
            at,
        )
        row = await self._connection.fetchrow(
            f"""UPDATE open_items SET credited_minor = credited_minor + $3
                WHERE tenant = $1 AND invoice_id = $2 RETURNING {_BALANCE_COLUMNS}""",
            tenant,
            invoice_id,
            amount.amount_minor,
        )
        assert row is not None, "credit notes are applied to known invoices only"
        return _balance(row)

    async def net_credit(
        self, tenant: str, credit_note_id: str, payment_id: str, amount: Money, at: datetime
    ) -> None:
        """Use `amount` of a customer's credit note against what a payment pays."""
        await self._connection.execute(
            """UPDATE credit_notes SET used_minor = used_minor + $3
               WHERE tenant = $1 AND credit_note_id = $2""",
            tenant,
            credit_note_id,
            amount.amount_minor,
        )
        await self._connection.execute(
            """INSERT INTO allocations (tenant, source, payment_id, invoice_id, currency,
                                        amount_minor, allocated_at, kind)
               VALUES ($1, 'bank', $2, $3, $4, $5, $6, 'credit')""",
            tenant,
            payment_id,
            credit_note_id,
            amount.currency,
            amount.amount_minor,
            at,
        )

    async def add_payment(
        self,
        tenant: str,
        invoice_id: str,
        source: str,
        payment_id: str,
        amount: Money,
        at: datetime,
        written_off_minor: int = 0,
    ) -> InvoiceBalance:
        """Record `amount` of a payment against the invoice (and what was written off with it,
        within tolerance); the invoice's balance after it."""
        await self._connection.execute(
            """INSERT INTO allocations
                   (tenant, source, payment_id, invoice_id, currency, amount_minor, allocated_at,
                    written_off_minor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            tenant,
            source,
            payment_id,
            invoice_id,
            amount.currency,
            amount.amount_minor,
            at,
            written_off_minor,
        )
        row = await self._connection.fetchrow(
            f"""UPDATE open_items SET paid_minor = paid_minor + $3,
                       written_off_minor = written_off_minor + $4
                WHERE tenant = $1 AND invoice_id = $2
                RETURNING {_BALANCE_COLUMNS}""",
            tenant,
            invoice_id,
            amount.amount_minor,
            written_off_minor,
        )
        assert row is not None, "payments are applied to known invoices only"
        return _balance(row)

    async def balance(self, tenant: str, invoice_id: str) -> InvoiceBalance | None:
        row = await self._connection.fetchrow(
            f"SELECT {_BALANCE_COLUMNS} FROM open_items WHERE tenant = $1 AND invoice_id = $2",
            tenant,
            invoice_id,
        )
        return _balance(row) if row else None

    async def reopen(self, tenant: str, invoice_id: str) -> None:
        await self._connection.execute(
            "UPDATE open_items SET settled_at = NULL WHERE tenant = $1 AND invoice_id = $2",
            tenant,
            invoice_id,
        )

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
            """SELECT payment_id FROM allocations
               WHERE tenant = $1 AND invoice_id = $2 AND kind = 'invoice'
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

    # Bulk, for a chunk of a statement

    async def open_items_for_many(
        self, tenant: str, payments: Sequence[IncomingPayment], clues: Sequence[Clues]
    ) -> Candidates:
        """What `open_items_for` loads for each payment (`clues` are theirs, in order), for all
        of them in one go, locked in invoice id order (the order every importer locks in). The
        known payers' items that no payment names, nor pays the open amount of, are indexed
        only if matching asks for that customer's items."""
        items = OpenItems()
        payers = await self._payers_of_many(tenant, payments, clues, items)
        named = await self._named_by_many(tenant, payments, clues)
        # One statement locks them all, in invoice id order.
        rows = await self._connection.fetch(
            f"""SELECT {_OPEN_ITEM_COLUMNS} FROM open_items o
                WHERE o.tenant = $1 AND (o.invoice_id = ANY($2::text[])
                      OR (o.customer_id = ANY($3::text[]) AND o.settled_at IS NULL))
                ORDER BY o.invoice_id
                FOR UPDATE OF o""",
            tenant,
            sorted(named),
            sorted(payers),
        )
        later: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            if row["invoice_id"] in named:
                items.add_stored(_stored_item(row))
            else:
                later.setdefault(row["customer_id"], []).append(row)
        for customer_id, customer_rows in later.items():
            items.add_later(customer_id, partial(_stored_items, customer_rows))
        for credit in await self._customer_credits(tenant, payers):
            items.add(credit)
        return Candidates(items, {row["invoice_id"]: row for row in rows})

    async def _named_by_many(
        self, tenant: str, payments: Sequence[IncomingPayment], clues: Sequence[Clues]
    ) -> set[str]:
        """Items the payments name (by structured reference, invoice number or payment link)
        or pay the open amount of."""
        amounts = {(p.amount.currency, p.amount.amount_minor) for p in payments}
        # OFFSET 0 keeps each look-up by amount an index probe: joined with the amounts, the
        # planner would read the whole open-balance index instead.
        rows = await self._connection.fetch(
            """SELECT invoice_id FROM open_items
               WHERE tenant = $1 AND reference_key = ANY($2::text[])
               UNION SELECT named_by_serial.invoice_id
               FROM unnest($3::text[]) AS serial (key)
               CROSS JOIN LATERAL (
                   SELECT invoice_id FROM open_items
                   WHERE tenant = $1 AND serial_keys @> ARRAY[serial.key]
               ) AS named_by_serial
               UNION SELECT invoice_id FROM open_items
               WHERE tenant = $1 AND invoice_id = ANY($4::text[])
               UNION SELECT open_for.invoice_id
               FROM unnest($5::text[], $6::bigint[]) AS paid (currency, minor)
               CROSS JOIN LATERAL (
                   SELECT invoice_id FROM open_items o
                   WHERE o.tenant = $1 AND o.settled_at IS NULL
                     AND o.currency = paid.currency
                     AND o.amount_minor - o.paid_minor - o.credited_minor
                         - o.written_off_minor = paid.minor
                   OFFSET 0
               ) AS open_for""",
            tenant,
            sorted({key for clue in clues for key in clue.trusted_reference_keys}),
            sorted({serial for clue in clues for serial in clue.serials}),
            sorted({invoice_id for payment in payments for invoice_id in payment.invoice_ids}),
            [currency for currency, _ in amounts],
            [minor for _, minor in amounts],
        )
        return {row["invoice_id"] for row in rows}

    async def _payers_of_many(
        self,
        tenant: str,
        payments: Sequence[IncomingPayment],
        clues: Sequence[Clues],
        items: OpenItems,
    ) -> set[str]:
        payers: set[str] = set()
        accounts = sorted({p.payer_account for p in payments if p.payer_account})
        for row in await self._connection.fetch(
            """SELECT account, customer_id, confirmations FROM payer_accounts
               WHERE tenant = $1 AND account = ANY($2::text[])""",
            tenant,
            accounts,
        ):
            items.learn_account(row["account"], row["customer_id"], row["confirmations"])
            payers.add(row["customer_id"])
        name_keys = sorted({c.payer_name_key for c in clues if c.payer_name_key})
        for row in await self._connection.fetch(
            """SELECT customer_id, name FROM customers
               WHERE tenant = $1 AND name_key = ANY($2::text[])""",
            tenant,
            name_keys,
        ):
            items.add_customer(row["customer_id"], row["name"])
            payers.add(row["customer_id"])
        return payers

    async def payment_ids_of(
        self, tenant: str, invoice_ids: Collection[str]
    ) -> dict[str, list[str]]:
        """The payments applied to each invoice so far, oldest first."""
        rows = await self._connection.fetch(
            """SELECT invoice_id, payment_id FROM allocations
               WHERE tenant = $1 AND invoice_id = ANY($2::text[]) AND kind = 'invoice'
               ORDER BY seq""",
            tenant,
            list(invoice_ids),
        )
        found: dict[str, list[str]] = {invoice_id: [] for invoice_id in invoice_ids}
        for row in rows:
            found[row["invoice_id"]].append(row["payment_id"])
        return found

    async def save_allocations(
        self, tenant: str, allocations: Sequence[AllocationRow], at: datetime
    ) -> None:
        """Bank payments applied to invoices, and credit notes netted with them."""
        await self._connection.execute(
            """INSERT INTO allocations
                   (tenant, source, payment_id, invoice_id, currency, amount_minor, allocated_at,
                    written_off_minor, kind)
               SELECT $1, 'bank', payment_id, invoice_id, currency, amount_minor, $2,
                      written_off_minor, kind
               FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                           $8::text[])
                   AS row (payment_id, invoice_id, currency, amount_minor, written_off_minor,
                           kind)""",
            tenant,
            at,
            [a.payment_id for a in allocations],
            [a.invoice_id for a in allocations],
            [a.amount.currency for a in allocations],
            [a.amount.amount_minor for a in allocations],
            [a.written_off_minor for a in allocations],
            ["credit" if a.is_credit else "invoice" for a in allocations],
        )

    async def apply_to_invoices(
        self, tenant: str, changes: Sequence[InvoiceChange], at: datetime
    ) -> None:
        """Add what was paid and written off to each invoice, and settle or reopen it."""
        await self._connection.execute(
            """UPDATE open_items o SET
                   paid_minor = o.paid_minor + change.paid_minor,
                   written_off_minor = o.written_off_minor + change.written_off_minor,
                   settled_at = CASE WHEN change.settled IS NULL THEN o.settled_at
                                     WHEN change.settled THEN coalesce(o.settled_at, $2)
                                END
               FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bool[])
                   AS change (invoice_id, paid_minor, written_off_minor, settled)
               WHERE o.tenant = $1 AND o.invoice_id = change.invoice_id""",
            tenant,
            at,
            [c.invoice_id for c in changes],
            [c.paid_minor for c in changes],
            [c.written_off_minor for c in changes],
            [c.settled for c in changes],
        )

    async def use_credits(self, tenant: str, used: Mapping[str, int]) -> None:
        """Take what payments netted (credit note id -> minor units) off customers' credit."""
        await self._connection.execute(
            """UPDATE credit_notes c SET used_minor = c.used_minor + used.minor
               FROM unnest($2::text[], $3::bigint[]) AS used (credit_note_id, minor)
               WHERE c.tenant = $1 AND c.credit_note_id = used.credit_note_id""",
            tenant,
            list(used),
            list(used.values()),
        )

    async def learn_accounts(
        self, tenant: str, confirmations: Mapping[tuple[str, str], int], at: datetime
    ) -> None:
        """Payer accounts confirmed by matches: (account, customer) -> how many times."""
        await self._connection.execute(
            """INSERT INTO payer_accounts AS p (tenant, account, customer_id, confirmations,
                                               updated_at)
               SELECT $1, account, customer_id, confirmations, $2
               FROM unnest($3::text[], $4::text[], $5::int[])
                   AS row (account, customer_id, confirmations)
               ON CONFLICT (tenant, account, customer_id) DO UPDATE
                   SET confirmations = p.confirmations + EXCLUDED.confirmations,
                       updated_at = EXCLUDED.updated_at""",
            tenant,
            at,
            [account for account, _ in confirmations],
            [customer for _, customer in confirmations],
            list(confirmations.values()),
        )

    # Corrections by a person

    async def lock_items(self, tenant: str, invoice_ids: Collection[str]) -> list[OpenItem]:
        """The invoices, locked in invoice id order (so two corrections never deadlock)."""
        rows = await self._connection.fetch(
            f"""SELECT {_OPEN_ITEM_COLUMNS} FROM open_items o
                WHERE o.tenant = $1 AND o.invoice_id = ANY($2::text[])
                ORDER BY o.invoice_id FOR UPDATE""",
            tenant,
            list(invoice_ids),
        )
        return [_open_item(row) for row in rows]

    async def remove_allocations(self, tenant: str, payment_id: str) -> list[AllocationRow]:
        """Take a bank payment off everything it was applied to (credit notes it netted are
        free again); what was removed. Lock the invoices first."""
        rows = await self._connection.fetch(
            """DELETE FROM allocations
               WHERE tenant = $1 AND source = 'bank' AND payment_id = $2
               RETURNING invoice_id, currency, amount_minor, written_off_minor, kind, seq""",
            tenant,
            payment_id,
        )
        removed = [
            AllocationRow(
                payment_id=payment_id,
                invoice_id=row["invoice_id"],
                amount=Money.of(row["amount_minor"], row["currency"]),
                written_off_minor=row["written_off_minor"],
                is_credit=row["kind"] == "credit",
            )
            for row in sorted(rows, key=lambda row: row["seq"])
        ]
        for allocation in removed:
            if allocation.is_credit:
                await self._connection.execute(
                    """UPDATE credit_notes SET used_minor = used_minor - $3
                       WHERE tenant = $1 AND credit_note_id = $2""",
                    tenant,
                    allocation.invoice_id,
                    allocation.amount.amount_minor,
                )
            else:
                await self._connection.execute(
                    """UPDATE open_items SET paid_minor = paid_minor - $3,
                              written_off_minor = written_off_minor - $4
                       WHERE tenant = $1 AND invoice_id = $2""",
                    tenant,
                    allocation.invoice_id,
                    allocation.amount.amount_minor,
                    allocation.written_off_minor,
                )
        return removed


def _balance(row: asyncpg.Record) -> InvoiceBalance:
    return InvoiceBalance(
        amount=Money.of(row["amount_minor"], row["currency"]),
        paid=Money.of(row["paid_minor"], row["currency"]),
        credited_minor=row["credited_minor"],
        written_off_minor=row["written_off_minor"],
    )


def _stored_items(rows: list[asyncpg.Record]) -> Iterator[StoredItem]:
    return (_stored_item(row) for row in rows)


def _stored_item(row: asyncpg.Record) -> StoredItem:
    return StoredItem(_open_item(row), row["reference_key"], row["serial_keys"] or None)


def _open_item(row: asyncpg.Record) -> OpenItem:
    """Built from plain integers: a chunk of a statement builds thousands."""
    open_minor = (
        row["amount_minor"] - row["paid_minor"] - row["credited_minor"] - row["written_off_minor"]
    )
    status: ItemStatus = (
        "cancelled" if row["cancelled_at"] else "settled" if row["settled_at"] else "open"
    )
    return OpenItem(
        invoice_id=row["invoice_id"],
        invoice_number=row["invoice_number"],
        customer_id=row["customer_id"],
        currency=row["currency"],
        amount_minor=row["amount_minor"],
        open_minor=max(0, open_minor),
        payment_reference=row["payment_reference"],
        issue_date=row["issue_date"],
        due_date=row["due_date"],
        status=status,
        known_number_key=row["number_key"],
    )
