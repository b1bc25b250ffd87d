"""Exposure follows amendments, cancellations, linked credit notes and payments taken off again;
alerts fire once per crossing of the credit limit."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from enrichment.bootstrap import SERVICE, EnrichmentSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    CustomerUpserted,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoicePartiallyPaid, InvoiceReopened, InvoiceSettled
from settle_shared.events.topics import CREDIT_ALERTS, ENRICHMENT_DEAD_LETTER
from settle_shared.money import Money
from settle_shared.registry import EventPayload
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bureau import BureauSimulator, company_report

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BUREAU_KEY = "bureau-key-0123456789"
KEYS = {"key-acme-0123456789": "acme-nl"}
ACME = {"X-API-Key": "key-acme-0123456789"}
LIMIT_EXCEEDED = "settle.credit.limit-exceeded.v1"


def bureau_limit() -> int:
    """The credit limit the bureau simulator recommends for the example customer."""
    report = company_report("NL", CUSTOMER_EXAMPLE["master"]["registration_number"], NOW.date())
    assert report is not None
    return report.recommended_limit.amount_minor


LIMIT = bureau_limit()


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
        await receive(
            harness,
            CustomerUpserted.model_validate(
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1",
                    "master": CUSTOMER_EXAMPLE["master"],
                    "revision": 1,
                    "updated_at": NOW,
                    "received_at": NOW,
                }
            ),
        )
        yield harness
        await harness.close()


def _invoice_fields(number: int, amount_minor: int) -> dict[str, Any]:
    return {
        "tenant": "acme-nl",
        "customer_id": "C-1",
        "invoice_id": f"INV-{number}",
        "invoice_number": str(number),
        "issue_date": date(2026, 11, 2),
        "due_date": date(2026, 11, 16),
        "amount": Money.of(amount_minor, "EUR"),
        "received_at": NOW,
    }


def invoice(number: int, amount_minor: int) -> InvoiceIssued:
    return InvoiceIssued(**_invoice_fields(number, amount_minor), revision=1)


def amended(number: int, amount_minor: int, revision: int) -> InvoiceAmended:
    return InvoiceAmended(
        **_invoice_fields(number, amount_minor), revision=revision, changes=["amount"]
    )


def cancelled(number: int, revision: int = 2) -> InvoiceCancelled:
    return InvoiceCancelled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        revision=revision,
        received_at=NOW,
    )


def credit_note(
    number: int, amount_minor: int, invoice_id: str | None = "INV-1", currency: str = "EUR"
) -> CreditNoteIssued:
    return CreditNoteIssued(
        tenant="acme-nl",
        customer_id="C-1",
        credit_note_id=f"CN-{number}",
        credit_note_number=f"CN-{number}",
        invoice_id=invoice_id,
        issue_date=date(2026, 11, 10),
        amount=Money.of(amount_minor, currency),
        received_at=NOW,
    )


def partially_paid(paid_minor: int, open_minor: int) -> InvoicePartiallyPaid:
    return InvoicePartiallyPaid(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="1",
        paid=Money.of(paid_minor, "EUR"),
        open_amount=Money.of(open_minor, "EUR"),
        payment_ids=["P-1"],
        paid_at=NOW,
    )


def settled(amount_minor: int, at: datetime) -> InvoiceSettled:
    return InvoiceSettled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="1",
        paid=Money.of(amount_minor, "EUR"),
        payment_ids=["P-1"],
        settled_at=at,
    )


def reopened(open_minor: int, at: datetime, paid_minor: int = 0) -> InvoiceReopened:
    return InvoiceReopened(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="1",
        paid=Money.of(paid_minor, "EUR"),
        open_amount=Money.of(open_minor, "EUR"),
        payment_ids=["P-2"] if paid_minor else [],
        reversed_payment_id="P-1",
        reason="matched to the wrong invoice",
        reopened_at=at,
    )


async def receive(service: ServiceHarness, *events: EventPayload) -> None:
    for event in events:
        service.publish(event)
        await service.consume()


async def alerted_exposures(service: ServiceHarness) -> list[int]:
    await service.relay_outbox()
    alerts = payloads(service.published(CREDIT_ALERTS.name, LIMIT_EXCEEDED))
    return [alert["exposure"]["amount_minor"] for alert in alerts]


async def exposure(service: ServiceHarness) -> dict[str, Any]:
    async with service.api(KEYS) as client:
        response = await client.get("/v1/customers/C-1/profile", headers=ACME)
    assert response.status_code == 200
    shown: dict[str, Any] = response.json()["exposure"]
    return shown


async def open_minor(service: ServiceHarness) -> int:
    amount: dict[str, int] | None = (await exposure(service))["open_amount"]
    return amount["amount_minor"] if amount else 0


async def test_an_amendment_that_raises_the_amount_above_the_limit_raises_an_alert(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, LIMIT - 100), amended(1, LIMIT + 100, revision=2))

    assert await alerted_exposures(service) == [LIMIT + 100]
    assert await open_minor(service) == LIMIT + 100


async def test_an_older_revision_arriving_after_a_newer_one_changes_nothing(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, 1000), amended(1, LIMIT + 100, revision=3))
    await receive(service, amended(1, 2000, revision=2), invoice(1, 1000))

    assert await open_minor(service) == LIMIT + 100
    assert (await exposure(service))["over_limit"] is True
    assert await alerted_exposures(service) == [LIMIT + 100]


async def test_a_cancelled_invoice_leaves_nothing_open_even_when_amended_afterwards(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, 5000), invoice(2, 3000), cancelled(1))
    assert await open_minor(service) == 3000

    await receive(service, amended(1, 9000, revision=3))
    assert await open_minor(service) == 3000
    assert (await exposure(service))["open_invoices"] == 1


async def test_a_cancellation_that_brings_exposure_under_the_limit_lets_the_next_crossing_alert(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, LIMIT + 500), cancelled(1), invoice(2, LIMIT + 700))

    assert await alerted_exposures(service) == [LIMIT + 500, LIMIT + 700]


async def test_a_replayed_cancellation_raises_nothing_and_changes_nothing(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, LIMIT + 500), invoice(2, 100), cancelled(2))
    event_id = service.publish(cancelled(2))
    service.publish(cancelled(2), event_id=event_id)
    await service.consume()

    assert await open_minor(service) == LIMIT + 500
    assert await alerted_exposures(service) == [LIMIT + 500]


async def test_a_linked_credit_note_lowers_exposure_and_the_next_crossing_alerts_again(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, LIMIT + 500), credit_note(1, 1000))
    assert await open_minor(service) == LIMIT - 500
    assert (await exposure(service))["over_limit"] is False

    await receive(service, invoice(2, 600))
    assert await alerted_exposures(service) == [LIMIT + 500, LIMIT + 100]


async def test_a_credit_note_linked_to_no_invoice_leaves_exposure_unchanged(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, 5000), credit_note(1, 1000, invoice_id=None))

    assert await open_minor(service) == 5000


async def test_a_replayed_credit_note_is_counted_once(service: ServiceHarness) -> None:
    await receive(service, invoice(1, 5000))
    event_id = service.publish(credit_note(1, 1000))
    service.publish(credit_note(1, 1000), event_id=event_id)
    service.publish(credit_note(1, 1000))
    await service.consume()

    assert await open_minor(service) == 4000


async def test_a_credit_note_payments_already_netted_is_not_deducted_twice(
    service: ServiceHarness,
) -> None:
    # Payments counted the credit note of 1000 before enrichment did: 10000 - 4000 - 1000.
    await receive(service, invoice(1, 10000), partially_paid(4000, 5000), credit_note(1, 1000))

    assert await open_minor(service) == 5000


async def test_a_credit_note_payments_had_not_netted_yet_still_counts(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, 10000), credit_note(1, 1000), partially_paid(4000, 6000))

    assert await open_minor(service) == 5000


async def test_a_credit_note_in_another_currency_than_its_invoice_is_dead_lettered(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, 5000), credit_note(1, 1000, currency="USD"))

    [dead] = service.published(ENRICHMENT_DEAD_LETTER.name)
    assert dict(dead.headers)["settle-dlq-reason"].startswith(b"credit note in USD")
    assert await open_minor(service) == 5000


# Payments taken off an invoice again


async def test_a_payment_taken_off_a_settled_invoice_counts_in_exposure_again(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, LIMIT + 500), settled(LIMIT + 500, NOW))
    assert await open_minor(service) == 0
    await receive(service, reopened(LIMIT + 500, NOW + timedelta(hours=1)))

    assert await open_minor(service) == LIMIT + 500
    assert (await exposure(service))["over_limit"] is True
    assert await alerted_exposures(service) == [LIMIT + 500, LIMIT + 500]


async def test_a_partial_payment_taken_off_restores_what_was_open(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, 10000), partially_paid(4000, 6000))
    await receive(service, reopened(9000, NOW + timedelta(hours=1), paid_minor=1000))

    assert await open_minor(service) == 9000


async def test_a_replayed_reopening_alerts_once(service: ServiceHarness) -> None:
    await receive(service, invoice(1, LIMIT + 500), settled(LIMIT + 500, NOW))
    event = reopened(LIMIT + 500, NOW + timedelta(hours=1))
    event_id = service.publish(event)
    service.publish(event, event_id=event_id)
    await service.consume()

    assert await alerted_exposures(service) == [LIMIT + 500, LIMIT + 500]


async def test_a_reopening_older_than_a_later_settlement_leaves_it_settled(
    service: ServiceHarness,
) -> None:
    await receive(service, invoice(1, 10000), settled(10000, NOW + timedelta(hours=2)))
    await receive(service, reopened(10000, NOW + timedelta(hours=1)))

    assert await open_minor(service) == 0


async def test_a_cancelled_invoice_is_not_reopened(service: ServiceHarness) -> None:
    await receive(service, invoice(1, 10000), settled(10000, NOW), cancelled(1))
    await receive(service, reopened(10000, NOW + timedelta(hours=1)))

    assert await open_minor(service) == 0
    assert (await exposure(service))["open_invoices"] == 0
