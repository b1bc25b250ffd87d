"""Imported statements, their entries and the payments read from them, inside the caller's
transaction (or on a plain connection for reads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import asyncpg

from payments.domain.booking import EntryKind
from payments.domain.checks import CheckedStatement
from payments.domain.statement import Balance, Entry
from settle_shared.locks import lock_until_commit
from settle_shared.money import Money
from settle_shared.pg import Connection


@dataclass(frozen=True)
class PaymentRecord:
    """A payment as stored: what arrived, and what matching decided and why."""

    payment_id: str
    source: str
    account: str | None
    statement_id: str | None
    amount: Money
    booked_on: date
    value_date: date | None
    payer_name: str | None
    payer_account: str | None
    remittance: list[str]
    references: list[dict[str, Any]]
    end_to_end_id: str | None
    bank_reference: str | None
    status: Literal["matched", "unmatched"]
    reason: str | None
    evidence: dict[str, list[str]]
    suggestions: list[dict[str, Any]]
    received_at: datetime


@dataclass(frozen=True)
class AllocationRecord:
    invoice_id: str
    invoice_number: str
    amount: Money


class StatementRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def lock_imports(self, tenant: str) -> None:
        """One statement import per tenant at a time: imports lock several open items each, and
        in one order only they cannot deadlock one another."""
        await lock_until_commit(self._connection, f"payments-import:{tenant}")

    async def fingerprint(self, tenant: str, account: str, statement_id: str) -> str | None:
        value: str | None = await self._connection.fetchval(
            """SELECT fingerprint FROM statements
               WHERE tenant = $1 AND account = $2 AND statement_id = $3""",
            tenant,
            account,
            statement_id,
        )
        return value

    async def save_statement(self, tenant: str, checked: CheckedStatement, at: datetime) -> None:
        statement = checked.statement
        await self._connection.execute(
            """INSERT INTO statements
                   (tenant, account, statement_id, fingerprint, version, message_id,
                    electronic_sequence, created_at, currency, opening, closing, entries,
                    imported_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
            tenant,
            statement.account.identifier,
            statement.statement_id,
            checked.fingerprint,
            statement.version,
            statement.message_id,
            statement.electronic_sequence,
            statement.created_at.isoformat() if statement.created_at else None,
            statement.currency,
            _balance(statement.opening),
            _balance(statement.closing),
            checked.entries,
            at,
        )

    async def book_entry(
        self, tenant: str, account: str, entry_key: str, statement_id: str, position: int
    ) -> bool:
        """Register a booked entry by its identity; False if a statement already reported it."""
        booked = await self._connection.fetchval(
            """INSERT INTO booked_entries (tenant, account, entry_key, statement_id, position)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT DO NOTHING RETURNING true""",
            tenant,
            account,
            entry_key,
            statement_id,
            position,
        )
        return booked is True

    async def save_entry(
        self,
        tenant: str,
        account: str,
        statement_id: str,
        entry: Entry,
        kind: EntryKind,
        entry_key: str | None,
        first_report: bool,
    ) -> None:
        await self._connection.execute(
            """INSERT INTO statement_entries
                   (tenant, account, statement_id, position, kind, entry_key, first_report, status,
                    direction, currency, amount_minor, booking_date, value_date,
                    account_servicer_reference, bank_transaction_code, additional_info,
                    transactions)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                       $17)""",
            tenant,
            account,
            statement_id,
            entry.number,
            kind,
            entry_key,
            first_report,
            entry.status,
            entry.direction,
            entry.amount.currency,
            entry.amount.amount_minor,
            entry.booking_date,
            entry.value_date,
            entry.account_servicer_reference,
            entry.bank_transaction_code,
            entry.additional_info,
            len(entry.transactions),
        )

    async def save_payment(self, tenant: str, payment: PaymentRecord) -> None:
        await self._connection.execute(
            """INSERT INTO payments
                   (tenant, payment_id, source, account, statement_id, currency, amount_minor,
                    booked_on, value_date, payer_name, payer_account, remittance, "references",
                    end_to_end_id, bank_reference, status, reason, evidence, suggestions,
                    received_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                       $17, $18, $19, $20)""",
            tenant,
            payment.payment_id,
            payment.source,
            payment.account,
            payment.statement_id,
            payment.amount.currency,
            payment.amount.amount_minor,
            payment.booked_on,
            payment.value_date,
            payment.payer_name,
            payment.payer_account,
            payment.remittance,
            payment.references,
            payment.end_to_end_id,
            payment.bank_reference,
            payment.status,
            payment.reason,
            payment.evidence,
            payment.suggestions,
            payment.received_at,
        )

    async def mark_matched(
        self, tenant: str, payment_id: str, evidence: dict[str, list[str]], unapplied_minor: int
    ) -> None:
        await self._connection.execute(
            """UPDATE payments SET status = 'matched', reason = NULL, evidence = $3,
                      suggestions = '[]'::jsonb, unapplied_minor = $4
               WHERE tenant = $1 AND payment_id = $2""",
            tenant,
            payment_id,
            evidence,
            unapplied_minor,
        )

    async def mark_unmatched(
        self, tenant: str, payment_id: str, reason: str, evidence: dict[str, list[str]]
    ) -> None:
        await self._connection.execute(
            """UPDATE payments SET status = 'unmatched', reason = $3, evidence = $4,
                      unapplied_minor = 0
               WHERE tenant = $1 AND payment_id = $2""",
            tenant,
            payment_id,
            reason,
            evidence,
        )

    async def lock_payment(self, tenant: str, payment_id: str) -> PaymentRecord | None:
        row = await self._connection.fetchrow(
            f"""SELECT {_PAYMENT_COLUMNS} FROM payments WHERE tenant = $1 AND payment_id = $2
                FOR UPDATE""",
            tenant,
            payment_id,
        )
        return _payment(row) if row else None

    async def payment(self, tenant: str, payment_id: str) -> PaymentRecord | None:
        row = await self._connection.fetchrow(
            f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE tenant = $1 AND payment_id = $2",
            tenant,
            payment_id,
        )
        return _payment(row) if row else None

    async def unmatched(
        self, tenant: str, after: int, limit: int
    ) -> list[tuple[int, PaymentRecord]]:
        """The work queue, oldest first, after the given position, with each one's position."""
        rows = await self._connection.fetch(
            f"""SELECT {_PAYMENT_COLUMNS} FROM payments
                WHERE tenant = $1 AND status = 'unmatched' AND seq > $2
                ORDER BY seq LIMIT $3""",
            tenant,
            after,
            limit,
        )
        return [(row["seq"], _payment(row)) for row in rows]

    async def allocations(self, tenant: str, payment_id: str) -> list[AllocationRecord]:
        rows = await self._connection.fetch(
            """SELECT a.invoice_id, o.invoice_number, a.currency, a.amount_minor
               FROM allocations a
               JOIN open_items o ON o.tenant = a.tenant AND o.invoice_id = a.invoice_id
               WHERE a.tenant = $1 AND a.source = 'bank' AND a.payment_id = $2
                 AND a.kind = 'invoice'
               ORDER BY a.invoice_id""",
            tenant,
            payment_id,
        )
        return [
            AllocationRecord(
                row["invoice_id"],
                row["invoice_number"],
                Money.of(row["amount_minor"], row["currency"]),
            )
            for row in rows
        ]


_PAYMENT_COLUMNS = """seq, payment_id, source, account, statement_id, currency, amount_minor,
    booked_on, value_date, payer_name, payer_account, remittance, "references", end_to_end_id,
    bank_reference, status, reason, evidence, suggestions, received_at"""


def _payment(row: asyncpg.Record) -> PaymentRecord:
    values = dict(row)
    values.pop("seq")
    amount = Money.of(values.pop("amount_minor"), values.pop("currency"))
    return PaymentRecord(amount=amount, **values)


def _balance(balance: Balance | None) -> dict[str, Any] | None:
    if balance is None:
        return None
    return {
        "code": balance.code,
        "amount_minor": balance.amount.amount_minor,
        "currency": balance.amount.currency,
        "direction": balance.direction,
        "on": balance.on.isoformat() if balance.on else None,
    }
