from datetime import date

import pytest

from segmentation.domain.behaviour import InvoiceOutcome, PaymentBehaviour
from segmentation.domain.rules import RiskProfile, decide

TODAY = date(2026, 11, 22)


def behaviour(*days_late: int, open_invoices: int = 0) -> PaymentBehaviour:
    due = date(2026, 6, 1)
    outcomes = [InvoiceOutcome(due, date.fromordinal(due.toordinal() + d)) for d in days_late]
    outcomes += [InvoiceOutcome(date(2026, 12, 1), None)] * open_invoices
    return PaymentBehaviour.of(outcomes, TODAY)


def profile(score: int | None = None, strategic: bool = False) -> RiskProfile:
    return RiskProfile(strategic_account=strategic, bureau_score=score, bureau_rating=None)


def test_a_strategic_account_is_strategic_whatever_its_history() -> None:
    decision = decide(profile(score=5, strategic=True), behaviour(40, 50, 60))
    assert decision.segment == "strategic"
    assert "strategic" in decision.reasons[0]


@pytest.mark.parametrize(
    ("score", "segment"),
    [
        (None, "standard"),
        (10, "high_risk"),
        (29, "high_risk"),
        (30, "standard"),
        (59, "standard"),
        (60, "reliable"),
    ],
)
def test_without_enough_history_the_bureau_score_decides(score: int | None, segment: str) -> None:
    decision = decide(profile(score=score), behaviour(0, 0))
    assert decision.segment == segment
    assert "too little history" in decision.reasons[0]


@pytest.mark.parametrize(
    ("days_late", "segment"),
    [
        ((0, 0, 0), "reliable"),
        ((0, 2, 4), "reliable"),
        ((5, 10, 15), "standard"),
        ((10, 20, 30), "late_payer"),
    ],
)
def test_with_three_paid_invoices_payment_history_overrides_the_bureau(
    days_late: tuple[int, ...], segment: str
) -> None:
    decision = decide(profile(score=95), behaviour(*days_late))
    assert decision.segment == segment
    assert decision.reasons[0].startswith("3 invoices paid")


def test_behaviour_counts_open_overdue_and_late_invoices() -> None:
    outcomes = [
        InvoiceOutcome(date(2026, 11, 1), date(2026, 10, 30)),
        InvoiceOutcome(date(2026, 11, 1), date(2026, 11, 11)),
        InvoiceOutcome(date(2026, 11, 10), None),
        InvoiceOutcome(date(2026, 12, 10), None),
    ]
    result = PaymentBehaviour.of(outcomes, TODAY)
    assert result.settled_invoices == 2
    assert result.settled_late == 1
    assert result.average_days_late == 5.0
    assert result.open_invoices == 2
    assert result.overdue_now == 1


def test_a_cancelled_invoice_is_neither_open_nor_a_sample() -> None:
    due = date(2026, 6, 1)
    outcomes = [
        InvoiceOutcome(due, date(2026, 7, 1), cancelled=True),
        InvoiceOutcome(due, None, cancelled=True),
        InvoiceOutcome(due, date(2026, 6, 1)),
    ]

    result = PaymentBehaviour.of(outcomes, TODAY)

    assert (result.settled_invoices, result.open_invoices, result.overdue_now) == (1, 0, 0)
    assert result.average_days_late == 0


@pytest.mark.parametrize(
    ("outcome", "open_invoices", "settled_invoices"),
    [
        (InvoiceOutcome(date(2026, 6, 1), None, amount_minor=1000, credited_minor=1000), 0, 0),
        (InvoiceOutcome(date(2026, 6, 1), None, amount_minor=1000, credited_minor=400), 1, 0),
        (InvoiceOutcome(date(2026, 6, 1), None, amount_minor=None, credited_minor=400), 1, 0),
        (
            InvoiceOutcome(
                date(2026, 6, 1), date(2026, 6, 11), amount_minor=1000, credited_minor=1000
            ),
            0,
            1,
        ),
    ],
    ids=[
        "credited in full before it was paid",
        "credited in part",
        "amount not known",
        "paid, then credited in full",
    ],
)
def test_a_credit_note_is_never_a_payment(
    outcome: InvoiceOutcome, open_invoices: int, settled_invoices: int
) -> None:
    result = PaymentBehaviour.of([outcome], TODAY)

    assert (result.open_invoices, result.settled_invoices) == (open_invoices, settled_invoices)
