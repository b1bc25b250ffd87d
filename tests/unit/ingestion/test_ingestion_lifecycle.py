from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.domain.invoices import InvoiceContent
from ingestion.domain.lifecycle import (
    Decision,
    InvoiceState,
    Outcome,
    Refusal,
    receive_cancellation,
    receive_version,
)
from settle_shared.events.erp import ErpInvoiceIssued
from settle_shared.money import Money

NOW = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
ISSUED_AT = datetime(2026, 11, 2, 9, 20, tzinfo=UTC)
CONTENT = InvoiceContent.of(
    ErpInvoiceIssued.model_validate(ErpInvoiceIssued.event_type.examples()[0])
)


def held(**changes: Any) -> InvoiceState:
    state = InvoiceState(CONTENT, ISSUED_AT, 1, "open", False, ISSUED_AT)
    return replace(state, **changes)


def version(
    state: InvoiceState | None, content: InvoiceContent = CONTENT, at: datetime = ISSUED_AT
) -> Decision | Refusal:
    return receive_version(state, "INV-1", content, at, customer_known=True, now=NOW)


def decided(result: Decision | Refusal) -> Decision:
    assert isinstance(result, Decision), result
    return result


def refused(result: Decision | Refusal) -> Refusal:
    assert isinstance(result, Refusal), result
    return result


def test_the_first_version_issues_the_invoice_as_revision_one() -> None:
    decision = decided(version(None))
    assert decision.outcome is Outcome.ISSUED
    assert (decision.state.revision, decision.state.status) == (1, "open")
    assert decision.state.received_at == NOW


def test_an_invoice_before_its_customer_remembers_it() -> None:
    decision = decided(
        receive_version(None, "INV-1", CONTENT, ISSUED_AT, customer_known=False, now=NOW)
    )
    assert decision.state.received_before_customer is True


def test_a_later_version_with_other_content_is_an_amendment_naming_its_changes() -> None:
    later = replace(CONTENT, due_date=CONTENT.due_date + timedelta(days=14), payment_terms="NET28")
    decision = decided(version(held(), later, ISSUED_AT + timedelta(days=1)))
    assert decision.outcome is Outcome.AMENDED
    assert decision.changes == ("due_date", "payment_terms")
    assert decision.state.revision == 2
    assert decision.state.content == later


def test_the_same_content_again_is_a_duplicate_that_moves_the_stamp_on() -> None:
    again = decided(version(held(), CONTENT, ISSUED_AT + timedelta(hours=1)))
    assert again.outcome is Outcome.DUPLICATE
    assert again.state.erp_updated_at == ISSUED_AT + timedelta(hours=1)
    assert again.state.revision == 1


def test_an_exact_repeat_changes_nothing() -> None:
    state = held()
    assert decided(version(state)).state is state


def test_an_older_version_is_stale_even_with_other_content() -> None:
    state = held(erp_updated_at=ISSUED_AT + timedelta(days=2), revision=3)
    older = replace(CONTENT, amount=Money.of(1, "EUR"))
    decision = decided(version(state, older, ISSUED_AT + timedelta(days=1)))
    assert decision.outcome is Outcome.STALE
    assert decision.state is state


def test_other_content_under_the_same_stamp_is_a_conflict_listing_the_differences() -> None:
    refusal = refused(version(held(), replace(CONTENT, amount=Money.of(99900, "EUR"))))
    assert (refusal.kind, refusal.slug) == ("conflict", "conflict")
    assert [p.location for p in refusal.problems] == ["/amount/amount_minor"]


def test_an_invoice_cannot_move_to_another_customer_or_currency() -> None:
    moved = replace(CONTENT, customer_id="C-2", amount=Money.of(100, "USD"))
    refusal = refused(version(held(), moved, ISSUED_AT + timedelta(days=1)))
    assert refusal.slug == "invoice-moved"
    assert [p.location for p in refusal.problems] == ["/customer_id", "/amount/currency"]


def test_a_cancellation_is_the_next_revision_and_final() -> None:
    decision = decided(
        receive_cancellation(held(), "INV-1", "C-1001", NOW, "wrong customer", now=NOW)
    )
    assert decision.outcome is Outcome.CANCELLED
    assert (decision.state.status, decision.state.revision) == ("cancelled", 2)
    assert decision.state.cancel_reason == "wrong customer"


def test_a_cancellation_older_than_the_version_held_still_cancels() -> None:
    state = held(erp_updated_at=NOW, revision=2)
    decision = decided(receive_cancellation(state, "INV-1", "C-1001", ISSUED_AT, None, now=NOW))
    assert decision.outcome is Outcome.CANCELLED
    assert decision.state.erp_updated_at == NOW


def test_cancelling_twice_is_a_duplicate() -> None:
    state = held(status="cancelled", revision=2)
    decision = decided(receive_cancellation(state, "INV-1", "C-1001", NOW, None, now=NOW))
    assert (decision.outcome, decision.state) == (Outcome.DUPLICATE, state)


def test_a_cancelled_invoice_cannot_be_amended() -> None:
    state = held(status="cancelled", revision=2)
    later = replace(CONTENT, amount=Money.of(1, "EUR"))
    refusal = refused(version(state, later, NOW))
    assert refusal.slug == "invoice-cancelled"
    assert "a cancelled invoice cannot be amended" in refusal.reason


def test_the_cancelled_invoice_sent_again_unchanged_is_a_duplicate() -> None:
    state = held(status="cancelled", revision=2)
    assert decided(version(state, CONTENT, NOW)).outcome is Outcome.DUPLICATE


def test_an_invoice_never_issued_cannot_be_cancelled() -> None:
    refusal = refused(receive_cancellation(None, "INV-9", "C-1001", NOW, None, now=NOW))
    assert refusal.slug == "invoice-not-issued"


def test_a_cancellation_naming_another_customer_is_refused() -> None:
    refusal = refused(receive_cancellation(held(), "INV-1", "C-2", NOW, None, now=NOW))
    assert [p.location for p in refusal.problems] == ["/customer_id"]
