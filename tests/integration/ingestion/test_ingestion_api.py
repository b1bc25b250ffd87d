from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ingestion.bootstrap import SERVICE, IngestionSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE, ErpInvoiceIssued
from settle_shared.events.topics import CUSTOMERS, INVOICES
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
KEYS = {"key-acme-0123456789": "acme-nl", "key-other-0123456789": "other-be"}
ACME = {"X-API-Key": "key-acme-0123456789"}
OTHER = {"X-API-Key": "key-other-0123456789"}
CUSTOMER = {k: v for k, v in CUSTOMER_EXAMPLE.items() if k != "tenant"}
INVOICE = {k: v for k, v in ErpInvoiceIssued.event_type.examples()[0].items() if k != "tenant"}


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, IngestionSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


@pytest.fixture
async def client(service: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with service.api(KEYS) as api:
        yield api


def renamed(name: str) -> dict[str, Any]:
    return {
        **CUSTOMER,
        "master": {**CUSTOMER["master"], "name": name},
        "updated_at": "2026-11-02T09:30:00+00:00",
    }


async def put_customer(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] = ACME
) -> httpx.Response:
    return await client.put(f"/v1/customers/{body['customer_id']}", json=body, headers=headers)


async def put_invoice(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] = ACME
) -> httpx.Response:
    return await client.put(f"/v1/invoices/{body['invoice_id']}", json=body, headers=headers)


async def announced(service: ServiceHarness, topic: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(topic))


