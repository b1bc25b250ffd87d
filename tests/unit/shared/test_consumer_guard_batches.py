from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from settle_shared.clock import FixedClock
from settle_shared.consumer import ConsumerGuard, ConsumerSpec, GuardPolicy, Received
from settle_shared.errors import InvalidMessage, RejectedMessage
from settle_shared.events import REGISTRY
from settle_shared.events.segmentation import CustomerSegmented
from settle_shared.events.topics import CUSTOMERS_SEGMENTED
from settle_shared.health import Heartbeat
from settle_shared.messaging import OutgoingRecord
from settle_shared.publishing import envelope, to_record
from settle_shared.testing.memory_broker import InMemoryMessaging

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DEAD = "test.deadletter"
TOPIC = CUSTOMERS_SEGMENTED.name


def good(customer: str) -> OutgoingRecord:
    payload = CustomerSegmented(
        tenant="acme-nl",
        customer_id=customer,
        segment="reliable",
        rule="r",
        reasons=["x"],
        decided_at=NOW,
        revision=1,
    )
    return to_record(payload, envelope(payload, source="/test", time=NOW))


class Recorder:
    """Single and batch handler at once, recording what reached which."""

    def __init__(self, refuse: frozenset[str] = frozenset(), explode_on: str | None = None) -> None:
        self.singles: list[str] = []
        self.batches: list[list[str]] = []
        self._refuse = refuse
        self._explode_on = explode_on

    async def single(self, received: Received[Any]) -> None:
        customer = received.payload.customer_id
        if customer in self._refuse or customer == self._explode_on:
            raise InvalidMessage(f"{customer} refused")
        self.singles.append(customer)

    async def batch(self, batch: Sequence[Received[Any]]) -> Mapping[int, RejectedMessage]:
        customers = [r.payload.customer_id for r in batch]
        if self._explode_on in customers:
            raise KeyError("a bug the batch path trips over")
        self.batches.append(customers)
        return {
            i: InvalidMessage(f"{c} refused") for i, c in enumerate(customers) if c in self._refuse
        }


@pytest.fixture
def messaging() -> InMemoryMessaging:
    messaging = InMemoryMessaging()
    messaging.broker.create_topic(TOPIC, 1)
    messaging.broker.create_topic(DEAD, 1)
    return messaging


async def poll(messaging: InMemoryMessaging, recorder: Recorder, *records: OutgoingRecord) -> None:
    for record in records:
        messaging.broker.append(record)
    spec = ConsumerSpec(
        "test",
        (TOPIC,),
        {CustomerSegmented: recorder.single},
        DEAD,
        batch_handlers={CustomerSegmented: recorder.batch},
    )
    guard = ConsumerGuard(
        spec,
        messaging.subscription("test", [TOPIC]),
        messaging.publisher("dlq"),
        REGISTRY,
        FixedClock(NOW),
        Heartbeat("test"),
        GuardPolicy(transient_max_wait_seconds=0.01),
    )
    await guard.start()
    await guard.poll_once()


def dead_reasons(messaging: InMemoryMessaging) -> list[str]:
    return [
        {k: v.decode() for k, v in r.headers}["settle-dlq-reason"]
        for r in messaging.broker.records(DEAD)
    ]


async def test_consecutive_records_reach_the_batch_handler_together(
    messaging: InMemoryMessaging,
) -> None:
    recorder = Recorder()
    await poll(messaging, recorder, good("C-1"), good("C-2"), good("C-3"))
    assert recorder.batches == [["C-1", "C-2", "C-3"]]
    assert recorder.singles == []
    assert messaging.broker.committed("test", TOPIC, 0) == 3


async def test_refused_records_of_a_batch_are_dead_lettered_and_the_rest_stands(
    messaging: InMemoryMessaging,
) -> None:
    recorder = Recorder(refuse=frozenset({"C-2"}))
    await poll(messaging, recorder, good("C-1"), good("C-2"), good("C-3"))
    assert recorder.batches == [["C-1", "C-2", "C-3"]]
    assert dead_reasons(messaging) == ["C-2 refused"]


async def test_an_undecodable_record_splits_the_run_and_order_is_kept(
    messaging: InMemoryMessaging,
) -> None:
    garbage = OutgoingRecord(TOPIC, b"k", b"not json", [])
    recorder = Recorder()
    await poll(messaging, recorder, good("C-1"), good("C-2"), garbage, good("C-3"))
    assert recorder.batches == [["C-1", "C-2"]]
    assert recorder.singles == ["C-3"]
    assert len(dead_reasons(messaging)) == 1


async def test_a_batch_that_fails_as_a_whole_is_retried_one_by_one_to_isolate_the_culprit(
    messaging: InMemoryMessaging,
) -> None:
    recorder = Recorder(explode_on="C-2")
    await poll(messaging, recorder, good("C-1"), good("C-2"), good("C-3"))
    assert recorder.batches == []
    assert recorder.singles == ["C-1", "C-3"]
    assert dead_reasons(messaging) == ["C-2 refused"]


def test_a_batch_handler_without_a_single_handler_is_refused() -> None:
    recorder = Recorder()
    with pytest.raises(ValueError, match="need a single handler too"):
        ConsumerSpec("test", (TOPIC,), {}, DEAD, batch_handlers={CustomerSegmented: recorder.batch})
