"""The behaviour every MessagingFactory must have. Test modules subclass `MessagingContract` and
provide a `messaging` fixture and a `topic` fixture (a new topic with 3 partitions); the in-memory
fake runs it in the unit tier, the Kafka adapter in the stream tier."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from settle_shared.messaging import IncomingRecord, MessagingFactory, OutgoingRecord, Subscription

PARTITIONS = 3


def record(
    topic: str, key: str, value: str, headers: Sequence[tuple[str, bytes]] = ()
) -> OutgoingRecord:
    return OutgoingRecord(topic, key.encode(), value.encode(), list(headers))


async def fetch_until(
    subscription: Subscription, count: int, seconds: float = 30.0
) -> list[IncomingRecord]:
    received: list[IncomingRecord] = []
    async with asyncio.timeout(seconds):
        while len(received) < count:
            received.extend(await subscription.fetch(timeout_ms=200, max_records=500))
    return received


async def fetch_quietly(subscription: Subscription, seconds: float = 2.0) -> list[IncomingRecord]:
    """Whatever arrives within `seconds`: for asserting that nothing (more) arrives."""
    received: list[IncomingRecord] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        received.extend(await subscription.fetch(timeout_ms=200, max_records=500))
    return received


class MessagingContract:
    async def test_published_records_come_back_with_key_value_and_headers(
        self, messaging: MessagingFactory, topic: str
    ) -> None:
        publisher = messaging.publisher("contract")
        await publisher.start()
        await publisher.publish([record(topic, "acme:C-1", "hello", [("ce_id", b"1")])])
        await publisher.stop()
        subscription = messaging.subscription("contract-a", [topic])
        await subscription.start()
        [received] = await fetch_until(subscription, 1)
        await subscription.stop()
        assert (received.topic, received.key, received.value) == (topic, b"acme:C-1", b"hello")
        assert ("ce_id", b"1") in received.headers

    async def test_records_with_one_key_stay_in_order_on_one_partition(
        self, messaging: MessagingFactory, topic: str
    ) -> None:
        publisher = messaging.publisher("contract")
        await publisher.start()
        await publisher.publish([record(topic, f"acme:C-{i % 4}", str(i)) for i in range(40)])
        await publisher.stop()
        subscription = messaging.subscription("contract-order", [topic])
        await subscription.start()
        received = await fetch_until(subscription, 40)
        await subscription.stop()
        for customer in range(4):
            mine = [r for r in received if r.key == f"acme:C-{customer}".encode()]
            assert [int(r.value or b"") for r in mine] == list(range(customer, 40, 4))
            assert len({r.partition for r in mine}) == 1

    async def test_a_restarted_member_resumes_after_the_committed_offset(
        self, messaging: MessagingFactory, topic: str
    ) -> None:
        publisher = messaging.publisher("contract")
        await publisher.start()
        await publisher.publish([record(topic, "k", str(i)) for i in range(5)])
        first = messaging.subscription("contract-resume", [topic])
        await first.start()
        received = await fetch_until(first, 5)
        committed = received[:3]
        await first.commit({committed[-1].position: committed[-1].offset + 1})
        await first.stop()

        second = messaging.subscription("contract-resume", [topic])
        await second.start()
        redelivered = await fetch_until(second, 2)
        await second.stop()
        await publisher.stop()
        assert [r.value for r in redelivered] == [b"3", b"4"]

    async def test_uncommitted_records_are_delivered_again(
        self, messaging: MessagingFactory, topic: str
    ) -> None:
        publisher = messaging.publisher("contract")
        await publisher.start()
        await publisher.publish([record(topic, "k", "only")])
        await publisher.stop()
        first = messaging.subscription("contract-redeliver", [topic])
        await first.start()
        await fetch_until(first, 1)
        await first.stop()
        second = messaging.subscription("contract-redeliver", [topic])
        await second.start()
        [again] = await fetch_until(second, 1)
        await second.stop()
        assert again.value == b"only"

    async def test_every_group_reads_every_record(
        self, messaging: MessagingFactory, topic: str
    ) -> None:
        publisher = messaging.publisher("contract")
        await publisher.start()
        await publisher.publish([record(topic, "k", "shared")])
        await publisher.stop()
        for group in ("contract-g1", "contract-g2"):
            subscription = messaging.subscription(group, [topic])
            await subscription.start()
            [received] = await fetch_until(subscription, 1)
            await subscription.stop()
            assert received.value == b"shared"

    async def test_a_fully_committed_group_receives_nothing_more(
        self, messaging: MessagingFactory, topic: str
    ) -> None:
        publisher = messaging.publisher("contract")
        await publisher.start()
        await publisher.publish([record(topic, "k", "done")])
        await publisher.stop()
        first = messaging.subscription("contract-done", [topic])
        await first.start()
        [received] = await fetch_until(first, 1)
        await first.commit({received.position: received.offset + 1})
        await first.stop()
        second = messaging.subscription("contract-done", [topic])
        await second.start()
        assert await fetch_quietly(second) == []
        assert all(lag == 0 for lag in second.lag().values())
        await second.stop()
