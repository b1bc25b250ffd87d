"""Idempotency keys: the response each (tenant, key) got, kept until it expires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from settle_shared.locks import lock_until_commit
from settle_shared.pg import Connection


@dataclass(frozen=True)
class StoredReply:
    request_hash: str
    status_code: int
    body: dict[str, Any]


class IdempotencyKeys:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def lock(self, tenant: str, key: str) -> None:
        """A second request with the key waits for the first to commit, then replays it."""
        await lock_until_commit(self._connection, f"{tenant}:idempotency-key:{key}")

    async def find(self, tenant: str, key: str, now: datetime) -> StoredReply | None:
        row = await self._connection.fetchrow(
            """SELECT request_hash, status_code, response FROM idempotency_keys
               WHERE tenant = $1 AND key = $2 AND expires_at > $3""",
            tenant,
            key,
            now,
        )
        if row is None:
            return None
        return StoredReply(row["request_hash"], row["status_code"], row["response"])

    async def remember(
        self,
        tenant: str,
        key: str,
        reply: StoredReply,
        now: datetime,
        keep_for: timedelta,
    ) -> None:
        """Store the reply; an expired row under the same key is replaced."""
        await self._connection.execute(
            """INSERT INTO idempotency_keys
                   (tenant, key, request_hash, status_code, response, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant, key) DO UPDATE SET
                   request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
                   response = EXCLUDED.response, created_at = EXCLUDED.created_at,
                   expires_at = EXCLUDED.expires_at""",
            tenant,
            key,
            reply.request_hash,
            reply.status_code,
            reply.body,
            now,
            now + keep_for,
        )

    async def prune(self, now: datetime) -> int:
        result: str = await self._connection.execute(
            "DELETE FROM idempotency_keys WHERE expires_at <= $1", now
        )
        return int(result.rsplit(maxsplit=1)[-1])
