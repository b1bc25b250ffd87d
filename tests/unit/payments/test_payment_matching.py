"""Only an unambiguous payment is matched; every decision says why."""

from datetime import date

import pytest

from payments.domain.matching import (
    IncomingPayment,
    Matched,
    Tolerance,
    Unmatched,
    apply,
    clues_of,
    decide,
)
from payments.domain.openitems import OpenItem, OpenItems
from payments.domain.remittance import WrittenKeys, name_key, nearness, text_keys
from payments.domain.statement import CreditorReference
from settle_shared.money import Money

PAYER = "NL91ABNA0417164300"
DAY = date(2026, 11, 20)


def invoice(
    number: str,
    open_minor: int = 123450,
    reference: str | None = None,
    customer: str = "C-1",
    credit: bool = False,
) -> OpenItem:
    return OpenItem(
        invoice_id=f"{'CN' if credit else 'INV'}-{number}",
        invoice_number=number,
        customer_id=customer,
        currency="EUR",
        amount_minor=max(open_minor, 123450),
        open_minor=open_minor,
        payment_reference=reference,
        due_date=date(2026, 11, 16),
        kind="credit" if credit else "invoice",
    )


def index(*items: OpenItem, names: dict[str, str] | None = None) -> OpenItems:
    indexed = OpenItems()
    for item in items:
        indexed.add(item)
    for customer, name in (names or {}).items():
        indexed.add_customer(customer, name)
    return indexed


def payment(
    minor: int = 123450,
    text: str = "",
    reference: str | None = None,
    payer: str | None = None,
    account: str | None = None,
    currency: str = "EUR",
) -> IncomingPayment:
    return IncomingPayment(
        payment_id="pmt-1",
        amount=Money.of(minor, currency),
        payer_name=payer,
        payer_account=account,
        remittance=(text,) if text else (),
        references=(CreditorReference(reference, "SCOR"),) if reference else (),
        booked_on=DAY,
    )


def matched(decision: Matched | Unmatched) -> Matched:
    assert isinstance(decision, Matched), decision
    return decision


def unmatched(decision: Matched | Unmatched) -> Unmatched:
    assert isinstance(decision, Unmatched), decision
    return decision


def paid(decision: Matched) -> list[tuple[str, int, bool]]:
    return [(a.invoice_id, a.amount_minor, a.settles) for a in decision.allocations]


def test_a_valid_rf_reference_of_an_open_invoice_settles_it() -> None:
    target = invoice("2026-000123", reference="RF18 5390 0754 7034")
    other = invoice("2026-000124", reference="RF111232")

    decision = matched(decide(payment(reference="RF18539007547034"), index(target, other)))

    assert paid(decision) == [("INV-2026-000123", 123450, True)]
    assert decision.evidence.signals == (
        "structured reference RF18539007547034 is a valid ISO 11649 RF",
        "structured reference RF18539007547034 is the payment reference of invoice 2026-000123",
        "pays the full open amount EUR 1234.50: invoice 2026-000123 settled",
    )


@pytest.mark.parametrize(
    "text",
    [
        "Invoice 2026-000123",
        "inv2026/000123 thanks",
        "RECHNUNG NR. 2026 000123",
        "Factuur: 2026.000123, klantnr 4711",
        "payment for 2026-\u00ad000123",
        "INV2026000123",
        "our ref 000123",
    ],
)
def test_an_invoice_number_in_free_text_is_found_despite_spacing_and_prefixes(text: str) -> None:
    decision = matched(decide(payment(text=text), index(invoice("2026-000123"))))

    assert paid(decision) == [("INV-2026-000123", 123450, True)]
    assert any(
        "invoice 2026-000123 appears in the remittance" in s for s in decision.evidence.signals
    )


def test_a_number_that_is_only_part_of_a_longer_one_is_not_a_mention() -> None:
    assert "000123" in text_keys(["Invoice 2026-000123"])
    decision = unmatched(decide(payment(text="order 1000123"), index(invoice("2026-000123"))))
    assert decision.reason.startswith("no valid structured reference")


@pytest.mark.parametrize(
    ("text", "how"),
    [("Invoice 2026-000132", "one typo"), ("Invoice 2026-0001", "cut short")],
)
def test_a_number_with_a_typo_or_cut_short_matches_when_the_amount_pays_it(
    text: str, how: str
) -> None:
    decision = matched(decide(payment(text=text), index(invoice("2026-000123"))))

    assert paid(decision) == [("INV-2026-000123", 123450, True)]
    assert f"the remittance gives invoice 2026-000123 {how}" in decision.evidence.signals


