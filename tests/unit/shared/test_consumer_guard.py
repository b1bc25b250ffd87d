import json
from datetime import UTC, datetime
from typing import Any

import pytest

from settle_shared.clock import FixedClock
from settle_shared.consumer import (
    ConsumerGuard,
    ConsumerSpec,
    DeadLetterCapReached,
    GuardPolicy,
    Handler,
    Received,
)
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events import REGISTRY
from settle_shared.events.segmentation import CustomerSegmented
from settle_shared.events.topics import CUSTOMERS_SEGMENTED
from settle_shared.health import Heartbeat
from settle_shared.messaging import IncomingRecord, OutgoingRecord
from settle_shared.publishing import envelope, to_record
from settle_shared.testing.memory_broker import InMemoryMessaging

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DEAD = "test.deadletter"
TOPIC = CUSTOMERS_SEGMENTED.name


def segmented(customer: str = "C-1", tenant: str = "acme-nl") -> CustomerSegmented:
    return CustomerSegmented(
        tenant=tenant,
        customer_id=customer,
        segment="reliable",
        rule="r",
        reasons=["because"],
        decided_at=NOW,
        revision=1,
    )


def good_record(customer: str = "C-1") -> OutgoingRecord:
    payload = segmented(customer)
    return to_record(payload, envelope(payload, source="/test", time=NOW))


def raw_record(value: bytes, headers: list[tuple[str, bytes]]) -> OutgoingRecord:
    return OutgoingRecord(TOPIC, b"acme-nl:C-1", value, headers)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, received: Received[Any]) -> None:
        self.seen.append(received.payload.customer_id)


@pytest.fixture
def messaging() -> InMemoryMessaging:
    messaging = InMemoryMessaging()
    messaging.broker.create_topic(TOPIC, 1)
    messaging.broker.create_topic(DEAD, 1)
    return messaging


def guard_for(
    messaging: InMemoryMessaging, handler: Handler, policy: GuardPolicy | None = None
) -> ConsumerGuard:
    spec = ConsumerSpec("test", (TOPIC,), {CustomerSegmented: handler}, DEAD)
    return ConsumerGuard(
        spec,
        messaging.subscription("test", [TOPIC]),
        messaging.publisher("dlq"),
        REGISTRY,
        FixedClock(NOW),
        Heartbeat("test"),
        policy or GuardPolicy(transient_max_wait_seconds=0.01),
    )


def dead_letters(messaging: InMemoryMessaging) -> list[IncomingRecord]:
    return messaging.broker.records(DEAD)


def header(record: IncomingRecord, name: str) -> str:
    return next(value.decode() for key, value in record.headers if key == name)


async def run_once(
    messaging: InMemoryMessaging, handler: Handler, *records: OutgoingRecord
) -> ConsumerGuard:
    for record in records:
        messaging.broker.append(record)
    guard = guard_for(messaging, handler)
    await guard.start()
    await guard.poll_once()
    return guard


async def test_a_valid_event_reaches_its_handler_and_is_committed(
    messaging: InMemoryMessaging,
) -> None:
    handler = Recorder()
    await run_once(messaging, handler, good_record())
    assert handler.seen == ["C-1"]
    assert messaging.broker.committed("test", TOPIC, 0) == 1


async def test_an_undecodable_record_is_dead_lettered_with_its_reason_and_the_stream_goes_on(
    messaging: InMemoryMessaging,
) -> None:
    handler = Recorder()
    await run_once(messaging, handler, raw_record(b"not json", []), good_record("C-2"))

    [dead] = dead_letters(messaging)
    assert dead.value == b"not json"
    assert header(dead, "settle-dlq-kind") == "undecodable"
    assert "missing CloudEvents header(s): ce_id, ce_source, ce_type, ce_specversion" in header(
        dead, "settle-dlq-reason"
    )
    assert header(dead, "settle-dlq-source-offset") == "0"
    assert handler.seen == ["C-2"]
    assert messaging.broker.committed("test", TOPIC, 0) == 2


async def test_a_payload_breaking_its_schema_is_dead_lettered_with_every_problem(
    messaging: InMemoryMessaging,
) -> None:
    record = good_record()
    data = json.loads(record.value or b"")
    data["segment"] = "Not A Segment!"
    del data["reasons"]
    await run_once(messaging, Recorder(), raw_record(json.dumps(data).encode(), record.headers))

    [dead] = dead_letters(messaging)
    assert header(dead, "settle-dlq-kind") == "invalid"
    problems = json.loads(header(dead, "settle-dlq-problems"))
    assert {p["location"] for p in problems} == {"/segment", "/reasons"}
    assert ("ce_type", b"settle.customer.segmented.v1") in dead.headers


