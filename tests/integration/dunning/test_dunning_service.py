import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from dunning.bootstrap import SERVICE, Components, DunningSettings
from dunning.entrypoints.scheduler import TimerScheduler
from settle_shared.clock import FixedClock
from settle_shared.cloudevents import CloudEvent
from settle_shared.db import Database
from settle_shared.events.delivery import DeliveryStatus, DeliveryStatusChanged
from settle_shared.events.enrichment import CreditAssessment, CustomerEnriched
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.events.payments import InvoicePartiallyPaid, InvoiceSettled
from settle_shared.events.segmentation import CustomerSegmented
from settle_shared.events.topics import DUNNING_ACTIONS, DUNNING_CASES, DUNNING_DEAD_LETTER
from settle_shared.money import Money
from settle_shared.outbox import OutboxWriter
from settle_shared.pg import Connection
from settle_shared.registry import EventPayload
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_shared.testing.waiting import eventually

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
DUE = date(2026, 11, 16)  # a Monday
STEP_ONE_AT = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam, the day after
REMINDER = "settle.dunning.reminder-requested.v1"
OPENED = "settle.dunning.case-opened.v1"
CLOSED = "settle.dunning.case-closed.v1"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, DunningSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


def components(service: ServiceHarness) -> Components:
    state: Components = service.wiring.state
    return state


def profile(revision: int = 1, **master: Any) -> CustomerEnriched:
    return CustomerEnriched.model_validate(
        {
            "tenant": "acme-nl",
            "customer_id": "C-1",
            "master": {**CUSTOMER_EXAMPLE["master"], **master},
            "credit": CreditAssessment(status="not_requested").model_dump(),
            "revision": revision,
            "enriched_at": NOW,
        }
    )


def invoice(number: int = 1, due: date = DUE, amount: int = 123450) -> InvoiceIssued:
    return InvoiceIssued(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=f"2026-{number:06d}",
        issue_date=due - timedelta(days=14),
        due_date=due,
        amount=Money.of(amount, "EUR"),
        payment_reference="RF18539007547034",
        revision=1,
        received_at=NOW,
    )


def settled(number: int = 1) -> InvoiceSettled:
    return InvoiceSettled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=f"2026-{number:06d}",
        paid=Money.of(123450, "EUR"),
        payment_ids=["P-1"],
        settled_at=NOW,
    )


def partially_paid(open_amount: int, at: datetime) -> InvoicePartiallyPaid:
    return InvoicePartiallyPaid(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="2026-000001",
        paid=Money.of(123450 - open_amount, "EUR"),
        open_amount=Money.of(open_amount, "EUR"),
        payment_ids=["P-1"],
        paid_at=at,
    )


def segmented(segment: str, revision: int = 1) -> CustomerSegmented:
    return CustomerSegmented(
        tenant="acme-nl",
        customer_id="C-1",
        segment=segment,
        rule="behaviour-v1",
        reasons=["because"],
        decided_at=NOW,
        revision=revision,
    )


async def receive(service: ServiceHarness, *events: EventPayload) -> None:
    """Deliver events one by one, in this order (topics are read in no set order)."""
    for event in events:
        service.publish(event)
        await service.consume()


def move_to(service: ServiceHarness, instant: datetime) -> None:
    service.clock.advance(instant - service.clock.now())


async def tick(service: ServiceHarness) -> int:
    return await components(service).scheduler.tick()


async def published(service: ServiceHarness, topic: str, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(topic, ce_type))


async def reminders(service: ServiceHarness) -> list[dict[str, Any]]:
    return await published(service, DUNNING_ACTIONS.name, REMINDER)


async def fetch(service: ServiceHarness, query: str, *args: object) -> list[dict[str, Any]]:
    async with service.pool.acquire() as connection:
        return [dict(row) for row in await connection.fetch(query, *args)]


async def timers(service: ServiceHarness) -> list[dict[str, Any]]:
    return await fetch(
        service,
        "SELECT step, step_name, state, due_at, reason, attempts, last_error "
        "FROM timers ORDER BY timer_id",
    )


async def test_an_issued_invoice_opens_a_case_with_a_timer_for_its_first_step(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())

    [case] = await fetch(service, "SELECT status, policy, open_amount_minor FROM cases")
    assert case == {"status": "open", "policy": "standard", "open_amount_minor": 123450}
    [timer] = await timers(service)
    assert (timer["step"], timer["state"], timer["due_at"]) == (1, "pending", STEP_ONE_AT)
    [opened] = await published(service, DUNNING_CASES.name, OPENED)
    assert (opened["invoice_id"], opened["policy"]) == ("INV-1", "standard")


