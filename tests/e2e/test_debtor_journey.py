"""One debtor's journey through all six services, real Kafka, real PostgreSQL, six processes:
an invoice is reminded once after its due date, paid by bank statement (a credit manager takes the
payment off and puts it back: dunning collects again, then stops again), and never reminded
again."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from settle_local.stack import API_KEY, TENANT, Stack
from settle_shared.clock import FixedClock
from settle_shared.events.erp import ErpCustomerUpserted, ErpInvoiceIssued
from settle_shared.events.topics import ERP_INVOICES, INGESTION_REJECTED
from settle_shared.kafka import KafkaPublisher
from settle_shared.money import Money
from settle_shared.settings import KafkaSettings
from settle_shared.testing.topic_recorder import TopicRecorder
from settle_shared.testing.waiting import eventually
from settle_simulators import bank
from settle_simulators.erp import ErpConnector, journey

DAY = 86400.0
CREDITOR_ACCOUNT = bank.iban("NL", "ABNA0417164300")
DEBTOR_ACCOUNT = bank.iban("NL", "INGB0001234567")
REMINDED = "settle.dunning.reminder-requested.v1"


@dataclass
class Journey:
    stack: Stack
    topics: TopicRecorder
    today: date
    customer: ErpCustomerUpserted
    invoice: ErpInvoiceIssued

    async def rows(self, service: str, sql: str, *args: object) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.stack.database_url(service))
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    async def row(self, service: str, sql: str, *args: object) -> asyncpg.Record:
        found = await self.rows(service, sql, *args)
        assert found, f"no row in {service} for {sql} {args}"
        return found[0]

    async def mail(self) -> list[dict[str, Any]]:
        assert self.stack.simulators is not None
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.stack.simulators.mail_api_url}/messages")
        messages: list[dict[str, Any]] = response.json()
        return messages


async def test_a_debtor_is_reminded_once_pays_and_hears_nothing_more(
    stack: Stack, topics: TopicRecorder
) -> None:
    today = datetime.now(UTC).date()
    debtor = journey(TENANT, today, datetime.now(UTC))
    trip = Journey(stack, topics, today, debtor.customers[0], debtor.invoices[0])
    assert trip.invoice.due_date == today + timedelta(days=14)

    await the_erp_publishes_a_customer_an_invoice_and_a_broken_record(trip)
    await ingestion_announces_them_and_dead_letters_the_broken_one(trip)
    await enrichment_asks_the_bureau_and_publishes_the_profile(trip)
    await segmentation_explains_the_segment(trip)
    await dunning_opens_a_case_and_schedules_its_first_step(trip)
    await after_the_due_date_one_reminder_is_e_mailed_in_dutch(trip)
    payment_id = await the_bank_statement_settles_the_invoice_and_closes_the_case(trip)
    await a_credit_manager_takes_the_payment_off_and_dunning_collects_again(trip, payment_id)
    await putting_the_payment_back_closes_the_case_again(trip, payment_id)
    await a_month_later_nothing_more_was_sent(trip)


async def the_erp_publishes_a_customer_an_invoice_and_a_broken_record(trip: Journey) -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=trip.stack.kafka.bootstrap_servers)
    publisher = KafkaPublisher(settings, "erp")
    await publisher.start()
    erp = ErpConnector(publisher, FixedClock(datetime.now(UTC)))
    await erp.publish([trip.customer, trip.invoice])
    await erp.publish_malformed(ERP_INVOICES.name, f"{TENANT}:{trip.customer.customer_id}")
    await publisher.stop()


async def ingestion_announces_them_and_dead_letters_the_broken_one(trip: Journey) -> None:
    issued = await trip.topics.wait_for(
        "settle.invoice.issued.v1", invoice_id=trip.invoice.invoice_id
    )
    assert issued.key == f"{TENANT}:{trip.customer.customer_id}".encode()
    assert issued.data()["amount"] == {"amount_minor": 123450, "currency": "EUR"}
    await trip.topics.wait_for("settle.customer.upserted.v1", customer_id=trip.customer.customer_id)
    rejected = await trip.topics.wait_on(INGESTION_REJECTED.name)
    assert rejected.headers["settle-dlq-kind"] == "undecodable"
    assert "not JSON" in rejected.headers["settle-dlq-reason"]
    stored = await trip.row(
        "ingestion",
        "SELECT status, revision FROM invoices WHERE invoice_id = $1",
        trip.invoice.invoice_id,
    )
    assert (stored["status"], stored["revision"]) == ("open", 1)


async def enrichment_asks_the_bureau_and_publishes_the_profile(trip: Journey) -> None:
    enriched = await trip.topics.wait_for(
        "settle.customer.enriched.v1", customer_id=trip.customer.customer_id
    )
    assert enriched.data()["credit"]["status"] == "found"
    assert enriched.data()["credit"]["score"] == 80
    await trip.row(
        "enrichment",
        "SELECT 1 FROM customer_profiles WHERE customer_id = $1",
        trip.customer.customer_id,
    )


async def segmentation_explains_the_segment(trip: Journey) -> None:
    segmented = await trip.topics.wait_for(
        "settle.customer.segmented.v1", customer_id=trip.customer.customer_id
    )
    assert segmented.data()["segment"] == "reliable"
    assert any("bureau score 80" in reason for reason in segmented.data()["reasons"])


async def dunning_opens_a_case_and_schedules_its_first_step(trip: Journey) -> None:
    await trip.topics.wait_for("settle.dunning.case-opened.v1", invoice_id=trip.invoice.invoice_id)
    case = await eventually(
        lambda: trip.rows(
            "dunning",
            "SELECT case_id FROM cases WHERE invoice_id = $1 AND policy = 'reliable'",
            trip.invoice.invoice_id,
        ),
        seconds=30,
        what="the case under the reliable segment's policy",
    )
    first_step = await trip.row(
        "dunning",
        "SELECT step, due_at FROM timers WHERE case_id = $1 AND state = 'pending'",
        case[0]["case_id"],
    )
    assert first_step["step"] == 1
    assert first_step["due_at"].date() > trip.invoice.due_date
    assert await trip.mail() == []


async def after_the_due_date_one_reminder_is_e_mailed_in_dutch(trip: Journey) -> None:
    # Twenty days: past the due date (day 14) and the reliable policy's first step (due + 3,
    # moved off a weekend), before its second step (due + 14).
    await trip.stack.advance_clocks(20 * DAY)
    reminder = await trip.topics.wait_for(REMINDED, invoice_id=trip.invoice.invoice_id, seconds=60)
    assert reminder.data()["step"] == 1
    assert reminder.data()["language"] == "nl"
    [email] = await eventually(trip.mail, seconds=60, what="the reminder e-mail")
    assert email["envelope_to"] == [trip.customer.master.contacts[0].email]
    headers = dict(email["headers"])
    assert headers["Content-Language"] == "nl"
    assert headers["X-Settle-Action-Id"] == reminder.data()["action_id"]
    assert trip.invoice.invoice_number in email["text"]
    assert "1.234,50" in email["text"]
    sent = await trip.topics.wait_for(
        "settle.delivery.status-changed.v1", action_id=reminder.data()["action_id"]
    )
    assert sent.data()["status"] == "sent"


async def the_bank_statement_settles_the_invoice_and_closes_the_case(trip: Journey) -> str:
    booked_on = trip.today + timedelta(days=20)
    statement = bank.statement_xml(
        CREDITOR_ACCOUNT,
        [
            bank.BankEntry(
                amount=Money.of(123450, "EUR"),
                booking_date=booked_on,
                counterparty_name=trip.customer.master.name,
                counterparty_iban=DEBTOR_ACCOUNT,
                structured_reference=trip.invoice.payment_reference,
            )
        ],
        opening_balance=Money.of(1_000_000, "EUR"),
        statement_id=f"STMT-{booked_on.isoformat()}",
        created_at=datetime.now(UTC),
    )
    response = await bank.upload(trip.stack.url("payments"), API_KEY, statement)
    assert response.status_code == 201, response.text
    matched = await trip.topics.wait_for(
        "settle.payment.matched.v1", customer_id=trip.customer.customer_id
    )
    assert matched.data()["automatic"] is True
    settled = await trip.topics.wait_for(
        "settle.invoice.settled.v1", invoice_id=trip.invoice.invoice_id
    )
    assert settled.data()["paid"] == {"amount_minor": 123450, "currency": "EUR"}
    closed = await trip.topics.wait_for(
        "settle.dunning.case-closed.v1", invoice_id=trip.invoice.invoice_id
    )
    assert closed.data()["reason"] == "paid"
    case = await trip.row(
        "dunning",
        "SELECT status, close_reason FROM cases WHERE invoice_id = $1",
        trip.invoice.invoice_id,
    )
    assert (case["status"], case["close_reason"]) == ("closed", "paid")

    again = await bank.upload(trip.stack.url("payments"), API_KEY, statement)
    assert again.status_code == 200
    assert again.json()["status"] == "already_imported"
    payment_id: str = matched.data()["payment_id"]
    return payment_id


async def a_credit_manager_takes_the_payment_off_and_dunning_collects_again(
    trip: Journey, payment_id: str
) -> None:
    async with httpx.AsyncClient(base_url=trip.stack.url("payments")) as client:
        response = await client.post(
            f"/v1/payments/{payment_id}/unmatch",
            json={"reason": "checking the match with the customer"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
    assert response.status_code == 200, response.text
    reopened = await trip.topics.wait_for(
        "settle.invoice.reopened.v1", invoice_id=trip.invoice.invoice_id
    )
    assert reopened.data()["open_amount"] == {"amount_minor": 123450, "currency": "EUR"}
    await eventually(
        lambda: trip.topics.of_type(
            "settle.dunning.case-opened.v1", invoice_id=trip.invoice.invoice_id
        )[1:],
        what="the case opened again",
    )
    next_step = await eventually(
        lambda: trip.rows(
            "dunning",
            "SELECT t.step FROM timers t JOIN cases c USING (case_id) "
            "WHERE c.invoice_id = $1 AND c.status = 'open' AND t.state = 'pending'",
            trip.invoice.invoice_id,
        ),
        what="the reopened case's next step",
    )
    assert [row["step"] for row in next_step] == [2]


async def putting_the_payment_back_closes_the_case_again(trip: Journey, payment_id: str) -> None:
    async with httpx.AsyncClient(base_url=trip.stack.url("payments")) as client:
        response = await client.post(
            f"/v1/payments/{payment_id}/match",
            json={
                "allocations": [{"invoice_id": trip.invoice.invoice_id}],
                "note": "confirmed with the customer",
            },
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
    assert response.status_code == 200, response.text
    await eventually(
        lambda: trip.topics.of_type(
            "settle.dunning.case-closed.v1", invoice_id=trip.invoice.invoice_id
        )[1:],
        what="the case closed again",
    )
    case = await trip.row(
        "dunning",
        "SELECT status, close_reason FROM cases WHERE invoice_id = $1",
        trip.invoice.invoice_id,
    )
    assert (case["status"], case["close_reason"]) == ("closed", "paid")


async def a_month_later_nothing_more_was_sent(trip: Journey) -> None:
    await trip.stack.advance_clocks(30 * DAY)
    # The schedulers tick every second and wake on a clock move: give them several ticks.
    await asyncio.sleep(5)
    assert len(trip.topics.of_type(REMINDED, invoice_id=trip.invoice.invoice_id)) == 1
    assert len(await trip.mail()) == 1
    assert (
        len(trip.topics.of_type("settle.invoice.settled.v1", invoice_id=trip.invoice.invoice_id))
        == 2
    )
    assert await trip.rows("dunning", "SELECT 1 FROM timers WHERE state = 'pending'") == []