async def test_a_tenant_header_that_contradicts_the_payload_is_rejected(
    messaging: InMemoryMessaging,
) -> None:
    payload = segmented(tenant="acme-nl")
    event = envelope(segmented(tenant="other-be"), source="/test", time=NOW)
    forged = to_record(payload, event)
    await run_once(
        messaging,
        Recorder(),
        OutgoingRecord(TOPIC, forged.key, payload.model_dump_json().encode(), forged.headers),
    )
    [dead] = dead_letters(messaging)
    assert "differs from payload tenant" in header(dead, "settle-dlq-reason")


async def test_event_types_without_a_handler_are_skipped_and_committed(
    messaging: InMemoryMessaging,
) -> None:
    record = good_record()
    headers = [
        (k, b"settle.some.future-event.v1" if k == "ce_type" else v) for k, v in record.headers
    ]
    handler = Recorder()
    await run_once(messaging, handler, raw_record(record.value or b"", headers))
    assert handler.seen == []
    assert dead_letters(messaging) == []
    assert messaging.broker.committed("test", TOPIC, 0) == 1


async def test_a_handler_rejection_is_dead_lettered_with_its_problems(
    messaging: InMemoryMessaging,
) -> None:
    async def reject(received: Received[Any]) -> None:
        raise InvalidMessage(
            "due date before issue date", [Problem("/due_date", "before issue date")]
        )

    await run_once(messaging, reject, good_record())
    [dead] = dead_letters(messaging)
    assert header(dead, "settle-dlq-reason") == "due date before issue date"
    assert json.loads(header(dead, "settle-dlq-problems")) == [
        {"location": "/due_date", "message": "before issue date"}
    ]


async def test_a_handler_bug_is_retried_then_dead_lettered(messaging: InMemoryMessaging) -> None:
    calls = 0

    async def buggy(received: Received[Any]) -> None:
        nonlocal calls
        calls += 1
        raise KeyError("oops")

    await run_once(messaging, buggy, good_record())
    assert calls == GuardPolicy().unexpected_attempts
    [dead] = dead_letters(messaging)
    assert header(dead, "settle-dlq-reason") == "handler failed: KeyError('oops')"


async def test_a_transient_failure_is_retried_until_it_succeeds(
    messaging: InMemoryMessaging,
) -> None:
    calls = 0

    async def flaky(received: Received[Any]) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionRefusedError("database restarting")

    await run_once(messaging, flaky, good_record())
    assert calls == 3
    assert dead_letters(messaging) == []


async def test_a_lasting_transient_failure_stops_the_consumer_without_committing(
    messaging: InMemoryMessaging,
) -> None:
    async def down(received: Received[Any]) -> None:
        raise ConnectionRefusedError("database down")

    messaging.broker.append(good_record())
    guard = guard_for(
        messaging, down, GuardPolicy(transient_attempts=3, transient_max_wait_seconds=0.01)
    )
    await guard.start()
    with pytest.raises(ConnectionRefusedError):
        await guard.poll_once()
    assert dead_letters(messaging) == []
    assert messaging.broker.committed("test", TOPIC, 0) == 0


async def test_the_consumer_stops_when_everything_is_dead_lettered(
    messaging: InMemoryMessaging,
) -> None:
    for _ in range(5):
        messaging.broker.append(raw_record(b"garbage", []))
    guard = guard_for(messaging, Recorder(), GuardPolicy(dead_letter_cap=3))
    await guard.start()
    with pytest.raises(DeadLetterCapReached, match="3 records in a row"):
        await guard.poll_once()
    assert len(dead_letters(messaging)) == 3


async def test_a_good_record_resets_the_dead_letter_count(messaging: InMemoryMessaging) -> None:
    for record in [
        raw_record(b"x", []),
        raw_record(b"x", []),
        good_record(),
        raw_record(b"x", []),
        raw_record(b"x", []),
    ]:
        messaging.broker.append(record)
    guard = guard_for(messaging, Recorder(), GuardPolicy(dead_letter_cap=3))
    await guard.start()
    assert await guard.poll_once() == 5
    assert len(dead_letters(messaging)) == 4