async def test_past_the_due_date_exactly_one_reminder_goes_out_for_step_one(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT - timedelta(minutes=1))
    assert await tick(service) == 0

    move_to(service, STEP_ONE_AT)
    assert await tick(service) == 1
    service.clock.advance(timedelta(hours=2))
    await tick(service)

    [reminder] = await reminders(service)
    assert reminder["step"] == 1
    assert reminder["template"] == "friendly-reminder"
    assert reminder["channel"] == "email"
    recipient = reminder["recipient"]
    assert (recipient["name"], recipient["email"]) == ("Anna de Vries", "ap@devries.example")
    assert reminder["language"] == "nl"
    assert reminder["customer_name"] == "Bakkerij de Vries B.V."
    assert reminder["amount_due"] == {"amount_minor": 123450, "currency": "EUR"}
    assert reminder["due_date"] == "2026-11-16"
    assert reminder["payment_reference"] == "RF18539007547034"
    assert [(t["step"], t["state"]) for t in await timers(service)] == [
        (1, "fired"),
        (2, "pending"),
    ]


async def test_every_step_fires_in_turn_and_then_nothing_more(service: ServiceHarness) -> None:
    await receive(service, profile(), invoice())
    for _ in range(40):
        service.clock.advance(timedelta(days=1))
        await tick(service)

    sent = await reminders(service)
    assert [(r["step"], r["template"]) for r in sent] == [
        (1, "friendly-reminder"),
        (2, "second-reminder"),
        (3, "final-notice"),
    ]
    # The final notice prefers a letter; without consent for letters it goes by e-mail.
    assert sent[2]["channel"] == "email"


async def test_an_invoice_settled_before_its_reminder_is_due_is_never_reminded(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), settled())
    for _ in range(40):
        service.clock.advance(timedelta(days=1))
        await tick(service)

    assert await reminders(service) == []
    [case] = await fetch(service, "SELECT status, close_reason FROM cases")
    assert case == {"status": "closed", "close_reason": "paid"}
    [closed] = await published(service, DUNNING_CASES.name, CLOSED)
    assert closed["reason"] == "paid"
    [timer] = await timers(service)
    assert (timer["state"], timer["reason"]) == ("cancelled", "case closed (paid)")


async def test_an_invoice_settled_after_its_reminder_fell_due_but_before_the_tick_is_never_reminded(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT + timedelta(hours=1))
    await receive(service, settled())
    await tick(service)

    assert await reminders(service) == []
    [case] = await fetch(service, "SELECT status, close_reason FROM cases")
    assert case == {"status": "closed", "close_reason": "paid"}


async def test_a_settlement_that_overtakes_its_invoice_opens_no_case(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), settled(), invoice())
    move_to(service, STEP_ONE_AT)
    await tick(service)

    assert await fetch(service, "SELECT case_id FROM cases") == []
    assert await reminders(service) == []


async def test_replayed_invoices_open_one_case_with_one_timer_and_one_reminder(
    service: ServiceHarness,
) -> None:
    await receive(service, profile())
    event_id = service.publish(invoice())
    service.publish(invoice(), event_id=event_id)
    service.publish(invoice())
    await service.consume()
    move_to(service, STEP_ONE_AT)
    await tick(service)
    service.publish(invoice(), event_id=event_id)
    service.publish(invoice())
    await service.consume()
    await tick(service)

    assert len(await fetch(service, "SELECT case_id FROM cases")) == 1
    assert [(t["step"], t["state"]) for t in await timers(service)] == [
        (1, "fired"),
        (2, "pending"),
    ]
    assert len(await published(service, DUNNING_CASES.name, OPENED)) == 1
    assert len(await reminders(service)) == 1


async def test_replayed_settlements_close_the_case_once(service: ServiceHarness) -> None:
    await receive(service, profile(), invoice())
    event_id = service.publish(settled())
    service.publish(settled(), event_id=event_id)
    service.publish(settled())
    await service.consume()
    move_to(service, STEP_ONE_AT)
    await tick(service)

    assert len(await published(service, DUNNING_CASES.name, CLOSED)) == 1
    assert await reminders(service) == []


