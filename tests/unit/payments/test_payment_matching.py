"""Only an unambiguous payment is matched; every decision says why."""

import pytest

from payments.domain.matching import (
    IncomingPayment,
    Matched,
    OpenItem,
    Unmatched,
    clues_of,
    decide,
)
from payments.domain.remittance import name_key, text_keys
from payments.domain.statement import CreditorReference
from settle_shared.money import Money


def invoice(
    number: str,
    open_minor: int = 123450,
    reference: str | None = None,
    customer: str = "C-1",
    customer_name: str | None = "Bakkerij de Vries B.V.",
) -> OpenItem:
    return OpenItem(
        invoice_id=f"INV-{number}",
        invoice_number=number,
        customer_id=customer,
        customer_name=customer_name,
        payment_reference=reference,
        amount=Money.of(max(open_minor, 123450), "EUR"),
        open_amount=Money.of(open_minor, "EUR"),
    )


def payment(
    minor: int = 123450,
    text: str = "",
    reference: str | None = None,
    payer: str | None = None,
    currency: str = "EUR",
) -> IncomingPayment:
    return IncomingPayment(
        payment_id="pmt-1",
        amount=Money.of(minor, currency),
        payer_name=payer,
        payer_account=None,
        remittance=(text,) if text else (),
        references=(CreditorReference(reference, "SCOR"),) if reference else (),
    )


def matched(decision: Matched | Unmatched) -> Matched:
    assert isinstance(decision, Matched), decision
    return decision


def unmatched(decision: Matched | Unmatched) -> Unmatched:
    assert isinstance(decision, Unmatched), decision
    return decision


def test_a_valid_rf_reference_of_an_open_invoice_settles_it() -> None:
    target = invoice("2026-000123", reference="RF18 5390 0754 7034")
    other = invoice("2026-000124", reference="RF111232")

    decision = matched(decide(payment(reference="RF18539007547034"), [target, other]))

    assert decision.invoice == target
    assert decision.settles
    assert decision.applied == Money.of(123450, "EUR")
    assert decision.evidence.signals == (
        "structured reference RF18539007547034 is a valid ISO 11649 RF",
        "structured reference RF18539007547034 is the payment reference of invoice 2026-000123",
        "pays the full open amount EUR 1234.50: invoice settled",
    )
    assert decision.evidence.rejected == (
        "invoice 2026-000124: the amount agrees, but nothing in the payment names it",
    )


@pytest.mark.parametrize(
    "text",
    [
        "Invoice 2026-000123",
        "inv2026/000123 thanks",
        "RECHNUNG NR. 2026 000123",
        "Factuur: 2026.000123, klantnr 4711",
        "payment for 2026-\u00ad000123",
    ],
)
def test_an_invoice_number_in_free_text_is_found_despite_noise(text: str) -> None:
    target = invoice("2026-000123")

    decision = matched(decide(payment(text=text), [target]))

    assert decision.invoice == target
    assert (
        "invoice number 2026-000123 appears in the remittance information"
        in decision.evidence.signals
    )


def test_a_number_that_is_only_part_of_a_longer_one_is_not_a_mention() -> None:
    assert "000123" in text_keys(["Invoice 2026-000123"])
    assert "0001" not in text_keys(["Invoice 2026-000123"])
    assert "12345" not in text_keys(["ref 123456"])


def test_an_rf_reference_with_a_bad_check_digit_is_flagged_and_not_trusted() -> None:
    target = invoice("2026-000123", reference="RF18539007547034")

    decision = unmatched(decide(payment(reference="RF17539007547034"), [target]))

    assert (
        "structured reference RF17539007547034 (SCOR) has a bad ISO 11649 RF check digit: "
        "not trusted" in decision.evidence.signals
    )
    assert decision.reason == (
        "no valid structured reference and no open invoice's number in the remittance"
    )
    assert clues_of(payment(reference="RF17539007547034")).trusted_reference_keys == frozenset()


def test_a_bad_reference_does_not_stop_the_invoice_number_from_matching() -> None:
    target = invoice("2026-000123", reference="RF18539007547034")

    decision = matched(
        decide(payment(text="Invoice 2026-000123", reference="RF17539007547034"), [target])
    )

    assert decision.invoice == target
    assert any("bad ISO 11649 RF check digit" in s for s in decision.evidence.signals)


