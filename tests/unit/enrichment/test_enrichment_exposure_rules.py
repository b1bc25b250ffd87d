import pytest

from enrichment.domain.exposure import Crossing, Exposure, LimitCheck, OpenItem, check_limit
from settle_shared.money import Money

LIMIT = Money.of(10000, "EUR")


def item(
    amount: int | None,
    currency: str = "EUR",
    remaining_minor: int | None = None,
    settled: bool = False,
) -> OpenItem:
    return OpenItem(f"INV-{amount}", currency, amount, remaining_minor, settled)


@pytest.mark.parametrize(
    ("open_item", "open_minor"),
    [
        (item(5000), 5000),
        (item(5000, remaining_minor=1200), 1200),
        (item(5000, remaining_minor=1200, settled=True), 0),
        (item(None, settled=True), 0),
        (item(None, remaining_minor=700), 700),
    ],
    ids=["issued", "partially paid", "settled", "settled before issued", "paid before issued"],
)
def test_what_an_invoice_leaves_open(open_item: OpenItem, open_minor: int) -> None:
    assert open_item.open_minor == open_minor


@pytest.mark.parametrize(
    ("open_item", "open_minor"),
    [
        (OpenItem("INV-1", "EUR", 5000, cancelled=True), 0),
        (OpenItem("INV-1", "EUR", 5000, remaining_minor=1200, cancelled=True), 0),
        (OpenItem("INV-1", "EUR", 5000, credited_minor=1500), 3500),
        (OpenItem("INV-1", "EUR", 5000, credited_minor=6000), 0),
        (OpenItem("INV-1", "EUR", 5000, 3000, paid_minor=2000, credited_minor=500), 2500),
        (OpenItem("INV-1", "EUR", 5000, 2500, paid_minor=2000, credited_minor=500), 2500),
        (OpenItem("INV-1", "EUR", 5000, 2500, paid_minor=2000), 2500),
        (OpenItem("INV-1", "EUR", 6000, 3000, paid_minor=2000), 3000),
        (OpenItem("INV-1", "EUR", 4000, 3000, paid_minor=2000), 2000),
    ],
    ids=[
        "cancelled",
        "cancelled after a partial payment",
        "credited",
        "credited beyond its amount",
        "credited after payments spoke",
        "credited, netted by payments already",
        "credit netted by payments, not seen here yet",
        "amount raised after payments spoke",
        "amount lowered after payments spoke",
    ],
)
def test_what_a_changed_invoice_leaves_open(open_item: OpenItem, open_minor: int) -> None:
    assert open_item.open_minor == open_minor


def test_exposure_adds_up_open_invoices_in_the_limit_currency() -> None:
    exposure = Exposure.of([item(3000), item(4000, settled=True), item(2500)], LIMIT)

    assert exposure == Exposure(Money.of(5500, "EUR"), open_invoices=2, uncounted_invoices=0)


def test_open_invoices_in_another_currency_are_not_counted() -> None:
    exposure = Exposure.of([item(900000, "USD"), item(2500)], LIMIT)

    assert exposure == Exposure(Money.of(2500, "EUR"), open_invoices=1, uncounted_invoices=1)


def test_without_a_limit_exposure_is_in_the_currency_of_the_first_invoice() -> None:
    exposure = Exposure.of([item(900, "USD"), item(2500)], None)

    assert exposure == Exposure(Money.of(900, "USD"), open_invoices=1, uncounted_invoices=1)


def test_a_customer_without_invoices_has_no_exposure() -> None:
    assert Exposure.of([], None) == Exposure(None, open_invoices=0, uncounted_invoices=0)


def test_going_above_the_limit_is_a_crossing() -> None:
    exposure = Exposure.of([item(10001)], LIMIT)

    assert check_limit(exposure, LIMIT, was_over=False) == LimitCheck(
        over_limit=True, crossing=Crossing(LIMIT, Money.of(10001, "EUR"))
    )


def test_staying_above_the_limit_is_no_new_crossing() -> None:
    exposure = Exposure.of([item(20000)], LIMIT)

    assert check_limit(exposure, LIMIT, was_over=True) == LimitCheck(over_limit=True)


@pytest.mark.parametrize("was_over", [True, False])
def test_exposure_at_the_limit_is_not_over_it(was_over: bool) -> None:
    exposure = Exposure.of([item(10000)], LIMIT)

    assert check_limit(exposure, LIMIT, was_over) == LimitCheck(over_limit=False)


def test_without_a_limit_nothing_is_over_it() -> None:
    exposure = Exposure.of([item(10**9)], None)

    assert check_limit(exposure, None, was_over=False) == LimitCheck(over_limit=False)