async def test_concurrent_ticks_request_exactly_one_reminder_per_due_step(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), *(invoice(number) for number in range(1, 9)))
    move_to(service, STEP_ONE_AT)
    wired = components(service)
    replicas = [
        TimerScheduler(wired.db, wired.handlers, batch_size=3, tick_seconds=5) for _ in range(4)
    ]

    for _ in range(5):
        await asyncio.gather(*(replica.tick() for replica in replicas))

    sent = await reminders(service)
    assert sorted(r["invoice_id"] for r in sent) == [f"INV-{n}" for n in range(1, 9)]
    assert {r["step"] for r in sent} == {1}
    assert len(await fetch(service, "SELECT action_id FROM actions")) == 8


class BrokenOutbox(OutboxWriter):
    """Fails every publish, i.e. after the tick inserted the action."""

    async def add(self, connection: Connection, payload: EventPayload) -> CloudEvent:
        raise ConnectionError("outbox unavailable")


async def test_a_tick_that_fails_after_claiming_leaves_the_timer_to_fire_once_later(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT)
    wired = components(service)
    broken = TimerScheduler(
        Database(service.pool, BrokenOutbox("/settle/dunning", service.clock), service.clock),
        wired.handlers,
        batch_size=10,
        tick_seconds=5,
    )

    assert await broken.tick() == 1
    assert await fetch(service, "SELECT action_id FROM actions") == []
    [timer] = await timers(service)
    assert (timer["state"], timer["attempts"]) == ("pending", 1)
    assert "outbox unavailable" in timer["last_error"]

    await tick(service)
    assert await reminders(service) == []  # retried after a backoff, not at once
    service.clock.advance(timedelta(minutes=1))
    await tick(service)
    await tick(service)
    assert len(await reminders(service)) == 1
    assert len(await fetch(service, "SELECT action_id FROM actions")) == 1


class ProcessDied(BaseException):
    """Stands for the process being killed: nothing catches it on the way out."""


class DyingOutbox(OutboxWriter):
    async def add(self, connection: Connection, payload: EventPayload) -> CloudEvent:
        raise ProcessDied


async def test_a_scheduler_that_dies_mid_tick_sends_nothing_and_the_timer_fires_once_after(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT)
    wired = components(service)
    dying = TimerScheduler(
        Database(service.pool, DyingOutbox("/settle/dunning", service.clock), service.clock),
        wired.handlers,
        batch_size=10,
        tick_seconds=5,
    )

    with pytest.raises(ProcessDied):
        await dying.tick()
    assert await fetch(service, "SELECT action_id FROM actions") == []
    [timer] = await timers(service)
    assert (timer["state"], timer["attempts"]) == ("pending", 0)

    await tick(service)
    await tick(service)
    assert len(await reminders(service)) == 1


async def test_the_scheduler_loop_fires_due_timers_on_its_own(fresh_database: str) -> None:
    harness = await ServiceHarness.start(
        SERVICE,
        DunningSettings(database_url=fresh_database, dunning_tick_seconds=0.05),
        FixedClock(NOW),
    )
    [loop] = harness.wiring.loops
    heartbeat = harness.health.heartbeat(loop.name)

    async def run_loop() -> None:
        await loop.run(heartbeat)

    running = asyncio.create_task(run_loop())
    try:
        await receive(harness, profile(), invoice())
        move_to(harness, STEP_ONE_AT)

        assert await eventually(lambda: reminders(harness), what="a reminder")
        assert (loop.role, heartbeat.problem()) == ("scheduler", None)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await harness.close()


async def test_a_segment_change_reschedules_the_pending_step_under_the_new_policy(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    await receive(service, segmented("strategic"))

    [case] = await fetch(service, "SELECT policy FROM cases")
    assert case["policy"] == "strategic"
    old, new = await timers(service)
    assert (old["state"], old["reason"]) == ("cancelled", "rescheduled: segment is strategic")
    courtesy_at = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # due + 7 days, 09:00 Amsterdam
    assert (new["step_name"], new["state"], new["due_at"]) == (
        "courtesy-reminder",
        "pending",
        courtesy_at,
    )
    move_to(service, STEP_ONE_AT)
    await tick(service)
    assert await reminders(service) == []
    move_to(service, courtesy_at)
    await tick(service)
    [reminder] = await reminders(service)
    assert reminder["step_name"] == "courtesy-reminder"


async def test_a_high_risk_customer_is_reminded_before_the_due_date(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), segmented("high_risk"), invoice())
    pre_due_at = datetime(2026, 11, 13, 8, 0, tzinfo=UTC)  # Friday, three days before
    move_to(service, pre_due_at)
    await tick(service)

    [reminder] = await reminders(service)
    assert (reminder["step"], reminder["template"]) == (1, "pre-due-reminder")


