"""Credit managers match payments from the work queue by hand."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from payments.bootstrap import SERVICE, PaymentsSettings
from settle_shared.auth import Caller
from settle_shared.clock import FixedClock
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.events.topics import PAYMENTS
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bank import BankEntry, iban, statement_xml

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
ACME_KEY = "key-acme-0123456789"
OTHER_KEY = "key-other-0123456789"
ANNS_KEY = "key-of-ann-0123456789"
KEYS: dict[str, str | Caller] = {
    ACME_KEY: "acme-nl",
    OTHER_KEY: "other-be",
    ANNS_KEY: Caller("acme-nl", "Ann de Wit"),
}
PAYER = iban("DE", "370400440532013000")
MATCHED = "settle.payment.matched.v1"
SETTLED = "settle.invoice.settled.v1"
PARTIALLY_PAID = "settle.invoice.partially-paid.v1"


def invoice(
    number: str, minor: int, due: date, currency: str = "EUR", tenant: str = "acme-nl"
) -> InvoiceIssued:
    return InvoiceIssued(
        tenant=tenant,
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=number,
        issue_date=DAY - timedelta(days=40),
        due_date=due,
        amount=Money.of(minor, currency),
        revision=1,
        received_at=NOW,
    )


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, PaymentsSettings(database_url=fresh_database), FixedClock(NOW)
    )
    harness.publish(invoice("2026-000200", 30000, due=DAY - timedelta(days=2)))
    harness.publish(invoice("2026-000100", 20000, due=DAY - timedelta(days=20)))
    harness.publish(invoice("2026-000300", 10000, due=DAY, currency="USD"))
    harness.publish(invoice("2026-000900", 10000, due=DAY, tenant="other-be"))
    await harness.consume()
    yield harness
    await harness.close()


@pytest.fixture
async def client(service: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with service.api(KEYS) as client:
        yield client


async def queued_payment(client: httpx.AsyncClient, minor: int) -> str:
    """A payment nothing names, so it waits in the work queue."""
    entry = BankEntry(
        Money.of(minor, "EUR"),
        DAY,
        counterparty_name="B. DE VRIES",
        counterparty_iban=PAYER,
        remittance="thank you",
        end_to_end_id=f"E2E-{minor}",
    )
    xml = statement_xml(
        "NL91ABNA0417164300", [entry], Money.of(0, "EUR"), f"S-{minor}", NOW, electronic_sequence=1
    )
    response = await client.post(
        "/v1/statements",
        content=xml,
        headers={"Content-Type": "application/xml", "X-API-Key": ACME_KEY},
    )
    assert response.json()["unmatched"] == 1
    [item] = (await client.get("/v1/unmatched", headers={"X-API-Key": ACME_KEY})).json()["items"]
    payment_id: str = item["payment_id"]
    return payment_id


async def match(
    client: httpx.AsyncClient,
    payment_id: str,
    allocations: list[dict[str, Any]],
    key: str = ACME_KEY,
) -> httpx.Response:
    return await client.post(
        f"/v1/payments/{payment_id}/match",
        json={"allocations": allocations, "note": "customer phoned, pays both"},
        headers={"X-API-Key": key},
    )


async def published(service: ServiceHarness, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(PAYMENTS.name, ce_type))


async def allocated(service: ServiceHarness) -> dict[str, int]:
    async with service.pool.acquire() as connection:
        rows = await connection.fetch("SELECT invoice_id, paid_minor FROM open_items")
    return {row["invoice_id"]: row["paid_minor"] for row in rows if row["paid_minor"]}


async def test_a_manual_match_fills_the_invoices_earliest_due_first(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await queued_payment(client, 35000)

    response = await match(
        client, payment_id, [{"invoice_id": "INV-2026-000200"}, {"invoice_id": "INV-2026-000100"}]
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "matched"
    assert {a["invoice_id"]: a["amount"]["amount_minor"] for a in body["allocations"]} == {
        "INV-2026-000100": 20000,
        "INV-2026-000200": 15000,
    }
    [matched] = await published(service, MATCHED)
    assert matched["automatic"] is False
    assert matched["evidence"]["signals"] == [
        "matched by hand by a credit manager of acme-nl: customer phoned, pays both"
    ]
    [settled] = await published(service, SETTLED)
    assert settled["invoice_id"] == "INV-2026-000100"
    [partial] = await published(service, PARTIALLY_PAID)
    assert partial["open_amount"] == {"amount_minor": 15000, "currency": "EUR"}
    async with service.pool.acquire() as connection:
        learned = await connection.fetch("SELECT account, customer_id FROM payer_accounts")
    assert [(row["account"], row["customer_id"]) for row in learned] == [(PAYER, "C-1")]


async def test_a_manual_match_names_the_holder_of_the_key_that_made_it(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await queued_payment(client, 20000)

    response = await match(client, payment_id, [{"invoice_id": "INV-2026-000100"}], ANNS_KEY)

    assert response.status_code == 200
    [matched] = await published(service, MATCHED)
    assert matched["evidence"]["signals"] == [
        "matched by hand by Ann de Wit: customer phoned, pays both"
    ]
    assert response.json()["evidence"]["signals"] == matched["evidence"]["signals"]


async def test_a_retried_match_is_applied_once(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await queued_payment(client, 5000)
    request = [{"invoice_id": "INV-2026-000100"}]

    first = await match(client, payment_id, request)
    again = await match(client, payment_id, request)

    assert (first.status_code, again.status_code) == (200, 409)
    assert again.json()["type"].endswith("/already-matched")
    assert await allocated(service) == {"INV-2026-000100": 5000}
    assert len(await published(service, MATCHED)) == 1


async def test_the_same_match_sent_twice_at_once_is_applied_once(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await queued_payment(client, 5000)
    request = [{"invoice_id": "INV-2026-000100"}]

    responses = await asyncio.gather(
        match(client, payment_id, request), match(client, payment_id, request)
    )

    assert sorted(response.status_code for response in responses) == [200, 409]
    assert await allocated(service) == {"INV-2026-000100": 5000}


@pytest.mark.parametrize(
    ("allocations", "status", "slug"),
    [
        ([{"invoice_id": "INV-nope"}], 404, "unknown-invoice"),
        ([{"invoice_id": "INV-2026-000900"}], 404, "unknown-invoice"),
        ([{"invoice_id": "INV-2026-000300"}], 422, "currency-mismatch"),
        (
            [
                {
                    "invoice_id": "INV-2026-000100",
                    "amount": {"amount_minor": 20001, "currency": "EUR"},
                }
            ],
            422,
            "over-allocated",
        ),
        ([], 422, "validation-failed"),
    ],
)
async def test_a_match_that_cannot_be_applied_is_refused_and_changes_nothing(
    service: ServiceHarness,
    client: httpx.AsyncClient,
    allocations: list[dict[str, Any]],
    status: int,
    slug: str,
) -> None:
    payment_id = await queued_payment(client, 35000)

    response = await match(client, payment_id, allocations)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(f"/{slug}")
    assert await allocated(service) == {}
    assert await published(service, MATCHED) == []


async def test_another_tenants_payment_is_not_found(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await queued_payment(client, 5000)

    response = await match(client, payment_id, [{"invoice_id": "INV-2026-000900"}], OTHER_KEY)

    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")
    assert await allocated(service) == {}


async def test_a_settled_invoice_cannot_be_matched_again(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    first = await queued_payment(client, 20000)
    await match(client, first, [{"invoice_id": "INV-2026-000100"}])
    second = await queued_payment(client, 20001)

    response = await match(client, second, [{"invoice_id": "INV-2026-000100"}])

    assert response.status_code == 409
    assert response.json()["type"].endswith("/invoice-closed")
