"""An in-memory broker with Kafka's semantics that matter to us: partitions by key, per-partition
order, consumer groups with committed offsets, and redelivery of whatever was not committed."""

from __future__ import annotations

import asyncio
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from settle_shared.messaging import IncomingRecord, OutgoingRecord


class UnknownTopic(LookupError):
    pass


@dataclass
class InMemoryBroker:
    partitions: dict[str, int] = field(default_factory=dict)
    _logs: dict[tuple[str, int], list[IncomingRecord]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _committed: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def create_topic(self, name: str, partitions: int = 1) -> None:
        self.partitions.setdefault(name, partitions)

    def append(self, record: OutgoingRecord) -> IncomingRecord:
        if record.topic not in self.partitions:
            raise UnknownTopic(f"topic {record.topic} does not exist")
        partition = self._partition_for(record)
        log = self._logs[(record.topic, partition)]
        stored = IncomingRecord(
            record.topic, partition, len(log), record.key, record.value, list(record.headers)
        )
        log.append(stored)
        return stored

    def records(self, topic: str) -> list[IncomingRecord]:
        """Everything on a topic, partition by partition: for assertions in tests."""
        return [
            record
            for partition in range(self.partitions.get(topic, 0))
            for record in self._logs[(topic, partition)]
        ]

    def read(self, topic: str, partition: int, offset: int, limit: int) -> list[IncomingRecord]:
        return self._logs[(topic, partition)][offset : offset + limit]

    def end_offset(self, topic: str, partition: int) -> int:
        return len(self._logs[(topic, partition)])

    def committed(self, group: str, topic: str, partition: int) -> int:
        return self._committed.get((group, topic, partition), 0)

    def commit(self, group: str, topic: str, partition: int, offset: int) -> None:
        self._committed[(group, topic, partition)] = offset

    def _partition_for(self, record: OutgoingRecord) -> int:
        count = self.partitions[record.topic]
        if record.key is None:
            return sum(len(self._logs[(record.topic, p)]) for p in range(count)) % count
        return zlib.crc32(record.key) % count


class InMemoryPublisher:
    def __init__(self, broker: InMemoryBroker) -> None:
        self._broker = broker

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        for record in records:
            self._broker.append(record)


class InMemorySubscription:
    """One consumer-group member that owns every partition of its topics."""

    def __init__(self, broker: InMemoryBroker, group_id: str, topics: Sequence[str]) -> None:
        self._broker = broker
        self._group = group_id
        self._topics = tuple(topics)
        self._positions: dict[tuple[str, int], int] = {}

    async def start(self) -> None:
        for topic in self._topics:
            if topic not in self._broker.partitions:
                raise UnknownTopic(f"topic {topic} does not exist")
            for partition in range(self._broker.partitions[topic]):
                self._positions[(topic, partition)] = self._broker.committed(
                    self._group, topic, partition
                )

    async def stop(self) -> None:
        self._positions.clear()

    async def fetch(self, timeout_ms: int, max_records: int) -> list[IncomingRecord]:
        batch = self._take(max_records)
        if not batch:
            await asyncio.sleep(min(timeout_ms, 20) / 1000)
        return batch

    async def commit(self, next_offsets: dict[tuple[str, int], int]) -> None:
        for (topic, partition), offset in next_offsets.items():
            self._broker.commit(self._group, topic, partition, offset)

    def lag(self) -> dict[tuple[str, int], int]:
        return {
            position: self._broker.end_offset(*position) - offset
            for position, offset in self._positions.items()
        }

    def _take(self, max_records: int) -> list[IncomingRecord]:
        batch: list[IncomingRecord] = []
        for position, offset in self._positions.items():
            records = self._broker.read(*position, offset, max_records - len(batch))
            self._positions[position] = offset + len(records)
            batch.extend(records)
            if len(batch) >= max_records:
                break
        return batch


class InMemoryMessaging:
    """MessagingFactory over one shared in-memory broker."""

    def __init__(self, broker: InMemoryBroker | None = None) -> None:
        self.broker = broker or InMemoryBroker()

    def publisher(self, client_id: str) -> InMemoryPublisher:
        return InMemoryPublisher(self.broker)

    def subscription(self, group_id: str, topics: Sequence[str]) -> InMemorySubscription:
        return InMemorySubscription(self.broker, group_id, topics)
