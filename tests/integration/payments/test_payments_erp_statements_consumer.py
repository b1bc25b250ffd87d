"""Bank statement files the ERP forwards over Kafka: imported exactly like an HTTP upload."""

from base64 import b64encode
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from payments.bootstrap import SERVICE, PaymentsSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import ErpBankStatementReceived
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.events.topics import PAYMENTS, PAYMENTS_DEAD_LETTER
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness, payloads
from settle_simulators.bank import BankEntry, iban, statement_xml

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
ACCOUNT = "NL91ABNA0417164300"
PAYER = iban("DE", "370400440532013000")
SETTLED = "settle.invoice.settled.v1"
RECEIVED = "settle.payment.received.v1"


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, PaymentsSettings(database_url=fresh_database), FixedClock(NOW)
    )
    harness.publish(
        InvoiceIssued(
            tenant="acme-nl",
            customer_id="C-1",
            invoice_id="INV-1",
            invoice_number="2026-000123",
            issue_date=DAY - timedelta(days=30),
            due_date=DAY - timedelta(days=16),
            amount=Money.of(123450, "EUR"),
            payment_reference="RF18539007547034",
            revision=1,
            received_at=NOW,
        )
    )
    await harness.consume()
    yield harness
    await harness.close()


def statement(statement_id: str, minor: int = 123450, closing_typo: bool = False) -> bytes:
    entry = BankEntry(
        Money.of(minor, "EUR"),
        DAY,
        counterparty_name="BAKKERIJ DE VRIES BV",
        counterparty_iban=PAYER,
        structured_reference="RF18539007547034",
        end_to_end_id=f"E2E-{statement_id}",
    )
    xml = statement_xml(
        ACCOUNT, [entry], Money.of(1000000, "EUR"), statement_id, NOW, electronic_sequence=1
    )
    return xml.replace(b"11234.50", b"11234.51") if closing_typo else xml


def forwarded(
    content: bytes | str, file_id: str = "bank-2026-11-20-001"
) -> ErpBankStatementReceived:
    encoded = content if isinstance(content, str) else b64encode(content).decode()
    return ErpBankStatementReceived(
        tenant="acme-nl",
        file_id=file_id,
        media_type="application/xml",
        content_base64=encoded,
        received_at=NOW,
    )


async def published(service: ServiceHarness, ce_type: str) -> list[dict[str, Any]]:
    await service.relay_outbox()
    return payloads(service.published(PAYMENTS.name, ce_type))


async def count(service: ServiceHarness, table: str) -> int:
    async with service.pool.acquire() as connection:
        value: int = await connection.fetchval(f"SELECT count(*) FROM {table}")
    return value


def dead_letter_reasons(service: ServiceHarness) -> list[str]:
    return [
        dict(record.headers)["settle-dlq-reason"].decode()
        for record in service.broker.records(PAYMENTS_DEAD_LETTER.name)
    ]


async def test_a_forwarded_statement_is_imported_and_settles_the_invoice(
    service: ServiceHarness,
) -> None:
    service.publish(forwarded(statement("S-1")))
    await service.consume()

    [received] = await published(service, RECEIVED)
    assert (received["source"], received["statement_id"]) == ("camt.053", "S-1")
    [settled] = await published(service, SETTLED)
    assert settled["invoice_id"] == "INV-1"
    assert settled["paid"] == {"amount_minor": 123450, "currency": "EUR"}
    assert dead_letter_reasons(service) == []


async def test_the_same_file_forwarded_twice_credits_nothing_twice(
    service: ServiceHarness,
) -> None:
    event_id = service.publish(forwarded(statement("S-1")))
    service.publish(forwarded(statement("S-1")), event_id=event_id)
    service.publish(forwarded(statement("S-1")))
    await service.consume()

    assert len(await published(service, RECEIVED)) == 1
    assert len(await published(service, SETTLED)) == 1
    assert await count(service, "payments") == 1
    assert dead_letter_reasons(service) == []


async def test_a_file_that_does_not_add_up_is_dead_lettered_and_the_stream_goes_on(
    service: ServiceHarness,
) -> None:
    service.publish(forwarded(statement("S-1", closing_typo=True), file_id="bad-file"))
    service.publish(forwarded(statement("S-2"), file_id="good-file"))
    await service.consume()

    [reason] = dead_letter_reasons(service)
    assert reason.startswith("bank statement file bad-file: statement S-1: OPBD EUR 10000.00")
    assert reason.endswith("but CLBD is EUR 11234.51 CRDT")
    [received] = await published(service, RECEIVED)
    assert received["statement_id"] == "S-2"


async def test_content_that_is_not_base64_is_dead_lettered(service: ServiceHarness) -> None:
    service.publish(forwarded("not base64 at all!", file_id="garbled"))
    await service.consume()

    [reason] = dead_letter_reasons(service)
    assert reason.startswith("bank statement file garbled: content_base64 is not base64")
    assert await count(service, "statements") == 0


async def test_a_statement_id_resent_with_other_content_is_dead_lettered(
    service: ServiceHarness,
) -> None:
    service.publish(forwarded(statement("S-1", minor=50000), file_id="first"))
    service.publish(forwarded(statement("S-1", minor=60000), file_id="second"))
    await service.consume()

    [reason] = dead_letter_reasons(service)
    assert reason == (
        f"bank statement file second: statement S-1 of account {ACCOUNT} "
        "was imported before with different content"
    )
    assert await count(service, "payments") == 1
