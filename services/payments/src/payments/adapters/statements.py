"""Imported statements, their entries and the payments read from them, inside the caller's
transaction (or on a plain connection for reads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import asyncpg
import orjson

from payments.domain.booking import EntryKind, KeyedEntry
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
    status: Literal["matched", "unmatched", "returned"]
    reason: str | None
    evidence: dict[str, list[str]]
    suggestions: list[dict[str, Any]]
    received_at: datetime


@dataclass(frozen=True)
class AllocationRecord:
    invoice_id: str
    invoice_number: str
    amount: Money


@dataclass(frozen=True)
class ImportProgress:
    """How far an import of a statement got: entries up to `imported_through` are committed."""

    fingerprint: str
    imported_through: int
    completed: bool


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

    async def lock_payment_sent_back(
        self, tenant: str, account: str, end_to_end_id: str, amount: Money
    ) -> PaymentRecord | None:
        """The one payment on the account with this end-to-end id and amount that is not sent
        back yet; None when there is none, or more than one to choose from."""
        rows = await self._connection.fetch(
            f"""SELECT {_PAYMENT_COLUMNS} FROM payments
                WHERE tenant = $1 AND account = $2 AND end_to_end_id = $3 AND currency = $4
                  AND amount_minor = $5 AND status <> 'returned'
                ORDER BY seq LIMIT 2 FOR UPDATE""",
            tenant,
            account,
            end_to_end_id,
            amount.currency,
            amount.amount_minor,
        )
        return _payment(rows[0]) if len(rows) == 1 else None

    async def mark_returned(self, tenant: str, payment_id: str, reason: str) -> None:
        """Out of the work queue and off the books: the money went back to the payer."""
        await self._connection.execute(
            """UPDATE payments SET status = 'returned', reason = $3, suggestions = '[]',
                      unapplied_minor = 0
               WHERE tenant = $1 AND payment_id = $2""",
            tenant,
            payment_id,
            reason,
        )

    async def payment(self, tenant: str, payment_id: str) -> PaymentRecord | None:
        row = await self._connection.fetchrow(
            f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE tenant = $1 AND payment_id = $2",
            tenant,
            payment_id,
        )
        return _payment(row) if row else None

    async def requeue(
        self,
        tenant: str,
        payment_id: str,
        reason: str,
        evidence: dict[str, list[str]],
        suggestions: list[dict[str, Any]],
    ) -> None:
        """Back into the work queue, with new suggestions, after a person unmatched it."""
        await self._connection.execute(
            """UPDATE payments SET status = 'unmatched', reason = $3, evidence = $4,
                      suggestions = $5, unapplied_minor = 0
               WHERE tenant = $1 AND payment_id = $2""",
            tenant,
            payment_id,
            reason,
            evidence,
            suggestions,
        )

    async def unmatched(
        self,
        tenant: str,
        after: int,
        limit: int,
        amount: Money | None = None,
        containing: str | None = None,
    ) -> list[tuple[int, PaymentRecord]]:
        """The work queue, oldest first, after the given position, with each one's position;
        only payments of `amount`, and whose payer, account, remittance or end-to-end id
        contains the text `containing` (whatever its case), when given."""
        rows = await self._connection.fetch(
            f"""SELECT {_PAYMENT_COLUMNS} FROM payments
                WHERE tenant = $1 AND status = 'unmatched' AND seq > $2
                  AND ($4::text IS NULL OR (currency = $4 AND amount_minor = $5))
                  AND ($6::text IS NULL
                       OR concat_ws(' ', payer_name, payer_account, end_to_end_id,
                                    array_to_string(remittance, ' ')) ILIKE $6)
                ORDER BY seq LIMIT $3""",
            tenant,
            after,
            limit,
            amount.currency if amount else None,
            amount.amount_minor if amount else None,
            f"%{_escaped_for_like(containing)}%" if containing else None,
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

    # Chunked import

    async def lock_progress(
        self, tenant: str, account: str, statement_id: str
    ) -> ImportProgress | None:
        """How far the statement's import got, locked for this transaction."""
        row = await self._connection.fetchrow(
            """SELECT fingerprint, imported_through, completed_at IS NOT NULL AS completed
               FROM statements WHERE tenant = $1 AND account = $2 AND statement_id = $3
               FOR UPDATE""",
            tenant,
            account,
            statement_id,
        )
        return ImportProgress(**dict(row)) if row else None

    async def advance(self, tenant: str, account: str, statement_id: str, through: int) -> None:
        """Entries up to position `through` are imported (committed with them)."""
        await self._connection.execute(
            """UPDATE statements SET imported_through = $4
               WHERE tenant = $1 AND account = $2 AND statement_id = $3""",
            tenant,
            account,
            statement_id,
            through,
        )

    async def complete(self, tenant: str, account: str, statement_id: str, at: datetime) -> None:
        await self._connection.execute(
            """UPDATE statements SET completed_at = coalesce(completed_at, $4)
               WHERE tenant = $1 AND account = $2 AND statement_id = $3""",
            tenant,
            account,
            statement_id,
            at,
        )

    async def book_entries(
        self, tenant: str, account: str, statement_id: str, entries: Sequence[KeyedEntry]
    ) -> set[str]:
        """Register booked entries by identity; the keys no statement had reported before."""
        keyed = [entry for entry in entries if entry.key is not None]
        rows = await self._connection.fetch(
            """INSERT INTO booked_entries (tenant, account, entry_key, statement_id, position)
               SELECT $1, $2, key, $3, position FROM unnest($4::text[], $5::int[])
                   AS row (key, position)
               ON CONFLICT DO NOTHING RETURNING entry_key""",
            tenant,
            account,
            statement_id,
            [entry.key for entry in keyed],
            [entry.entry.number for entry in keyed],
        )
        return {row["entry_key"] for row in rows}

    async def save_entries(
        self,
        tenant: str,
        account: str,
        statement_id: str,
        entries: Sequence[KeyedEntry],
        first_reports: set[str],
    ) -> None:
        columns: tuple[list[Any], ...] = tuple([] for _ in range(14))
        for keyed in entries:
            entry = keyed.entry
            values = (
                entry.number,
                keyed.kind,
                keyed.key,
                keyed.key in first_reports,
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
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        await self._connection.execute(
            """INSERT INTO statement_entries
                   (tenant, account, statement_id, position, kind, entry_key, first_report, status,
                    direction, currency, amount_minor, booking_date, value_date,
                    account_servicer_reference, bank_transaction_code, additional_info,
                    transactions)
               SELECT $1, $2, $3, position, kind, entry_key, first_report, status, direction,
                      currency, amount_minor, booking_date, value_date, servicer_reference,
                      transaction_code, additional_info, transactions
               FROM unnest($4::int[], $5::text[], $6::text[], $7::bool[], $8::text[], $9::text[],
                           $10::text[], $11::bigint[], $12::date[], $13::date[], $14::text[],
                           $15::text[], $16::text[], $17::int[])
                   AS row (position, kind, entry_key, first_report, status, direction, currency,
                           amount_minor, booking_date, value_date, servicer_reference,
                           transaction_code, additional_info, transactions)""",
            tenant,
            account,
            statement_id,
            *columns,
        )

    async def save_payments(
        self, tenant: str, payments: Sequence[tuple[PaymentRecord, int]]
    ) -> None:
        """Store payments as matching decided them, each with what it left unapplied."""
        columns: tuple[list[Any], ...] = tuple([] for _ in range(20))
        for payment, unapplied_minor in payments:
            values = (
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
                orjson.dumps(payment.remittance).decode(),
                orjson.dumps(payment.references).decode(),
                payment.end_to_end_id,
                payment.bank_reference,
                payment.status,
                payment.reason,
                orjson.dumps(payment.evidence).decode(),
                orjson.dumps(payment.suggestions).decode(),
                payment.received_at,
                unapplied_minor,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        # Arrays of jsonb (and of text arrays) travel as text and are cast in SQL.
        await self._connection.execute(
            """INSERT INTO payments
                   (tenant, payment_id, source, account, statement_id, currency, amount_minor,
                    booked_on, value_date, payer_name, payer_account, remittance, "references",
                    end_to_end_id, bank_reference, status, reason, evidence, suggestions,
                    received_at, unapplied_minor)
               SELECT $1, payment_id, source, account, statement_id, currency, amount_minor,
                      booked_on, value_date, payer_name, payer_account,
                      ARRAY(SELECT jsonb_array_elements_text(remittance::jsonb)),
                      refs::jsonb, end_to_end_id, bank_reference, status, reason,
                      evidence::jsonb, suggestions::jsonb, received_at, unapplied_minor
               FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                           $7::bigint[], $8::date[], $9::date[], $10::text[], $11::text[],
                           $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
                           $17::text[], $18::text[], $19::text[], $20::timestamptz[],
                           $21::bigint[])
                   AS row (payment_id, source, account, statement_id, currency, amount_minor,
                           booked_on, value_date, payer_name, payer_account, remittance, refs,
                           end_to_end_id, bank_reference, status, reason, evidence, suggestions,
                           received_at, unapplied_minor)""",
            tenant,
            *columns,
        )


_PAYMENT_COLUMNS = """seq, payment_id, source, account, statement_id, currency, amount_minor,
    booked_on, value_date, payer_name, payer_account, remittance, "references", end_to_end_id,
    bank_reference, status, reason, evidence, suggestions, received_at"""


def _escaped_for_like(text: str) -> str:
    """The text matched as it stands by LIKE: its wildcards and escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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


class WebhookRepository:
    """Provider webhook events, one row each, with what their first delivery decided."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def claim(
        self, tenant: str, provider: str, event_id: str, payment_id: str, now: datetime
    ) -> bool:
        """True for the first delivery; a concurrent one waits here until the first commits."""
        claimed: bool | None = await self._connection.fetchval(
            """INSERT INTO psp_webhooks
                   (tenant, provider, event_id, payment_id, status, received_at)
               VALUES ($1, $2, $3, $4, 'claimed', $5)
               ON CONFLICT DO NOTHING RETURNING true""",
            tenant,
            provider,
            event_id,
            payment_id,
            now,
        )
        return bool(claimed)

    async def record_outcome(self, tenant: str, provider: str, event_id: str, status: str) -> None:
        await self._connection.execute(
            """UPDATE psp_webhooks SET status = $4
               WHERE tenant = $1 AND provider = $2 AND event_id = $3""",
            tenant,
            provider,
            event_id,
            status,
        )

    async def outcome(self, tenant: str, provider: str, event_id: str) -> tuple[str, str]:
        """The payment id and status the first delivery of a claimed event recorded."""
        row = await self._connection.fetchrow(
            """SELECT payment_id, status FROM psp_webhooks
               WHERE tenant = $1 AND provider = $2 AND event_id = $3""",
            tenant,
            provider,
            event_id,
        )
        assert row is not None, "only asked about claimed events"
        return row["payment_id"], row["status"]
