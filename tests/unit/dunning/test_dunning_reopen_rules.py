from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from dunning.domain.cases import Case
from settle_shared.events.dunning import CaseCloseReason
from settle_shared.money import Money

CLOSED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def closed_case(reason: CaseCloseReason) -> Case:
    return Case(
        case_id=uuid4(),
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id="INV-1",
        invoice_number="2026-000001",
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 11, 16),
        amount=Money.of(123450, "EUR"),
        credited=Money.of(0, "EUR"),
        open_amount=Money.of(0, "EUR"),
        payment_reference=None,
        invoice_revision=1,
        policy="standard",
        status="closed",
        close_reason=reason,
        opened_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        closed_at=CLOSED_AT,
    )


def test_a_case_closed_because_its_invoice_was_paid_reopens() -> None:
    assert closed_case("paid").why_not_reopen() is None


@pytest.mark.parametrize("reason", ["cancelled", "credited", "written_off"])
def test_a_case_closed_for_another_reason_stays_closed(reason: CaseCloseReason) -> None:
    assert closed_case(reason).why_not_reopen() == f"case closed ({reason})"


def test_an_open_case_has_nothing_to_reopen() -> None:
    case = replace(closed_case("paid"), status="open", close_reason=None, closed_at=None)
    assert case.why_not_reopen() == "the case is open"
