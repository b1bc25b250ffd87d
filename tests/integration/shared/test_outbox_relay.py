import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from importlib.resources import files

import asyncpg
import pytest
from prometheus_client import REGISTRY as METRICS

from settle_shared import migrations
from settle_shared.clock import FixedClock
from settle_shared.cloudevents import from_kafka
from settle_shared.db import Database, create_pool
from settle_shared.events.segmentation import CustomerSegmented
from settle_shared.events.topics import CUSTOMERS_SEGMENTED
from settle_shared.health import Heartbeat
from settle_shared.messaging import OutgoingRecord
from settle_shared.outbox import STANDBY, OutboxRelay, OutboxWriter
from settle_shared.testing.memory_broker import InMemoryBroker, InMemoryPublisher
from settle_shared.testing.waiting import eventually

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TOPIC = CUSTOMERS_SEGMENTED.name


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.migrate(
        fresh_database, migrations.load("settle_shared", files("settle_shared") / "migrations_sql")
    )
    pool = await create_pool(fresh_database, 5)
    yield pool
    await pool.close()


@pytest.fixture
def broker() -> InMemoryBroker:
    broker = InMemoryBroker()
    broker.create_topic(TOPIC, 2)
    return broker


def event(customer: str, revision: int = 1) -> CustomerSegmented:
    return CustomerSegmented(
        tenant="acme-nl",
        customer_id=customer,
        segment="reliable",
        rule="r",
        reasons=["x"],
        decided_at=NOW,
        revision=revision,
    )


def database(pool: asyncpg.Pool) -> Database:
    clock = FixedClock(NOW)
    return Database(pool, OutboxWriter("/settle/test", clock), clock)


async def publish_then_fail(db: Database, payload: CustomerSegmented) -> None:
    async with db.transaction() as tx:
        await tx.publish(payload)
        raise RuntimeError("state change failed")


def relay(
    pool: asyncpg.Pool, broker: InMemoryBroker, poll_seconds: float = 30.0, batch_size: int = 2000
) -> OutboxRelay:
    return OutboxRelay(
        pool,
        InMemoryPublisher(broker),
        Heartbeat("relay"),
        poll_seconds=poll_seconds,
        batch_size=batch_size,
    )


