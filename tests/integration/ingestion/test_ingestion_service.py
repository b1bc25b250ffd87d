import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingestion.bootstrap import SERVICE, IngestionSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE, ErpCustomerUpserted, ErpInvoiceIssued
from settle_shared.events.topics import CUSTOMERS, ERP_INVOICES, INGESTION_REJECTED, INVOICES
from settle_shared.messaging import IncomingRecord, OutgoingRecord
from settle_shared.publishing import envelope
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
UPSERTED = "settle.customer.upserted.v1"
ISSUED = "settle.invoice.issued.v1"
INVOICE_EXAMPLE = ErpInvoiceIssued.event_type.examples()[0]


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, IngestionSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


def customer(updated_at: datetime = NOW, **master: Any) -> ErpCustomerUpserted:
    return ErpCustomerUpserted.model_validate(
        {
            **CUSTOMER_EXAMPLE,
            "master": {**CUSTOMER_EXAMPLE["master"], **master},
            "updated_at": updated_at,
        }
    )


def invoice(**changes: Any) -> ErpInvoiceIssued:
    return ErpInvoiceIssued.model_validate({**INVOICE_EXAMPLE, **changes})


async def published(service: ServiceHarness, topic: str, ce_type: str) -> list[IncomingRecord]:
    await service.relay_outbox()
    return service.published(topic, ce_type)


def rejected(service: ServiceHarness) -> list[dict[str, str]]:
    return [
        {name: value.decode() for name, value in record.headers}
        for record in service.published(INGESTION_REJECTED.name)
    ]


async def test_a_customer_is_announced_once_with_its_master_data(service: ServiceHarness) -> None:
    service.publish(customer())
    await service.consume()

    [record] = await published(service, CUSTOMERS.name, UPSERTED)
    assert record.key == b"acme-nl:C-1001"
    [event] = payloads([record])
    assert event["master"] == customer().master.model_dump(mode="json")
    assert event["revision"] == 1
    assert datetime.fromisoformat(event["updated_at"]) == NOW
    assert datetime.fromisoformat(event["received_at"]) == NOW
    async with service.pool.acquire() as connection:
        row = await connection.fetchrow("SELECT revision, master FROM customers")
    assert row is not None
    assert row["revision"] == 1
    assert row["master"]["name"] == "Bakkerij de Vries B.V."


async def test_an_invoice_is_announced_once_as_issued_and_open(service: ServiceHarness) -> None:
    service.publish(customer())
    service.publish(invoice())
    await service.consume()

    [record] = await published(service, INVOICES.name, ISSUED)
    assert record.key == b"acme-nl:C-1001"
    [event] = payloads([record])
    assert {k: event[k] for k in INVOICE_EXAMPLE if k != "updated_at"} == {
        k: v for k, v in INVOICE_EXAMPLE.items() if k != "updated_at"
    }
    assert event["revision"] == 1
    async with service.pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT status, amount_minor, received_before_customer FROM invoices"
        )
    assert row is not None
    assert dict(row) == {
        "status": "open",
        "amount_minor": 123450,
        "received_before_customer": False,
    }


async def test_an_invoice_before_its_customer_is_accepted_and_recorded_as_such(
    service: ServiceHarness,
) -> None:
    service.publish(invoice())
    await service.consume()

    assert len(await published(service, INVOICES.name, ISSUED)) == 1
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT received_before_customer FROM invoices") is True


def raw_invoice_record(value: bytes, headers_without: str | None = None) -> OutgoingRecord:
    headers = envelope(invoice(), source="/erp/test", time=NOW).to_headers()
    kept = [(name, raw) for name, raw in headers if name != headers_without]
    return OutgoingRecord(ERP_INVOICES.name, b"acme-nl:C-1001", value, kept)


def invalid_json_value() -> OutgoingRecord:
    return raw_invoice_record(b"{'amount': 12.50,")


def missing_ce_headers() -> OutgoingRecord:
    return raw_invoice_record(json.dumps(INVOICE_EXAMPLE).encode(), headers_without="ce_id")


def payload_failing_the_schema() -> OutgoingRecord:
    body = {**INVOICE_EXAMPLE, "amount": {"amount_minor": 12.5, "currency": "EUR"}}
    return raw_invoice_record(json.dumps(body).encode())


def due_before_issue() -> OutgoingRecord:
    body = {**INVOICE_EXAMPLE, "issue_date": "2026-11-02", "due_date": "2026-10-31"}
    return raw_invoice_record(json.dumps(body).encode())


@pytest.mark.parametrize(
    ("malformed", "reason", "problem_locations"),
    [
        (invalid_json_value, "value is not JSON", []),
        (missing_ce_headers, "missing CloudEvents header(s): ce_id", []),
        (payload_failing_the_schema, "payload is invalid: 1 problem(s)", ["/amount/amount_minor"]),
        (due_before_issue, "invoice INV-2026-000123 breaks 1 rule(s)", ["/due_date"]),
    ],
)
async def test_a_malformed_record_is_rejected_and_the_next_one_is_processed(
    service: ServiceHarness,
    malformed: Any,
    reason: str,
    problem_locations: list[str],
) -> None:
    service.broker.append(malformed())
    service.publish(invoice(invoice_id="INV-GOOD"))
    await service.consume()

    [dead_letter] = rejected(service)
    assert reason in dead_letter["settle-dlq-reason"]
    problems = json.loads(dead_letter["settle-dlq-problems"])
    assert [problem["location"] for problem in problems] == problem_locations
    [issued] = payloads(await published(service, INVOICES.name, ISSUED))
    assert issued["invoice_id"] == "INV-GOOD"


