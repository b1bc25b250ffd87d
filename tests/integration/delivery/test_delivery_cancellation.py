"""A reminder not yet handed to a provider when its dunning case closes is never sent."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from delivery.bootstrap import SERVICE, DeliverySettings
from settle_shared.clock import FixedClock
from settle_shared.events.dunning import CaseClosed, Recipient, ReminderRequested
from settle_shared.events.topics import DELIVERY_STATUS
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
STATUS_CHANGED = "settle.delivery.status-changed.v1"


@pytest.fixture
async def deferring_sink() -> AsyncIterator[SmtpSink]:
    async with SmtpSink(defer_first=1) as server:
        yield server


@pytest.fixture
async def service(fresh_database: str, deferring_sink: SmtpSink) -> AsyncIterator[ServiceHarness]:
    settings = DeliverySettings(database_url=fresh_database, smtp_port=deferring_sink.smtp_port)
    harness = await ServiceHarness.start(SERVICE, settings, FixedClock(NOW))
    yield harness
    await harness.close()


def reminder(case_id: str, action_id: str, requested_at: datetime = NOW) -> ReminderRequested:
    return ReminderRequested(
        tenant="acme-nl",
        customer_id="C-1",
        action_id=action_id,
        case_id=case_id,
        invoice_id=f"INV-{case_id}",
        invoice_number=f"N-{case_id}",
        step=1,
        step_name="friendly-reminder",
        channel="email",
        template="friendly-reminder",
        language="en",
        recipient=Recipient(email="ap@customer.example"),
        customer_name="Customer Ltd",
        amount_due=Money.of(10000, "EUR"),
        due_date=date(2026, 11, 10),
        requested_at=requested_at,
    )


def closed(case_id: str, closed_at: datetime = NOW) -> CaseClosed:
    return CaseClosed(
        tenant="acme-nl",
        customer_id="C-1",
        case_id=case_id,
        invoice_id=f"INV-{case_id}",
        reason="paid",
        closed_at=closed_at,
    )


async def statuses(service: ServiceHarness) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(DELIVERY_STATUS.name, STATUS_CHANGED))


async def send_due(service: ServiceHarness) -> None:
    await service.wiring.state.dispatcher.tick()


async def test_a_reminder_waiting_to_retry_is_cancelled_when_its_case_closes(
    service: ServiceHarness, deferring_sink: SmtpSink
) -> None:
    service.publish(reminder("case-1", "action-1"))
    await service.consume()
    await send_due(service)  # the mail server defers it: back in the queue, to retry later

    service.publish(closed("case-1"))
    await service.consume()
    service.clock.advance(timedelta(hours=2))
    await send_due(service)

    assert deferring_sink.messages() == []
    [status] = await statuses(service)
    assert status["status"] == "cancelled"
    assert status["detail"] == "not sent: the dunning case closed (paid)"


async def test_a_reminder_arriving_after_its_case_closed_is_never_sent(
    service: ServiceHarness, deferring_sink: SmtpSink
) -> None:
    service.publish(closed("case-2"))
    await service.consume()
    service.publish(reminder("case-2", "action-2"))
    await service.consume()
    service.clock.advance(timedelta(hours=2))
    await send_due(service)
    await send_due(service)

    assert deferring_sink.messages() == []
    assert [s["status"] for s in await statuses(service)] == ["cancelled"]


async def test_a_closure_leaves_sent_messages_and_other_cases_alone(
    service: ServiceHarness, deferring_sink: SmtpSink
) -> None:
    service.publish(reminder("case-3", "action-3"))
    service.publish(reminder("case-4", "action-4"))
    await service.consume()
    await send_due(service)  # the first attempt is deferred by the sink
    service.clock.advance(timedelta(minutes=1))
    await send_due(service)
    await send_due(service)
    sent_before = {m.header("X-Settle-Case-Id") for m in deferring_sink.messages()}

    service.publish(closed("case-3"))
    await service.consume()

    assert sent_before == {"case-3", "case-4"}
    assert "cancelled" not in [s["status"] for s in await statuses(service)]


async def test_a_reminder_requested_after_its_case_reopened_is_sent(
    service: ServiceHarness, deferring_sink: SmtpSink
) -> None:
    service.publish(closed("case-5"))
    await service.consume()
    service.publish(reminder("case-5", "action-5", requested_at=NOW + timedelta(days=3)))
    await service.consume()
    await send_due(service)  # deferred by the sink once
    service.clock.advance(timedelta(hours=2))
    await send_due(service)

    assert [m.header("X-Settle-Case-Id") for m in deferring_sink.messages()] == ["case-5"]
    assert "cancelled" not in [s["status"] for s in await statuses(service)]


async def test_a_reopened_case_closing_again_cancels_the_reminder_it_requested_since(
    service: ServiceHarness, deferring_sink: SmtpSink
) -> None:
    service.publish(closed("case-6"))
    service.publish(reminder("case-6", "action-6", requested_at=NOW + timedelta(days=3)))
    await service.consume()
    await send_due(service)  # deferred by the sink: waiting to retry

    service.publish(closed("case-6", closed_at=NOW + timedelta(days=4)))
    await service.consume()
    service.clock.advance(timedelta(hours=2))
    await send_due(service)

    assert deferring_sink.messages() == []
    [status] = await statuses(service)
    assert status["status"] == "cancelled"