async def test_only_events_of_committed_transactions_are_published(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    db = database(pool)
    async with db.transaction() as tx:
        await tx.publish(event("C-1"))
    with pytest.raises(RuntimeError):
        await publish_then_fail(db, event("C-2"))

    assert await relay(pool, broker).publish_pending() == 1
    [record] = broker.records(TOPIC)
    assert record.key == b"acme-nl:C-1"


async def test_events_are_published_once_in_the_order_they_were_written(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    db = database(pool)
    for revision in range(1, 6):
        async with db.transaction() as tx:
            await tx.publish(event("C-1", revision))
    the_relay = relay(pool, broker)
    assert await the_relay.publish_pending() == 5
    assert await the_relay.publish_pending() == 0
    revisions = [from_kafka(r.value, r.headers).data["revision"] for r in broker.records(TOPIC)]
    assert revisions == [1, 2, 3, 4, 5]


async def test_a_failed_publish_keeps_the_rows_for_the_next_attempt(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    class BrokerDown(InMemoryPublisher):
        async def publish(self, records: Sequence[OutgoingRecord]) -> None:
            raise ConnectionError("broker unreachable")

    async with database(pool).transaction() as tx:
        await tx.publish(event("C-1"))
    failing = OutboxRelay(pool, BrokerDown(broker), Heartbeat("relay"))
    with pytest.raises(ConnectionError):
        await failing.publish_pending()
    assert await relay(pool, broker).publish_pending() == 1


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    running = asyncio.create_task(relay(pool, broker, poll_seconds=60).run())
    await asyncio.sleep(0.3)
    async with database(pool).transaction() as tx:
        await tx.publish(event("C-1"))
    await eventually(lambda: broker.records(TOPIC), what="record published")
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)


async def test_only_one_relay_publishes_while_another_stands_by(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    leader_heartbeat, standby_heartbeat = Heartbeat("leader"), Heartbeat("standby")
    leader = asyncio.create_task(
        OutboxRelay(pool, InMemoryPublisher(broker), leader_heartbeat, poll_seconds=0.1).run()
    )
    await asyncio.sleep(0.3)
    standby = asyncio.create_task(
        OutboxRelay(
            pool,
            InMemoryPublisher(broker),
            standby_heartbeat,
            poll_seconds=0.1,
            standby_poll_seconds=0.1,
        ).run()
    )
    await asyncio.sleep(0.3)
    assert leader_heartbeat.state == "running"
    assert standby_heartbeat.state == STANDBY
    assert standby_heartbeat.problem() is None

    leader.cancel()
    await asyncio.gather(leader, return_exceptions=True)
    async with database(pool).transaction() as tx:
        await tx.publish(event("C-1"))
    await eventually(lambda: broker.records(TOPIC), what="record published")
    assert standby_heartbeat.state == "running"
    standby.cancel()
    await asyncio.gather(standby, return_exceptions=True)


async def test_published_rows_leave_the_outbox_and_unpublished_ones_stay(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    async with database(pool).transaction() as tx:
        await tx.publish_many([event("C-1", revision=r) for r in range(1, 4)])
    assert await relay(pool, broker, batch_size=2).publish_pending() == 2
    async with pool.acquire() as connection:
        left = await connection.fetchval("SELECT count(*) FROM outbox")
    assert left == 1
    assert [from_kafka(r.value, r.headers).data["revision"] for r in broker.records(TOPIC)] == [
        1,
        2,
    ]
    assert await relay(pool, broker, batch_size=2).publish_pending() == 1
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM outbox") == 0


async def test_a_bulk_write_stores_the_same_records_as_single_writes_in_order(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    db = database(pool)
    async with db.transaction() as tx:
        single = await tx.publish(event("C-1", revision=1))
        bulk = await tx.publish_many([event("C-1", revision=r) for r in range(2, 6)])
    assert await relay(pool, broker).publish_pending() == 5

    records = broker.records(TOPIC)
    decoded = [from_kafka(r.value, r.headers) for r in records]
    assert [e.id for e in decoded] == [single.id, *(e.id for e in bulk)]
    assert [e.data["revision"] for e in decoded] == [1, 2, 3, 4, 5]
    assert {r.key for r in records} == {b"acme-nl:C-1"}
    header_names = [sorted(name for name, _ in r.headers) for r in records]
    assert all(names == header_names[0] for names in header_names)


async def test_a_bulk_write_in_a_failed_transaction_publishes_nothing(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    with pytest.raises(RuntimeError):
        await publish_many_then_fail(database(pool), [event("C-1"), event("C-2")])
    assert await relay(pool, broker).publish_pending() == 0


async def publish_many_then_fail(db: Database, payloads: list[CustomerSegmented]) -> None:
    async with db.transaction() as tx:
        await tx.publish_many(payloads)
        raise RuntimeError("state change failed")


class BatchRecorder(InMemoryPublisher):
    def __init__(self, broker: InMemoryBroker) -> None:
        super().__init__(broker)
        self.batch_sizes: list[int] = []

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        self.batch_sizes.append(len(records))
        await super().publish(records)


async def test_commits_close_behind_the_one_that_woke_the_relay_share_its_publish(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    publisher = BatchRecorder(broker)
    running = asyncio.create_task(
        OutboxRelay(pool, publisher, Heartbeat("relay"), poll_seconds=60, linger_seconds=0.5).run()
    )
    await asyncio.sleep(0.3)
    for customer in ("C-1", "C-2", "C-3"):
        async with database(pool).transaction() as tx:
            await tx.publish(event(customer))
        await asyncio.sleep(0.1)
    await eventually(lambda: len(broker.records(TOPIC)) == 3, what="three records published")
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert publisher.batch_sizes == [3]


def depth() -> float | None:
    return METRICS.get_sample_value("settle_outbox_depth")


async def test_the_backlog_is_counted_at_most_once_per_interval(
    pool: asyncpg.Pool, broker: InMemoryBroker
) -> None:
    for revision in range(1, 6):
        async with database(pool).transaction() as tx:
            await tx.publish(event("C-1", revision))

    def relay_counting_every(seconds: float) -> OutboxRelay:
        return OutboxRelay(
            pool,
            InMemoryPublisher(broker),
            Heartbeat("r"),
            batch_size=2,
            depth_every_seconds=seconds,
        )

    rarely = relay_counting_every(60)
    assert await rarely.publish_pending() == 2
    assert depth() == 3
    assert await rarely.publish_pending() == 2
    assert depth() == 3, "counted again within the interval"
    assert await relay_counting_every(0).publish_pending() == 1
    assert depth() == 0
