from datetime import UTC, date, datetime, timedelta

from stdnum import iso11649

from settle_local.scenario import JOURNEY_CUSTOMER, plan_payments
from settle_simulators.erp import Portfolio, journey, portfolio

TODAY = date(2026, 11, 22)


def everything() -> Portfolio:
    debtor = journey("acme-nl", TODAY, datetime(2026, 11, 22, 8, tzinfo=UTC))
    book = portfolio("acme-nl", 30, TODAY)
    return Portfolio(debtor.customers + book.customers, debtor.invoices + book.invoices)


def test_the_plan_is_the_same_every_run() -> None:
    assert plan_payments(everything(), TODAY) == plan_payments(everything(), TODAY)


def test_the_journey_debtor_pays_in_full_six_days_after_the_due_date() -> None:
    book = everything()
    [invoice] = [i for i in book.invoices if i.customer_id == JOURNEY_CUSTOMER]
    payments = [
        p
        for day in plan_payments(book, TODAY).values()
        for p in day
        if p.invoice_id == invoice.invoice_id
    ]
    assert [(p.on, p.entry.amount) for p in payments] == [
        (invoice.due_date + timedelta(days=6), invoice.amount)
    ]
    assert payments[0].entry.structured_reference == invoice.payment_reference


def test_no_payment_is_booked_in_the_past_and_no_invoice_is_overpaid() -> None:
    book = everything()
    plan = plan_payments(book, TODAY)
    paid: dict[str, int] = {}
    for on, payments in plan.items():
        assert on > TODAY
        for payment in payments:
            assert payment.on == on == payment.entry.booking_date
            if payment.invoice_id is not None:
                paid[payment.invoice_id] = (
                    paid.get(payment.invoice_id, 0) + payment.entry.amount.amount_minor
                )
    amounts = {i.invoice_id: i.amount.amount_minor for i in book.invoices}
    assert all(total <= amounts[invoice] for invoice, total in paid.items())


def test_two_strangers_pay_without_any_reference() -> None:
    strangers = [
        p
        for day in plan_payments(everything(), TODAY).values()
        for p in day
        if p.invoice_id is None
    ]
    assert len(strangers) == 2
    assert all(p.entry.structured_reference is None for p in strangers)


def test_payers_quote_a_valid_reference_or_the_invoice_number() -> None:
    book = everything()
    numbers = {i.invoice_id: i.invoice_number for i in book.invoices}
    for day in plan_payments(book, TODAY).values():
        for payment in day:
            if payment.invoice_id is None:
                continue
            reference, remittance = payment.entry.structured_reference, payment.entry.remittance
            assert (reference is not None and iso11649.is_valid(reference)) or (
                remittance is not None and numbers[payment.invoice_id] in remittance
            )


def test_about_one_company_in_ten_is_unknown_to_the_bureau() -> None:
    book = portfolio("acme-nl", 200, TODAY)
    unknown = sum(
        c.master.registration_number.endswith("0000")
        for c in book.customers
        if c.master.registration_number
    )
    assert 5 <= unknown <= 40
