"""Where the use cases queue the events they decide on: the transactional outbox (a whole batch in
one statement, through `Transaction.publish_many`), or, for a dry run, a list that is printed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from settle_shared.db import Transaction
from settle_shared.registry import EventPayload


class EventSink(Protocol):
    async def publish(self, tx: Transaction, payloads: Sequence[EventPayload]) -> None: ...


class TransactionalOutbox:
    """The events leave through the outbox only if the transaction commits."""

    async def publish(self, tx: Transaction, payloads: Sequence[EventPayload]) -> None:
        if payloads:
            await tx.publish_many(payloads)


class CollectingSink:
    """Keeps the events instead of queueing them: what a dry run would have published."""

    def __init__(self) -> None:
        self.events: list[EventPayload] = []

    async def publish(self, tx: Transaction, payloads: Sequence[EventPayload]) -> None:
        self.events.extend(payloads)
