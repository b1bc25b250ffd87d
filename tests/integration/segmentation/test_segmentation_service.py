from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from segmentation.bootstrap import SERVICE, SegmentationSettings
from settle_shared.clock import FixedClock
from settle_shared.events.enrichment import CreditAssessment, CustomerEnriched
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.events.payments import InvoiceSettled
from settle_shared.events.topics import CUSTOMERS_SEGMENTED
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SEGMENTED = "settle.customer.segmented.v1"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, SegmentationSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


def enriched(score: int, revision: int = 1) -> CustomerEnriched:
    return CustomerEnriched.model_validate(
        {
            "tenant": "acme-nl",
            "customer_id": "C-1",
            "master": CUSTOMER_EXAMPLE["master"],
            "credit": CreditAssessment(status="found", score=score).model_dump(),
            "revision": revision,
            "enriched_at": NOW,
        }
    )


def invoice(number: int, due: date) -> InvoiceIssued:
    return InvoiceIssued(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        issue_date=due - timedelta(days=14),
        due_date=due,
        amount=Money.of(10000, "EUR"),
        revision=1,
        received_at=NOW,
    )


def settled(number: int, on: date) -> InvoiceSettled:
    return InvoiceSettled(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        paid=Money.of(10000, "EUR"),
        payment_ids=[f"P-{number}"],
        settled_at=datetime.combine(on, datetime.min.time(), UTC),
    )


async def segments_published(service: ServiceHarness) -> list[dict[str, object]]:
    await service.relay_outbox()
    return payloads(service.published(CUSTOMERS_SEGMENTED.name, SEGMENTED))


async def test_an_enriched_customer_gets_a_segment_with_its_reasons(
    service: ServiceHarness,
) -> None:
    service.publish(enriched(score=72))
    await service.consume()

    [decision] = await segments_published(service)
    assert decision["segment"] == "reliable"
    assert decision["previous_segment"] is None
    assert "bureau score 72" in " ".join(decision["reasons"])  # type: ignore[arg-type]
    async with service.pool.acquire() as connection:
        row = await connection.fetchrow("SELECT segment, revision FROM segment_assignments")
    assert row is not None
    assert (row["segment"], row["revision"]) == ("reliable", 1)


async def test_a_redelivered_event_changes_nothing(service: ServiceHarness) -> None:
    event_id = service.publish(enriched(score=72))
    service.publish(enriched(score=72), event_id=event_id)
    await service.consume()

    assert len(await segments_published(service)) == 1
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM segment_history") == 1


async def test_an_older_profile_revision_does_not_overwrite_a_newer_one(
    service: ServiceHarness,
) -> None:
    service.publish(enriched(score=10, revision=2))
    service.publish(enriched(score=90, revision=1))
    await service.consume()

    [decision] = await segments_published(service)
    assert decision["segment"] == "high_risk"


async def test_late_payments_move_a_customer_to_late_payer(service: ServiceHarness) -> None:
    service.publish(enriched(score=90))
    for number in (1, 2, 3):
        due = date(2026, 9, number)
        service.publish(invoice(number, due))
        service.publish(settled(number, due + timedelta(days=30)))
    await service.consume()

    decisions = await segments_published(service)
    assert [d["segment"] for d in decisions] == ["reliable", "late_payer"]
    assert decisions[1]["previous_segment"] == "reliable"
    assert decisions[1]["revision"] == 2
