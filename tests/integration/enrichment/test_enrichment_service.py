from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from enrichment.bootstrap import SERVICE, EnrichmentSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import CustomerUpserted
from settle_shared.events.topics import CUSTOMERS_ENRICHED
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bureau import BureauSimulator, company_report

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BUREAU_KEY = "bureau-key-0123456789"
ENRICHED = "settle.customer.enriched.v1"


@asynccontextmanager
async def enrichment(
    database_url: str, bureau: BureauSimulator, **settings: Any
) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE,
        EnrichmentSettings(
            database_url=database_url,
            bureau_url=bureau.url,
            bureau_api_key=BUREAU_KEY,
            **settings,
        ),
        FixedClock(NOW),
    )
    try:
        yield harness
    finally:
        await harness.close()


@pytest.fixture
async def bureau() -> AsyncIterator[BureauSimulator]:
    async with BureauSimulator(BUREAU_KEY, clock=FixedClock(NOW)) as simulator:
        yield simulator


@pytest.fixture
async def service(fresh_database: str, bureau: BureauSimulator) -> AsyncIterator[ServiceHarness]:
    async with enrichment(fresh_database, bureau) as harness:
        yield harness


def customer(
    revision: int = 1, customer_id: str = "C-1", tenant: str = "acme-nl", **master: Any
) -> CustomerUpserted:
    return CustomerUpserted.model_validate(
        {
            "tenant": tenant,
            "customer_id": customer_id,
            "master": {**CUSTOMER_EXAMPLE["master"], **master},
            "revision": revision,
            "updated_at": NOW,
            "received_at": NOW,
        }
    )


async def announced(service: ServiceHarness) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(CUSTOMERS_ENRICHED.name, ENRICHED))


async def test_a_customer_found_at_the_bureau_is_announced_with_its_assessment_and_limit(
    service: ServiceHarness,
) -> None:
    service.publish(customer(registration_number="12345678"))
    await service.consume()

    report = company_report("NL", "12345678", NOW.date())
    assert report is not None
    [profile] = await announced(service)
    assert profile["credit"] == {
        "status": "found",
        "bureau": "settle-bureau-sim",
        "score": report.score,
        "rating": report.rating,
        "payment_days_average": report.payment_days_average,
        "recommended_limit": report.recommended_limit.model_dump(),
        "fetched_at": NOW.isoformat().replace("+00:00", "Z"),
    }
    assert profile["credit_limit"] == report.recommended_limit.model_dump()
    assert profile["master"]["name"] == CUSTOMER_EXAMPLE["master"]["name"]
    assert (profile["customer_id"], profile["revision"]) == ("C-1", 1)


async def test_a_company_unknown_to_the_bureau_is_announced_as_not_found(
    service: ServiceHarness, bureau: BureauSimulator
) -> None:
    service.publish(customer(registration_number="12340000"))
    service.publish(customer(customer_id="C-2", registration_number="12340000"))
    await service.consume()

    profiles = await announced(service)
    assert [p["credit"]["status"] for p in profiles] == ["not_found", "not_found"]
    assert profiles[0]["credit"]["score"] is None
    assert profiles[0]["credit_limit"] is None
    assert bureau.requests_served == 1


async def test_a_customer_without_a_registration_number_is_not_looked_up(
    service: ServiceHarness, bureau: BureauSimulator
) -> None:
    service.publish(customer(registration_number=None))
    await service.consume()

    [profile] = await announced(service)
    assert profile["credit"]["status"] == "not_requested"
    assert profile["credit_limit"] is None
    assert bureau.requests_served == 0


async def test_a_bureau_failing_every_request_leaves_the_assessment_unavailable(
    fresh_database: str,
) -> None:
    async with (
        BureauSimulator(BUREAU_KEY, fail_first=1_000_000) as failing,
        enrichment(fresh_database, failing, bureau_retry_attempts=3) as service,
    ):
        service.publish(customer())
        await service.consume()

        [profile] = await announced(service)
        assert profile["credit"]["status"] == "unavailable"
        assert profile["credit_limit"] is None
        assert failing.requests_served == 3


