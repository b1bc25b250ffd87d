"""Credit managers take a wrong match off its invoices: the invoices reopen, the payment
waits in the work queue again, and the payer account is no longer trusted."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from settle_shared.auth import Caller
from settle_shared.events.topics import PAYMENTS
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bank import BankEntry, statement_xml
from tests.integration.payments.acme_book import DAY, NOW, PAYER, REFERENCE, invoice, service_with

ACME_KEY = "key-acme-0123456789"
OTHER_KEY = "key-other-0123456789"
ANNS_KEY = "key-of-ann-0123456789"
KEYS: dict[str, str | Caller] = {
    ACME_KEY: "acme-nl",
    OTHER_KEY: "other-be",
    ANNS_KEY: Caller("acme-nl", "Ann de Wit"),
}
REOPENED = "settle.invoice.reopened.v1"
UNMATCHED = "settle.payment.unmatched.v1"
SETTLED = "settle.invoice.settled.v1"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    async for harness in service_with(
        fresh_database,
        invoice("2026-000123", 123450, reference=REFERENCE),
        invoice("2026-000124", 50000),
    ):
        yield harness


@pytest.fixture
async def client(service: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with service.api(KEYS) as client:
        yield client


async def published(service: ServiceHarness, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(PAYMENTS.name, ce_type))


async def paid_by_reference(service: ServiceHarness, client: httpx.AsyncClient) -> str:
    """A payment matched automatically (by its RF reference) that settles INV-2026-000123."""
    entry = BankEntry(
        Money.of(123450, "EUR"),
        DAY,
        counterparty_name="B. DE VRIES",
        counterparty_iban=PAYER,
        structured_reference=REFERENCE,
        end_to_end_id="E2E-1",
    )
    xml = statement_xml(
        "NL91ABNA0417164300", [entry], Money.of(0, "EUR"), "S-1", NOW, electronic_sequence=1
    )
    response = await client.post(
        "/v1/statements",
        content=xml,
        headers={"Content-Type": "application/xml", "X-API-Key": ACME_KEY},
    )
    assert response.json()["matched"] == 1
    [settled] = await published(service, SETTLED)
    [payment_id] = settled["payment_ids"]
    assert isinstance(payment_id, str)
    return payment_id


async def unmatch(
    client: httpx.AsyncClient, payment_id: str, key: str = ACME_KEY
) -> httpx.Response:
    return await client.post(
        f"/v1/payments/{payment_id}/unmatch",
        json={"reason": "wrong customer"},
        headers={"X-API-Key": key},
    )


async def learned_accounts(service: ServiceHarness) -> list[tuple[str, str]]:
    async with service.pool.acquire() as connection:
        rows = await connection.fetch("SELECT account, customer_id FROM payer_accounts")
    return [(row["account"], row["customer_id"]) for row in rows]


async def open_item(service: ServiceHarness, invoice_id: str) -> tuple[int, datetime | None]:
    async with service.pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT paid_minor, settled_at FROM open_items WHERE invoice_id = $1", invoice_id
        )
    assert row is not None
    return row["paid_minor"], row["settled_at"]


async def test_unmatching_reopens_the_invoice_and_requeues_the_payment(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await paid_by_reference(service, client)

    response = await unmatch(client, payment_id)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reason"]) == (
        "unmatched",
        "unmatched by hand by a credit manager of acme-nl: wrong customer",
    )
    assert body["allocations"] == []
    [reopened] = await published(service, REOPENED)
    assert reopened["invoice_id"] == "INV-2026-000123"
    assert reopened["customer_id"] == "C-1"
    assert reopened["paid"] == {"amount_minor": 0, "currency": "EUR"}
    assert reopened["open_amount"] == {"amount_minor": 123450, "currency": "EUR"}
    assert reopened["payment_ids"] == []
    assert reopened["reversed_payment_id"] == payment_id
    assert reopened["reason"] == "unmatched by hand by a credit manager of acme-nl: wrong customer"
    [queued] = await published(service, UNMATCHED)
    assert queued["payment_id"] == payment_id
    assert queued["reason"] == "unmatched by hand by a credit manager of acme-nl: wrong customer"
    assert await open_item(service, "INV-2026-000123") == (0, None)
    [waiting] = (await client.get("/v1/unmatched", headers={"X-API-Key": ACME_KEY})).json()["items"]
    assert waiting["payment_id"] == payment_id


async def test_an_unmatch_names_the_holder_of_the_key_that_made_it(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await paid_by_reference(service, client)

    response = await unmatch(client, payment_id, ANNS_KEY)

    assert response.json()["reason"] == "unmatched by hand by Ann de Wit: wrong customer"
    [reopened] = await published(service, REOPENED)
    [queued] = await published(service, UNMATCHED)
    assert reopened["reason"] == queued["reason"] == response.json()["reason"]


async def test_unmatching_forgets_the_payer_account_the_match_taught(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await paid_by_reference(service, client)
    assert await learned_accounts(service) == [(PAYER, "C-1")]

    await unmatch(client, payment_id)

    assert await learned_accounts(service) == []


async def test_unmatching_twice_is_a_conflict_and_reverses_once(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await paid_by_reference(service, client)

    first = await unmatch(client, payment_id)
    again = await unmatch(client, payment_id)

    assert (first.status_code, again.status_code) == (200, 409)
    assert again.json()["type"].endswith("/not-matched")
    assert len(await published(service, REOPENED)) == 1
    assert await open_item(service, "INV-2026-000123") == (0, None)


async def test_an_unmatched_payment_can_then_be_matched_by_hand(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await paid_by_reference(service, client)
    await unmatch(client, payment_id)

    response = await client.post(
        f"/v1/payments/{payment_id}/match",
        json={"allocations": [{"invoice_id": "INV-2026-000124"}], "note": "paid the other one"},
        headers={"X-API-Key": ACME_KEY},
    )

    assert response.status_code == 200
    assert await open_item(service, "INV-2026-000124") == (50000, NOW)
    assert response.json()["allocations"][0]["amount"]["amount_minor"] == 50000


async def test_another_tenant_cannot_unmatch_the_payment(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    payment_id = await paid_by_reference(service, client)

    response = await unmatch(client, payment_id, OTHER_KEY)

    assert response.status_code == 404
    assert await open_item(service, "INV-2026-000123") == (123450, NOW)
    assert await published(service, REOPENED) == []


async def test_the_stop_gap_table_for_reopened_invoices_is_gone(service: ServiceHarness) -> None:
    async with service.pool.acquire() as connection:
        assert await connection.fetchval("SELECT to_regclass('reopened_invoices')") is None