async def test_a_redelivered_record_publishes_nothing(service: ServiceHarness) -> None:
    customer_event = service.publish(customer())
    invoice_event = service.publish(invoice())
    service.publish(customer(), event_id=customer_event)
    service.publish(invoice(), event_id=invoice_event)
    await service.consume()

    assert len(await published(service, CUSTOMERS.name, UPSERTED)) == 1
    assert len(await published(service, INVOICES.name, ISSUED)) == 1
    assert rejected(service) == []


async def test_the_same_content_under_a_new_event_id_publishes_nothing(
    service: ServiceHarness,
) -> None:
    service.publish(customer())
    service.publish(invoice())
    service.publish(customer())
    service.publish(invoice(updated_at="2026-11-02T09:45:00+00:00"))
    await service.consume()

    assert len(await published(service, CUSTOMERS.name, UPSERTED)) == 1
    assert len(await published(service, INVOICES.name, ISSUED)) == 1
    assert rejected(service) == []
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM inbox") == 4


async def test_a_changed_customer_is_announced_as_the_next_revision(
    service: ServiceHarness,
) -> None:
    service.publish(customer(updated_at=NOW - timedelta(hours=2)))
    service.publish(customer(updated_at=NOW - timedelta(hours=1), name="Bakkerij Jansen B.V."))
    await service.consume()

    events = payloads(await published(service, CUSTOMERS.name, UPSERTED))
    assert [(e["revision"], e["master"]["name"]) for e in events] == [
        (1, "Bakkerij de Vries B.V."),
        (2, "Bakkerij Jansen B.V."),
    ]


async def test_a_stale_customer_version_is_ignored(service: ServiceHarness) -> None:
    service.publish(customer(updated_at=NOW - timedelta(hours=1), name="Newer B.V."))
    service.publish(customer(updated_at=NOW - timedelta(hours=2), name="Older B.V."))
    await service.consume()

    [event] = payloads(await published(service, CUSTOMERS.name, UPSERTED))
    assert event["master"]["name"] == "Newer B.V."
    assert rejected(service) == []
    async with service.pool.acquire() as connection:
        row = await connection.fetchrow("SELECT revision, master FROM customers")
    assert row is not None
    assert (row["revision"], row["master"]["name"]) == (1, "Newer B.V.")


async def test_a_version_older_than_an_identical_later_one_is_stale(
    service: ServiceHarness,
) -> None:
    service.publish(customer(updated_at=NOW - timedelta(hours=3), name="A B.V."))
    service.publish(customer(updated_at=NOW - timedelta(hours=1), name="A B.V."))
    service.publish(customer(updated_at=NOW - timedelta(hours=2), name="B B.V."))
    await service.consume()

    [event] = payloads(await published(service, CUSTOMERS.name, UPSERTED))
    assert event["master"]["name"] == "A B.V."
    async with service.pool.acquire() as connection:
        stored_at = await connection.fetchval("SELECT erp_updated_at FROM customers")
    assert stored_at == NOW - timedelta(hours=1)


async def test_a_customer_breaking_a_rule_is_rejected_with_every_problem(
    service: ServiceHarness,
) -> None:
    service.publish(customer(preferred_channel="letter", consented_channels=["email"]))
    await service.consume()

    [dead_letter] = rejected(service)
    assert dead_letter["settle-dlq-reason"] == "customer C-1001 breaks 2 rule(s)"
    problems = json.loads(dead_letter["settle-dlq-problems"])
    assert [p["location"] for p in problems] == [
        "/master/preferred_channel",
        "/master/postal_address",
    ]
    assert await published(service, CUSTOMERS.name, UPSERTED) == []


async def test_other_content_under_the_same_version_stamp_is_rejected_and_changes_nothing(
    service: ServiceHarness,
) -> None:
    service.publish(invoice())
    service.publish(invoice(amount={"amount_minor": 99900, "currency": "EUR"}))
    await service.consume()

    [dead_letter] = rejected(service)
    assert dead_letter["settle-dlq-reason"] == (
        "invoice INV-2026-000123 is held with other content under the same updated_at "
        "(2026-11-02T09:20:00+00:00); send a change with a later updated_at"
    )
    assert json.loads(dead_letter["settle-dlq-problems"]) == [
        {"location": "/amount/amount_minor", "message": "held as 123450, now 99900"}
    ]
    [issued] = payloads(await published(service, INVOICES.name, ISSUED))
    assert issued["amount"]["amount_minor"] == 123450
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT amount_minor FROM invoices") == 123450
