"""Inbox: makes every consumer idempotent by remembering processed event ids."""

from __future__ import annotations

from collections.abc import Sequence

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


async def first_deliveries(
    connection: Connection, consumer: str, events: Sequence[tuple[str, str]]
) -> set[str]:
    """The ids, among (event id, event type) pairs, delivered for the first time: one statement
    for a whole batch. Call inside the handler's transaction."""
    rows = await connection.fetch(
        """INSERT INTO inbox (consumer, event_id, event_type)
           SELECT $1, event_id, event_type FROM unnest($2::text[], $3::text[]) AS e (event_id, event_type)
           ON CONFLICT DO NOTHING RETURNING event_id""",
        consumer,
        [event_id for event_id, _ in events],
        [event_type for _, event_type in events],
    )
    return {row["event_id"] for row in rows}


async def forget(connection: Connection, consumer: str, event_ids: Sequence[str]) -> None:
    """Undo claims in this transaction: for records refused and sent to the dead-letter topic
    after commit, so that a crash before they get there means redelivery, not loss."""
    await connection.execute(
        "DELETE FROM inbox WHERE consumer = $1 AND event_id = ANY($2::text[])", consumer, event_ids
    )


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
