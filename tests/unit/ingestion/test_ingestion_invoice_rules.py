from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ingestion.domain.invoices import (
    InvoiceContent,
    changed_fields,
    differences,
    invoice_problems,
)
from settle_shared.events.erp import ErpInvoiceIssued

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
EXAMPLE = ErpInvoiceIssued.event_type.examples()[0]


def invoice(**changes: Any) -> ErpInvoiceIssued:
    return ErpInvoiceIssued.model_validate({**EXAMPLE, **changes})


def amount(minor: int, currency: str = "EUR") -> dict[str, Any]:
    return {"amount_minor": minor, "currency": currency}


def locations(record: ErpInvoiceIssued) -> list[str]:
    return [problem.location for problem in invoice_problems(record, NOW)]


def test_the_contract_example_is_a_valid_invoice() -> None:
    assert invoice_problems(invoice(), NOW) == []


def test_a_due_date_before_the_issue_date_is_refused() -> None:
    [problem] = invoice_problems(invoice(issue_date="2026-11-02", due_date="2026-11-01"), NOW)
    assert problem.location == "/due_date"
    assert problem.message == "the due date 2026-11-01 is before the issue date 2026-11-02"


def test_an_invoice_due_on_its_issue_date_is_accepted() -> None:
    assert locations(invoice(issue_date="2026-11-02", due_date="2026-11-02")) == []


def test_a_payment_term_over_a_year_is_refused() -> None:
    issued = date(2026, 11, 2)
    assert locations(invoice(issue_date=issued, due_date=issued + timedelta(days=365))) == []
    [problem] = invoice_problems(
        invoice(issue_date=issued, due_date=issued + timedelta(days=366)), NOW
    )
    assert problem.location == "/due_date"
    assert "payment term of 366 days" in problem.message


@pytest.mark.parametrize("minor", [0, -12345])
def test_an_amount_that_is_not_positive_is_refused(minor: int) -> None:
    [problem] = invoice_problems(invoice(amount=amount(minor)), NOW)
    assert problem.location == "/amount/amount_minor"
    assert f"must be positive, not {minor}" in problem.message


def test_an_amount_with_more_than_fifteen_digits_is_refused() -> None:
    assert locations(invoice(amount=amount(999_999_999_999_999))) == []
    assert locations(invoice(amount=amount(1_000_000_000_000_000))) == ["/amount/amount_minor"]


def test_an_issue_date_more_than_a_year_ahead_is_refused() -> None:
    ahead = TODAY + timedelta(days=365)
    assert locations(invoice(issue_date=ahead, due_date=ahead)) == []
    too_far = ahead + timedelta(days=1)
    [problem] = invoice_problems(invoice(issue_date=too_far, due_date=too_far), NOW)
    assert problem.location == "/issue_date"
    assert problem.message == f"the issue date {too_far} is more than a year after today"


def test_an_issue_date_more_than_ten_years_ago_is_refused() -> None:
    oldest = TODAY - timedelta(days=3652)
    assert locations(invoice(issue_date=oldest, due_date=oldest)) == []
    too_old = oldest - timedelta(days=1)
    assert locations(invoice(issue_date=too_old, due_date=too_old)) == ["/issue_date"]


@pytest.mark.parametrize(
    "reference",
    [None, "RF18539007547034", "RF18 5390 0754 7034", "rf18539007547034", "2026-000123"],
)
def test_a_plausible_payment_reference_is_accepted(reference: str | None) -> None:
    assert locations(invoice(payment_reference=reference)) == []


def test_a_creditor_reference_with_wrong_check_digits_is_refused() -> None:
    [problem] = invoice_problems(invoice(payment_reference="RF19539007547034"), NOW)
    assert problem.location == "/payment_reference"
    assert "not a valid" in problem.message


def test_a_blank_payment_reference_is_refused() -> None:
    assert locations(invoice(payment_reference="  ")) == ["/payment_reference"]


def test_an_invoice_stamped_more_than_a_day_ahead_is_refused() -> None:
    assert locations(invoice(updated_at=NOW + timedelta(days=2))) == ["/updated_at"]


def test_every_problem_is_reported_at_once() -> None:
    record = invoice(
        issue_date=TODAY + timedelta(days=400),
        due_date=TODAY + timedelta(days=399),
        amount=amount(0),
        payment_reference="RF00123",
    )
    assert locations(record) == [
        "/due_date",
        "/issue_date",
        "/amount/amount_minor",
        "/payment_reference",
    ]


def test_the_same_invoice_stamped_again_has_the_same_fingerprint() -> None:
    first = InvoiceContent.of(invoice())
    stamped_later = InvoiceContent.of(invoice(updated_at=NOW))
    assert first.fingerprint() == stamped_later.fingerprint()
    assert first.fingerprint() != InvoiceContent.of(invoice(amount=amount(1))).fingerprint()


def test_payment_terms_are_part_of_the_fingerprint() -> None:
    without = InvoiceContent.of(invoice())
    net14 = InvoiceContent.of(invoice(payment_terms="NET14"))
    assert without.fingerprint() != net14.fingerprint()
    assert net14.fingerprint() != InvoiceContent.of(invoice(payment_terms="NET30")).fingerprint()


def test_an_invoice_without_payment_terms_keeps_the_fingerprint_it_had_before_terms_existed() -> (
    None
):
    document = InvoiceContent.of(invoice()).as_document()
    assert "payment_terms" not in document
    assert set(document) == {
        "customer_id",
        "invoice_number",
        "issue_date",
        "due_date",
        "amount",
        "payment_reference",
    }


@pytest.mark.parametrize("terms", ["  ", "x" * 65])
def test_blank_or_prose_payment_terms_are_refused(terms: str) -> None:
    assert locations(invoice(payment_terms=terms)) == ["/payment_terms"]


def test_a_change_names_every_field_that_differs() -> None:
    first = InvoiceContent.of(invoice())
    again = InvoiceContent.of(
        invoice(amount=amount(99, "USD"), due_date="2026-11-30", payment_terms="NET28")
    )
    assert [(p.location, p.message) for p in differences(first, again)] == [
        ("/due_date", 'held as "2026-11-16", now "2026-11-30"'),
        ("/amount/amount_minor", "held as 123450, now 99"),
        ("/amount/currency", 'held as "EUR", now "USD"'),
        ("/payment_terms", 'held as null, now "NET28"'),
    ]
    assert changed_fields(first, again) == ["due_date", "amount", "payment_terms"]


def test_identical_content_has_no_differences() -> None:
    assert differences(InvoiceContent.of(invoice()), InvoiceContent.of(invoice())) == []
    assert changed_fields(InvoiceContent.of(invoice()), InvoiceContent.of(invoice())) == []
