"""Delivery's tables, read and written inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg

from delivery.domain.messages import MessageStatus
from settle_shared.events.common import Channel
from settle_shared.events.dunning import Recipient
from settle_shared.pg import Connection

_MESSAGE_COLUMNS = (
    "message_id", "tenant", "customer_id", "action_id", "case_id", "invoice_id", "channel",
    "template", "requested_language", "language", "recipient", "subject", "body_text",
    "body_html", "status", "attempts", "next_attempt_at", "lease_expires_at", "provider",
    "provider_message_id", "detail", "created_at", "updated_at",
)  # fmt: skip
_COLUMNS = ", ".join(_MESSAGE_COLUMNS)
_RETURNING = ", ".join(f"m.{column}" for column in _MESSAGE_COLUMNS)

AttemptOutcome = Literal["sending", "sent", "transient", "permanent", "ambiguous", "lease_expired"]


@dataclass(frozen=True)
class NewMessage:
    message_id: UUID
    tenant: str
    customer_id: str
    action_id: str
    case_id: str
    invoice_id: str
    channel: Channel
    template: str
    requested_language: str
    language: str
    recipient: Recipient
    subject: str
    text: str
    html: str
    requested_at: datetime


@dataclass(frozen=True)
class StoredMessage:
    message_id: UUID
    tenant: str
    customer_id: str
    action_id: str
    case_id: str
    invoice_id: str
    channel: Channel
    template: str
    requested_language: str
    language: str
    recipient: Recipient
    subject: str
    text: str
    html: str
    status: MessageStatus
    attempts: int
    next_attempt_at: datetime | None
    lease_expires_at: datetime | None
    provider: str | None
    provider_message_id: str | None
    detail: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Attempt:
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: AttemptOutcome
    detail: str | None


@dataclass(frozen=True)
class Settlement:
    """How an attempt ended, as stored: the message's new status and the attempt's outcome."""

    status: MessageStatus
    outcome: AttemptOutcome
    provider: str
    detail: str
    next_attempt_at: datetime | None = None
    provider_message_id: str | None = None


class DeliveryRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def add(self, message: NewMessage, at: datetime) -> bool:
        """Queue a message for its first attempt now; False if its action already has one."""
        inserted = await self._connection.fetchval(
            """INSERT INTO messages
                   (message_id, tenant, customer_id, action_id, case_id, invoice_id, channel,
                    template, requested_language, language, recipient, subject, body_text,
                    body_html, requested_at, status, next_attempt_at, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                       'queued', $16, $16, $16)
               ON CONFLICT ON CONSTRAINT messages_one_per_action DO NOTHING
               RETURNING true""",
            message.message_id,
            message.tenant,
            message.customer_id,
            message.action_id,
            message.case_id,
            message.invoice_id,
            message.channel,
            message.template,
            message.requested_language,
            message.language,
            message.recipient.model_dump(mode="json", exclude_none=True),
            message.subject,
            message.text,
            message.html,
            message.requested_at,
            at,
        )
        return inserted is True

    async def claim_next_due(self, now: datetime, lease_until: datetime) -> StoredMessage | None:
        """Take the message due longest ago, if any, mark it `sending` until `lease_until`, and
        open its attempt. Replicas skip each other's locked rows."""
        row = await self._connection.fetchrow(
            f"""WITH due AS (
                    SELECT message_id FROM messages
                    WHERE status = 'queued' AND next_attempt_at <= $1
                    ORDER BY next_attempt_at
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED)
                UPDATE messages m SET
                    status = 'sending', attempts = m.attempts + 1, lease_expires_at = $2,
                    next_attempt_at = NULL, updated_at = $1
                FROM due WHERE m.message_id = due.message_id
                RETURNING {_RETURNING}""",
            now,
            lease_until,
        )
        if row is None:
            return None
        claimed = _message(row)
        await self._connection.execute(
            """INSERT INTO attempts (message_id, attempt, started_at, outcome)
               VALUES ($1, $2, $3, 'sending')""",
            claimed.message_id,
            claimed.attempts,
            now,
        )
        return claimed

    async def settle_attempt(
        self, message: StoredMessage, settlement: Settlement, at: datetime
    ) -> StoredMessage | None:
        """Record how `message`'s current attempt ended. Also accepted when its lease expired
        meanwhile (status `unknown`): the real outcome is better than the guess. None if another
        attempt owns the message by now."""
        row = await self._connection.fetchrow(
            f"""UPDATE messages m SET
                    status = $3, next_attempt_at = $4, lease_expires_at = NULL, provider = $5,
                    provider_message_id = coalesce($6, m.provider_message_id), detail = $7,
                    updated_at = $8
                WHERE message_id = $1 AND attempts = $2 AND status IN ('sending', 'unknown')
                RETURNING {_RETURNING}""",
            message.message_id,
            message.attempts,
            settlement.status,
            settlement.next_attempt_at,
            settlement.provider,
            settlement.provider_message_id,
            settlement.detail,
            at,
        )
        if row is None:
            return None
        await self._finish_attempt(
            message.message_id, message.attempts, settlement.outcome, settlement.detail, at
        )
        return _message(row)

    async def record_case_closed(
        self, tenant: str, case_id: str, reason: str, closed_at: datetime
    ) -> None:
        await self._connection.execute(
            """INSERT INTO closed_cases AS c (tenant, case_id, reason, closed_at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (tenant, case_id) DO UPDATE SET
                   reason = EXCLUDED.reason, closed_at = EXCLUDED.closed_at
               WHERE c.closed_at < EXCLUDED.closed_at""",
            tenant,
            case_id,
            reason,
            closed_at,
        )

    async def cancel_queued_of_closed_case(
        self, tenant: str, case_id: str, now: datetime
    ) -> list[StoredMessage]:
        """Cancel the case's messages not yet handed to a provider that were requested before the
        case's latest closure (a later one is for the case reopened). A message being sent right
        now (`sending`) cannot be called back and is left alone."""
        rows = await self._connection.fetch(
            f"""UPDATE messages m SET
                    status = 'cancelled', next_attempt_at = NULL, updated_at = $3,
                    detail = 'not sent: the dunning case closed (' || c.reason || ')'
                FROM closed_cases c
                WHERE m.tenant = $1 AND m.case_id = $2 AND m.status = 'queued'
                  AND c.tenant = m.tenant AND c.case_id = m.case_id
                  AND (m.requested_at IS NULL OR m.requested_at <= c.closed_at)
                RETURNING {_RETURNING}""",
            tenant,
            case_id,
            now,
        )
        return [_message(row) for row in rows]

    async def expire_leases(self, now: datetime, limit: int) -> list[StoredMessage]:
        """Messages whose sender vanished mid-send (its lease ran out) become `unknown`."""
        detail = "the sender stopped while sending; the message may or may not have gone out"
        rows = await self._connection.fetch(
            f"""WITH expired AS (
                    SELECT message_id FROM messages
                    WHERE status = 'sending' AND lease_expires_at <= $1
                    ORDER BY lease_expires_at
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED)
                UPDATE messages m SET
                    status = 'unknown', lease_expires_at = NULL, detail = $3, updated_at = $1
                FROM expired WHERE m.message_id = expired.message_id
                RETURNING {_RETURNING}""",
            now,
            limit,
            detail,
        )
        expired = [_message(row) for row in rows]
        for message in expired:
            await self._finish_attempt(
                message.message_id, message.attempts, "lease_expired", detail, now
            )
        return expired

    async def message(self, tenant: str, message_id: UUID) -> StoredMessage | None:
        row = await self._connection.fetchrow(
            f"SELECT {_COLUMNS} FROM messages WHERE tenant = $1 AND message_id = $2",
            tenant,
            message_id,
        )
        return _message(row) if row else None

    async def find(
        self, tenant: str, case_id: str | None, action_id: str | None, limit: int
    ) -> list[StoredMessage]:
        rows = await self._connection.fetch(
            f"""SELECT {_COLUMNS} FROM messages
                WHERE tenant = $1
                  AND ($2::text IS NULL OR case_id = $2)
                  AND ($3::text IS NULL OR action_id = $3)
                ORDER BY created_at DESC, message_id
                LIMIT $4""",
            tenant,
            case_id,
            action_id,
            limit,
        )
        return [_message(row) for row in rows]

    async def attempts(self, message_id: UUID) -> list[Attempt]:
        rows = await self._connection.fetch(
            """SELECT attempt, started_at, finished_at, outcome, detail FROM attempts
               WHERE message_id = $1 ORDER BY attempt""",
            message_id,
        )
        return [Attempt(**dict(row)) for row in rows]

    async def _finish_attempt(
        self, message_id: UUID, attempt: int, outcome: AttemptOutcome, detail: str, at: datetime
    ) -> None:
        await self._connection.execute(
            """UPDATE attempts SET outcome = $3, detail = $4, finished_at = $5
               WHERE message_id = $1 AND attempt = $2""",
            message_id,
            attempt,
            outcome,
            detail,
            at,
        )


def _message(row: asyncpg.Record) -> StoredMessage:
    values = dict(row)
    values["recipient"] = Recipient.model_validate(values["recipient"])
    values["text"] = values.pop("body_text")
    values["html"] = values.pop("body_html")
    return StoredMessage(**values)
