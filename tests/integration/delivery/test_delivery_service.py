import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from delivery import handlers
from delivery.bootstrap import SERVICE, DeliverySettings
from delivery.domain.messages import SendReceipt, email_message_id
from settle_shared.clock import FixedClock
from settle_shared.events.dunning import Recipient, ReminderRequested
from settle_shared.events.topics import DELIVERY_DEAD_LETTER, DELIVERY_STATUS
from settle_shared.health import Heartbeat
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
STATUS_CHANGED = "settle.delivery.status-changed.v1"
ACTION = "5f0c7c2e-7d0e-4b8e-9a37-2b1f0d5e9f11"

StartService = Callable[..., Awaitable[ServiceHarness]]


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with SmtpSink() as server:
        yield server


@pytest.fixture
async def deferring_sink() -> AsyncIterator[SmtpSink]:
    async with SmtpSink(defer_first=1) as server:
        yield server


@pytest.fixture
async def refusing_sink() -> AsyncIterator[SmtpSink]:
    async with SmtpSink(reject_pattern="devries") as server:
        yield server


@pytest.fixture
async def start_service(fresh_database: str, sink: SmtpSink) -> AsyncIterator[StartService]:
    started: list[ServiceHarness] = []

    async def start(**settings: Any) -> ServiceHarness:
        values = {"smtp_port": sink.smtp_port, "smtp_timeout_seconds": 5.0, **settings}
        harness = await ServiceHarness.start(
            SERVICE, DeliverySettings(database_url=fresh_database, **values), FixedClock(NOW)
        )
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.close()


@pytest.fixture
async def service(start_service: StartService) -> ServiceHarness:
    return await start_service()


def reminder(action_id: str = ACTION, **changes: Any) -> ReminderRequested:
    fields: dict[str, Any] = {
        "tenant": "acme-nl",
        "customer_id": "C-1001",
        "action_id": action_id,
        "case_id": "case-1",
        "invoice_id": "INV-2026-000123",
        "invoice_number": "2026-000123",
        "step": 1,
        "step_name": "friendly-reminder",
        "channel": "email",
        "template": "friendly-reminder",
        "language": "nl",
        "recipient": Recipient(name="Anna de Vries", email="ap@devries.example"),
        "customer_name": "Bakkerij de Vries B.V.",
        "amount_due": Money.of(123450, "EUR"),
        "due_date": date(2026, 11, 16),
        "payment_reference": "RF18539007547034",
        "requested_at": NOW,
    }
    return ReminderRequested(**{**fields, **changes})


async def tick(service: ServiceHarness) -> None:
    await service.wiring.state.dispatcher.tick()


async def statuses(service: ServiceHarness) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(DELIVERY_STATUS.name, STATUS_CHANGED))


async def attempts(service: ServiceHarness) -> list[tuple[int, str]]:
    async with service.pool.acquire() as connection:
        rows = await connection.fetch("SELECT attempt, outcome FROM attempts ORDER BY attempt")
    return [(row["attempt"], row["outcome"]) for row in rows]


async def message_row(service: ServiceHarness) -> Any:
    async with service.pool.acquire() as connection:
        return await connection.fetchrow("SELECT * FROM messages")


async def test_a_requested_reminder_becomes_one_email_and_one_sent_event(
    service: ServiceHarness, sink: SmtpSink
) -> None:
    service.publish(reminder())
    await service.consume()
    await tick(service)

    [mail] = sink.messages()
    assert mail.envelope_to == ["ap@devries.example"]
    assert mail.subject == "Betalingsherinnering: factuur 2026-000123"
    assert mail.message_id == f"<{ACTION}@settle.delivery>"
    assert mail.header("X-Settle-Action-Id") == ACTION
    assert mail.header("X-Settle-Case-Id") == "case-1"
    assert mail.header("Content-Language") == "nl"
    assert "€\u00a01.234,50" in str(mail.text)
    [status] = await statuses(service)
    assert status["status"] == "sent"
    assert status["provider"] == "smtp"
    assert status["provider_message_id"] == email_message_id(ACTION)
    assert (status["action_id"], status["case_id"], status["channel"]) == (
        ACTION,
        "case-1",
        "email",
    )
    row = await message_row(service)
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert str(row["message_id"]) == status["message_id"]


async def test_a_redelivered_or_repeated_action_is_still_one_email(
    service: ServiceHarness, sink: SmtpSink
) -> None:
    event_id = service.publish(reminder())
    service.publish(reminder(), event_id=event_id)
    service.publish(reminder())
    await service.consume()
    await tick(service)
    await tick(service)

    assert len(sink.messages()) == 1
    assert len(await statuses(service)) == 1
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM messages") == 1


async def test_a_deferred_message_is_retried_after_its_backoff_and_sent_once(
    start_service: StartService, deferring_sink: SmtpSink
) -> None:
    service = await start_service(smtp_port=deferring_sink.smtp_port)
    service.publish(reminder())
    await service.consume()

    await tick(service)
    row = await message_row(service)
    assert (row["status"], row["next_attempt_at"]) == ("queued", NOW + timedelta(seconds=30))
    await tick(service)
    assert await attempts(service) == [(1, "transient")]

    service.clock.advance(timedelta(seconds=30))
    await tick(service)

    assert len(deferring_sink.messages()) == 1
    assert await attempts(service) == [(1, "transient"), (2, "sent")]
    assert [s["status"] for s in await statuses(service)] == ["sent"]


