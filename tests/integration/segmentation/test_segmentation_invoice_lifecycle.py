"""Amended due dates, cancellations, credit notes and payments taken off again in the features a
segment is decided on."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from segmentation.bootstrap import SERVICE, SegmentationSettings
from settle_shared.clock import FixedClock
from settle_shared.events.enrichment import CreditAssessment, CustomerEnriched
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.payments import InvoiceReopened, InvoiceSettled
from settle_shared.events.topics import CUSTOMERS_SEGMENTED
from settle_shared.money import Money
from settle_shared.registry import EventPayload
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SEGMENTED = "settle.customer.segmented.v1"
AMOUNT = 10000


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, SegmentationSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


def enriched(score: int) -> CustomerEnriched:
    return CustomerEnriched.model_validate(
        {
            "tenant": "acme-nl",
            "customer_id": "C-1",
            "master": CUSTOMER_EXAMPLE["master"],
            "credit": CreditAssessment(status="found", score=score).model_dump(),
            "revision": 1,
            "enriched_at": NOW,
        }
    )


def due_on(number: int) -> date:
    return date(2026, 9, number)


def _invoice_fields(number: int, due: date) -> dict[str, Any]:
    return {
        "tenant": "acme-nl",
        "customer_id": "C-1",
        "invoice_id": f"INV-{number}",
        "invoice_number": str(number),
        "issue_date": due - timedelta(days=14),
        "due_date": due,
        "amount": Money.of(AMOUNT, "EUR"),
        "received_at": NOW,
    }


def invoice(number: int) -> InvoiceIssued:
    return InvoiceIssued(**_invoice_fields(number, due_on(number)), revision=1)


def amended(number: int, due: date, revision: int = 2) -> InvoiceAmended:
    return InvoiceAmended(**_invoice_fields(number, due), revision=revision, changes=["due_date"])


def cancelled(number: int) -> InvoiceCancelled:
    return InvoiceCancelled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        revision=2,
        received_at=NOW,
    )


def credit_note(number: int, invoice_number: int, amount: int) -> CreditNoteIssued:
    return CreditNoteIssued(
        tenant="acme-nl",
        customer_id="C-1",
        credit_note_id=f"CN-{number}",
        credit_note_number=f"CN-{number}",
        invoice_id=f"INV-{invoice_number}",
        issue_date=date(2026, 9, 5),
        amount=Money.of(amount, "EUR"),
        received_at=NOW,
    )


def settled(number: int, days_late: int) -> InvoiceSettled:
    on = due_on(number) + timedelta(days=days_late)
    return InvoiceSettled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        paid=Money.of(AMOUNT, "EUR"),
        payment_ids=[f"P-{number}"],
        settled_at=datetime.combine(on, datetime.min.time(), UTC),
    )


def reopened(number: int, days_after_due: int) -> InvoiceReopened:
    on = due_on(number) + timedelta(days=days_after_due)
    return InvoiceReopened(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        paid=Money.of(0, "EUR"),
        open_amount=Money.of(AMOUNT, "EUR"),
        payment_ids=[],
        reversed_payment_id=f"P-{number}",
        reason="matched to the wrong invoice",
        reopened_at=datetime.combine(on, datetime.min.time(), UTC),
    )


async def receive(service: ServiceHarness, *events: EventPayload) -> None:
    for event in events:
        service.publish(event)
        await service.consume()


async def decisions(service: ServiceHarness) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(CUSTOMERS_SEGMENTED.name, SEGMENTED))


async def segments(service: ServiceHarness) -> list[str]:
    return [decision["segment"] for decision in await decisions(service)]


async def three_invoices_paid_a_month_late(service: ServiceHarness) -> None:
    """A customer the bureau trusts (reliable) who paid three invoices 30 days late."""
    await receive(service, enriched(score=90))
    for number in (1, 2, 3):
        await receive(service, invoice(number), settled(number, days_late=30))
    assert await segments(service) == ["reliable", "late_payer"]


async def test_lateness_is_measured_against_the_amended_due_date(
    service: ServiceHarness,
) -> None:
    await three_invoices_paid_a_month_late(service)
    for number in (1, 2, 3):
        await receive(service, amended(number, due_on(number) + timedelta(days=30)))

    # Average lateness 20, then 10 days (standard), then 0 (reliable).
    assert await segments(service) == ["reliable", "late_payer", "standard", "reliable"]
    assert "on average 0.0 days" in " ".join((await decisions(service))[-1]["reasons"])


async def test_an_older_or_replayed_amendment_changes_nothing(service: ServiceHarness) -> None:
    await three_invoices_paid_a_month_late(service)
    for number in (1, 2, 3):
        await receive(service, amended(number, due_on(number) + timedelta(days=30), revision=3))
    assert await segments(service) == ["reliable", "late_payer", "standard", "reliable"]

    event_id = service.publish(amended(1, due_on(1) + timedelta(days=30), revision=3))
    service.publish(amended(1, due_on(1) + timedelta(days=30), revision=3), event_id=event_id)
    for number in (1, 2, 3):
        service.publish(amended(number, due_on(number), revision=2))
        service.publish(invoice(number))
    await service.consume()

    assert await segments(service) == ["reliable", "late_payer", "standard", "reliable"]
    async with service.pool.acquire() as connection:
        due_dates = await connection.fetch(
            "SELECT due_date FROM invoice_outcomes ORDER BY invoice_id"
        )
    assert [row["due_date"] for row in due_dates] == [
        due_on(number) + timedelta(days=30) for number in (1, 2, 3)
    ]


async def test_a_cancelled_invoice_is_no_longer_a_payment_sample(
    service: ServiceHarness,
) -> None:
    await three_invoices_paid_a_month_late(service)
    await receive(service, cancelled(3), cancelled(3))

    # Two paid invoices are too little history: the bureau decides again.
    decided = await decisions(service)
    assert [d["segment"] for d in decided] == ["reliable", "late_payer", "reliable"]
    assert "only 2 paid invoice(s)" in " ".join(decided[-1]["reasons"])


async def test_a_cancelled_invoice_stays_out_when_it_is_paid_or_amended_afterwards(
    service: ServiceHarness,
) -> None:
    await receive(service, enriched(score=90), invoice(1), invoice(2), invoice(3), cancelled(3))
    await receive(service, settled(3, days_late=30), amended(3, due_on(3), revision=3))
    await receive(service, settled(1, days_late=30), settled(2, days_late=30))

    decided = await decisions(service)
    assert [d["segment"] for d in decided] == ["reliable"]


async def test_a_credit_note_is_not_a_payment(service: ServiceHarness) -> None:
    await receive(service, enriched(score=90))
    for number in (1, 2):
        await receive(service, invoice(number), settled(number, days_late=30))
    await receive(service, invoice(3), credit_note(1, 3, AMOUNT // 2))
    await receive(service, credit_note(2, 3, AMOUNT // 2), credit_note(2, 3, AMOUNT // 2))

    # Invoice 3 was credited in full: closed, but no third sample of how the customer pays.
    assert await segments(service) == ["reliable"]
    async with service.pool.acquire() as connection:
        settled_on = await connection.fetchval(
            "SELECT settled_on FROM invoice_outcomes WHERE invoice_id = 'INV-3'"
        )
        credit_notes = await connection.fetchval("SELECT count(*) FROM credit_notes")
    assert (settled_on, credit_notes) == (None, 2)

    await receive(service, invoice(4), settled(4, days_late=30))
    assert await segments(service) == ["reliable", "late_payer"]


async def outcome(service: ServiceHarness, number: int) -> dict[str, Any]:
    async with service.pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT settled_on, cancelled FROM invoice_outcomes WHERE invoice_id = $1",
            f"INV-{number}",
        )
    assert row is not None
    return dict(row)


async def test_a_payment_taken_off_no_longer_counts_and_the_invoice_is_open_again(
    service: ServiceHarness,
) -> None:
    await three_invoices_paid_a_month_late(service)
    await receive(service, reopened(3, days_after_due=40))

    # Two paid invoices are too little history again: the bureau decides.
    decided = await decisions(service)
    assert [d["segment"] for d in decided] == ["reliable", "late_payer", "reliable"]
    assert "only 2 paid invoice(s)" in " ".join(decided[-1]["reasons"])
    assert (await outcome(service, 3))["settled_on"] is None


async def test_a_reopened_invoice_settled_again_counts_once(service: ServiceHarness) -> None:
    await receive(service, enriched(score=90))
    for number in (1, 2):
        await receive(service, invoice(number), settled(number, days_late=0))
    await receive(service, invoice(3), settled(3, days_late=0), reopened(3, days_after_due=1))
    await receive(service, settled(3, days_late=45))

    decided = await decisions(service)
    assert [d["segment"] for d in decided] == ["reliable", "standard"]
    assert "3 invoices paid, 1 late, on average 15.0 days" in " ".join(decided[-1]["reasons"])
    assert (await outcome(service, 3))["settled_on"] == due_on(3) + timedelta(days=45)


async def test_a_replayed_reopening_changes_nothing_more(service: ServiceHarness) -> None:
    await three_invoices_paid_a_month_late(service)
    event = reopened(3, days_after_due=40)
    event_id = service.publish(event)
    service.publish(event, event_id=event_id)
    await service.consume()
    after_first = await decisions(service)
    await receive(service, reopened(3, days_after_due=40))

    assert await decisions(service) == after_first
    assert (await outcome(service, 3))["settled_on"] is None


async def test_a_reopening_older_than_the_settlement_it_follows_is_ignored(
    service: ServiceHarness,
) -> None:
    await three_invoices_paid_a_month_late(service)
    await receive(service, reopened(3, days_after_due=10))  # before the settlement, 30 days late

    assert await segments(service) == ["reliable", "late_payer"]
    assert (await outcome(service, 3))["settled_on"] == due_on(3) + timedelta(days=30)


async def test_a_cancelled_or_unknown_invoice_is_not_reopened(service: ServiceHarness) -> None:
    await three_invoices_paid_a_month_late(service)
    await receive(service, cancelled(2), reopened(2, days_after_due=40), reopened(9, 40))

    assert (await outcome(service, 2))["cancelled"] is True
    assert (await outcome(service, 2))["settled_on"] is not None
    async with service.pool.acquire() as connection:
        assert (
            await connection.fetchval(
                "SELECT count(*) FROM invoice_outcomes WHERE invoice_id = 'INV-9'"
            )
            == 0
        )
