"""Payments that go back to the payer after they arrived (the bank reverses the booking, or the
payer's bank returns a direct debit on the payer's objection) come off their invoices, which
dunning then collects again, and leave the work queue."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from settle_shared.events.topics import PAYMENTS
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bank import BankEntry, mt940_statement, statement_xml
from tests.integration.payments.acme_book import DAY, NOW, PAYER, REFERENCE, invoice, service_with

ACCOUNT = "NL91ABNA0417164300"
ACME_KEY = "key-acme-0123456789"
KEYS = {ACME_KEY: "acme-nl"}
RETURNED = "settle.payment.returned.v1"
REOPENED = "settle.invoice.reopened.v1"
SETTLED = "settle.invoice.settled.v1"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    async for harness in service_with(
        fresh_database, invoice("2026-000123", 123450, reference=REFERENCE)
    ):
        yield harness


@pytest.fixture
async def client(service: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with service.api(KEYS) as client:
        yield client


def paid(minor: int = 123450, end_to_end_id: str = "E2E-1", **details: Any) -> BankEntry:
    """A direct debit collected from the customer (by its RF reference unless told else)."""
    return BankEntry(
        Money.of(minor, "EUR"),
        DAY,
        counterparty_name="B. DE VRIES",
        counterparty_iban=PAYER,
        end_to_end_id=end_to_end_id,
        **({"structured_reference": REFERENCE} | details),
    )


def sent_back(
    minor: int = 123450,
    end_to_end_id: str = "E2E-1",
    reversal: bool = True,
    returns: str | None = "MD06",
) -> BankEntry:
    """The payer's bank takes the direct debit back: the payer objected (MD06)."""
    return BankEntry(
        Money.of(minor, "EUR"),
        DAY + timedelta(days=3),
        direction="debit",
        counterparty_name="B. DE VRIES",
        counterparty_iban=PAYER,
        end_to_end_id=end_to_end_id,
        reversal=reversal,
        returns=returns,
    )


async def upload(
    client: httpx.AsyncClient, statement_id: str, entries: list[BankEntry], opening: int = 0
) -> dict[str, Any]:
    xml = statement_xml(ACCOUNT, entries, Money.of(opening, "EUR"), statement_id, NOW)
    response = await client.post(
        "/v1/statements",
        content=xml,
        headers={"Content-Type": "application/xml", "X-API-Key": ACME_KEY},
    )
    assert response.status_code in (200, 201), response.text
    [report] = response.json()["statements"]
    assert isinstance(report, dict)
    return report


async def published(service: ServiceHarness, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(PAYMENTS.name, ce_type))


async def paid_on(service: ServiceHarness, invoice_id: str) -> int:
    async with service.pool.acquire() as connection:
        paid_minor: int = await connection.fetchval(
            "SELECT paid_minor FROM open_items WHERE invoice_id = $1", invoice_id
        )
    return paid_minor


