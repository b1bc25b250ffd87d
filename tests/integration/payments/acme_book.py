"""The open invoices of tenant acme-nl's customer C-1 that the corrections and sent-back tests
start from, and the payer who pays them."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

from payments.bootstrap import SERVICE, PaymentsSettings
from settle_shared.clock import FixedClock
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness
from settle_simulators.bank import iban

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
PAYER = iban("DE", "370400440532013000")
REFERENCE = "RF18539007547034"


def invoice(number: str, minor: int, reference: str | None = None) -> InvoiceIssued:
    return InvoiceIssued(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=number,
        issue_date=DAY - timedelta(days=40),
        due_date=DAY - timedelta(days=10),
        amount=Money.of(minor, "EUR"),
        payment_reference=reference,
        revision=1,
        received_at=NOW,
    )


async def service_with(
    database_url: str, *invoices: InvoiceIssued
) -> AsyncIterator[ServiceHarness]:
    """Payments on a fresh database, holding the invoices; closed afterwards."""
    harness = await ServiceHarness.start(
        SERVICE, PaymentsSettings(database_url=database_url), FixedClock(NOW)
    )
    for issued in invoices:
        harness.publish(issued)
    await harness.consume()
    yield harness
    await harness.close()
