import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ingestion.bootstrap import SERVICE, IngestionSettings
from ingestion.domain.limits import MAX_BATCH_ITEMS, MAX_BODY_BYTES
from settle_shared.clock import FixedClock
from settle_shared.events.erp import (
    CUSTOMER_EXAMPLE,
    ErpCreditNoteIssued,
    ErpInvoiceCancelled,
    ErpInvoiceIssued,
)
from settle_shared.events.topics import CUSTOMERS, INVOICES
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
KEYS = {"key-acme-0123456789": "acme-nl", "key-other-0123456789": "other-be"}
ACME = {"X-API-Key": "key-acme-0123456789"}
OTHER = {"Authorization": "Bearer key-other-0123456789"}
INVOICE = {k: v for k, v in ErpInvoiceIssued.event_type.examples()[0].items() if k != "tenant"}
NOTE = {k: v for k, v in ErpCreditNoteIssued.event_type.examples()[0].items() if k != "tenant"}


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


def item(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "data": data}


def invoice(number: int, **changes: Any) -> dict[str, Any]:
    return item(
        "erp.invoice.issued.v1",
        {**INVOICE, "invoice_id": f"INV-{number}", "invoice_number": f"{number}", **changes},
    )


async def post_batch(
    client: httpx.AsyncClient,
    items: list[Any],
    headers: dict[str, str] = ACME,
    key: str | None = None,
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post("/v1/batch", json={"items": items}, headers={**headers, **extra})


async def announced(service: ServiceHarness, topic: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(topic))


async def test_a_batch_answers_each_item_and_a_bad_item_does_not_stop_the_others(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    customer = {k: v for k, v in CUSTOMER_EXAMPLE.items() if k != "tenant"}
    response = await post_batch(
        client,
        [
            item("erp.customer.upserted.v1", customer),
            invoice(1),
            invoice(2, amount={"amount_minor": 12.5, "currency": "EUR"}),
            invoice(3, due_date="2026-10-01"),
            item("erp.invoice.paid.v1", {}),
            invoice(1),
        ],
    )

    assert response.status_code == 200
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (3, 3)
    outcomes = [(i["index"], i["id"], i["outcome"], i["status"]) for i in report["items"]]
    assert outcomes == [
        (0, "C-1001", "created", 201),
        (1, "INV-1", "issued", 201),
        (2, None, "rejected", 422),
        (3, "INV-3", "rejected", 422),
        (4, None, "rejected", 422),
        (5, "INV-1", "duplicate", 200),
    ]
    problems = {i["index"]: i["problem"]["errors"] for i in report["items"] if i["problem"]}
    assert [e["location"] for e in problems[2]] == ["/items/2/data/amount/amount_minor"]
    assert [e["location"] for e in problems[3]] == ["/items/3/data/due_date"]
    assert [e["location"] for e in problems[4]] == ["/items/4/type"]
    assert [e["invoice_id"] for e in await announced(service, INVOICES.name)] == ["INV-1"]
    [customer_event] = await announced(service, CUSTOMERS.name)
    assert customer_event["customer_id"] == "C-1001"


async def test_a_batch_takes_the_whole_lifecycle_in_order(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    cancellation = {
        k: v for k, v in ErpInvoiceCancelled.event_type.examples()[0].items() if k != "tenant"
    }
    response = await post_batch(
        client,
        [
            item("erp.invoice.issued.v1", INVOICE),
            item(
                "erp.invoice.amended.v1",
                {**INVOICE, "due_date": "2026-11-30", "updated_at": "2026-11-05T10:00:00Z"},
            ),
            item("erp.credit-note.issued.v1", NOTE),
            item("erp.invoice.cancelled.v1", cancellation),
        ],
    )

    results = [(i["outcome"], i["revision"]) for i in response.json()["items"]]
    assert results == [("issued", 1), ("amended", 2), ("issued", None), ("cancelled", 3)]
    invoice_read = await client.get("/v1/invoices/INV-2026-000123", headers=ACME)
    assert (invoice_read.json()["status"], invoice_read.json()["due_date"]) == (
        "cancelled",
        "2026-11-30",
    )
    note_read = await client.get("/v1/credit-notes/CN-2026-000007", headers=ACME)
    assert note_read.json()["invoice_id"] == "INV-2026-000123"


async def test_a_batch_over_the_item_limit_is_refused_whole(client: httpx.AsyncClient) -> None:
    response = await post_batch(client, [invoice(1)] * (MAX_BATCH_ITEMS + 1))

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["location"] == "/body/items"


async def test_the_same_idempotency_key_and_body_replays_the_first_answer(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    first = await post_batch(client, [invoice(1)], key="batch-0001")
    again = await post_batch(client, [invoice(1)], key="batch-0001")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["items"][0]["outcome"] == "issued"
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(await announced(service, INVOICES.name)) == 1


async def test_an_idempotency_key_reused_for_another_body_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await post_batch(client, [invoice(1)], key="batch-0002")
    reused = await post_batch(client, [invoice(2)], key="batch-0002")

    assert reused.status_code == 422
    assert reused.json()["type"].endswith("/idempotency-key-reused")


async def test_idempotency_keys_belong_to_their_tenant(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await post_batch(client, [invoice(1)], key="shared-key")
    theirs = await post_batch(client, [invoice(1)], headers=OTHER, key="shared-key")

    assert theirs.status_code == 200
    assert theirs.json()["items"][0]["outcome"] == "issued"
    tenants = sorted(e["tenant"] for e in await announced(service, INVOICES.name))
    assert tenants == ["acme-nl", "other-be"]


async def test_an_idempotency_key_is_forgotten_after_a_day(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await post_batch(client, [invoice(1)], key="batch-0003")
    service.clock.advance(timedelta(hours=25))
    later = await post_batch(client, [invoice(2)], key="batch-0003")

    assert later.status_code == 200
    assert later.json()["items"][0]["id"] == "INV-2"


async def test_a_put_with_an_idempotency_key_replays_its_created_status(
    client: httpx.AsyncClient,
) -> None:
    headers = {**ACME, "Idempotency-Key": "put-0001"}
    first = await client.put("/v1/invoices/INV-2026-000123", json=INVOICE, headers=headers)
    again = await client.put("/v1/invoices/INV-2026-000123", json=INVOICE, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["outcome"] == "issued"


async def test_a_body_over_the_limit_is_refused_while_it_streams(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"items": ['
        for _ in range(MAX_BODY_BYTES // 1000):
            yield b'"' + b"x" * 1020 + b'",'
        yield b"1]}"

    response = await client.post(
        "/v1/batch", content=chunks(), headers={**ACME, "Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_json_nested_deeper_than_any_record_is_refused_before_parsing(
    client: httpx.AsyncClient,
) -> None:
    body = '{"items": [' + "[" * 5000 + "]" * 5000 + "]}"
    response = await client.post(
        "/v1/batch", content=body, headers={**ACME, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith("/json-too-deep")


async def test_brackets_inside_strings_do_not_count_as_nesting(
    client: httpx.AsyncClient,
) -> None:
    response = await post_batch(client, [invoice(1, payment_terms="[[[[{{{{" * 10)])

    assert response.status_code == 200
    [result] = response.json()["items"]
    assert [e["location"] for e in result["problem"]["errors"]] == ["/items/0/data/payment_terms"]


async def test_a_cancellation_over_http_is_final(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await client.put("/v1/invoices/INV-2026-000123", json=INVOICE, headers=ACME)
    body = {"customer_id": "C-1001", "reason": "duplicate", "updated_at": "2026-11-03T08:00:00Z"}
    cancelled = await client.post(
        "/v1/invoices/INV-2026-000123/cancellation", json=body, headers=ACME
    )
    amended = await client.put(
        "/v1/invoices/INV-2026-000123",
        json={**INVOICE, "due_date": "2026-12-01", "updated_at": "2026-11-04T08:00:00Z"},
        headers=ACME,
    )

    assert (cancelled.status_code, cancelled.json()["outcome"]) == (200, "cancelled")
    assert cancelled.json()["cancel_reason"] == "duplicate"
    assert amended.status_code == 409
    assert amended.json()["type"].endswith("/invoice-cancelled")
    kinds = [dict(r.headers)["ce_type"] for r in (await _records(service))]
    assert kinds == [b"settle.invoice.issued.v1", b"settle.invoice.cancelled.v1"]


async def test_cancelling_an_unknown_invoice_is_a_conflict(client: httpx.AsyncClient) -> None:
    body = {"customer_id": "C-1001", "updated_at": "2026-11-03T08:00:00Z"}
    response = await client.post("/v1/invoices/INV-404/cancellation", json=body, headers=ACME)

    assert response.status_code == 409
    assert response.json()["type"].endswith("/invoice-not-issued")


async def test_a_credit_note_is_issued_once_and_read_back(client: httpx.AsyncClient) -> None:
    await client.put("/v1/invoices/INV-2026-000123", json=INVOICE, headers=ACME)
    first = await client.put("/v1/credit-notes/CN-2026-000007", json=NOTE, headers=ACME)
    again = await client.put("/v1/credit-notes/CN-2026-000007", json=NOTE, headers=ACME)
    other = await client.put(
        "/v1/credit-notes/CN-2026-000007",
        json={**NOTE, "amount": {"amount_minor": 5, "currency": "EUR"}},
        headers=ACME,
    )

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json()["outcome"] == "duplicate"
    read = await client.get("/v1/credit-notes/CN-2026-000007", headers=ACME)
    assert read.json()["amount"] == {"amount_minor": 10000, "currency": "EUR"}
    hidden = await client.get("/v1/credit-notes/CN-2026-000007", headers=OTHER)
    assert hidden.status_code == 404


async def test_invoices_are_listed_by_page_and_status_for_the_callers_tenant_only(
    client: httpx.AsyncClient,
) -> None:
    await post_batch(client, [invoice(n) for n in range(1, 6)])
    await post_batch(client, [invoice(9)], headers=OTHER)
    body = {"customer_id": "C-1001", "updated_at": "2026-11-03T08:00:00Z"}
    await client.post("/v1/invoices/INV-2/cancellation", json=body, headers=ACME)

    first = (await client.get("/v1/invoices?limit=3", headers=ACME)).json()
    second = (
        await client.get(f"/v1/invoices?limit=3&after={first['next_after']}", headers=ACME)
    ).json()
    cancelled = (await client.get("/v1/invoices?status=cancelled", headers=ACME)).json()

    assert [i["invoice_id"] for i in first["invoices"]] == ["INV-1", "INV-2", "INV-3"]
    assert [i["invoice_id"] for i in second["invoices"]] == ["INV-4", "INV-5"]
    assert second["next_after"] is None
    assert [i["invoice_id"] for i in cancelled["invoices"]] == ["INV-2"]


async def test_a_batch_cannot_reach_another_tenants_records(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await post_batch(client, [invoice(1)])
    body = {"customer_id": "C-1001", "updated_at": "2026-11-03T08:00:00Z"}
    theirs = await post_batch(
        client,
        [
            item("erp.invoice.cancelled.v1", {**body, "invoice_id": "INV-1"}),
            invoice(1, tenant="acme-nl"),
        ],
        headers=OTHER,
    )

    results = theirs.json()["items"]
    assert results[0]["problem"]["type"].endswith("/invoice-not-issued")
    assert [e["location"] for e in results[1]["problem"]["errors"]] == ["/items/1/data/tenant"]
    ours = await client.get("/v1/invoices/INV-1", headers=ACME)
    assert ours.json()["status"] == "open"


async def _records(service: ServiceHarness) -> list[Any]:
    await service.relay_outbox()
    return service.published(INVOICES.name)


def mutations(seed: int, count: int) -> list[Any]:
    """Random damage to a valid invoice: values replaced by other JSON, fields dropped, strings
    garbled, whole bodies replaced by other JSON values."""
    rng = random.Random(seed)
    junk: list[Any] = [
        None,
        True,
        -1,
        0,
        1.5,
        10**30,
        "",
        "x" * 300,
        [],
        {},
        [1, [2]],
        "2026-13-45",
    ]
    bodies: list[Any] = []
    for _ in range(count):
        body: dict[str, Any] = json.loads(json.dumps(INVOICE))
        for _ in range(rng.randint(1, 3)):
            field = rng.choice(sorted(body))
            action = rng.random()
            if action < 0.4:
                body[field] = rng.choice(junk)
            elif action < 0.6:
                del body[field]
            elif isinstance(body[field], str):
                text = body[field]
                cut = rng.randrange(len(text) + 1)
                body[field] = text[:cut] + chr(rng.randint(0, 0x2FFF)) + text[cut:]
            else:
                body[field] = {"amount_minor": rng.choice(junk), "currency": rng.choice(junk)}
        bodies.append(body if rng.random() > 0.05 else rng.choice(junk))
    return bodies


async def test_mutated_bodies_are_answered_with_problems_never_a_crash_or_garbage(
    client: httpx.AsyncClient,
) -> None:
    bodies = mutations(seed=7, count=150)
    single = [
        await client.put("/v1/invoices/INV-2026-000123", json=body, headers=ACME)
        for body in bodies[:50]
    ]
    batch = await post_batch(client, [item("erp.invoice.issued.v1", b) for b in bodies])

    assert {r.status_code for r in single} <= {200, 201, 409, 422}
    assert batch.status_code == 200
    listed = (await client.get("/v1/invoices?limit=500", headers=ACME)).json()["invoices"]
    for invoice in listed:
        assert invoice["due_date"] >= invoice["issue_date"]
        assert isinstance(invoice["amount"]["amount_minor"], int)
        assert invoice["amount"]["amount_minor"] > 0
