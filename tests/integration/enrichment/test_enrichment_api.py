from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from enrichment.bootstrap import SERVICE, EnrichmentSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import CustomerUpserted, InvoiceIssued
from settle_shared.events.topics import CREDIT_ALERTS, CUSTOMERS_ENRICHED
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bureau import BureauSimulator, CompanyReport, company_report

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BUREAU_KEY = "bureau-key-0123456789"
KEYS = {"key-acme-0123456789": "acme-nl", "key-other-0123456789": "other-be"}
ACME = {"Authorization": "Bearer key-acme-0123456789"}
OTHER = {"Authorization": "Bearer key-other-0123456789"}
ENRICHED = "settle.customer.enriched.v1"
LIMIT_EXCEEDED = "settle.credit.limit-exceeded.v1"


def bureau_report() -> CompanyReport:
    """What the bureau simulator says about the example customer."""
    report = company_report("NL", CUSTOMER_EXAMPLE["master"]["registration_number"], NOW.date())
    assert report is not None
    return report


REPORT = bureau_report()


@asynccontextmanager
async def enrichment(
    database_url: str, bureau: BureauSimulator, **master: Any
) -> AsyncIterator[ServiceHarness]:
    """The service, with customer C-1 of tenant acme-nl known to it."""
    harness = await ServiceHarness.start(
        SERVICE,
        EnrichmentSettings(
            database_url=database_url, bureau_url=bureau.url, bureau_api_key=BUREAU_KEY
        ),
        FixedClock(NOW),
    )
    try:
        harness.publish(
            CustomerUpserted.model_validate(
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1",
                    "master": {**CUSTOMER_EXAMPLE["master"], **master},
                    "revision": 1,
                    "updated_at": NOW,
                    "received_at": NOW,
                }
            )
        )
        await harness.consume()
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


@pytest.fixture
async def client(service: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with service.api(KEYS) as api_client:
        yield api_client


async def announced(service: ServiceHarness) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(CUSTOMERS_ENRICHED.name, ENRICHED))


def invoice(amount_minor: int) -> InvoiceIssued:
    return InvoiceIssued(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="1",
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 11, 16),
        amount=Money.of(amount_minor, "EUR"),
        revision=1,
        received_at=NOW,
    )


