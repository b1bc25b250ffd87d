"""The consumer guard: reads records, decodes and validates them, hands them to handlers, and
decides what happens on failure.

- Undecodable or invalid records, and records a handler rejects, go to the dead-letter topic with
  the reason in headers; the stream goes on. If `cap` records in a row are dead-lettered, the
  guard stops: when everything fails, the fault is ours, not the input's.
- Transient failures (database or broker unreachable, deadlocks) are retried with backoff and then
  raised, which stops the service loudly instead of dead-lettering good records.
- Offsets are committed after the records before them were handled, so a crash means redelivery,
  which the handlers' inbox makes harmless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from settle_shared.clock import Clock
from settle_shared.cloudevents import CloudEvent, from_kafka
from settle_shared.errors import InvalidMessage, RejectedMessage
from settle_shared.health import Heartbeat
from settle_shared.messaging import IncomingRecord, OutgoingRecord, Publisher, Subscription
from settle_shared.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_PROCESSED
from settle_shared.registry import EventPayload, EventRegistry
from settle_shared.tracing import consuming

log = logging.getLogger(__name__)

P = TypeVar("P", bound=EventPayload)
current_event_id: ContextVar[str | None] = ContextVar("current_event_id", default=None)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.TooManyConnectionsError,
)


_NOT_RETRIED_AS_UNEXPECTED: tuple[type[BaseException], ...] = (RejectedMessage, *TRANSIENT_ERRORS)


class DeadLetterCapReached(RuntimeError):
    pass


@dataclass
class Received(Generic[P]):
    """A decoded, validated event as a handler sees it."""

    consumer: str
    event: CloudEvent
    payload: P
    record: IncomingRecord
    duplicate: bool = field(default=False)

    def mark_duplicate(self) -> None:
        self.duplicate = True


Handler = Callable[[Received[Any]], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer group: the topics it reads and a handler per event model it cares about.
    Event types without a handler are skipped, so producers can add types without breaking it."""

    name: str
    topics: tuple[str, ...]
    handlers: Mapping[type[EventPayload], Handler]
    dead_letter_topic: str


@dataclass(frozen=True)
class GuardPolicy:
    dead_letter_cap: int = 100
    transient_attempts: int = 8
    transient_max_wait_seconds: float = 10.0
    unexpected_attempts: int = 3
    fetch_timeout_ms: int = 500
    max_records: int = 200


