"""Ports between the services and the message broker, implemented for Kafka and in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from settle_shared.cloudevents import Headers


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass(frozen=True)
class IncomingRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers

    @property
    def position(self) -> tuple[str, int]:
        return (self.topic, self.partition)


class Publisher(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        """Send records in order; return once the broker acknowledged all of them, else raise."""
        ...


class Subscription(Protocol):
    """A consumer-group member reading some topics, committing offsets only when told to."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def fetch(self, timeout_ms: int, max_records: int) -> list[IncomingRecord]:
        """Next records, in offset order within each partition; empty after the timeout."""
        ...

    async def commit(self, next_offsets: dict[tuple[str, int], int]) -> None:
        """Record that everything before these offsets is processed."""
        ...

    def lag(self) -> dict[tuple[str, int], int]:
        """Records not yet fetched, per assigned partition, where the broker has said."""
        ...


class MessagingFactory(Protocol):
    """Builds publishers and subscriptions: Kafka in production, memory in unit tests."""

    def publisher(self, client_id: str) -> Publisher: ...

    def subscription(self, group_id: str, topics: Sequence[str]) -> Subscription: ...
