"""Payments made through payment links, reported by the provider's signed webhooks."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from payments.bootstrap import SERVICE, PaymentsSettings
from settle_shared.auth import ApiKeys
from settle_shared.clock import FixedClock
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.events.topics import PAYMENTS
from settle_shared.http import create_app
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.psp import LinkPayment, PspSender, signature_header
from settle_simulators.serving import BackgroundServer

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
SECRETS = {"mollie": {"acme-nl": ["whsec_old", "whsec_new"], "other-be": ["whsec_other"]}}
RECEIVED = "settle.payment.received.v1"
SETTLED = "settle.invoice.settled.v1"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    settings = PaymentsSettings(database_url=fresh_database, payments_psp_secrets=SECRETS)
    harness = await ServiceHarness.start(SERVICE, settings, FixedClock(NOW))
    harness.publish(
        InvoiceIssued(
            tenant="acme-nl",
            customer_id="C-1",
            invoice_id="INV-1",
            invoice_number="2026-000123",
            issue_date=DAY - timedelta(days=30),
            due_date=DAY - timedelta(days=16),
            amount=Money.of(123450, "EUR"),
            revision=1,
            received_at=NOW,
        )
    )
    await harness.consume()
    yield harness
    await harness.close()


@pytest.fixture
async def client(service: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with service.api({}) as client:
        yield client


def link_payment(event_id: str = "evt_1") -> LinkPayment:
    return LinkPayment(
        event_id=event_id,
        payment_id="tr_WDqYK6vllg",
        amount=Money.of(123450, "EUR"),
        paid_at=NOW - timedelta(minutes=2),
        invoice_reference="2026-000123",
        payer_name="Bakkerij de Vries B.V.",
    )


async def published(service: ServiceHarness, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(PAYMENTS.name, ce_type))


async def payments_of(service: ServiceHarness) -> list[tuple[str, str]]:
    async with service.pool.acquire() as connection:
        rows = await connection.fetch("SELECT tenant, payment_id FROM payments")
    return [(row["tenant"], row["payment_id"]) for row in rows]


async def test_a_paid_link_becomes_a_payment_that_settles_its_invoice(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    response = await PspSender(client, "mollie", ["whsec_new"]).send(link_payment(), NOW)

    assert response.status_code == 200
    assert response.json() == {"payment_id": "psp-mollie-tr_WDqYK6vllg", "status": "matched"}
    [received] = await published(service, RECEIVED)
    assert (received["source"], received["tenant"]) == ("psp", "acme-nl")
    assert received["amount"] == {"amount_minor": 123450, "currency": "EUR"}
    [settled] = await published(service, SETTLED)
    assert settled["payment_ids"] == ["psp-mollie-tr_WDqYK6vllg"]


async def test_a_redelivered_webhook_credits_nothing_twice_and_answers_the_same(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    sender = PspSender(client, "mollie", ["whsec_new"])

    first = await sender.send(link_payment(), NOW)
    again = await sender.send(link_payment(), NOW)

    assert (first.status_code, again.status_code) == (200, 200)
    assert (
        again.json()
        == first.json()
        == {
            "payment_id": "psp-mollie-tr_WDqYK6vllg",
            "status": "matched",
        }
    )
    assert len(await published(service, RECEIVED)) == 1
    assert len(await published(service, SETTLED)) == 1
    assert await payments_of(service) == [("acme-nl", "psp-mollie-tr_WDqYK6vllg")]


async def test_the_same_provider_payment_under_a_new_event_id_is_not_credited_again(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    sender = PspSender(client, "mollie", ["whsec_new"])
    await sender.send(link_payment("evt_1"), NOW)

    response = await sender.send(link_payment("evt_2"), NOW)

    assert response.json()["status"] == "already_received"
    assert len(await published(service, RECEIVED)) == 1


async def test_the_secret_that_signed_decides_the_tenant(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    response = await PspSender(client, "mollie", ["whsec_other"]).send(link_payment(), NOW)

    assert response.json()["status"] == "unmatched"
    assert await payments_of(service) == [("other-be", "psp-mollie-tr_WDqYK6vllg")]


async def test_a_rotated_secret_still_verifies(client: httpx.AsyncClient) -> None:
    response = await PspSender(client, "mollie", ["whsec_old"]).send(link_payment(), NOW)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("signature", "detail"),
    [
        (None, "no Settle-Signature header"),
        ("t=1763632800", "the Settle-Signature header has no v1 signature"),
        ("t=1763632800,v1=00ff", "no signature matches a secret configured for this provider"),
    ],
)
async def test_unsigned_or_wrongly_signed_webhooks_are_refused(
    service: ServiceHarness, client: httpx.AsyncClient, signature: str | None, detail: str
) -> None:
    response = await PspSender(client, "mollie").send_raw(link_payment().body(), signature)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/invalid-signature")
    assert response.json()["detail"] == detail
    assert await payments_of(service) == []


async def test_a_forged_secret_is_refused(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    response = await PspSender(client, "mollie", ["whsec_guess"]).send(link_payment(), NOW)

    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-signature")
    assert await payments_of(service) == []


async def test_a_replayed_webhook_signed_too_long_ago_is_stale(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    sender = PspSender(client, "mollie", ["whsec_new"])

    response = await sender.send(link_payment(), NOW - timedelta(seconds=301))

    assert response.status_code == 401
    assert response.json()["type"].endswith("/stale-signature")
    assert await payments_of(service) == []


async def test_a_provider_without_secrets_is_unknown(client: httpx.AsyncClient) -> None:
    response = await PspSender(client, "adyen", ["whsec_new"]).send(link_payment(), NOW)

    assert response.status_code == 404
    assert response.json()["type"].endswith("/unknown-provider")


async def test_a_signed_body_that_is_not_a_webhook_is_unprocessable(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    sender = PspSender(client, "mollie", ["whsec_new"])
    body = b'{"event_id": "evt_1", "amount": {"amount_minor": 1.5, "currency": "EUR"}}'

    response = await sender.send_raw(body, signature_for(body))

    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-webhook")
    locations = {error["location"] for error in response.json()["errors"]}
    assert {"/payment_id", "/paid_at", "/amount/amount_minor"} <= locations


async def test_webhooks_arrive_over_real_http(service: ServiceHarness) -> None:
    app = create_app(
        title=SERVICE.name,
        description=SERVICE.description,
        routers=SERVICE.routers,
        api_keys=ApiKeys({}),
        test_mode=False,
        max_body_bytes=SERVICE.max_body_bytes,
    )
    app.state.service = service.wiring.state

    async with (
        BackgroundServer(app) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        response = await PspSender(client, "mollie", ["whsec_new"]).send(link_payment(), NOW)

    assert response.status_code == 200
    assert response.json()["status"] == "matched"


def signature_for(body: bytes) -> str:
    return signature_header(["whsec_new"], NOW, body)
