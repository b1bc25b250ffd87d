"""Inbox: makes every consumer idempotent by remembering processed event ids."""

from __future__ import annotations

from settle_shared.pg import Connection


async def first_delivery(
    connection: Connection, consumer: str, event_id: str, event_type: str
) -> bool:
    """True the first time; False on a redelivery. Call inside the handler's transaction."""
    inserted = await connection.fetchval(
        """INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""",
        consumer,
        event_id,
        event_type,
    )
    return inserted is True


async def seen(connection: Connection, consumer: str, event_id: str) -> bool:
    """Whether the consumer already processed the event: lets a handler skip slow work (an HTTP
    call) on a redelivery before opening its transaction. `first_delivery` still decides."""
    found = await connection.fetchval(
        "SELECT true FROM inbox WHERE consumer = $1 AND event_id = $2", consumer, event_id
    )
    return found is True


async def prune(connection: Connection, retention_days: int) -> int:
    result: str = await connection.execute(
        "DELETE FROM inbox WHERE processed_at < now() - make_interval(days => $1)", retention_days
    )
    return int(result.rsplit(maxsplit=1)[-1])