async def test_a_bureau_answering_too_slowly_leaves_the_assessment_unavailable(
    fresh_database: str,
) -> None:
    async with (
        BureauSimulator(BUREAU_KEY, latency_seconds=1.0) as slow,
        enrichment(
            fresh_database, slow, bureau_timeout_seconds=0.2, bureau_retry_attempts=2
        ) as service,
    ):
        service.publish(customer())
        await service.consume()

        [profile] = await announced(service)
        assert profile["credit"]["status"] == "unavailable"
        assert slow.requests_served == 2


async def test_a_bureau_refusing_our_key_is_not_asked_again_and_the_customer_goes_on(
    fresh_database: str,
) -> None:
    async with (
        BureauSimulator("another-bureau-key-0123") as refusing,
        enrichment(fresh_database, refusing) as service,
    ):
        service.publish(customer())
        await service.consume()

        [profile] = await announced(service)
        assert profile["credit"]["status"] == "unavailable"
        assert refusing.requests_served == 1


async def test_a_transient_bureau_failure_is_retried(fresh_database: str) -> None:
    async with (
        BureauSimulator(BUREAU_KEY, fail_first=1) as flaky,
        enrichment(fresh_database, flaky) as service,
    ):
        service.publish(customer())
        await service.consume()

        [profile] = await announced(service)
        assert profile["credit"]["status"] == "found"
        assert flaky.requests_served == 2


async def test_a_cached_report_spares_a_second_bureau_call(
    service: ServiceHarness, bureau: BureauSimulator
) -> None:
    service.publish(customer(revision=1))
    service.publish(customer(revision=2, name="Bakkerij de Vries Holding B.V."))
    service.publish(customer(customer_id="C-2"))
    await service.consume()

    profiles = await announced(service)
    assert [(p["customer_id"], p["revision"]) for p in profiles] == [
        ("C-1", 1),
        ("C-1", 2),
        ("C-2", 1),
    ]
    assert {p["credit"]["status"] for p in profiles} == {"found"}
    assert bureau.requests_served == 1
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM bureau_reports") == 1


async def test_a_report_older_than_the_cache_age_is_fetched_again(
    service: ServiceHarness, bureau: BureauSimulator
) -> None:
    service.publish(customer(revision=1))
    await service.consume()
    service.clock.advance(timedelta(hours=168))
    service.publish(customer(revision=2, name="Bakkerij de Vries Holding B.V."))
    await service.consume()

    assert bureau.requests_served == 2
    profiles = await announced(service)
    assert profiles[-1]["credit"]["fetched_at"] == (NOW + timedelta(hours=168)).isoformat().replace(
        "+00:00", "Z"
    )


async def test_a_bureau_outage_keeps_the_last_known_report(
    service: ServiceHarness, bureau: BureauSimulator
) -> None:
    service.publish(customer(revision=1))
    await service.consume()
    await bureau.stop()
    service.clock.advance(timedelta(hours=200))
    service.publish(customer(revision=2, name="Bakkerij de Vries Holding B.V."))
    await service.consume()

    first, second = await announced(service)
    assert second["credit"] == first["credit"]
    assert second["master"]["name"] == "Bakkerij de Vries Holding B.V."


async def test_an_older_customer_revision_changes_nothing(service: ServiceHarness) -> None:
    service.publish(customer(revision=2, name="Newer B.V."))
    service.publish(customer(revision=1, name="Older B.V."))
    await service.consume()

    [profile] = await announced(service)
    assert profile["master"]["name"] == "Newer B.V."
    async with service.pool.acquire() as connection:
        stored = await connection.fetchrow("SELECT master, master_revision FROM customer_profiles")
    assert stored is not None
    assert (stored["master"]["name"], stored["master_revision"]) == ("Newer B.V.", 2)


async def test_unchanged_master_data_is_not_announced_again(service: ServiceHarness) -> None:
    service.publish(customer(revision=1))
    service.publish(customer(revision=2))
    await service.consume()

    assert len(await announced(service)) == 1


async def test_a_redelivered_customer_event_publishes_nothing_and_asks_no_bureau(
    fresh_database: str,
) -> None:
    async with (
        BureauSimulator(BUREAU_KEY, fail_first=1_000_000) as failing,
        enrichment(fresh_database, failing, bureau_retry_attempts=1) as service,
    ):
        event_id = service.publish(customer())
        await service.consume()
        service.publish(customer(), event_id=event_id)
        await service.consume()

        assert len(await announced(service)) == 1
        assert failing.requests_served == 1
