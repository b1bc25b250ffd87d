"""Bank statements uploaded over HTTP: checked whole, imported once, matched with evidence."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from payments.bootstrap import SERVICE, PaymentsSettings
from payments.entrypoints import api
from settle_shared.auth import ApiKeys
from settle_shared.clock import FixedClock
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import CustomerUpserted, InvoiceIssued
from settle_shared.events.topics import PAYMENTS
from settle_shared.http import create_app
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bank import BankEntry, iban, mt940_statement, statement_xml
from settle_simulators.bank import upload as bank_upload
from settle_simulators.serving import BackgroundServer

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
ACME_KEY = "key-acme-0123456789"
OTHER_KEY = "key-other-0123456789"
KEYS = {ACME_KEY: "acme-nl", OTHER_KEY: "other-be"}
ACCOUNT = "NL91ABNA0417164300"
PAYER = iban("DE", "370400440532013000")
CORPUS = Path(__file__).parents[2] / "fixtures" / "corpora" / "camt053"

RECEIVED = "settle.payment.received.v1"
MATCHED = "settle.payment.matched.v1"
UNMATCHED = "settle.payment.unmatched.v1"
SETTLED = "settle.invoice.settled.v1"
PARTIALLY_PAID = "settle.invoice.partially-paid.v1"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, PaymentsSettings(database_url=fresh_database), FixedClock(NOW)
    )
    harness.publish(customer("C-1", "Bakkerij de Vries B.V."))
    harness.publish(invoice("2026-000123", 123450, reference="RF18539007547034"))
    await harness.consume()
    yield harness
    await harness.close()


def customer(customer_id: str, name: str, tenant: str = "acme-nl") -> CustomerUpserted:
    return CustomerUpserted.model_validate(
        {
            "tenant": tenant,
            "customer_id": customer_id,
            "master": {**CUSTOMER_EXAMPLE["master"], "name": name},
            "revision": 1,
            "updated_at": NOW,
            "received_at": NOW,
        }
    )


def invoice(
    number: str, minor: int, reference: str | None = None, customer_id: str = "C-1"
) -> InvoiceIssued:
    return InvoiceIssued(
        tenant="acme-nl",
        customer_id=customer_id,
        invoice_id=f"INV-{number}",
        invoice_number=number,
        issue_date=DAY - timedelta(days=30),
        due_date=DAY - timedelta(days=16),
        amount=Money.of(minor, "EUR"),
        payment_reference=reference,
        revision=1,
        received_at=NOW,
    )


def credit(minor: int, text: str | None = None, reference: str | None = None) -> BankEntry:
    return BankEntry(
        Money.of(minor, "EUR"),
        DAY,
        counterparty_name="BAKKERIJ DE VRIES BV",
        counterparty_iban=PAYER,
        remittance=text,
        structured_reference=reference,
        end_to_end_id=f"E2E-{minor}-{text or reference}",
    )


def debit(minor: int) -> BankEntry:
    return BankEntry(Money.of(minor, "EUR"), DAY, direction="debit", remittance="Bank fee")


def statement(statement_id: str, *entries: BankEntry, account: str = ACCOUNT) -> bytes:
    return statement_xml(
        account, list(entries), Money.of(1000000, "EUR"), statement_id, NOW, electronic_sequence=1
    )


async def upload(
    service: ServiceHarness,
    xml: bytes,
    key: str = ACME_KEY,
    content_type: str = "application/xml",
) -> httpx.Response:
    async with service.api(KEYS) as client:
        return await client.post(
            "/v1/statements",
            content=xml,
            headers={"Content-Type": content_type, "Authorization": f"Bearer {key}"},
        )


async def get(service: ServiceHarness, path: str, key: str = ACME_KEY) -> httpx.Response:
    async with service.api(KEYS) as client:
        return await client.get(path, headers={"X-API-Key": key})


async def published(service: ServiceHarness, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(PAYMENTS.name, ce_type))


async def count(service: ServiceHarness, table: str) -> int:
    async with service.pool.acquire() as connection:
        value: int = await connection.fetchval(f"SELECT count(*) FROM {table}")
    return value


async def test_a_payment_quoting_the_rf_reference_settles_the_invoice(
    service: ServiceHarness,
) -> None:
    response = await upload(
        service, statement("S-1", credit(123450, reference="RF18539007547034"), debit(2500))
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "imported"
    [report] = body["statements"]
    assert (report["statement_id"], report["account"], report["entries"]) == ("S-1", ACCOUNT, 2)
    assert (report["credits"], report["debits"], report["payments"]) == (1, 1, 1)
    assert (report["matched"], report["unmatched"]) == (1, 0)
    [received] = await published(service, RECEIVED)
    assert received["amount"] == {"amount_minor": 123450, "currency": "EUR"}
    assert received["payer_account"] == PAYER
    assert received["structured_reference"] == "RF18539007547034"
    assert (received["source"], received["statement_id"]) == ("camt.053", "S-1")
    [matched] = await published(service, MATCHED)
    assert matched["payment_id"] == received["payment_id"]
    assert matched["customer_id"] == "C-1"
    assert matched["allocations"] == [
        {
            "invoice_id": "INV-2026-000123",
            "invoice_number": "2026-000123",
            "amount": {"amount_minor": 123450, "currency": "EUR"},
        }
    ]
    assert (
        "structured reference RF18539007547034 is a valid ISO 11649 RF"
        in (matched["evidence"]["signals"])
    )
    [settled] = await published(service, SETTLED)
    assert settled["invoice_id"] == "INV-2026-000123"
    assert settled["paid"] == {"amount_minor": 123450, "currency": "EUR"}
    assert settled["payment_ids"] == [received["payment_id"]]
    assert await published(service, UNMATCHED) == []


async def test_a_partial_payment_leaves_the_open_balance_until_the_rest_arrives(
    service: ServiceHarness,
) -> None:
    first = await upload(service, statement("S-1", credit(50000, text="Invoice 2026-000123")))
    second = await upload(service, statement("S-2", credit(73450, text="rest of 2026 000123")))

    assert (first.status_code, second.status_code) == (201, 201)
    [partial] = await published(service, PARTIALLY_PAID)
    assert partial["paid"] == {"amount_minor": 50000, "currency": "EUR"}
    assert partial["open_amount"] == {"amount_minor": 73450, "currency": "EUR"}
    [settled] = await published(service, SETTLED)
    assert settled["paid"] == {"amount_minor": 123450, "currency": "EUR"}
    [first_payment] = partial["payment_ids"]
    [second_payment] = {p["payment_id"] for p in await published(service, RECEIVED)} - {
        first_payment
    }
    assert settled["payment_ids"] == [first_payment, second_payment]


async def test_uploading_the_same_file_twice_credits_nothing_twice(
    service: ServiceHarness,
) -> None:
    xml = statement("S-1", credit(50000, text="Invoice 2026-000123"), debit(100))

    first = await upload(service, xml)
    again = await upload(service, xml)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["status"] == "already_imported"
    assert again.json()["statements"][0]["status"] == "already_imported"
    assert again.json()["payments"] == 0
    assert len(await published(service, RECEIVED)) == 1
    assert len(await published(service, PARTIALLY_PAID)) == 1
    assert await count(service, "payments") == 1
    assert await count(service, "allocations") == 1


async def test_overlapping_statements_do_not_credit_a_shared_entry_twice(
    service: ServiceHarness,
) -> None:
    service.publish(invoice("2026-000200", 20000))
    await service.consume()
    shared = credit(50000, text="Invoice 2026-000123")
    await upload(service, statement("S-1", debit(100), shared))

    response = await upload(service, statement("S-2", shared, credit(20000, text="2026-000200")))

    [report] = response.json()["statements"]
    assert (report["entries"], report["credits"], report["already_booked"]) == (2, 2, 1)
    assert (report["payments"], report["matched"]) == (1, 1)
    [partial] = await published(service, PARTIALLY_PAID)
    assert partial["invoice_id"] == "INV-2026-000123"
    [settled] = await published(service, SETTLED)
    assert settled["invoice_id"] == "INV-2026-000200"
    assert await count(service, "payments") == 2
    assert await count(service, "statement_entries") == 4


async def test_an_unmatched_payment_waits_in_the_work_queue_with_suggestions(
    service: ServiceHarness,
) -> None:
    service.publish(invoice("2026-000300", 9900))
    await service.consume()

    await upload(service, statement("S-1", credit(9900, text="thanks for the bread")))

    [queued] = await published(service, UNMATCHED)
    assert queued["reason"] == (
        "no valid structured reference, payment link or open invoice number in the payment"
    )
    assert queued["suggestions"][0]["invoice_ids"] == ["INV-2026-000300"]
    assert queued["suggestions"][0]["score"] == 0.55
    queue = (await get(service, "/v1/unmatched")).json()
    [item] = queue["items"]
    assert queue["next_after"] is None
    assert item["payment_id"] == queued["payment_id"]
    assert item["status"] == "unmatched"
    assert item["remittance"] == ["thanks for the bread"]
    assert item["payer_account"] == PAYER
    assert item["suggestions"][0]["invoice_numbers"] == ["2026-000300"]
    assert "the payer BAKKERIJ DE VRIES BV is customer C-1" in item["suggestions"][0]["reason"]
    assert item["evidence"]["rejected"][0] == (
        "invoice 2026-000300: the payer name and the amount and the due date agree, "
        "not enough to match"
    )


async def test_the_work_queue_narrows_to_an_amount_and_a_text(service: ServiceHarness) -> None:
    await upload(
        service,
        statement(
            "S-1",
            credit(9900, text="thanks for the bread"),
            credit(9900, text="Rechnung Mai 100%_sicher"),
            credit(4500, text="THANKS for the cake"),
        ),
    )

    def remittances(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [" ".join(item["remittance"]) for item in response.json()["items"]]

    by_amount = await get(service, "/v1/unmatched?amount_minor=9900&currency=EUR")
    by_text = await get(service, "/v1/unmatched?containing=thanks")
    by_both = await get(service, "/v1/unmatched?amount_minor=4500&currency=EUR&containing=Cake")
    by_wildcards = await get(service, "/v1/unmatched?containing=0%25_")
    by_account = await get(service, f"/v1/unmatched?containing={PAYER[-8:]}")
    by_other_currency = await get(service, "/v1/unmatched?amount_minor=9900&currency=CHF")
    assert remittances(by_amount) == ["thanks for the bread", "Rechnung Mai 100%_sicher"]
    assert remittances(by_text) == ["thanks for the bread", "THANKS for the cake"]
    assert remittances(by_both) == ["THANKS for the cake"]
    assert remittances(by_wildcards) == ["Rechnung Mai 100%_sicher"]
    assert len(remittances(by_account)) == 3
    assert remittances(by_other_currency) == []


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("amount_minor=9900", "incomplete-amount"),
        ("currency=EUR", "incomplete-amount"),
        ("amount_minor=9900&currency=XXX", "invalid-amount"),
    ],
)
async def test_a_work_queue_amount_needs_a_currency_in_use(
    service: ServiceHarness, query: str, kind: str
) -> None:
    response = await get(service, f"/v1/unmatched?{query}")

    assert response.status_code == 422
    assert response.json()["type"].endswith(f"/{kind}")


async def test_a_matched_payment_shows_its_evidence_and_allocation(
    service: ServiceHarness,
) -> None:
    await upload(service, statement("S-1", credit(123450, reference="RF18 5390 0754 7034")))
    [received] = await published(service, RECEIVED)

    response = await get(service, f"/v1/payments/{received['payment_id']}")

    assert response.status_code == 200
    view = response.json()
    assert view["status"] == "matched"
    assert view["reason"] is None
    assert view["structured_references"] == [
        {
            "value": "RF18 5390 0754 7034",
            "code": "SCOR",
            "issuer": None,
            "scheme": "ISO 11649 RF",
            "valid": True,
        }
    ]
    assert view["allocations"] == [
        {
            "invoice_id": "INV-2026-000123",
            "invoice_number": "2026-000123",
            "amount": {"amount_minor": 123450, "currency": "EUR"},
        }
    ]
    assert view["evidence"]["signals"][-1] == (
        "pays the full open amount EUR 1234.50: invoice 2026-000123 settled"
    )
    assert (await get(service, "/v1/unmatched")).json()["items"] == []


async def test_a_file_that_does_not_add_up_is_rejected_whole_and_changes_nothing(
    service: ServiceHarness,
) -> None:
    good = statement("S-1", credit(123450, reference="RF18539007547034"))
    bad = statement("S-2", credit(100)).replace(b"10001.00", b"10001.01")
    combined = good.replace(b"</BkToCstmrStmt>", _statements_of(bad) + b"</BkToCstmrStmt>")

    response = await upload(service, combined)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/inconsistent-statement")
    assert problem["detail"] == (
        "statement S-2: OPBD EUR 10000.00 CRDT + booked credits EUR 1.00 - booked debits "
        "EUR 0.00 = EUR 10001.00 CRDT expected, but CLBD is EUR 10001.01 CRDT"
    )
    assert problem["errors"][0]["location"].startswith("/Document/BkToCstmrStmt/Stmt[2]/Bal[2]")
    for table in ("statements", "statement_entries", "payments", "allocations", "outbox"):
        assert await count(service, table) == 0, table


async def test_a_truncated_upload_is_rejected_as_malformed(service: ServiceHarness) -> None:
    xml = statement("S-1", credit(123450, reference="RF18539007547034"))

    response = await upload(service, xml[: len(xml) - 200])

    assert response.status_code == 422
    assert response.json()["type"].endswith("/malformed-statement")
    assert await count(service, "statements") == 0


async def test_a_camt054_notification_is_booked_like_a_statement(
    service: ServiceHarness,
) -> None:
    xml = statement("N-1", credit(123450, reference="RF18539007547034"))
    notification = (
        xml.replace(b"camt.053.001.02", b"camt.054.001.08")
        .replace(b"BkToCstmrStmt", b"BkToCstmrDbtCdtNtfctn")
        .replace(b"<Stmt>", b"<Ntfctn>")
        .replace(b"</Stmt>", b"</Ntfctn>")
    )

    response = await upload(service, notification, content_type="text/xml; charset=utf-8")

    assert response.status_code == 201, response.text
    [received] = await published(service, RECEIVED)
    assert (received["source"], received["statement_id"]) == ("camt.054", "N-1")
    [settled] = await published(service, SETTLED)
    assert settled["invoice_id"] == "INV-2026-000123"


async def test_the_end_of_day_statement_does_not_credit_what_a_notification_did(
    service: ServiceHarness,
) -> None:
    entry = credit(123450, reference="RF18539007547034")
    notification = (
        statement("N-1", entry)
        .replace(b"camt.053.001.02", b"camt.054.001.08")
        .replace(b"BkToCstmrStmt", b"BkToCstmrDbtCdtNtfctn")
        .replace(b"<Stmt>", b"<Ntfctn>")
        .replace(b"</Stmt>", b"</Ntfctn>")
    )
    await upload(service, notification)

    response = await upload(service, statement("S-1", entry))

    assert response.json()["statements"][0]["already_booked"] == 1
    assert len(await published(service, RECEIVED)) == 1


async def test_only_statement_files_are_accepted(service: ServiceHarness) -> None:
    response = await upload(service, b'{"statement": 1}', content_type="application/json")

    assert response.status_code == 415
    assert response.json()["type"].endswith("/unsupported-media-type")


async def test_an_mt940_file_is_uploaded_as_text(service: ServiceHarness) -> None:
    entry = BankEntry(
        Money.of(123450, "EUR"),
        DAY,
        counterparty_name="B. DE VRIES",
        counterparty_iban=iban("DE", "370400440532013000"),
        remittance="Invoice 2026-000123",
        end_to_end_id="E2E-MT940-1",
    )
    text = mt940_statement("NL91ABNA0417164300", [entry], Money.of(0, "EUR"), "S-MT940", 1)

    response = await upload(service, text, content_type="text/plain; charset=latin-1")

    assert response.status_code == 201, response.text
    [report] = response.json()["statements"]
    assert (report["payments"], report["matched"]) == (1, 1)
    [received] = await published(service, RECEIVED)
    assert received["source"] == "mt940"


async def test_a_statement_id_reused_for_other_content_is_a_conflict(
    service: ServiceHarness,
) -> None:
    await upload(service, statement("S-1", credit(50000, text="2026-000123")))

    response = await upload(service, statement("S-1", credit(60000, text="2026-000123")))

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"statement S-1 of account {ACCOUNT} was imported before with different content"
    )
    assert await count(service, "payments") == 1


async def test_another_tenant_neither_sees_nor_matches_these_payments(
    service: ServiceHarness,
) -> None:
    await upload(service, statement("S-1", credit(100, text="nothing to see")))
    [acme_payment] = await published(service, RECEIVED)

    other = await upload(
        service,
        statement("S-1", credit(123450, reference="RF18539007547034")),
        key=OTHER_KEY,
    )

    assert other.status_code == 201
    assert other.json()["unmatched"] == 1
    assert await published(service, SETTLED) == []
    hidden = await get(service, f"/v1/payments/{acme_payment['payment_id']}", key=OTHER_KEY)
    assert hidden.status_code == 404
    [other_item] = (await get(service, "/v1/unmatched", key=OTHER_KEY)).json()["items"]
    [acme_item] = (await get(service, "/v1/unmatched")).json()["items"]
    assert other_item["payment_id"] != acme_item["payment_id"]
    assert other_item["suggestions"] == []


async def test_a_body_over_the_limit_is_refused_even_without_a_content_length(
    service: ServiceHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "MAX_STATEMENT_BYTES", 4096)
    xml = statement("S-1", *(credit(100 + n, text="2026-000123") for n in range(10)))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(xml), 1024):
            yield xml[start : start + 1024]

    async with service.api(KEYS) as client:
        response = await client.post(
            "/v1/statements",
            content=chunks(),
            headers={"Content-Type": "application/xml", "X-API-Key": ACME_KEY},
        )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert await count(service, "statements") == 0


async def test_uploads_need_an_api_key(service: ServiceHarness) -> None:
    async with service.api(KEYS) as client:
        response = await client.post(
            "/v1/statements", content=b"<x/>", headers={"Content-Type": "application/xml"}
        )
    assert response.status_code == 401


async def test_a_real_volksbank_statement_is_imported_with_its_debits_reported(
    service: ServiceHarness,
) -> None:
    xml = (CORPUS / "viafintech_camt053_v02_de_volksbank.xml").read_bytes()

    response = await upload(service, xml)

    assert response.status_code == 201
    [report] = response.json()["statements"]
    assert (report["entries"], report["credits"], report["debits"]) == (4, 1, 3)
    assert (report["payments"], report["unmatched"]) == (1, 1)
    [received] = await published(service, RECEIVED)
    assert received["payer_account"] == "740618130100033626"
    assert received["remittance"] == "R CKBUCHUNG"


async def test_a_real_postfinance_statement_splits_batches_and_reports_reversals(
    service: ServiceHarness,
) -> None:
    xml = (CORPUS / "viafintech_camt053_v04_ch_postfinance.xml").read_bytes()

    response = await upload(service, xml)

    [report] = response.json()["statements"]
    assert (report["entries"], report["credits"], report["debits"]) == (13, 4, 6)
    assert (report["reversals"], report["returned_to_this_account"]) == (2, 1)
    # Its two refunded direct debits name payments collected before this statement.
    assert (report["sent_back"], report["sent_back_unknown"]) == (0, 2)
    assert (report["payments"], report["unmatched"]) == (21, 21)
    received = await published(service, RECEIVED)
    assert len(received) == 21
    assert not any("Return" in (payment["remittance"] or "") for payment in received)


async def test_a_real_sample_whose_entries_were_cut_is_refused(service: ServiceHarness) -> None:
    xml = (CORPUS / "viafintech_camt053_v02_nl_ing_batch.xml").read_bytes()

    response = await upload(service, xml)

    assert response.status_code == 422
    assert len(response.json()["errors"]) == 7
    assert await count(service, "statements") == 0


async def test_the_bank_simulator_uploads_over_http_to_the_running_service(
    service: ServiceHarness,
) -> None:
    app = create_app(
        title=SERVICE.name,
        description=SERVICE.description,
        routers=SERVICE.routers,
        api_keys=ApiKeys(KEYS),
        test_mode=False,
        max_body_bytes=SERVICE.max_body_bytes,
    )
    app.state.service = service.wiring.state
    xml = statement("S-1", credit(123450, reference="RF18539007547034"))

    async with BackgroundServer(app) as server:
        response = await bank_upload(server.url, ACME_KEY, xml)

    assert response.status_code == 201
    assert response.json()["matched"] == 1
    assert len(await published(service, SETTLED)) == 1


def _statements_of(xml: bytes) -> bytes:
    start = xml.index(b"<Stmt>")
    end = xml.index(b"</Stmt>") + len(b"</Stmt>")
    return xml[start:end]