def test_two_invoices_named_in_one_payment_leave_it_unmatched_with_both_suggested() -> None:
    first, second = invoice("2026-000123"), invoice("2026-000124", open_minor=5000)

    decision = unmatched(decide(payment(text="Inv 2026-000123 and 2026-000124"), [first, second]))

    assert decision.reason == ("the payment points at 2 open invoices (2026-000123, 2026-000124)")
    assert [s.invoice for s in decision.suggestions] == [first, second]
    assert decision.suggestions[0].score == 0.8
    assert decision.evidence.rejected[1] == (
        "invoice 2026-000124: named by the invoice number, not applied: "
        "the payment points at 2 open invoices (2026-000123, 2026-000124)"
    )


def test_a_reference_and_a_number_pointing_at_different_invoices_is_ambiguous() -> None:
    by_reference = invoice("2026-000123", reference="RF18539007547034")
    by_number = invoice("2026-000999")

    decision = unmatched(
        decide(payment(text="2026-000999", reference="RF18539007547034"), [by_reference, by_number])
    )

    assert decision.reason.startswith("the payment points at 2 open invoices")


def test_a_valid_reference_of_no_open_invoice_is_not_overruled_by_free_text() -> None:
    named = invoice("2026-000999")

    decision = unmatched(decide(payment(text="2026-000999", reference="RF111232"), [named]))

    assert decision.reason == (
        "invoice 2026-000999 is named, but structured reference RF111232 belongs to no open invoice"
    )


def test_paying_less_than_is_open_is_a_partial_payment() -> None:
    target = invoice("2026-000123")

    decision = matched(decide(payment(minor=50000, text="2026-000123"), [target]))

    assert not decision.settles
    assert decision.applied == Money.of(50000, "EUR")
    assert decision.evidence.signals[-1] == (
        "pays EUR 500.00 of the EUR 1234.50 open: partial payment, EUR 734.50 stays open"
    )


def test_paying_more_than_is_open_waits_for_a_person() -> None:
    target = invoice("2026-000123", open_minor=10000)

    decision = unmatched(decide(payment(minor=15000, text="2026-000123"), [target]))

    assert decision.reason == (
        "pays EUR 150.00 but only EUR 100.00 is open on invoice 2026-000123 (overpayment)"
    )
    [suggestion] = decision.suggestions
    assert suggestion.invoice == target


def test_a_payment_in_another_currency_is_not_applied() -> None:
    decision = unmatched(
        decide(payment(text="2026-000123", currency="USD"), [invoice("2026-000123")])
    )
    assert decision.reason == "paid in USD but invoice 2026-000123 is open in EUR"


def test_without_references_suggestions_rank_same_amount_and_same_payer_first() -> None:
    same_amount_and_payer = invoice("2026-000001", customer_name="Bakkerij de Vries B.V.")
    same_amount = invoice("2026-000002", customer="C-2", customer_name="Drukkerij Jansen")
    same_payer = invoice("2026-000003", open_minor=999, customer_name="Bakkerij de Vries B.V.")
    unrelated = invoice("2026-000004", open_minor=1, customer="C-3", customer_name="Other")

    decision = unmatched(
        decide(
            payment(payer="BAKKERIJ DE VRIES BV"),
            [unrelated, same_payer, same_amount, same_amount_and_payer],
        )
    )

    assert [(s.invoice.invoice_number, s.score) for s in decision.suggestions] == [
        ("2026-000001", 0.5),
        ("2026-000002", 0.3),
        ("2026-000003", 0.2),
    ]
    assert "the payer BAKKERIJ DE VRIES BV is customer C-1" in decision.suggestions[0].reason
    assert decision.evidence.rejected[0] == (
        "invoice 2026-000001: the amount and the payer name agree, not enough to match"
    )


def test_a_zero_payment_is_never_applied() -> None:
    decision = unmatched(decide(payment(minor=0, text="2026-000123"), [invoice("2026-000123")]))
    assert decision.reason == "the amount is zero: nothing to apply"


def test_short_invoice_numbers_are_not_looked_for_in_free_text() -> None:
    decision = unmatched(decide(payment(text="order 12 paid"), [invoice("12")]))
    assert decision.reason.startswith("no valid structured reference")


def test_payer_names_compare_without_case_accents_or_punctuation() -> None:
    assert name_key("Bäckerei Müller GmbH") == name_key("BACKEREI MULLER G.M.B.H.")
    assert name_key("  ") is None