async def test_the_profile_shows_master_data_assessment_limit_and_exposure(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    service.publish(invoice(123450))
    await service.consume()

    response = await client.get("/v1/customers/C-1/profile", headers=ACME)

    assert response.status_code == 200
    body = response.json()
    assert body["master"]["name"] == CUSTOMER_EXAMPLE["master"]["name"]
    assert body["credit"]["status"] == "found"
    assert body["credit"]["score"] == REPORT.score
    assert body["credit_limit"] == REPORT.recommended_limit.model_dump()
    assert body["credit_limit_source"] == "bureau"
    assert body["manual_credit_limit"] is None
    assert body["exposure"] == {
        "open_amount": {"amount_minor": 123450, "currency": "EUR"},
        "open_invoices": 1,
        "uncounted_invoices": 0,
        "over_limit": False,
    }
    assert body["revision"] == 1


async def test_a_manual_credit_limit_wins_over_the_bureau_and_is_announced(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    response = await client.put(
        "/v1/customers/C-1/credit-limit",
        json={"amount_minor": 500000, "currency": "EUR"},
        headers=ACME,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["credit_limit"] == {"amount_minor": 500000, "currency": "EUR"}
    assert body["credit_limit_source"] == "manual"
    first, second = await announced(service)
    assert first["credit_limit"] == REPORT.recommended_limit.model_dump()
    assert second["credit_limit"] == {"amount_minor": 500000, "currency": "EUR"}
    assert second["revision"] == 2
    assert second["credit"] == first["credit"]


async def test_setting_the_same_manual_limit_again_announces_nothing(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    for _ in range(2):
        await client.put(
            "/v1/customers/C-1/credit-limit",
            json={"amount_minor": 500000, "currency": "EUR"},
            headers=ACME,
        )

    assert [p["revision"] for p in await announced(service)] == [1, 2]


async def test_removing_the_manual_limit_restores_the_bureau_limit(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await client.put(
        "/v1/customers/C-1/credit-limit",
        json={"amount_minor": 500000, "currency": "EUR"},
        headers=ACME,
    )
    response = await client.delete("/v1/customers/C-1/credit-limit", headers=ACME)

    assert response.json()["credit_limit_source"] == "bureau"
    assert (await announced(service))[-1]["credit_limit"] == REPORT.recommended_limit.model_dump()


async def test_a_manual_limit_below_the_exposure_raises_an_alert(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    service.publish(invoice(123450))
    await service.consume()

    response = await client.put(
        "/v1/customers/C-1/credit-limit",
        json={"amount_minor": 100000, "currency": "EUR"},
        headers=ACME,
    )

    assert response.json()["exposure"]["over_limit"] is True
    await service.relay_outbox()
    [alert] = payloads(service.published(CREDIT_ALERTS.name, LIMIT_EXCEEDED))
    assert alert["credit_limit"] == {"amount_minor": 100000, "currency": "EUR"}
    assert alert["exposure"] == {"amount_minor": 123450, "currency": "EUR"}


async def test_a_negative_credit_limit_is_refused_with_a_problem(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    response = await client.put(
        "/v1/customers/C-1/credit-limit",
        json={"amount_minor": -1, "currency": "EUR"},
        headers=ACME,
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["location"] == "/amount_minor"
    assert len(await announced(service)) == 1


async def test_a_bureau_refresh_asks_the_bureau_despite_the_cache(
    service: ServiceHarness, client: httpx.AsyncClient, bureau: BureauSimulator
) -> None:
    response = await client.post("/v1/customers/C-1/bureau-refresh", headers=ACME)

    assert response.status_code == 200
    assert bureau.requests_served == 2
    assert response.json()["revision"] == 1
    assert len(await announced(service)) == 1


async def test_a_bureau_refresh_announces_a_changed_assessment(fresh_database: str) -> None:
    async with (
        BureauSimulator(BUREAU_KEY, fail_first=3) as bureau,
        enrichment(fresh_database, bureau) as service,
        service.api(KEYS) as client,
    ):
        response = await client.post("/v1/customers/C-1/bureau-refresh", headers=ACME)

        assert response.status_code == 200
        assert response.json()["credit"]["status"] == "found"
        first, second = await announced(service)
        assert (first["credit"]["status"], second["credit"]["status"]) == ("unavailable", "found")
        assert second["revision"] == 2


async def test_a_bureau_refresh_while_the_bureau_is_down_is_a_problem(
    service: ServiceHarness, client: httpx.AsyncClient, bureau: BureauSimulator
) -> None:
    await bureau.stop()

    response = await client.post("/v1/customers/C-1/bureau-refresh", headers=ACME)

    assert response.status_code == 502
    assert response.json()["type"].endswith("/bureau-unavailable")
    assert len(await announced(service)) == 1


async def test_a_bureau_refresh_without_a_registration_number_is_a_conflict(
    fresh_database: str, bureau: BureauSimulator
) -> None:
    async with (
        enrichment(fresh_database, bureau, registration_number=None) as service,
        service.api(KEYS) as client,
    ):
        response = await client.post("/v1/customers/C-1/bureau-refresh", headers=ACME)

    assert response.status_code == 409
    assert response.json()["type"].endswith("/no-registration-number")
    assert bureau.requests_served == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/customers/C-1/profile", None),
        ("PUT", "/v1/customers/C-1/credit-limit", {"amount_minor": 1, "currency": "EUR"}),
        ("DELETE", "/v1/customers/C-1/credit-limit", None),
        ("POST", "/v1/customers/C-1/bureau-refresh", None),
    ],
)
async def test_another_tenant_can_neither_see_nor_change_the_customer(
    service: ServiceHarness,
    client: httpx.AsyncClient,
    bureau: BureauSimulator,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    response = await client.request(method, path, json=body, headers=OTHER)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert len(await announced(service)) == 1
    assert bureau.requests_served == 1
    own = await client.get("/v1/customers/C-1/profile", headers=ACME)
    assert own.json()["credit_limit_source"] == "bureau"


async def test_an_unknown_customer_is_a_not_found_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customers/C-404/profile", headers=ACME)

    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")


async def test_a_request_without_a_key_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customers/C-1/profile")

    assert response.status_code == 401
    assert response.json()["type"].endswith("/unauthenticated")
