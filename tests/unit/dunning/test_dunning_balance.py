import pytest

from dunning.domain.balance import Balance, PaymentsFigure
from settle_shared.money import Money


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


def paid(total: int, leaving_open: int) -> PaymentsFigure:
    return PaymentsFigure(paid=eur(total), open_amount=eur(leaving_open))


def test_without_credits_or_payments_the_whole_amount_is_open() -> None:
    balance = Balance(eur(1000), eur(0))

    assert (balance.open_amount, balance.closes_as()) == (eur(1000), None)


def test_linked_credit_notes_lower_what_is_open() -> None:
    assert Balance(eur(1000), eur(250)).open_amount == eur(750)


def test_payments_figure_is_taken_when_it_counted_what_dunning_counted() -> None:
    assert Balance(eur(1000), eur(0), paid(400, 600)).open_amount == eur(600)


def test_a_credit_note_payments_has_not_netted_yet_still_lowers_what_is_open() -> None:
    # Payments' figure predates the credit note of 100 that dunning already counted.
    assert Balance(eur(1000), eur(100), paid(400, 600)).open_amount == eur(500)


def test_a_credit_note_payments_netted_before_dunning_saw_it_is_not_counted_twice() -> None:
    before = Balance(eur(1000), eur(0), paid(400, 500))  # payments netted a credit of 100
    after = Balance(eur(1000), eur(100), paid(400, 500))  # then the credit note arrives here

    assert (before.open_amount, after.open_amount) == (eur(500), eur(500))


def test_an_amount_amended_down_is_open_less_what_was_paid() -> None:
    assert Balance(eur(800), eur(0), paid(400, 600)).open_amount == eur(400)


def test_never_more_than_payments_says_is_open_even_after_an_amount_raised() -> None:
    assert Balance(eur(1500), eur(0), paid(400, 600)).open_amount == eur(600)


def test_a_credit_that_covers_what_is_left_closes_the_case_as_credited() -> None:
    balance = Balance(eur(1000), eur(600), paid(400, 600))

    assert (balance.open_amount, balance.closes_as()) == (eur(0), "credited")


def test_more_credit_than_owed_leaves_nothing_open_not_a_negative_amount() -> None:
    balance = Balance(eur(1000), eur(1200))

    assert (balance.open_amount, balance.closes_as()) == (eur(0), "credited")


def test_an_amount_amended_down_to_what_was_paid_closes_the_case_as_paid() -> None:
    assert Balance(eur(400), eur(0), paid(400, 600)).closes_as() == "paid"


@pytest.mark.parametrize("credited", [0, 999])
def test_a_case_with_something_left_to_pay_stays_open(credited: int) -> None:
    assert Balance(eur(1000), eur(credited)).closes_as() is None