async def test_an_older_segment_decision_does_not_override_a_newer_one(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    await receive(service, segmented("strategic", revision=2), segmented("high_risk", revision=1))

    [case] = await fetch(service, "SELECT policy FROM cases")
    assert case["policy"] == "strategic"


async def test_a_partial_payment_lowers_the_amount_of_the_next_reminder(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT)
    await tick(service)
    await receive(service, partially_paid(open_amount=73450, at=STEP_ONE_AT))
    for _ in range(8):
        service.clock.advance(timedelta(days=1))
        await tick(service)

    first, second = await reminders(service)
    assert first["amount_due"] == {"amount_minor": 123450, "currency": "EUR"}
    assert second["amount_due"] == {"amount_minor": 73450, "currency": "EUR"}


async def test_a_partial_payment_in_another_currency_is_dead_lettered(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    wrong = partially_paid(open_amount=100, at=NOW).model_copy(
        update={"open_amount": Money.of(100, "USD")}
    )
    await receive(service, wrong)

    [dead] = service.published(DUNNING_DEAD_LETTER.name)
    assert dict(dead.headers)["settle-dlq-reason"].startswith(b"open amount in USD")
    [case] = await fetch(service, "SELECT open_amount_minor FROM cases")
    assert case["open_amount_minor"] == 123450


async def test_the_delivery_status_is_recorded_on_the_action(service: ServiceHarness) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT)
    await tick(service)
    [reminder] = await reminders(service)

    def status(state: DeliveryStatus, minutes: int) -> DeliveryStatusChanged:
        return DeliveryStatusChanged(
            tenant="acme-nl",
            customer_id="C-1",
            message_id="M-1",
            action_id=reminder["action_id"],
            case_id=reminder["case_id"],
            channel="email",
            status=state,
            provider="smtp",
            detail=f"{state} detail",
            occurred_at=STEP_ONE_AT + timedelta(minutes=minutes),
        )

    await receive(service, status("delivered", 2), status("sent", 1))

    [action] = await fetch(service, "SELECT delivery_status, delivery_detail FROM actions")
    assert action == {"delivery_status": "delivered", "delivery_detail": "delivered detail"}


async def test_a_delivery_status_for_an_unknown_action_is_dead_lettered(
    service: ServiceHarness,
) -> None:
    await receive(
        service,
        DeliveryStatusChanged(
            tenant="acme-nl",
            customer_id="C-1",
            message_id="M-1",
            action_id=str(uuid4()),
            case_id=str(uuid4()),
            channel="email",
            status="sent",
            provider="smtp",
            occurred_at=NOW,
        ),
    )

    [dead] = service.published(DUNNING_DEAD_LETTER.name)
    assert b"no reminder" in dict(dead.headers)["settle-dlq-reason"]


async def test_a_reminder_waits_for_the_customer_profile_and_then_goes_out_in_its_time_zone(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice())
    [timer] = await timers(service)
    assert timer["due_at"] == STEP_ONE_AT + timedelta(hours=1)  # 09:00 UTC while unknown

    move_to(service, STEP_ONE_AT + timedelta(hours=1))
    await tick(service)
    assert await reminders(service) == []
    [timer] = await timers(service)
    assert timer["state"] == "pending"
    assert timer["due_at"] == STEP_ONE_AT + timedelta(hours=2)
    assert timer["reason"] == "customer profile not known yet"

    await receive(service, profile())
    next_morning = STEP_ONE_AT + timedelta(days=1)
    assert (await timers(service))[-1]["due_at"] == next_morning
    move_to(service, next_morning)
    await tick(service)
    assert len(await reminders(service)) == 1


async def test_a_step_without_a_reachable_channel_is_skipped_with_its_reason(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(contacts=[]), invoice())
    move_to(service, STEP_ONE_AT)
    await tick(service)

    assert await reminders(service) == []
    skipped, following = await timers(service)
    assert skipped["state"] == "skipped"
    assert "email: no contact with an e-mail address" in skipped["reason"]
    assert (following["step"], following["state"]) == (2, "pending")
