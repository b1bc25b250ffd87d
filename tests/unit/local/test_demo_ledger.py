import json

from settle_local.ledger import Ledger
from settle_shared.testing.topic_recorder import Seen


def seen(ce_type: str, **data: object) -> Seen:
    return Seen("t", None, json.dumps(data).encode(), {"ce_type": ce_type})


def ledger_of(*events: Seen) -> Ledger:
    return Ledger(list(events))


def issued(invoice: str, minor: int) -> Seen:
    return seen(
        "settle.invoice.issued.v1",
        invoice_id=invoice,
        amount={"amount_minor": minor, "currency": "EUR"},
    )


def test_open_balances_follow_partial_payments_and_settlements() -> None:
    ledger = ledger_of(
        issued("A", 1000),
        issued("B", 500),
        seen(
            "settle.invoice.partially-paid.v1",
            invoice_id="A",
            open_amount={"amount_minor": 400, "currency": "EUR"},
        ),
        seen("settle.invoice.settled.v1", invoice_id="B", settled_at="2026-11-30T10:00:00+00:00"),
    )
    assert ledger.open_balances() == {"A": 400, "B": 0}
    snapshot = ledger.snapshot(3)
    assert (snapshot.open_invoices, snapshot.open_minor, snapshot.settled) == (1, 400, 1)


def test_a_reminder_requested_after_the_settlement_is_reported() -> None:
    ledger = ledger_of(
        issued("A", 1000),
        issued("B", 1000),
        seen("settle.invoice.settled.v1", invoice_id="A", settled_at="2026-11-30T10:00:00+00:00"),
        seen("settle.invoice.settled.v1", invoice_id="B", settled_at="2026-11-30T10:00:00+00:00"),
        seen(
            "settle.dunning.reminder-requested.v1",
            invoice_id="A",
            requested_at="2026-11-29T09:00:00+00:00",
        ),
        seen(
            "settle.dunning.reminder-requested.v1",
            invoice_id="B",
            requested_at="2026-12-01T09:00:00+00:00",
        ),
    )
    assert ledger.reminders_after_settlement() == ["B"]