@pytest.mark.parametrize(
    ("text", "how"),
    [
        ("2026000132", "one typo"),
        ("20260001233", "one typo"),
        ("202600012", "one typo"),
        ("2026000", "cut short"),
        ("202600", "cut short"),
        ("20260", None),
        ("2026000123", None),
        ("Betaling", None),
    ],
)
def test_a_number_comes_near_with_one_typo_or_two_or_more_letters_cut(
    text: str, how: str | None
) -> None:
    assert nearness("2026000123", WrittenKeys(text_keys([text]))) == how


def test_a_near_number_with_another_amount_from_a_payer_known_by_name_only_waits() -> None:
    items = index(invoice("2026-000123"), names={"C-1": "Bakkerij de Vries B.V."})

    decision = unmatched(
        decide(payment(50000, text="Inv 2026-000132", payer="BAKKERIJ DE VRIES BV"), items)
    )
    assert "does not pay its open" in decision.reason
    assert decision.suggestions[0].invoice_ids == ("INV-2026-000123",)


def test_an_rf_reference_with_a_bad_check_digit_is_flagged_and_not_trusted() -> None:
    target = invoice("2026-000123", reference="RF18539007547034")

    decision = unmatched(decide(payment(reference="RF17539007547034"), index(target)))

    assert (
        "structured reference RF17539007547034 (SCOR) has a bad ISO 11649 RF check digit: "
        "not trusted" in decision.evidence.signals
    )
    assert clues_of(payment(reference="RF17539007547034")).trusted_reference_keys == frozenset()


def test_a_bad_reference_does_not_stop_the_invoice_number_from_matching() -> None:
    target = invoice("2026-000123", reference="RF18539007547034")

    decision = matched(
        decide(payment(text="Invoice 2026-000123", reference="RF17539007547034"), index(target))
    )

    assert paid(decision) == [("INV-2026-000123", 123450, True)]
    assert any("bad ISO 11649 RF check digit" in s for s in decision.evidence.signals)


def test_one_payment_for_several_named_invoices_pays_each_of_them() -> None:
    first, second = invoice("2026-000123"), invoice("2026-000124", open_minor=5000)

    decision = matched(
        decide(payment(128450, text="Inv 2026-000123 and 2026-000124"), index(first, second))
    )

    assert paid(decision) == [("INV-2026-000123", 123450, True), ("INV-2026-000124", 5000, True)]


def test_several_named_invoices_the_amount_does_not_add_up_to_wait_for_a_person() -> None:
    first, second = invoice("2026-000123"), invoice("2026-000124", open_minor=5000)

    decision = unmatched(
        decide(payment(100000, text="Inv 2026-000123 and 2026-000124"), index(first, second))
    )

    assert "no combination of the named items" in decision.reason


def test_a_payment_netting_a_credit_note_pays_the_invoice_and_uses_the_credit() -> None:
    target = invoice("2026-000123")
    credit = invoice("CN-2026-0007", open_minor=10000, credit=True)

    decision = matched(
        decide(payment(113450, text="2026-000123 less credit CN-2026-0007"), index(target, credit))
    )

    assert paid(decision) == [("INV-2026-000123", 123450, True), ("CN-CN-2026-0007", 10000, True)]
    assert "credit note CN-2026-0007 of EUR 100.00 is netted" in decision.evidence.signals


def test_a_known_payer_without_reference_pays_the_only_combination_that_adds_up() -> None:
    items = index(
        invoice("2026-000001", 10000), invoice("2026-000002", 25000), invoice("2026-000003", 7000)
    )
    items.learn_account(PAYER, "C-1")

    decision = matched(decide(payment(17000, text="open invoices", account=PAYER), items))

    assert paid(decision) == [("INV-2026-000001", 10000, True), ("INV-2026-000003", 7000, True)]
    assert not decision.teaches_account


def test_a_known_payer_whose_amount_fits_two_combinations_waits_with_both_suggested() -> None:
    items = index(invoice("2026-000001", 10000), invoice("2026-000002", 10000))
    items.learn_account(PAYER, "C-1")

    decision = unmatched(decide(payment(10000, account=PAYER), items))

    assert "several combinations" in decision.reason
    assert {s.invoice_ids for s in decision.suggestions[:2]} == {
        ("INV-2026-000001",),
        ("INV-2026-000002",),
    }


