"""Open items follow the invoices; payments the ERP applied settle them too."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from payments.bootstrap import SERVICE, PaymentsSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE, ErpPaymentRecorded
from settle_shared.events.ingestion import CustomerUpserted, InvoiceIssued
from settle_shared.events.topics import PAYMENTS, PAYMENTS_DEAD_LETTER
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SETTLED = "settle.invoice.settled.v1"
PARTIALLY_PAID = "settle.invoice.partially-paid.v1"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, PaymentsSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


def invoice(minor: int = 123450, revision: int = 1, currency: str = "EUR") -> InvoiceIssued:
    return InvoiceIssued(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="2026-000001",
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 11, 16),
        amount=Money.of(minor, currency),
        revision=revision,
        received_at=NOW,
    )


def erp_payment(
    payment_id: str, minor: int, currency: str = "EUR", customer_id: str = "C-1"
) -> ErpPaymentRecorded:
    return ErpPaymentRecorded(
        tenant="acme-nl",
        customer_id=customer_id,
        payment_id=payment_id,
        invoice_id="INV-1",
        amount=Money.of(minor, currency),
        paid_on=date(2026, 11, 19),
        updated_at=NOW - timedelta(hours=1),
    )


async def published(service: ServiceHarness, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(PAYMENTS.name, ce_type))


async def test_a_payment_the_erp_applied_in_full_settles_the_invoice(
    service: ServiceHarness,
) -> None:
    service.publish(invoice())
    service.publish(erp_payment("PAY-1", 123450))
    await service.consume()

    [settled] = await published(service, SETTLED)
    assert settled["invoice_id"] == "INV-1"
    assert settled["customer_id"] == "C-1"
    assert settled["paid"] == {"amount_minor": 123450, "currency": "EUR"}
    assert settled["payment_ids"] == ["PAY-1"]
    assert settled["settled_at"] == NOW.isoformat().replace("+00:00", "Z")


async def test_part_payments_from_the_erp_report_the_open_balance_then_settle(
    service: ServiceHarness,
) -> None:
    service.publish(invoice())
    service.publish(erp_payment("PAY-1", 50000))
    service.publish(erp_payment("PAY-2", 73450))
    await service.consume()

    [partial] = await published(service, PARTIALLY_PAID)
    assert partial["open_amount"] == {"amount_minor": 73450, "currency": "EUR"}
    assert partial["paid"] == {"amount_minor": 50000, "currency": "EUR"}
    [settled] = await published(service, SETTLED)
    assert settled["payment_ids"] == ["PAY-1", "PAY-2"]


async def test_an_erp_payment_that_overtakes_its_invoice_is_applied_when_the_invoice_arrives(
    service: ServiceHarness,
) -> None:
    service.publish(erp_payment("PAY-1", 123450))
    await service.consume()
    assert await published(service, SETTLED) == []

    service.publish(invoice())
    await service.consume()

    [settled] = await published(service, SETTLED)
    assert settled["payment_ids"] == ["PAY-1"]


async def test_a_payment_the_erp_sends_again_is_applied_once(service: ServiceHarness) -> None:
    service.publish(invoice())
    event_id = service.publish(erp_payment("PAY-1", 50000))
    service.publish(erp_payment("PAY-1", 50000), event_id=event_id)
    service.publish(erp_payment("PAY-1", 50000))
    await service.consume()

    [partial] = await published(service, PARTIALLY_PAID)
    assert partial["open_amount"] == {"amount_minor": 73450, "currency": "EUR"}
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT paid_minor FROM open_items") == 50000


async def test_an_erp_payment_in_another_currency_is_dead_lettered(
    service: ServiceHarness,
) -> None:
    service.publish(invoice())
    service.publish(erp_payment("PAY-1", 50000, currency="USD"))
    await service.consume()

    [dead] = service.broker.records(PAYMENTS_DEAD_LETTER.name)
    reason = dict(dead.headers)["settle-dlq-reason"].decode()
    assert reason == "payment PAY-1 is in USD but invoice INV-1 is in EUR"
    assert await published(service, PARTIALLY_PAID) == []


async def test_an_erp_payment_naming_another_customer_is_dead_lettered(
    service: ServiceHarness,
) -> None:
    service.publish(invoice())
    service.publish(erp_payment("PAY-1", 50000, customer_id="C-2"))
    await service.consume()

    [dead] = service.broker.records(PAYMENTS_DEAD_LETTER.name)
    assert b"belongs to C-1" in dict(dead.headers)["settle-dlq-reason"]


async def test_a_revision_asking_no_more_than_was_paid_settles_the_invoice(
    service: ServiceHarness,
) -> None:
    service.publish(invoice(123450))
    service.publish(erp_payment("PAY-1", 100000))
    await service.consume()
    service.publish(invoice(100000, revision=2))
    await service.consume()

    [partial] = await published(service, PARTIALLY_PAID)
    assert partial["open_amount"] == {"amount_minor": 23450, "currency": "EUR"}
    [settled] = await published(service, SETTLED)
    assert settled["paid"] == {"amount_minor": 100000, "currency": "EUR"}


async def test_an_older_invoice_revision_changes_nothing(service: ServiceHarness) -> None:
    service.publish(invoice(100000, revision=2))
    service.publish(invoice(123450, revision=1))
    await service.consume()

    async with service.pool.acquire() as connection:
        row = await connection.fetchrow("SELECT amount_minor, revision FROM open_items")
    assert row is not None
    assert (row["amount_minor"], row["revision"]) == (100000, 2)


async def test_customer_names_keep_the_newest_revision(service: ServiceHarness) -> None:
    for revision, name in ((2, "Bakkerij de Vries B.V."), (1, "Old name")):
        service.publish(
            CustomerUpserted.model_validate(
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1",
                    "master": {**CUSTOMER_EXAMPLE["master"], "name": name},
                    "revision": revision,
                    "updated_at": NOW,
                    "received_at": NOW,
                }
            )
        )
    await service.consume()

    async with service.pool.acquire() as connection:
        row = await connection.fetchrow("SELECT name, name_key FROM customers")
    assert row is not None
    assert (row["name"], row["name_key"]) == ("Bakkerij de Vries B.V.", "BAKKERIJDEVRIESBV")