async def test_a_new_customer_is_created_and_can_be_read_back(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    created = await put_customer(client, CUSTOMER)
    assert created.status_code == 201
    assert created.json()["outcome"] == "created"

    read = await client.get("/v1/customers/C-1001", headers=ACME)
    assert read.status_code == 200
    body = read.json()
    assert body["master"]["name"] == CUSTOMER["master"]["name"]
    assert body["revision"] == 1
    assert body["updated_at"] == "2026-11-02T09:15:00Z"
    [event] = await announced(service, CUSTOMERS.name)
    assert event["tenant"] == "acme-nl"


async def test_the_same_customer_again_is_unchanged_and_a_change_is_the_next_revision(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await put_customer(client, CUSTOMER)
    again = await put_customer(client, CUSTOMER)
    changed = await put_customer(client, renamed("Bakkerij Jansen B.V."))

    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    assert (changed.status_code, changed.json()["outcome"]) == (200, "changed")
    assert changed.json()["revision"] == 2
    assert [e["revision"] for e in await announced(service, CUSTOMERS.name)] == [1, 2]


async def test_a_stale_customer_version_answers_with_the_newer_one_held(
    client: httpx.AsyncClient,
) -> None:
    await put_customer(client, renamed("Newer B.V."))
    stale = await put_customer(client, CUSTOMER)

    assert stale.status_code == 200
    assert stale.json()["outcome"] == "stale"
    assert stale.json()["master"]["name"] == "Newer B.V."


async def test_an_invoice_is_issued_once_and_a_repeat_is_a_duplicate(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    issued = await put_invoice(client, INVOICE)
    repeat = await put_invoice(client, INVOICE)

    assert (issued.status_code, issued.json()["outcome"]) == (201, "issued")
    assert (repeat.status_code, repeat.json()["outcome"]) == (200, "duplicate")
    read = await client.get("/v1/invoices/INV-2026-000123", headers=ACME)
    assert read.status_code == 200
    body = read.json()
    assert body["status"] == "open"
    assert body["revision"] == 1
    assert body["amount"] == {"amount_minor": 123450, "currency": "EUR"}
    assert (body["received_before_customer"], body["customer_known"]) == (True, False)
    assert len(await announced(service, INVOICES.name)) == 1


async def test_an_invoice_knows_when_its_customer_arrived_later(
    client: httpx.AsyncClient,
) -> None:
    await put_invoice(client, INVOICE)
    await put_customer(client, CUSTOMER)

    body = (await client.get("/v1/invoices/INV-2026-000123", headers=ACME)).json()
    assert (body["received_before_customer"], body["customer_known"]) == (True, True)


async def test_other_content_under_the_same_version_stamp_is_a_conflict(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await put_invoice(client, INVOICE)
    conflict = await put_invoice(client, {**INVOICE, "due_date": "2026-11-30"})

    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    problem = conflict.json()
    assert problem["type"].endswith("/conflict")
    assert "send a change with a later updated_at" in problem["detail"]
    assert problem["errors"] == [
        {"location": "/body/due_date", "message": 'held as "2026-11-16", now "2026-11-30"'}
    ]
    assert len(await announced(service, INVOICES.name)) == 1


async def test_an_invalid_invoice_lists_every_problem_and_stores_nothing(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    invalid = {
        **INVOICE,
        "due_date": "2026-10-01",
        "amount": {"amount_minor": -5, "currency": "EUR"},
    }
    response = await put_invoice(client, invalid)

    assert response.status_code == 422
    assert [error["location"] for error in response.json()["errors"]] == [
        "/body/due_date",
        "/body/amount/amount_minor",
    ]
    assert (await client.get("/v1/invoices/INV-2026-000123", headers=ACME)).status_code == 404
    assert await announced(service, INVOICES.name) == []


async def test_an_invalid_customer_lists_every_problem(client: httpx.AsyncClient) -> None:
    master = {**CUSTOMER["master"], "preferred_channel": "whatsapp", "name": " "}
    response = await put_customer(client, {**CUSTOMER, "master": master})

    assert response.status_code == 422
    assert [error["location"] for error in response.json()["errors"]] == [
        "/body/master/name",
        "/body/master/preferred_channel",
        "/body/master/contacts",
    ]


async def test_a_body_breaking_the_schema_is_a_validation_problem(
    client: httpx.AsyncClient,
) -> None:
    response = await put_invoice(client, {**INVOICE, "amount": {"amount_minor": 12.5}})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    locations = {error["location"] for error in response.json()["errors"]}
    assert {"/body/amount/amount_minor", "/body/amount/currency"} <= locations


async def test_the_path_id_must_be_the_body_id(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/invoices/INV-OTHER", json=INVOICE, headers=ACME)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["location"] == "/body/invoice_id"
    assert (await client.get("/v1/invoices/INV-2026-000123", headers=ACME)).status_code == 404


async def test_a_body_naming_another_tenant_is_refused(client: httpx.AsyncClient) -> None:
    response = await put_customer(client, {**CUSTOMER, "tenant": "other-be"})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["location"] == "/body/tenant"


async def test_a_body_naming_the_callers_own_tenant_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    response = await put_customer(client, {**CUSTOMER, "tenant": "acme-nl"})
    assert response.status_code == 201


@pytest.mark.parametrize("path", ["/v1/customers/C-404", "/v1/invoices/INV-404"])
async def test_an_unknown_record_is_a_not_found_problem(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers=ACME)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_another_tenant_can_neither_read_nor_overwrite_a_record(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await put_customer(client, CUSTOMER)
    await put_invoice(client, INVOICE)

    assert (await client.get("/v1/customers/C-1001", headers=OTHER)).status_code == 404
    assert (await client.get("/v1/invoices/INV-2026-000123", headers=OTHER)).status_code == 404
    theirs = await put_customer(client, renamed("Their Own B.V."), headers=OTHER)
    their_invoice = await put_invoice(
        client, {**INVOICE, "due_date": "2026-12-01", "updated_at": "2026-11-03T09:00:00Z"}, OTHER
    )

    assert (theirs.status_code, their_invoice.status_code) == (201, 201)
    ours = (await client.get("/v1/customers/C-1001", headers=ACME)).json()
    assert (ours["master"]["name"], ours["revision"]) == (CUSTOMER["master"]["name"], 1)
    our_invoice = (await client.get("/v1/invoices/INV-2026-000123", headers=ACME)).json()
    assert our_invoice["due_date"] == "2026-11-16"
    tenants = sorted(e["tenant"] for e in await announced(service, CUSTOMERS.name))
    assert tenants == ["acme-nl", "other-be"]


async def test_a_request_without_a_key_is_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/customers/C-1001", json=CUSTOMER)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
