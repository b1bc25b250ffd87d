"""A person's match: amounts as given, the rest filled earliest due first, refusals precise."""

from collections.abc import Iterable
from datetime import date

import pytest

from payments.domain.manual import ManualMatchRefused, Requested, manual_match
from payments.domain.matching import Allocation
from payments.domain.openitems import ItemStatus, OpenItem
from settle_shared.money import Money


def item(
    number: str,
    open_minor: int,
    due: date = date(2026, 11, 1),
    customer: str = "C-1",
    currency: str = "EUR",
    status: ItemStatus = "open",
) -> OpenItem:
    return OpenItem(
        invoice_id=f"INV-{number}",
        invoice_number=number,
        customer_id=customer,
        currency=currency,
        amount_minor=open_minor,
        open_minor=open_minor,
        due_date=due,
        status=status,
    )


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


LATE = item("2", 30000, due=date(2026, 11, 20))
EARLY = item("1", 20000, due=date(2026, 11, 5))


def shares(allocations: Iterable[Allocation]) -> dict[str, int]:
    return {a.invoice_id: a.amount_minor for a in allocations}


def test_invoices_without_amounts_are_filled_earliest_due_first() -> None:
    match = manual_match(
        eur(35000), [Requested("INV-2"), Requested("INV-1")], [LATE, EARLY], "Ann", "phoned"
    )

    assert shares(match.allocations) == {"INV-2": 15000, "INV-1": 20000}
    assert [a.settles for a in match.allocations] == [False, True]
    assert match.unapplied_minor == 0
    assert match.customer_id == "C-1"


def test_money_beyond_the_invoices_stays_unapplied_and_the_account_is_learned() -> None:
    match = manual_match(eur(60000), [Requested("INV-1")], [EARLY], "Ann", "phoned")

    assert shares(match.allocations) == {"INV-1": 20000}
    assert match.unapplied_minor == 40000
    assert match.teaches_account


def test_given_amounts_are_applied_as_given_before_the_rest_is_filled() -> None:
    match = manual_match(
        eur(30000), [Requested("INV-1"), Requested("INV-2", eur(25000))], [LATE, EARLY], "A", "n"
    )

    assert shares(match.allocations) == {"INV-1": 5000, "INV-2": 25000}


def test_the_evidence_says_who_matched_by_hand_and_why() -> None:
    match = manual_match(eur(20000), [Requested("INV-1")], [EARLY], "Ann", "customer phoned")

    assert match.evidence.signals == ("matched by hand by Ann: customer phoned",)


@pytest.mark.parametrize(
    ("requested", "items", "kind", "detail"),
    [
        ([Requested("INV-9")], [EARLY], "unknown-invoice", "no invoice INV-9"),
        (
            [Requested("INV-1")],
            [item("1", 20000, status="settled")],
            "invoice-closed",
            "invoice 1 is settled, nothing is open",
        ),
        (
            [Requested("INV-1")],
            [item("1", 20000, currency="USD")],
            "currency-mismatch",
            "invoice 1 is in USD, the payment in EUR",
        ),
        (
            [Requested("INV-1", Money.of(100, "USD"))],
            [EARLY],
            "currency-mismatch",
            "USD 1.00 for invoice INV-1, but the payment is in EUR",
        ),
        (
            [Requested("INV-1"), Requested("INV-3")],
            [EARLY, item("3", 100, customer="C-2")],
            "several-customers",
            "the invoices belong to customers C-1, C-2",
        ),
        (
            [Requested("INV-1"), Requested("INV-1")],
            [EARLY],
            "duplicate-invoice",
            "invoice INV-1 is listed twice",
        ),
        (
            [Requested("INV-1", eur(20001))],
            [EARLY],
            "over-allocated",
            "EUR 200.01 for invoice 1, but only EUR 200.00 is open",
        ),
        (
            [Requested("INV-1", eur(20000)), Requested("INV-2", eur(20000))],
            [EARLY, LATE],
            "over-allocated",
            "EUR 400.00 allocated, but the payment is EUR 350.00",
        ),
        (
            [Requested("INV-2", eur(35000)), Requested("INV-1")],
            [EARLY, item("2", 40000)],
            "nothing-left",
            "nothing of the payment is left for invoice 1",
        ),
    ],
)
def test_a_match_that_cannot_be_applied_is_refused_with_the_reason(
    requested: list[Requested], items: list[OpenItem], kind: str, detail: str
) -> None:
    with pytest.raises(ManualMatchRefused) as refused:
        manual_match(eur(35000), requested, items, "Ann", "n")

    assert (refused.value.kind, refused.value.detail) == (kind, detail)
