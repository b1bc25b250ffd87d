import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingestion.bootstrap import SERVICE, IngestionSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import (
    ErpCreditNoteIssued,
    ErpInvoiceAmended,
    ErpInvoiceCancelled,
    ErpInvoiceIssued,
)
from settle_shared.events.topics import INGESTION_REJECTED, INVOICES
from settle_shared.testing.harness import ServiceHarness, payloads

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
ISSUED_AT = datetime(2026, 11, 2, 9, 20, tzinfo=UTC)
ISSUED = ErpInvoiceIssued.event_type.examples()[0]


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    harness = await ServiceHarness.start(
        SERVICE, IngestionSettings(database_url=fresh_database), FixedClock(NOW)
    )
    yield harness
    await harness.close()


def issued(**changes: Any) -> ErpInvoiceIssued:
    return ErpInvoiceIssued.model_validate({**ISSUED, "payment_terms": "NET14", **changes})


def amended(hours_later: int, **changes: Any) -> ErpInvoiceAmended:
    return ErpInvoiceAmended.model_validate(
        {
            **ISSUED,
            "payment_terms": "NET14",
            "updated_at": ISSUED_AT + timedelta(hours=hours_later),
            **changes,
        }
    )


def cancelled(hours_later: int, **changes: Any) -> ErpInvoiceCancelled:
    example = ErpInvoiceCancelled.event_type.examples()[0]
    return ErpInvoiceCancelled.model_validate(
        {**example, "updated_at": ISSUED_AT + timedelta(hours=hours_later), **changes}
    )


def credit_note(**changes: Any) -> ErpCreditNoteIssued:
    example = ErpCreditNoteIssued.event_type.examples()[0]
    return ErpCreditNoteIssued.model_validate({**example, **changes})


async def announced(service: ServiceHarness) -> list[tuple[str, dict[str, Any]]]:
    await service.relay_outbox()
    records = service.published(INVOICES.name)
    types = [dict(r.headers)["ce_type"].decode() for r in records]
    return list(zip(types, payloads(records), strict=True))


def dead_letters(service: ServiceHarness) -> list[dict[str, str]]:
    return [
        {name: value.decode() for name, value in record.headers}
        for record in service.published(INGESTION_REJECTED.name)
    ]


async def invoice_row(service: ServiceHarness) -> dict[str, Any]:
    async with service.pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT status, revision, amount_minor, due_date, payment_terms, cancel_reason, "
            "content_hash FROM invoices"
        )
    assert row is not None
    return dict(row)


async def test_an_amendment_is_announced_with_the_whole_invoice_and_what_changed(
    service: ServiceHarness,
) -> None:
    service.publish(issued())
    service.publish(
        amended(
            24,
            amount={"amount_minor": 113450, "currency": "EUR"},
            due_date="2026-11-30",
            payment_terms="NET28",
            reason="discount agreed with the buyer",
        )
    )
    await service.consume()

    [(first_type, first), (second_type, second)] = await announced(service)
    assert (first_type, first["revision"], first["payment_terms"]) == (
        "settle.invoice.issued.v1",
        1,
        "NET14",
    )
    assert second_type == "settle.invoice.amended.v1"
    assert second["revision"] == 2
    assert second["changes"] == ["due_date", "amount", "payment_terms"]
    assert second["reason"] == "discount agreed with the buyer"
    assert (second["amount"]["amount_minor"], second["due_date"]) == (113450, "2026-11-30")
    row = await invoice_row(service)
    assert (row["revision"], row["payment_terms"], row["amount_minor"]) == (2, "NET28", 113450)


async def test_a_reissue_with_a_later_stamp_and_other_terms_is_an_amendment(
    service: ServiceHarness,
) -> None:
    service.publish(issued())
    service.publish(issued(payment_terms="NET30", updated_at=ISSUED_AT + timedelta(hours=1)))
    await service.consume()

    [_, (kind, event)] = await announced(service)
    assert (kind, event["changes"], event["reason"]) == (
        "settle.invoice.amended.v1",
        ["payment_terms"],
        None,
    )


