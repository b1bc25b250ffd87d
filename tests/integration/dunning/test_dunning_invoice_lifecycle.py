"""Amendments, cancellations, credit notes and payments taken off again: what they do to a case,
its timers and the amounts reminders ask for, and that the first promise holds under replays and
racing schedulers."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from dunning.bootstrap import SERVICE, Components, DunningSettings
from dunning.entrypoints.scheduler import TimerScheduler
from settle_shared.clock import FixedClock
from settle_shared.events.enrichment import CreditAssessment, CustomerEnriched
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoicePartiallyPaid, InvoiceReopened, InvoiceSettled
from settle_shared.events.topics import DUNNING_ACTIONS, DUNNING_CASES, DUNNING_DEAD_LETTER
from settle_shared.money import Money
from settle_shared.registry import EventPayload
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
DUE = date(2026, 11, 16)  # a Monday
AMOUNT = 123450
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


def profile() -> CustomerEnriched:
    return CustomerEnriched.model_validate(
        {
            "tenant": "acme-nl",
            "customer_id": "C-1",
            "master": CUSTOMER_EXAMPLE["master"],
            "credit": CreditAssessment(status="not_requested").model_dump(),
            "revision": 1,
            "enriched_at": NOW,
        }
    )


def _invoice_fields(number: int, due: date, amount: int, reference: str) -> dict[str, Any]:
    return {
        "tenant": "acme-nl",
        "customer_id": "C-1",
        "invoice_id": f"INV-{number}",
        "invoice_number": f"2026-{number:06d}",
        "issue_date": date(2026, 11, 2),
        "due_date": due,
        "amount": Money.of(amount, "EUR"),
        "payment_reference": reference,
        "received_at": NOW,
    }


def invoice(number: int = 1, due: date = DUE, amount: int = AMOUNT) -> InvoiceIssued:
    return InvoiceIssued(**_invoice_fields(number, due, amount, "RF18539007547034"), revision=1)


def amended(
    revision: int,
    due: date = DUE,
    amount: int = AMOUNT,
    reference: str = "RF18539007547034",
    number: int = 1,
) -> InvoiceAmended:
    return InvoiceAmended(
        **_invoice_fields(number, due, amount, reference),
        revision=revision,
        changes=["amount", "due_date", "payment_reference"],
        reason="agreed with the buyer",
    )


def cancelled(number: int = 1, revision: int = 2) -> InvoiceCancelled:
    return InvoiceCancelled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=f"2026-{number:06d}",
        revision=revision,
        reason="issued to the wrong customer",
        received_at=NOW,
    )


def credit_note(
    number: int, amount: int, invoice_id: str | None = "INV-1", currency: str = "EUR"
) -> CreditNoteIssued:
    return CreditNoteIssued(
        tenant="acme-nl",
        customer_id="C-1",
        credit_note_id=f"CN-{number}",
        credit_note_number=f"CN-{number}",
        invoice_id=invoice_id,
        issue_date=date(2026, 11, 10),
        amount=Money.of(amount, currency),
        reason="goods returned",
        received_at=NOW,
    )


def partially_paid(paid: int, open_amount: int, at: datetime = NOW) -> InvoicePartiallyPaid:
    return InvoicePartiallyPaid(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="2026-000001",
        paid=Money.of(paid, "EUR"),
        open_amount=Money.of(open_amount, "EUR"),
        payment_ids=["P-1"],
        paid_at=at,
    )


def settled(at: datetime) -> InvoiceSettled:
    return InvoiceSettled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="2026-000001",
        paid=Money.of(AMOUNT, "EUR"),
        payment_ids=["P-1"],
        settled_at=at,
    )


def reopened(at: datetime, paid: int = 0) -> InvoiceReopened:
    """A person took payment P-1 off the invoice; `paid` stays paid by others."""
    return InvoiceReopened(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="2026-000001",
        paid=Money.of(paid, "EUR"),
        open_amount=Money.of(AMOUNT - paid, "EUR"),
        payment_ids=["P-2"] if paid else [],
        reversed_payment_id="P-1",
        reason="matched to the wrong invoice; unmatched by a credit manager",
        reopened_at=at,
    )


async def receive(service: ServiceHarness, *events: EventPayload) -> None:
    """Deliver events one by one, in this order (topics are read in no set order)."""
    for event in events:
        service.publish(event)
        await service.consume()


def move_to(service: ServiceHarness, instant: datetime) -> None:
    service.clock.advance(instant - service.clock.now())


def components(service: ServiceHarness) -> Components:
    state: Components = service.wiring.state
    return state


async def tick(service: ServiceHarness) -> int:
    return await components(service).scheduler.tick()


async def run_days(service: ServiceHarness, days: int) -> None:
    for _ in range(days):
        service.clock.advance(timedelta(days=1))
        await tick(service)


async def published(service: ServiceHarness, topic: str, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(topic, ce_type))


async def reminders(service: ServiceHarness) -> list[dict[str, Any]]:
    return await published(service, DUNNING_ACTIONS.name, REMINDER)


async def closures(service: ServiceHarness) -> list[dict[str, Any]]:
    return await published(service, DUNNING_CASES.name, CLOSED)


async def fetch(service: ServiceHarness, query: str, *args: object) -> list[dict[str, Any]]:
    async with service.pool.acquire() as connection:
        return [dict(row) for row in await connection.fetch(query, *args)]


async def the_case(service: ServiceHarness) -> dict[str, Any]:
    [case] = await fetch(
        service,
        "SELECT status, close_reason, due_date, amount_minor, credited_minor, open_amount_minor, "
        "payment_reference, invoice_revision FROM cases",
    )
    return case


async def timers(service: ServiceHarness) -> list[dict[str, Any]]:
    return await fetch(service, "SELECT step, state, due_at, reason FROM timers ORDER BY timer_id")


# Cancellations


async def test_a_cancelled_invoice_closes_its_case_and_is_never_reminded(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), cancelled())
    await run_days(service, 40)

    assert await reminders(service) == []
    case = await the_case(service)
    assert (case["status"], case["close_reason"]) == ("closed", "cancelled")
    [timer] = await timers(service)
    assert (timer["state"], timer["reason"]) == ("cancelled", "case closed (cancelled)")
    [closed] = await closures(service)
    assert (closed["invoice_id"], closed["reason"]) == ("INV-1", "cancelled")


async def test_an_invoice_cancelled_when_its_reminder_is_due_is_never_reminded(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT)
    await receive(service, cancelled())
    await tick(service)

    assert await reminders(service) == []
    assert (await the_case(service))["close_reason"] == "cancelled"


async def test_no_reminder_follows_a_cancellation_that_races_the_schedulers(
    service: ServiceHarness,
) -> None:
    invoices = range(1, 9)
    await receive(service, profile(), *(invoice(number) for number in invoices))
    move_to(service, STEP_ONE_AT)
    for number in invoices:
        service.publish(cancelled(number))
    wired = components(service)
    replicas = [
        TimerScheduler(wired.db, wired.handlers, batch_size=2, tick_seconds=5) for _ in range(3)
    ]

    await asyncio.gather(service.consume(), *(replica.tick() for replica in replicas))
    for _ in range(3):
        await asyncio.gather(*(replica.tick() for replica in replicas))

    # Whatever won each race, the outbox holds a case's reminder only before its closure.
    rows = await fetch(service, "SELECT event_type, value FROM outbox ORDER BY seq")
    closed: set[str] = set()
    for row in rows:
        case_id = json.loads(row["value"]).get("case_id")
        if row["event_type"] == CLOSED:
            closed.add(case_id)
        elif row["event_type"] == REMINDER:
            assert case_id not in closed, "a reminder was requested after its case closed"
    assert len(closed) == 8
    assert await fetch(service, "SELECT timer_id FROM timers WHERE state = 'pending'") == []
    assert {r["step"] for r in await reminders(service)} <= {1}


async def test_replayed_cancellations_close_the_case_once(service: ServiceHarness) -> None:
    await receive(service, profile(), invoice())
    event_id = service.publish(cancelled())
    service.publish(cancelled(), event_id=event_id)
    service.publish(cancelled())
    await service.consume()
    await run_days(service, 40)

    assert len(await closures(service)) == 1
    assert await reminders(service) == []


async def test_an_invoice_replayed_after_its_cancellation_stays_closed(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), cancelled(), invoice(), amended(revision=3))
    await run_days(service, 40)

    case = await the_case(service)
    assert (case["status"], case["invoice_revision"]) == ("closed", 1)
    assert len(await published(service, DUNNING_CASES.name, OPENED)) == 1
    assert await reminders(service) == []


async def test_an_invoice_whose_cancellation_came_first_opens_no_case(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), cancelled(), invoice(), amended(revision=3))
    await run_days(service, 40)

    assert await fetch(service, "SELECT case_id FROM cases") == []
    assert await reminders(service) == []


# Amendments


async def test_a_due_date_moved_later_pushes_the_pending_step_later(
    service: ServiceHarness,
) -> None:
    later_due = date(2026, 11, 30)
    new_step_one_at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    await receive(service, profile(), invoice())
    await receive(service, amended(2, due=later_due, amount=113450, reference="RF71INV2"))

    old, new = await timers(service)
    assert (old["state"], old["reason"]) == (
        "cancelled",
        "rescheduled: due date moved to 2026-11-30",
    )
    assert (new["step"], new["state"], new["due_at"]) == (1, "pending", new_step_one_at)
    move_to(service, STEP_ONE_AT)
    await tick(service)
    assert await reminders(service) == []
    move_to(service, new_step_one_at)
    await tick(service)
    [reminder] = await reminders(service)
    assert reminder["due_date"] == "2026-11-30"
    assert reminder["amount_due"] == {"amount_minor": 113450, "currency": "EUR"}
    assert reminder["payment_reference"] == "RF71INV2"


async def test_a_due_date_moved_later_when_the_reminder_is_due_holds_the_reminder_back(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT + timedelta(hours=1))
    await receive(service, amended(2, due=date(2026, 11, 30)))
    await tick(service)

    assert await reminders(service) == []
    assert [(t["state"], t["due_at"]) for t in await timers(service)][-1] == (
        "pending",
        datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
    )


async def test_a_credit_note_settling_the_invoice_when_its_reminder_is_due_stops_it(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT + timedelta(hours=1))
    await receive(service, credit_note(1, AMOUNT))
    await tick(service)

    assert await reminders(service) == []
    assert (await the_case(service))["close_reason"] == "credited"


async def test_a_step_already_sent_is_not_sent_again_when_the_due_date_moves_later(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT)
    await tick(service)
    await receive(service, amended(2, due=date(2026, 11, 30)))
    await run_days(service, 40)

    sent = await reminders(service)
    assert [r["step"] for r in sent] == [1, 2, 3]
    assert sent[1]["requested_at"] == "2026-12-08T08:00:00Z"  # the new due date + 8 days


async def test_a_due_date_moved_earlier_sends_overdue_steps_at_the_next_send_times(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(due=date(2026, 11, 30)))
    move_to(service, datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # a Wednesday
    await receive(service, amended(2, due=date(2026, 11, 9)))  # steps 1 and 2 are now overdue
    await run_days(service, 10)

    assert [r["step"] for r in await reminders(service)] == [1, 2, 3]
    fired = [(t["step"], t["due_at"]) for t in await timers(service) if t["state"] == "fired"]
    assert fired == [
        (1, datetime(2026, 11, 19, 8, 0, tzinfo=UTC)),
        (2, datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        (3, datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
    ]


async def test_an_older_or_replayed_amendment_changes_nothing(service: ServiceHarness) -> None:
    await receive(service, profile(), invoice())
    event_id = service.publish(amended(3, due=date(2026, 11, 30), amount=90000))
    await service.consume()
    service.publish(amended(3, due=date(2026, 11, 30), amount=90000), event_id=event_id)
    service.publish(amended(3, due=date(2026, 11, 30), amount=90000))
    service.publish(amended(2, due=date(2026, 11, 20), amount=50000))
    await service.consume()

    case = await the_case(service)
    assert (case["invoice_revision"], case["amount_minor"], case["due_date"]) == (
        3,
        90000,
        date(2026, 11, 30),
    )
    assert [t["state"] for t in await timers(service)] == ["cancelled", "pending"]


async def test_an_amendment_for_an_invoice_not_seen_here_opens_its_case(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), amended(2, amount=90000), invoice())

    case = await the_case(service)
    assert (case["status"], case["invoice_revision"], case["amount_minor"]) == ("open", 2, 90000)


async def test_an_amount_amended_down_to_what_was_paid_closes_the_case_as_paid(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), partially_paid(paid=50000, open_amount=73450))
    await receive(service, amended(2, amount=50000))
    await run_days(service, 40)

    assert (await the_case(service))["close_reason"] == "paid"
    [closed] = await closures(service)
    assert closed["reason"] == "paid"
    assert await reminders(service) == []


# Credit notes


async def test_a_linked_credit_note_lowers_the_amount_of_the_next_reminder(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT)
    await tick(service)
    await receive(service, credit_note(1, 23450))
    await run_days(service, 8)

    first, second = await reminders(service)
    assert first["amount_due"]["amount_minor"] == AMOUNT
    assert second["amount_due"]["amount_minor"] == 100000
    case = await the_case(service)
    assert (case["credited_minor"], case["open_amount_minor"]) == (23450, 100000)


async def test_credit_notes_that_leave_nothing_owed_close_the_case_as_credited(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), credit_note(1, 100000), credit_note(2, 23450))
    await run_days(service, 40)

    case = await the_case(service)
    assert (case["status"], case["close_reason"], case["open_amount_minor"]) == (
        "closed",
        "credited",
        0,
    )
    [closed] = await closures(service)
    assert closed["reason"] == "credited"
    assert await reminders(service) == []


async def test_a_credit_note_linked_to_no_invoice_changes_no_case(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), credit_note(1, AMOUNT, invoice_id=None))

    case = await the_case(service)
    assert (case["status"], case["open_amount_minor"]) == ("open", AMOUNT)


async def test_a_replayed_credit_note_is_counted_once(service: ServiceHarness) -> None:
    await receive(service, profile(), invoice())
    event_id = service.publish(credit_note(1, 60000))
    service.publish(credit_note(1, 60000), event_id=event_id)
    service.publish(credit_note(1, 60000))
    await service.consume()

    case = await the_case(service)
    assert (case["status"], case["credited_minor"], case["open_amount_minor"]) == (
        "open",
        60000,
        63450,
    )


async def test_credit_notes_that_came_before_the_invoice_count_when_its_case_opens(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), credit_note(1, 23450), invoice())

    assert (await the_case(service))["open_amount_minor"] == 100000


async def test_a_credit_note_payments_already_netted_is_not_deducted_twice(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice())
    # Payments counted the credit note of 10000 before dunning did: 123450 - 50000 - 10000.
    await receive(service, partially_paid(paid=50000, open_amount=63450), credit_note(1, 10000))
    move_to(service, STEP_ONE_AT)
    await tick(service)

    [reminder] = await reminders(service)
    assert reminder["amount_due"]["amount_minor"] == 63450


async def test_a_credit_note_payments_had_not_netted_yet_still_counts(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), credit_note(1, 10000))
    await receive(service, partially_paid(paid=50000, open_amount=73450))
    move_to(service, STEP_ONE_AT)
    await tick(service)

    [reminder] = await reminders(service)
    assert reminder["amount_due"]["amount_minor"] == 63450


async def test_a_credit_note_in_another_currency_is_dead_lettered(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), credit_note(1, 100, currency="USD"))

    [dead] = service.published(DUNNING_DEAD_LETTER.name)
    assert dict(dead.headers)["settle-dlq-reason"].startswith(b"credit note in USD")
    assert (await the_case(service))["open_amount_minor"] == AMOUNT
    assert await fetch(service, "SELECT credit_note_id FROM credit_notes") == []


# Payments taken off an invoice again


async def openings(service: ServiceHarness) -> list[dict[str, Any]]:
    return await published(service, DUNNING_CASES.name, OPENED)


async def reminded_once_then_paid(service: ServiceHarness) -> None:
    await receive(service, profile(), invoice())
    move_to(service, STEP_ONE_AT)
    await tick(service)
    await receive(service, settled(STEP_ONE_AT + timedelta(hours=1)))


async def test_a_payment_taken_off_a_paid_invoice_reopens_its_case_and_reminding_resumes(
    service: ServiceHarness,
) -> None:
    await reminded_once_then_paid(service)
    move_to(service, datetime(2026, 11, 19, 10, 0, tzinfo=UTC))
    await receive(service, reopened(service.clock.now()))
    await run_days(service, 30)

    case = await the_case(service)
    assert (case["status"], case["open_amount_minor"]) == ("open", AMOUNT)
    sent = await reminders(service)
    assert [r["step"] for r in sent] == [1, 2, 3]
    assert [r["amount_due"]["amount_minor"] for r in sent] == [AMOUNT] * 3
    assert len(await openings(service)) == 2


async def test_a_reopened_case_sends_its_overdue_steps_one_send_time_at_a_time(
    service: ServiceHarness,
) -> None:
    await reminded_once_then_paid(service)
    move_to(service, datetime(2026, 12, 9, 10, 0, tzinfo=UTC))  # a Wednesday; 2 and 3 are overdue
    await receive(service, reopened(service.clock.now()))
    await run_days(service, 5)

    fired = [(t["step"], t["due_at"]) for t in await timers(service) if t["state"] == "fired"]
    assert fired == [
        (1, STEP_ONE_AT),
        (2, datetime(2026, 12, 10, 8, 0, tzinfo=UTC)),
        (3, datetime(2026, 12, 11, 8, 0, tzinfo=UTC)),
    ]


async def test_a_partial_payment_taken_off_restores_the_amount_reminders_ask_for(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), partially_paid(50000, AMOUNT - 50000))
    assert (await the_case(service))["open_amount_minor"] == AMOUNT - 50000
    await receive(service, reopened(NOW + timedelta(days=1)))
    move_to(service, STEP_ONE_AT)
    await tick(service)

    assert (await the_case(service))["open_amount_minor"] == AMOUNT
    [reminder] = await reminders(service)
    assert reminder["amount_due"]["amount_minor"] == AMOUNT


async def test_a_replayed_reopening_reopens_the_case_once(service: ServiceHarness) -> None:
    await receive(service, profile(), invoice(), settled(NOW + timedelta(hours=1)))
    event = reopened(NOW + timedelta(hours=2))
    event_id = service.publish(event)
    service.publish(event, event_id=event_id)
    await service.consume()
    await run_days(service, 30)

    assert len(await openings(service)) == 2
    assert [r["step"] for r in await reminders(service)] == [1, 2, 3]
    pending = [t for t in await timers(service) if t["state"] == "pending"]
    assert pending == []


async def test_a_reopening_older_than_a_later_settlement_is_ignored(
    service: ServiceHarness,
) -> None:
    await receive(
        service,
        profile(),
        invoice(),
        settled(NOW + timedelta(hours=3)),
        reopened(NOW + timedelta(hours=2)),
    )
    await run_days(service, 30)

    assert (await the_case(service))["status"] == "closed"
    assert await reminders(service) == []
    assert len(await openings(service)) == 1


async def test_a_cancelled_invoice_stays_closed_when_a_payment_is_taken_off(
    service: ServiceHarness,
) -> None:
    await receive(service, profile(), invoice(), cancelled(), reopened(NOW + timedelta(hours=1)))
    await run_days(service, 30)

    case = await the_case(service)
    assert (case["status"], case["close_reason"]) == ("closed", "cancelled")
    assert await reminders(service) == []


async def test_a_reopening_that_arrives_before_its_invoice_is_kept_for_the_case(
    service: ServiceHarness,
) -> None:
    await receive(
        service,
        profile(),
        settled(NOW + timedelta(hours=1)),
        reopened(NOW + timedelta(hours=2)),
        invoice(),
    )
    move_to(service, STEP_ONE_AT)
    await tick(service)

    assert (await the_case(service))["status"] == "open"
    assert [r["step"] for r in await reminders(service)] == [1]