class ConsumerGuard:
    def __init__(
        self,
        spec: ConsumerSpec,
        subscription: Subscription,
        dead_letter_publisher: Publisher,
        registry: EventRegistry,
        clock: Clock,
        heartbeat: Heartbeat,
        policy: GuardPolicy = GuardPolicy(),
    ) -> None:
        self._spec = spec
        self._subscription = subscription
        self._dead_letters = dead_letter_publisher
        self._registry = registry
        self._clock = clock
        self._heartbeat = heartbeat
        self._policy = policy
        self._consecutive_dead_letters = 0

    async def run(self) -> None:
        await self.start()
        try:
            while True:
                await self.poll_once()
        finally:
            await self.stop()

    async def start(self) -> None:
        await self._dead_letters.start()
        await self._subscription.start()

    async def stop(self) -> None:
        await self._subscription.stop()
        await self._dead_letters.stop()

    async def poll_once(self) -> int:
        records = await self._subscription.fetch(
            self._policy.fetch_timeout_ms, self._policy.max_records
        )
        for record in records:
            await self._process(record)
        if records:
            await self._subscription.commit(_next_offsets(records))
        self._heartbeat.beat()
        self._report_lag()
        return len(records)

    async def _process(self, record: IncomingRecord) -> None:
        try:
            outcome, event_type = await self._decode_and_handle(record)
        except RejectedMessage as rejection:
            await self._dead_letter(record, rejection)
            return
        self._consecutive_dead_letters = 0
        EVENTS_PROCESSED.labels(self._spec.name, event_type, outcome).inc()

    async def _decode_and_handle(self, record: IncomingRecord) -> tuple[str, str]:
        event = from_kafka(record.value, record.headers)
        event_type = self._registry.lookup(event.type)
        handler = self._spec.handlers.get(event_type.model) if event_type else None
        if event_type is None or handler is None:
            return ("ignored", event.type)
        payload = event_type.parse(event.data)
        if payload.tenant != event.tenant:
            raise InvalidMessage(
                f"ce_tenant {event.tenant!r} differs from payload tenant {payload.tenant!r}"
            )
        received = Received(self._spec.name, event, payload, record)
        token = current_event_id.set(event.id)
        try:
            with consuming(event.trace, record.topic, event.type):
                await self._handle(handler, received)
        finally:
            current_event_id.reset(token)
        return ("duplicate" if received.duplicate else "processed", event.type)

    async def _handle(self, handler: Handler, received: Received[Any]) -> None:
        attempts = 0
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((*TRANSIENT_ERRORS, _Unexpected)),
            stop=stop_after_attempt(self._policy.transient_attempts),
            wait=wait_exponential(multiplier=0.2, max=self._policy.transient_max_wait_seconds),
            reraise=True,
        ):
            with attempt:
                attempts += 1
                try:
                    await handler(received)
                except _NOT_RETRIED_AS_UNEXPECTED:
                    raise
                except Exception as error:
                    if attempts >= self._policy.unexpected_attempts:
                        raise RejectedMessage(f"handler failed: {error!r}") from error
                    raise _Unexpected(error) from error

    async def _dead_letter(self, record: IncomingRecord, rejection: RejectedMessage) -> None:
        self._consecutive_dead_letters += 1
        log.warning(
            "dead-lettering record",
            extra={
                "consumer": self._spec.name,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": rejection.reason,
            },
        )
        await self._dead_letters.publish(
            [dead_letter_record(record, rejection, self._spec, self._clock)]
        )
        DEAD_LETTERS.labels(self._spec.name, rejection.kind).inc()
        EVENTS_PROCESSED.labels(self._spec.name, "unknown", "dead_lettered").inc()
        if self._consecutive_dead_letters >= self._policy.dead_letter_cap:
            raise DeadLetterCapReached(
                f"{self._consecutive_dead_letters} records in a row were dead-lettered by "
                f"{self._spec.name}; stopping: the fault is probably not in the input"
            )

    def _report_lag(self) -> None:
        for (topic, partition), lag in self._subscription.lag().items():
            CONSUMER_LAG.labels(self._spec.name, topic, str(partition)).set(lag)


class _Unexpected(Exception):
    """An unexpected handler error, retried a few times in case it was transient after all."""


def dead_letter_record(
    record: IncomingRecord, rejection: RejectedMessage, spec: ConsumerSpec, clock: Clock
) -> OutgoingRecord:
    """The original record, unchanged, plus settle-dlq-* headers saying why and from where."""
    reason_headers = {
        "settle-dlq-reason": rejection.reason,
        "settle-dlq-kind": rejection.kind,
        "settle-dlq-problems": json.dumps([problem.as_dict() for problem in rejection.problems]),
        "settle-dlq-consumer": spec.name,
        "settle-dlq-source-topic": record.topic,
        "settle-dlq-source-partition": str(record.partition),
        "settle-dlq-source-offset": str(record.offset),
        "settle-dlq-failed-at": clock.now().isoformat(),
    }
    headers = list(record.headers) + [
        (name, value.encode()) for name, value in reason_headers.items()
    ]
    return OutgoingRecord(spec.dead_letter_topic, record.key, record.value, headers)


def _next_offsets(records: Sequence[IncomingRecord]) -> dict[tuple[str, int], int]:
    offsets: dict[tuple[str, int], int] = {}
    for record in records:
        offsets[record.position] = max(offsets.get(record.position, 0), record.offset + 1)
    return offsets