async def test_an_older_version_arriving_after_a_newer_one_is_stale_and_announced_never(
    service: ServiceHarness,
) -> None:
    service.publish(amended(48, amount={"amount_minor": 100000, "currency": "EUR"}))
    service.publish(amended(24, amount={"amount_minor": 110000, "currency": "EUR"}))
    service.publish(issued())
    await service.consume()

    [(kind, event)] = await announced(service)
    assert (kind, event["amount"]["amount_minor"]) == ("settle.invoice.issued.v1", 100000)
    assert dead_letters(service) == []
    assert (await invoice_row(service))["revision"] == 1


async def test_a_cancellation_is_announced_once_and_the_invoice_cannot_be_amended_after(
    service: ServiceHarness,
) -> None:
    service.publish(issued())
    service.publish(cancelled(24, reason="issued to the wrong customer"))
    service.publish(cancelled(25))
    service.publish(amended(48, amount={"amount_minor": 1, "currency": "EUR"}))
    await service.consume()

    events = await announced(service)
    assert [kind for kind, _ in events] == [
        "settle.invoice.issued.v1",
        "settle.invoice.cancelled.v1",
    ]
    assert events[1][1]["revision"] == 2
    assert events[1][1]["reason"] == "issued to the wrong customer"
    [dead_letter] = dead_letters(service)
    assert "a cancelled invoice cannot be amended" in dead_letter["settle-dlq-reason"]
    row = await invoice_row(service)
    assert (row["status"], row["revision"], row["amount_minor"]) == ("cancelled", 2, 123450)


async def test_cancelling_an_invoice_never_issued_is_dead_lettered_with_the_reason(
    service: ServiceHarness,
) -> None:
    service.publish(cancelled(1))
    await service.consume()

    [dead_letter] = dead_letters(service)
    assert "was never received, so it cannot be cancelled" in dead_letter["settle-dlq-reason"]
    assert json.loads(dead_letter["settle-dlq-problems"])[0]["location"] == "/invoice_id"
    assert await announced(service) == []


async def test_a_credit_note_linked_to_its_invoice_is_announced_once(
    service: ServiceHarness,
) -> None:
    service.publish(issued())
    note_event = service.publish(credit_note())
    service.publish(credit_note(), event_id=note_event)
    service.publish(credit_note())
    await service.consume()

    events = await announced(service)
    assert [kind for kind, _ in events] == [
        "settle.invoice.issued.v1",
        "settle.credit-note.issued.v1",
    ]
    assert events[1][1]["invoice_id"] == "INV-2026-000123"
    assert events[1][1]["amount"] == {"amount_minor": 10000, "currency": "EUR"}


async def test_credit_notes_crediting_more_than_the_invoice_are_refused(
    service: ServiceHarness,
) -> None:
    service.publish(issued())
    service.publish(credit_note(amount={"amount_minor": 100000, "currency": "EUR"}))
    service.publish(
        credit_note(credit_note_id="CN-2", amount={"amount_minor": 23451, "currency": "EUR"})
    )
    await service.consume()

    [dead_letter] = dead_letters(service)
    assert dead_letter["settle-dlq-reason"] == (
        "credit note CN-2 cannot credit invoice INV-2026-000123"
    )
    assert len(await announced(service)) == 2


async def test_every_lifecycle_event_redelivered_publishes_nothing_more(
    service: ServiceHarness,
) -> None:
    lifecycle = [issued(), amended(24, due_date="2026-11-30"), credit_note(), cancelled(72)]
    ids = [service.publish(event) for event in lifecycle]
    for event, event_id in zip(lifecycle, ids, strict=True):
        service.publish(event, event_id=event_id)
    await service.consume()

    kinds = [kind for kind, _ in await announced(service)]
    assert kinds == [
        "settle.invoice.issued.v1",
        "settle.invoice.amended.v1",
        "settle.credit-note.issued.v1",
        "settle.invoice.cancelled.v1",
    ]
    assert dead_letters(service) == []
