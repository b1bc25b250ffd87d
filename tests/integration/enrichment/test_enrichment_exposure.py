from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from enrichment.bootstrap import SERVICE, EnrichmentSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import CustomerUpserted, InvoiceIssued
from settle_shared.events.payments import InvoicePartiallyPaid, InvoiceSettled
from settle_shared.events.topics import CREDIT_ALERTS
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bureau import BureauSimulator, CompanyReport, company_report

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BUREAU_KEY = "bureau-key-0123456789"
LIMIT_EXCEEDED = "settle.credit.limit-exceeded.v1"


def bureau_report() -> CompanyReport:
    """What the bureau simulator says about the example customer."""
    report = company_report("NL", CUSTOMER_EXAMPLE["master"]["registration_number"], NOW.date())
    assert report is not None
    return report


REPORT = bureau_report()
LIMIT = REPORT.recommended_limit.amount_minor  # the bureau's recommendation for the customer


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    async with BureauSimulator(BUREAU_KEY, clock=FixedClock(NOW)) as bureau:
        harness = await ServiceHarness.start(
            SERVICE,
            EnrichmentSettings(
                database_url=fresh_database, bureau_url=bureau.url, bureau_api_key=BUREAU_KEY
            ),
            FixedClock(NOW),
        )
        harness.publish(
            CustomerUpserted.model_validate(
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1",
                    "master": CUSTOMER_EXAMPLE["master"],
                    "revision": 1,
                    "updated_at": NOW,
                    "received_at": NOW,
                }
            )
        )
        await harness.consume()
        yield harness
        await harness.close()


def invoice(number: int, amount_minor: int, currency: str = "EUR") -> InvoiceIssued:
    return InvoiceIssued(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 11, 16),
        amount=Money.of(amount_minor, currency),
        revision=1,
        received_at=NOW,
    )


def settled(number: int, paid_minor: int) -> InvoiceSettled:
    return InvoiceSettled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        paid=Money.of(paid_minor, "EUR"),
        payment_ids=[f"P-{number}"],
        settled_at=NOW,
    )


def partially_paid(number: int, open_minor: int) -> InvoicePartiallyPaid:
    return InvoicePartiallyPaid(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        paid=Money.of(1000, "EUR"),
        open_amount=Money.of(open_minor, "EUR"),
        payment_ids=[f"P-{number}"],
        paid_at=NOW,
    )


async def alerts(service: ServiceHarness) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(CREDIT_ALERTS.name, LIMIT_EXCEEDED))


async def test_exposure_going_above_the_limit_raises_one_alert(service: ServiceHarness) -> None:
    service.publish(invoice(1, LIMIT - 100))
    service.publish(invoice(2, 200))
    service.publish(invoice(3, 5000))
    await service.consume()

    [alert] = await alerts(service)
    assert alert["credit_limit"] == {"amount_minor": LIMIT, "currency": "EUR"}
    assert alert["exposure"] == {"amount_minor": LIMIT + 100, "currency": "EUR"}
    assert alert["customer_id"] == "C-1"


async def test_exposure_at_the_limit_raises_no_alert(service: ServiceHarness) -> None:
    service.publish(invoice(1, LIMIT))
    await service.consume()

    assert await alerts(service) == []


async def test_crossing_again_after_coming_back_under_raises_another_alert(
    service: ServiceHarness,
) -> None:
    service.publish(invoice(1, LIMIT))
    service.publish(invoice(2, 500))
    await service.consume()
    service.publish(settled(2, 500))
    await service.consume()
    service.publish(invoice(3, 700))
    await service.consume()

    assert [a["exposure"]["amount_minor"] for a in await alerts(service)] == [
        LIMIT + 500,
        LIMIT + 700,
    ]


async def test_a_partial_payment_lowers_exposure_to_what_remains_open(
    service: ServiceHarness,
) -> None:
    service.publish(invoice(1, LIMIT + 1000))
    await service.consume()
    service.publish(partially_paid(1, LIMIT - 1000))
    await service.consume()
    service.publish(invoice(2, 3000))
    await service.consume()

    assert [a["exposure"]["amount_minor"] for a in await alerts(service)] == [
        LIMIT + 1000,
        LIMIT + 2000,
    ]


async def test_a_redelivered_invoice_raises_no_second_alert(service: ServiceHarness) -> None:
    service.publish(invoice(1, LIMIT))
    event_id = service.publish(invoice(2, 100))
    await service.consume()
    service.publish(invoice(2, 100), event_id=event_id)
    await service.consume()

    assert len(await alerts(service)) == 1
    async with service.pool.acquire() as connection:
        open_minor = await connection.fetchval("SELECT sum(amount_minor) FROM open_items")
    assert open_minor == LIMIT + 100


async def test_a_settlement_that_arrives_before_its_invoice_leaves_nothing_open(
    service: ServiceHarness,
) -> None:
    service.publish(settled(1, LIMIT + 1000))
    await service.consume()
    service.publish(invoice(1, LIMIT + 1000))
    await service.consume()

    assert await alerts(service) == []


async def test_invoices_in_another_currency_are_not_counted(service: ServiceHarness) -> None:
    service.publish(invoice(1, LIMIT * 10, currency="USD"))
    service.publish(invoice(2, 100))
    await service.consume()

    assert await alerts(service) == []