async def test_a_refused_recipient_fails_at_once_with_the_reply_and_is_not_retried(
    start_service: StartService, refusing_sink: SmtpSink
) -> None:
    service = await start_service(smtp_port=refusing_sink.smtp_port)
    service.publish(reminder())
    await service.consume()

    await tick(service)
    service.clock.advance(timedelta(hours=2))
    await tick(service)

    [status] = await statuses(service)
    assert status["status"] == "failed"
    assert status["detail"].startswith("550 5.1.1")
    assert await attempts(service) == [(1, "permanent")]
    assert refusing_sink.messages() == []


async def test_an_unreachable_mail_server_is_retried_with_backoff_then_failed(
    start_service: StartService,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    service = await start_service(smtp_port=closed_port, delivery_max_attempts=3)
    service.publish(reminder())
    await service.consume()

    retry_times = []
    for wait in (30, 60):
        await tick(service)
        retry_times.append((await message_row(service))["next_attempt_at"])
        service.clock.advance(timedelta(seconds=wait))
    await tick(service)

    assert retry_times == [NOW + timedelta(seconds=30), NOW + timedelta(seconds=90)]
    assert await attempts(service) == [(1, "transient"), (2, "transient"), (3, "transient")]
    [status] = await statuses(service)
    assert status["status"] == "failed"
    assert status["detail"].startswith("gave up after 3 attempts")


async def test_a_message_left_sending_past_its_lease_becomes_unknown_and_is_never_resent(
    service: ServiceHarness, sink: SmtpSink
) -> None:
    service.publish(reminder())
    await service.consume()
    async with service.wiring.state.db.transaction() as tx:
        # What the dispatcher commits before sending; then the process dies.
        await handlers.claim_next(tx, timedelta(seconds=300))

    service.clock.advance(timedelta(seconds=299))
    await tick(service)
    assert (await message_row(service))["status"] == "sending"
    service.clock.advance(timedelta(seconds=2))
    await tick(service)
    service.clock.advance(timedelta(days=1))
    await tick(service)

    assert sink.messages() == []
    [status] = await statuses(service)
    assert (status["status"], status["provider"]) == ("unknown", "smtp")
    assert (await message_row(service))["status"] == "unknown"
    assert await attempts(service) == [(1, "lease_expired")]


async def test_a_send_that_outlives_its_lease_still_records_what_really_happened(
    service: ServiceHarness,
) -> None:
    service.publish(reminder())
    await service.consume()
    async with service.wiring.state.db.transaction() as tx:
        claimed = await handlers.claim_next(tx, timedelta(seconds=300))
    assert claimed is not None
    service.clock.advance(timedelta(seconds=301))
    await tick(service)

    async with service.wiring.state.db.transaction() as tx:
        receipt = SendReceipt(email_message_id(ACTION), "250 OK")
        await handlers.record_receipt(tx, claimed, "smtp", receipt)

    assert [s["status"] for s in await statuses(service)] == ["unknown", "sent"]
    assert await attempts(service) == [(1, "sent")]


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "letter"])
async def test_a_reminder_on_a_channel_without_a_provider_fails_visibly(
    service: ServiceHarness, sink: SmtpSink, channel: str
) -> None:
    service.publish(reminder(channel=channel))
    await service.consume()
    await tick(service)

    [status] = await statuses(service)
    assert (status["status"], status["channel"], status["provider"]) == ("failed", channel, "none")
    assert status["detail"] == f"channel {channel} is not available yet"
    assert sink.messages() == []


async def test_an_email_reminder_without_an_address_fails_permanently(
    service: ServiceHarness, sink: SmtpSink
) -> None:
    service.publish(reminder(recipient=Recipient(name="Anna de Vries")))
    await service.consume()
    await tick(service)

    [status] = await statuses(service)
    assert status["status"] == "failed"
    assert status["detail"] == "recipient has no e-mail address"
    assert sink.messages() == []


async def test_a_reminder_in_an_unwritten_language_goes_out_in_english_and_says_so(
    service: ServiceHarness, sink: SmtpSink
) -> None:
    service.publish(reminder(language="es"))
    await service.consume()
    await tick(service)

    [mail] = sink.messages()
    assert mail.header("Content-Language") == "en"
    assert mail.subject == "Payment reminder: invoice 2026-000123"
    row = await message_row(service)
    assert (row["requested_language"], row["language"]) == ("es", "en")


async def test_a_reminder_with_an_unknown_template_is_dead_lettered_with_the_reason(
    service: ServiceHarness,
) -> None:
    service.publish(reminder(template="threatening-letter"))
    service.publish(reminder(action_id="A-2"))
    await service.consume()

    [dead] = service.published(DELIVERY_DEAD_LETTER.name)
    reason = dict(dead.headers)["settle-dlq-reason"].decode()
    assert "no template named 'threatening-letter'" in reason
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT array_agg(action_id) FROM messages") == ["A-2"]


async def test_the_dispatcher_loop_sends_on_its_own_and_beats_its_heartbeat(
    start_service: StartService, sink: SmtpSink
) -> None:
    service = await start_service(delivery_tick_seconds=0.05)
    [loop] = service.wiring.loops
    heartbeat = Heartbeat(loop.name)
    service.publish(reminder())
    await service.consume()

    running = asyncio.ensure_future(loop.run(heartbeat))
    finished, _ = await asyncio.wait([running], timeout=1.0)
    running.cancel()

    assert finished == set()
    assert loop.role == "worker"
    assert heartbeat.problem() is None
    assert len(sink.messages()) == 1
