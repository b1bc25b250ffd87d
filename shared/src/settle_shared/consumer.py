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
from settle_shared.tracing import consuming, consuming_batch

log = logging.getLogger(__name__)

P = TypeVar("P", bound=EventPayload)
T = TypeVar("T")
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
BatchHandler = Callable[[Sequence[Received[Any]]], Awaitable[Mapping[int, RejectedMessage]]]
"""Handles consecutive records in one go; returns the ones it refuses, by position."""


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer group: the topics it reads and a handler per event model it cares about.
    Event types without a handler are skipped, so producers can add types without breaking it.

    A type may also have a batch handler: consecutive records sharing one batch handler are
    handled together (one transaction for many records). The single handler stays the fallback
    that isolates a record when the batch as a whole fails."""

    name: str
    topics: tuple[str, ...]
    handlers: Mapping[type[EventPayload], Handler]
    dead_letter_topic: str
    batch_handlers: Mapping[type[EventPayload], BatchHandler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unbacked = set(self.batch_handlers) - set(self.handlers)
        if unbacked:
            names = ", ".join(sorted(model.__name__ for model in unbacked))
            raise ValueError(f"{self.name}: batch handlers need a single handler too: {names}")


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
        for run in self._runs([self._decode(record) for record in records]):
            batch_handler = self._batch_handler_of(run[0])
            if batch_handler is not None and len(run) > 1:
                await self._process_batch(batch_handler, run)
            else:
                for item in run:
                    await self._process(item)
        if records:
            await self._subscription.commit(_next_offsets(records))
        self._heartbeat.beat()
        self._report_lag()
        return len(records)

    def _decode(self, record: IncomingRecord) -> _Decoded:
        try:
            event = from_kafka(record.value, record.headers)
            event_type = self._registry.lookup(event.type)
            if event_type is None or event_type.model not in self._spec.handlers:
                return _Decoded(record, event.type)
            payload = event_type.parse(event.data)
            if payload.tenant != event.tenant:
                raise InvalidMessage(
                    f"ce_tenant {event.tenant!r} differs from payload tenant {payload.tenant!r}"
                )
        except RejectedMessage as rejection:
            return _Decoded(record, "unknown", rejection=rejection)
        return _Decoded(record, event.type, Received(self._spec.name, event, payload, record))

    def _batch_handler_of(self, item: _Decoded) -> BatchHandler | None:
        if item.received is None:
            return None
        return self._spec.batch_handlers.get(type(item.received.payload))

    def _runs(self, items: list[_Decoded]) -> list[list[_Decoded]]:
        """Consecutive items sharing a batch handler form one run; every other item is alone.
        Handling runs in order keeps each partition's order."""
        runs: list[list[_Decoded]] = []
        for item in items:
            handler = self._batch_handler_of(item)
            if runs and handler is not None and handler is self._batch_handler_of(runs[-1][0]):
                runs[-1].append(item)
            else:
                runs.append([item])
        return runs

    async def _process(self, item: _Decoded) -> None:
        if item.rejection is not None:
            await self._dead_letter(item.record, item.rejection)
            return
        if item.received is None:
            EVENTS_PROCESSED.labels(self._spec.name, item.event_type, "ignored").inc()
            return
        received = item.received
        handler = self._spec.handlers[type(received.payload)]
        token = current_event_id.set(received.event.id)
        try:
            with consuming(received.event.trace, item.record.topic, item.event_type):
                await self._with_retries(lambda: handler(received))
        except RejectedMessage as rejection:
            await self._dead_letter(item.record, rejection)
            return
        finally:
            current_event_id.reset(token)
        self._handled(item)

    async def _process_batch(self, handler: BatchHandler, run: list[_Decoded]) -> None:
        receiveds = [item.received for item in run if item.received is not None]
        try:
            with consuming_batch([r.event.trace for r in receiveds], run[0].record.topic):
                rejections = await self._with_retries(lambda: handler(receiveds))
        except RejectedMessage:
            # Something in the run breaks the batch path: one by one isolates the culprit.
            for item in run:
                await self._process(item)
            return
        for position, item in enumerate(run):
            if position in rejections:
                await self._dead_letter(item.record, rejections[position])
            else:
                self._handled(item)

    def _handled(self, item: _Decoded) -> None:
        self._consecutive_dead_letters = 0
        duplicate = item.received is not None and item.received.duplicate
        outcome = "duplicate" if duplicate else "processed"
        EVENTS_PROCESSED.labels(self._spec.name, item.event_type, outcome).inc()

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
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
                    return await call()
                except _NOT_RETRIED_AS_UNEXPECTED:
                    raise
                except Exception as error:
                    if attempts >= self._policy.unexpected_attempts:
                        raise RejectedMessage(f"handler failed: {error!r}") from error
                    raise _Unexpected(error) from error
        raise AssertionError("AsyncRetrying either returns or raises")

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


@dataclass(frozen=True)
class _Decoded:
    """A fetched record after decoding: ready for a handler, refused, or of no interest."""

    record: IncomingRecord
    event_type: str
    received: Received[Any] | None = None
    rejection: RejectedMessage | None = None


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