async def test_a_payment_sent_back_reopens_its_invoice_and_leaves_the_books(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    assert (await upload(client, "S-1", [paid()]))["matched"] == 1
    [settled] = await published(service, SETTLED)
    [payment_id] = settled["payment_ids"]

    report = await upload(client, "S-2", [sent_back()], opening=123450)

    assert (report["reversals"], report["sent_back"], report["sent_back_unknown"]) == (1, 1, 0)
    reason = "sent back to the payer by statement S-2 (MD06)"
    [returned] = await published(service, RETURNED)
    assert returned["payment_id"] == payment_id
    assert returned["amount"] == {"amount_minor": 123450, "currency": "EUR"}
    assert returned["end_to_end_id"] == "E2E-1"
    assert returned["reopened_invoice_ids"] == ["INV-2026-000123"]
    assert (returned["reason"], returned["statement_id"]) == (reason, "S-2")
    [reopened] = await published(service, REOPENED)
    assert reopened["invoice_id"] == "INV-2026-000123"
    assert reopened["open_amount"] == {"amount_minor": 123450, "currency": "EUR"}
    assert (reopened["reversed_payment_id"], reopened["reason"]) == (payment_id, reason)
    assert await paid_on(service, "INV-2026-000123") == 0
    view = (await client.get(f"/v1/payments/{payment_id}", headers={"X-API-Key": ACME_KEY})).json()
    assert (view["status"], view["reason"], view["allocations"]) == ("returned", reason, [])


async def test_an_mt940_reversal_sends_back_a_payment_a_camt_file_brought(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await upload(client, "S-1", [paid()])
    text = mt940_statement(ACCOUNT, [sent_back()], Money.of(123450, "EUR"), "S-2", 2)

    response = await client.post(
        "/v1/statements",
        content=text,
        headers={"Content-Type": "text/plain", "X-API-Key": ACME_KEY},
    )

    [report] = response.json()["statements"]
    assert (report["reversals"], report["sent_back"]) == (1, 1)
    [returned] = await published(service, RETURNED)
    assert returned["reason"] == "sent back to the payer by statement S-2/2 (MD06)"
    assert await paid_on(service, "INV-2026-000123") == 0


async def test_what_was_sent_back_once_is_not_sent_back_again(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await upload(client, "S-1", [paid()])
    await upload(client, "S-2", [sent_back()], opening=123450)
    # The customer pays again, by a collection with the same end-to-end id.
    await upload(client, "S-3", [paid(end_to_end_id="E2E-1", bank_reference="AGAIN-1")])

    again = await upload(client, "S-2", [sent_back()], opening=123450)
    overlapping = await upload(client, "S-4", [sent_back()], opening=123450)

    assert again["status"] == "already_imported"
    assert (overlapping["already_booked"], overlapping["sent_back"]) == (1, 0)
    assert len(await published(service, RETURNED)) == 1
    assert await paid_on(service, "INV-2026-000123") == 123450


async def test_a_payment_sent_back_cannot_be_matched_by_hand(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await upload(client, "S-1", [paid()])
    await upload(client, "S-2", [sent_back()], opening=123450)
    [returned] = await published(service, RETURNED)

    response = await client.post(
        f"/v1/payments/{returned['payment_id']}/match",
        json={"allocations": [{"invoice_id": "INV-2026-000123"}], "note": "customer phoned"},
        headers={"X-API-Key": ACME_KEY},
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("payment-returned")
    assert await paid_on(service, "INV-2026-000123") == 0


async def test_a_queued_payment_sent_back_leaves_the_work_queue(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    queued = paid(50000, "E2E-9", structured_reference=None, remittance="thank you")
    assert (await upload(client, "S-1", [queued]))["unmatched"] == 1

    report = await upload(
        client, "S-2", [sent_back(50000, "E2E-9", reversal=False, returns="AM04")], opening=50000
    )

    assert (report["debits"], report["sent_back"]) == (1, 1)
    [returned] = await published(service, RETURNED)
    assert returned["reopened_invoice_ids"] == []
    assert returned["reason"] == "sent back to the payer by statement S-2 (AM04)"
    waiting = await client.get("/v1/unmatched", headers={"X-API-Key": ACME_KEY})
    assert waiting.json()["items"] == []


async def test_a_payment_can_go_back_in_the_statement_that_booked_it(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    report = await upload(client, "S-1", [paid(), sent_back(returns=None)])

    assert (report["matched"], report["sent_back"]) == (1, 1)
    [returned] = await published(service, RETURNED)
    assert returned["reason"] == (
        "sent back to the payer by statement S-1 (the bank reversed its booking)"
    )
    assert await paid_on(service, "INV-2026-000123") == 0


async def test_one_payment_goes_back_once_however_many_debits_name_it(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await upload(client, "S-1", [paid()])

    report = await upload(client, "S-2", [sent_back(), sent_back()], opening=246900)

    assert (report["sent_back"], report["sent_back_unknown"]) == (1, 1)
    assert len(await published(service, RETURNED)) == 1
    assert len(await published(service, REOPENED)) == 1


@pytest.mark.parametrize(
    ("debit", "unknown"),
    [
        (sent_back(end_to_end_id="E2E-UNKNOWN"), 1),
        (sent_back(minor=123449), 1),
        (sent_back(end_to_end_id="NOTPROVIDED"), 1),
        (sent_back(reversal=False, returns=None), 0),
    ],
    ids=["unknown end-to-end id", "other amount", "no end-to-end id", "a plain debit"],
)
async def test_a_debit_naming_no_payment_held_changes_nothing(
    service: ServiceHarness, client: httpx.AsyncClient, debit: BankEntry, unknown: int
) -> None:
    await upload(client, "S-1", [paid()])

    report = await upload(client, "S-2", [debit], opening=123450)

    assert (report["sent_back"], report["sent_back_unknown"]) == (0, unknown)
    assert await published(service, RETURNED) == []
    assert await paid_on(service, "INV-2026-000123") == 123450
