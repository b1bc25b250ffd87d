"""The unit of work: one Postgres transaction holding a state change, its outbox rows and,
for consumers, the inbox row that makes redelivery harmless."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import orjson

from settle_shared import inbox
from settle_shared.clock import Clock
from settle_shared.cloudevents import CloudEvent
from settle_shared.consumer import Received
from settle_shared.errors import RejectedMessage
from settle_shared.outbox import OutboxBatch, OutboxWriter
from settle_shared.pg import Connection
from settle_shared.registry import EventPayload

P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True)
class Transaction:
    connection: Connection
    outbox: OutboxWriter
    clock: Clock

    async def publish(self, payload: EventPayload) -> CloudEvent:
        """Queue an event; it leaves through the outbox only if this transaction commits."""
        return await self.outbox.add(self.connection, payload)

    async def publish_many(self, payloads: Sequence[EventPayload]) -> list[CloudEvent]:
        """Queue many events at once, in order (bulk imports)."""
        return await self.outbox.add_many(self.connection, payloads)

    def outbox_batch(self) -> OutboxBatch:
        """Events to turn into outbox rows before `publish_batch` stores them (bulk imports
        that do so while their other statements run)."""
        return self.outbox.batch()

    async def publish_batch(self, batch: OutboxBatch) -> list[CloudEvent]:
        return await self.outbox.store(self.connection, batch)


class Database:
    def __init__(self, pool: asyncpg.Pool, outbox: OutboxWriter, clock: Clock) -> None:
        self.pool = pool
        self.outbox = outbox
        self.clock = clock

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self.pool.acquire() as connection, connection.transaction():
            yield Transaction(connection, self.outbox, self.clock)

    def idempotent(
        self, handle: Callable[[Transaction, Received[P]], Awaitable[None]]
    ) -> Callable[[Received[P]], Awaitable[None]]:
        """A consumer handler that runs `handle` at most once per event id, atomically."""

        async def handle_once(received: Received[P]) -> None:
            async with self.transaction() as tx:
                if await inbox.first_delivery(
                    tx.connection, received.consumer, received.event.id, received.event.type
                ):
                    await handle(tx, received)
                else:
                    received.mark_duplicate()

        return handle_once

    def idempotent_batch(
        self,
        handle: Callable[
            [Transaction, Sequence[Received[P]]], Awaitable[Mapping[int, RejectedMessage]]
        ],
    ) -> Callable[[Sequence[Received[P]]], Awaitable[Mapping[int, RejectedMessage]]]:
        """A batch handler that runs `handle` once over the records delivered for the first time,
        in one transaction. `handle` returns the records it refuses, by position in what it
        was given; their inbox claims are undone so they are dead-lettered, never lost."""

        async def handle_once(batch: Sequence[Received[P]]) -> Mapping[int, RejectedMessage]:
            consumer = batch[0].consumer
            async with self.transaction() as tx:
                fresh_ids = await inbox.first_deliveries(
                    tx.connection, consumer, [(r.event.id, r.event.type) for r in batch]
                )
                fresh = _first_of_each(batch, fresh_ids)
                for position, received in enumerate(batch):
                    if position not in fresh:
                        received.mark_duplicate()
                refused = await handle(tx, [batch[position] for position in fresh])
                rejections = {fresh[index]: rejection for index, rejection in refused.items()}
                if rejections:
                    refused_ids = [batch[position].event.id for position in rejections]
                    await inbox.forget(tx.connection, consumer, refused_ids)
            return rejections

        return handle_once


def _first_of_each(batch: Sequence[Received[P]], fresh_ids: set[str]) -> list[int]:
    """Positions of the first record of each newly claimed event id (a batch may repeat one)."""
    positions: list[int] = []
    taken: set[str] = set()
    for position, received in enumerate(batch):
        if received.event.id in fresh_ids and received.event.id not in taken:
            taken.add(received.event.id)
            positions.append(position)
    return positions


async def create_pool(database_url: str, max_size: int, min_size: int = 1) -> asyncpg.Pool:
    """Connections beyond `min_size` open on demand and then stay open: asyncpg would otherwise
    close one idle for five minutes and open it again under the next burst. PostgreSQL's JIT
    compiler is off for them: it pays for long analytical queries, and a service's queries are
    short, but look-ups by arrays (ANY, GIN) are estimated large enough to set it off (one
    planned afresh spent 0.3 s compiling for 20 ms of work; see decision 11)."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        max_inactive_connection_lifetime=0,
        init=_init_connection,
        server_settings={"jit": "off"},
    )
    return pool


async def _init_connection(connection: Connection) -> None:
    """jsonb columns read and write Python values on every pooled connection."""
    await connection.set_type_codec("jsonb", encoder=_dumps, decoder=_loads, schema="pg_catalog")


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _loads(value: str) -> Any:
    return orjson.loads(value)
