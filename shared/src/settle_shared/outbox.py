"""Transactional outbox: events are stored with the state change, then relayed to Kafka.

The relay is a single leader per database (a Postgres advisory lock): one publisher reading rows
in `seq` order is what keeps each key's events in the order they were written.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

import asyncpg
import orjson

from settle_shared.clock import Clock
from settle_shared.cloudevents import CloudEvent
from settle_shared.health import Heartbeat
from settle_shared.messaging import OutgoingRecord, Publisher
from settle_shared.metrics import OUTBOX_DEPTH, OUTBOX_PUBLISHED
from settle_shared.pg import Connection
from settle_shared.publishing import destination, envelope
from settle_shared.registry import EventPayload
from settle_shared.tracing import current_trace_headers

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "settle_outbox"
STANDBY = "standing by for the relay lock"
_RELAY_LOCK_KEY = 0x0B7B0C
# One statement for any number of rows: arrays in, one row per element out. Headers travel as
# text and become jsonb in SQL (asyncpg has no binary jsonb encoder for arrays). The relay is
# woken in the same round trip.
_INSERT_MANY = """WITH queued AS (
        INSERT INTO outbox (event_id, event_type, topic, key, value, headers)
        SELECT event_id, event_type, topic, key, value, headers::jsonb
        FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bytea[], $6::text[])
            AS row (event_id, event_type, topic, key, value, headers)
        RETURNING 1)
    SELECT pg_notify($7, '') FROM (SELECT 1 FROM queued LIMIT 1) AS any_queued"""


class OutboxBatch:
    """Events turned into outbox rows and not stored yet: the CPU half of `add_many`. A bulk
    writer fills one while its other statements run, then stores it."""

    def __init__(self, source: str, now: datetime, new_id: Callable[[], str]) -> None:
        self._source = source
        self._now = now
        self._new_id = new_id
        self._trace = current_trace_headers()
        self.events: list[CloudEvent] = []
        self.columns: tuple[list[Any], ...] = ([], [], [], [], [], [])

    def add(self, payloads: Iterable[EventPayload]) -> None:
        for payload in payloads:
            event = envelope(
                payload,
                source=self._source,
                time=self._now,
                event_id=self._new_id(),
                trace=self._trace,
            )
            topic, key = destination(payload)
            values = (
                event.id,
                event.type,
                topic,
                key,
                event.to_value(),
                orjson.dumps(event.header_texts()).decode(),
            )
            for column, value in zip(self.columns, values, strict=True):
                column.append(value)
            self.events.append(event)


class OutboxWriter:
    def __init__(self, source: str, clock: Clock, new_id: Callable[[], str] = lambda: str(uuid4())):
        self._source = source
        self._clock = clock
        self._new_id = new_id

    async def add(self, connection: Connection, payload: EventPayload) -> CloudEvent:
        """Store the event in the caller's transaction; it is published only if that commits."""
        [event] = await self.add_many(connection, [payload])
        return event

    async def add_many(
        self, connection: Connection, payloads: Sequence[EventPayload]
    ) -> list[CloudEvent]:
        """Store many events in one pipelined statement, in order; for bulk imports."""
        batch = self.batch()
        batch.add(payloads)
        return await self.store(connection, batch)

    def batch(self) -> OutboxBatch:
        return OutboxBatch(self._source, self._clock.now(), self._new_id)

    async def store(self, connection: Connection, batch: OutboxBatch) -> list[CloudEvent]:
        """Store a batch's events in the caller's transaction, in order, in one statement."""
        if batch.events:
            # The NOTIFY is delivered at commit; Postgres folds repeats in one transaction.
            await connection.execute(_INSERT_MANY, *batch.columns, NOTIFY_CHANNEL)
        return batch.events


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: Publisher,
        heartbeat: Heartbeat,
        *,
        batch_size: int = 2000,
        poll_seconds: float = 1.0,
        linger_seconds: float = 0.005,
        depth_every_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
        standby_poll_seconds: float = 2.0,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._heartbeat = heartbeat
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._linger_seconds = linger_seconds
        self._depth_every_seconds = depth_every_seconds
        self._depth_measured_at = -math.inf
        self._max_backoff = max_backoff_seconds
        self._standby_poll_seconds = standby_poll_seconds

    async def run(self) -> None:
        async with self._pool.acquire() as leader_connection:
            await self._become_leader(leader_connection)
            wake = asyncio.Event()

            def notified(*_: object) -> None:
                wake.set()

            await leader_connection.add_listener(NOTIFY_CHANNEL, notified)
            await self._publisher.start()
            try:
                await self._relay_forever(wake)
            finally:
                await self._publisher.stop()
                await leader_connection.remove_listener(NOTIFY_CHANNEL, notified)

    async def _become_leader(self, connection: Connection) -> None:
        """Wait for the relay lock, beating as a standby so a second replica stays ready."""
        while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK_KEY):
            self._heartbeat.beat(STANDBY)
            await asyncio.sleep(self._standby_poll_seconds)

    async def _relay_forever(self, wake: asyncio.Event) -> None:
        failures = 0
        while True:
            # Clear before reading, so a notification during the read is not lost.
            wake.clear()
            try:
                published = await self.publish_pending()
                failures = 0
            except Exception as error:  # any publish failure: keep the rows, back off, retry
                failures += 1
                delay = min(self._max_backoff, 0.5 * 2**failures)
                log.error(
                    "outbox relay failed; retrying", extra={"error": repr(error), "retry_in": delay}
                )
                await asyncio.sleep(delay)
                continue
            self._heartbeat.beat()
            if published < self._batch_size:
                await _wait(wake, self._poll_seconds)
                # Woken by one commit, wait for the ones close behind it: they then share a read,
                # a produce request and a delete, instead of a cycle each.
                await asyncio.sleep(self._linger_seconds)

    async def publish_pending(self) -> int:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT seq, topic, key, value, headers FROM outbox ORDER BY seq LIMIT $1",
                self._batch_size,
            )
            if rows:
                await self._publisher.publish([_record(row) for row in rows])
                # Published rows leave: Kafka holds the events from here on.
                await connection.execute(
                    "DELETE FROM outbox WHERE seq = ANY($1::bigint[])", [row["seq"] for row in rows]
                )
                OUTBOX_PUBLISHED.inc(len(rows))
            await self._measure_depth(connection)
            return len(rows)

    async def _measure_depth(self, connection: Connection) -> None:
        """Counting the rows is a scan of the backlog: done at most once per interval, not per
        cycle, since a trickle of events means a cycle for each."""
        now = time.monotonic()
        if now - self._depth_measured_at >= self._depth_every_seconds:
            self._depth_measured_at = now
            OUTBOX_DEPTH.set(await _depth(connection))


def _record(row: asyncpg.Record) -> OutgoingRecord:
    headers = [(name, value.encode()) for name, value in row["headers"]]
    return OutgoingRecord(topic=row["topic"], key=row["key"], value=row["value"], headers=headers)


async def _depth(connection: Connection) -> int:
    depth: int = await connection.fetchval("SELECT count(*) FROM outbox")
    return depth


async def _wait(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return
