from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.domain.credit_notes import (
    CreditNoteContent,
    HeldCreditNote,
    credit_note_problems,
    receive_credit_note,
)
from ingestion.domain.invoices import InvoiceContent
from ingestion.domain.lifecycle import InvoiceState, Outcome, Refusal
from settle_shared.events.erp import ErpCreditNoteIssued, ErpInvoiceIssued
from settle_shared.money import Money

NOW = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
EXAMPLE = ErpCreditNoteIssued.event_type.examples()[0]
INVOICE = InvoiceState(
    InvoiceContent.of(ErpInvoiceIssued.model_validate(ErpInvoiceIssued.event_type.examples()[0])),
    datetime(2026, 11, 2, 9, 20, tzinfo=UTC),
    1,
    "open",
    False,
    NOW,
)


def note(**changes: Any) -> ErpCreditNoteIssued:
    return ErpCreditNoteIssued.model_validate({**EXAMPLE, **changes})


def problems_of(result: Outcome | Refusal) -> list[str]:
    assert isinstance(result, Refusal), result
    return [problem.location for problem in result.problems]


def test_the_contract_example_credits_its_invoice() -> None:
    assert credit_note_problems(note(), NOW) == []
    assert receive_credit_note(None, note(), INVOICE, 0) is Outcome.ISSUED


def test_an_unlinked_credit_note_is_issued_on_its_own() -> None:
    assert receive_credit_note(None, note(invoice_id=None), None, 0) is Outcome.ISSUED


def test_a_credit_note_with_more_than_fifteen_digits_is_refused() -> None:
    [problem] = credit_note_problems(note(amount={"amount_minor": 10**15, "currency": "EUR"}), NOW)
    assert problem.location == "/amount/amount_minor"


def test_credit_notes_never_credit_more_than_the_invoice() -> None:
    invoiced = INVOICE.content.amount.amount_minor
    assert receive_credit_note(None, note(), INVOICE, invoiced - 10000) is Outcome.ISSUED
    assert problems_of(receive_credit_note(None, note(), INVOICE, invoiced - 9999)) == [
        "/amount/amount_minor"
    ]


def test_a_credit_note_must_fit_the_invoice_it_credits() -> None:
    other = replace(
        INVOICE,
        status="cancelled",
        content=replace(INVOICE.content, customer_id="C-2", amount=Money.of(10**6, "USD")),
    )
    assert problems_of(receive_credit_note(None, note(), other, 0)) == [
        "/invoice_id",
        "/customer_id",
        "/amount/currency",
    ]
    assert problems_of(receive_credit_note(None, note(), None, 0)) == ["/invoice_id"]


def test_a_credit_note_again_is_a_duplicate_older_is_stale_and_other_content_a_conflict() -> None:
    held = HeldCreditNote(CreditNoteContent.of(note()), note().updated_at)
    assert receive_credit_note(held, note(), INVOICE, 10000) is Outcome.DUPLICATE
    earlier = note(updated_at=note().updated_at - timedelta(hours=1))
    assert receive_credit_note(held, earlier, INVOICE, 10000) is Outcome.STALE
    changed = receive_credit_note(
        held, note(amount={"amount_minor": 5, "currency": "EUR"}), INVOICE, 10000
    )
    assert isinstance(changed, Refusal)
    assert changed.slug == "conflict"