def test_a_number_of_another_customer_than_the_known_payer_waits() -> None:
    items = index(invoice("2026-000123", customer="C-2"))
    items.learn_account(PAYER, "C-1")

    decision = unmatched(decide(payment(text="2026-000123", account=PAYER), items))

    assert "account NL91ABNA0417164300 is known to pay for C-1" in decision.reason


def test_a_payment_naming_an_invoice_paid_already_is_not_applied_elsewhere() -> None:
    settled = invoice("2026-000123")
    items = index(settled, invoice("2026-000999"))
    items.learn_account(PAYER, "C-1")
    items.reduce(settled, 123450, closes=True)

    decision = unmatched(decide(payment(text="Invoice 2026-000123", account=PAYER), items))

    assert "nothing is open any more (paid twice?)" in decision.reason


def test_paying_less_than_is_open_is_a_partial_payment() -> None:
    decision = matched(
        decide(
            payment(minor=50000, reference="RF18539007547034"),
            index(invoice("2026-000123", reference="RF18539007547034")),
        )
    )

    assert paid(decision) == [("INV-2026-000123", 50000, False)]
    assert decision.evidence.signals[-1] == (
        "pays EUR 500.00 of the EUR 1234.50 open: partial payment of invoice 2026-000123, "
        "EUR 734.50 stays open"
    )


def test_a_partial_payment_named_by_number_only_from_an_unknown_payer_waits() -> None:
    decision = unmatched(decide(payment(50000, text="2026-000123"), index(invoice("2026-000123"))))
    assert "a partial payment needs a person" in decision.reason


def test_a_short_payment_within_tolerance_settles_and_writes_the_difference_off() -> None:
    decision = matched(
        decide(
            payment(123400, text="2026-000123"), index(invoice("2026-000123")), Tolerance(100, 100)
        )
    )

    [allocation] = decision.allocations
    assert (allocation.amount_minor, allocation.settles, allocation.written_off_minor) == (
        123400,
        True,
        50,
    )


def test_paying_more_than_is_open_beyond_tolerance_waits_for_a_person() -> None:
    decision = unmatched(
        decide(payment(minor=15000, text="2026-000123"), index(invoice("2026-000123", 10000)))
    )

    assert decision.reason == (
        "pays EUR 150.00 but only EUR 100.00 is open on invoice 2026-000123 (overpayment)"
    )
    assert decision.suggestions[0].invoice_ids == ("INV-2026-000123",)


def test_a_payment_in_another_currency_is_not_applied() -> None:
    decision = unmatched(
        decide(payment(text="2026-000123", currency="USD"), index(invoice("2026-000123")))
    )
    assert any(
        "it is open in EUR and the payment is in USD" in r for r in decision.evidence.rejected
    )


def test_without_references_suggestions_rank_same_amount_and_same_payer_first() -> None:
    items = index(
        invoice("2026-000001"),
        invoice("2026-000002", customer="C-2"),
        invoice("2026-000003", open_minor=999),
        invoice("2026-000004", open_minor=1, customer="C-3"),
        names={"C-1": "Bakkerij de Vries B.V.", "C-2": "Drukkerij Jansen", "C-3": "Other"},
    )

    decision = unmatched(decide(payment(payer="BAKKERIJ DE VRIES BV"), items))

    assert [(s.invoice_ids, s.score) for s in decision.suggestions] == [
        (("INV-2026-000001",), 0.55),
        (("INV-2026-000002",), 0.35),
        (("INV-2026-000003",), 0.25),
    ]
    assert "the payer BAKKERIJ DE VRIES BV is customer C-1" in decision.suggestions[0].reason


def test_a_zero_payment_is_never_applied() -> None:
    decision = unmatched(
        decide(payment(minor=0, text="2026-000123"), index(invoice("2026-000123")))
    )
    assert decision.reason == "the amount is zero: nothing to apply"


def test_applying_a_match_updates_what_is_open_and_learns_the_payer_account() -> None:
    target = invoice("2026-000123", reference="RF18539007547034")
    items = index(target)
    incoming = payment(50000, reference="RF18539007547034", account=PAYER)

    apply(items, incoming, decide(incoming, items))

    assert target.open_minor == 73450
    assert items.customers_paying_from(PAYER) == frozenset({"C-1"})


def test_payer_names_compare_without_case_accents_or_punctuation() -> None:
    assert name_key("Bäckerei Müller GmbH") == name_key("BACKEREI MULLER G.M.B.H.")
    assert name_key("  ") is None
