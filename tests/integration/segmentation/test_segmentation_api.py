from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from segmentation.bootstrap import SERVICE, SegmentationSettings
from settle_shared.clock import FixedClock
from settle_shared.events.enrichment import CreditAssessment, CustomerEnriched
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.testing.harness import ServiceHarness

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KEYS = {"key-acme-0123456789": "acme-nl", "key-other-0123456789": "other-be"}


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, SegmentationSettings(database_url=fresh_database), FixedClock(NOW)
    )
    harness.publish(
        CustomerEnriched.model_validate(
            {
                "tenant": "acme-nl",
                "customer_id": "C-1",
                "master": CUSTOMER_EXAMPLE["master"],
                "credit": CreditAssessment(status="found", score=20).model_dump(),
                "revision": 1,
                "enriched_at": NOW,
            }
        )
    )
    await harness.consume()
    yield harness
    await harness.close()


async def test_a_customer_segment_is_explained(service: ServiceHarness) -> None:
    async with service.api(KEYS) as client:
        response = await client.get(
            "/v1/customers/C-1/segment", headers={"Authorization": "Bearer key-acme-0123456789"}
        )
    assert response.status_code == 200
    body = response.json()
    assert body["segment"] == "high_risk"
    assert any("bureau score 20" in reason for reason in body["reasons"])


async def test_another_tenant_cannot_see_the_segment(service: ServiceHarness) -> None:
    async with service.api(KEYS) as client:
        response = await client.get(
            "/v1/customers/C-1/segment", headers={"X-API-Key": "key-other-0123456789"}
        )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_request_without_a_key_gets_a_problem_document(service: ServiceHarness) -> None:
    async with service.api(KEYS) as client:
        response = await client.get("/v1/segments")
    assert response.status_code == 401
    assert response.json()["type"].endswith("/unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_distribution_counts_every_segment(service: ServiceHarness) -> None:
    async with service.api(KEYS) as client:
        response = await client.get("/v1/segments", headers={"X-API-Key": "key-acme-0123456789"})
    counts = response.json()["customers_by_segment"]
    assert counts["high_risk"] == 1
    assert sum(counts.values()) == 1
