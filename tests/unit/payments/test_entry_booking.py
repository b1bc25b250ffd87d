"""How entries are recognised across overlapping statements, and which of them are payments."""

from dataclasses import replace
from datetime import date
from pathlib import Path

from payments.adapters.camt053 import read_camt053
from payments.domain.booking import (
    EntryKeys,
    TakenBack,
    account_id,
    kind_of,
    payment_id,
    payment_lines,
    taken_back,
)
from payments.domain.statement import Entry, Location, Party, TransactionDetails
from settle_shared.money import Money

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpora" / "camt053"


def entry(reference: str | None = None, number: int = 1, statement: int = 1) -> Entry:
    return Entry(
        statement_number=statement,
        number=number,
        amount=Money.of(885, "EUR"),
        direction="credit",
        reversal=False,
        status="BOOK",
        booking_date=date(2014, 12, 31),
        value_date=date(2015, 1, 2),
        account_servicer_reference=reference,
        entry_reference=None,
        bank_transaction_code=None,
        additional_info=None,
        transactions=(),
        at=Location(f"/Document/BkToCstmrStmt/Stmt[{statement}]/Ntry[{number}]", number * 10),
    )


def test_an_entry_without_a_bank_reference_is_known_by_its_content_in_any_statement() -> None:
    in_first = EntryKeys().key(entry(number=1, statement=1))
    in_second = EntryKeys().key(entry(number=7, statement=2))
    assert in_first == in_second
    assert in_first.startswith("sha256:")


def test_entries_that_differ_in_content_get_different_keys() -> None:
    keys = EntryKeys()
    assert keys.key(entry()) != keys.key(replace(entry(), amount=Money.of(886, "EUR")))


def test_identical_entries_in_one_statement_are_both_payments() -> None:
    keys = EntryKeys()
    first, second = keys.key(entry(number=1)), keys.key(entry(number=2))
    assert second == f"{first}#2"


def test_an_entry_with_a_bank_reference_is_known_by_it() -> None:
    key = EntryKeys().key(entry("2013122711085260000"))
    assert key == "ref:2013122711085260000|2014-12-31|credit|885EUR"
    assert EntryKeys().key(replace(entry("2013122711085260000"), additional_info="x")) == key


def test_entries_keep_the_keys_they_had_before_return_information_was_read() -> None:
    tx = TransactionDetails(
        number=1,
        amount=Money.of(1500, "CHF"),
        direction="credit",
        end_to_end_id="E2E-7",
        account_servicer_reference=None,
        debtor=Party("Muster AG", "CH9300762011623852957", None),
        creditor=None,
        remittance_lines=("Rechnung 2026-0042",),
        creditor_references=(),
        referred_documents=(),
        additional_info=None,
        at=Location("/Document/BkToCstmrStmt/Stmt[1]/Ntry[4]/NtryDtls/TxDtls", 3),
    )
    paid = replace(entry(), amount=Money.of(1500, "CHF"), transactions=(tx,))

    # The key this entry had before transactions could carry a return reason.
    assert EntryKeys().key(paid) == (
        "sha256:a75dbf5b4020267cde8f67081c9ed53286613e5f54b7070b8b54f9ab9ab3e5b6"
    )
    returned = replace(paid, transactions=(replace(tx, return_reason="AC04"),))
    assert EntryKeys().key(returned) != EntryKeys().key(paid)


def test_only_booked_credits_that_reverse_nothing_are_payments() -> None:
    assert kind_of(entry()) == "credit"
    assert kind_of(replace(entry(), direction="debit")) == "debit"
    assert kind_of(replace(entry(), reversal=True)) == "reversal"
    assert kind_of(replace(entry(), status="PDNG")) == "not_booked"


def test_a_credit_without_details_is_one_payment_of_the_whole_entry() -> None:
    [line] = payment_lines(entry("REF-1"))
    assert (line.index, line.amount, line.bank_reference) == (1, Money.of(885, "EUR"), "REF-1")


def postfinance_entry(number: int) -> Entry:
    items = read_camt053(CORPUS / "viafintech_camt053_v04_ch_postfinance.xml")
    return next(i for i in items if isinstance(i, Entry) and i.number == number)


def test_a_batch_is_one_payment_per_transaction_with_its_own_payer() -> None:
    lines = payment_lines(postfinance_entry(10))

    assert [line.amount.amount_minor for line in lines] == [1500, 900]
    assert [line.remittance for line in lines] == [("Mitteilung 132",), ("Mitteilung 131",)]
    assert [line.payer.name for line in lines if line.payer] == [
        "Rutschmann Pia",
        "Bernasconi Maria",
    ]


def test_money_this_account_sent_coming_back_is_no_payment() -> None:
    returned = postfinance_entry(9)

    assert [tx.return_reason for tx in returned.transactions] == [
        "NARR: RETOUR VAL 23.03.2016 BEGUENSTIGTER UNBEKANNT"
    ] * 3
    assert kind_of(returned) == "returned"
    assert payment_lines(returned) == []


def test_a_batch_pays_with_its_payments_and_not_with_what_it_returns() -> None:
    returned = postfinance_entry(9)
    payment = replace(returned.transactions[0], return_reason=None)
    batch = replace(returned, transactions=(payment, *returned.transactions[1:]))

    assert kind_of(batch) == "credit"
    assert [line.amount.amount_minor for line in payment_lines(batch)] == [2000]


def test_a_refunded_direct_debit_names_the_payment_it_takes_back() -> None:
    refund = postfinance_entry(12)

    assert kind_of(refund) == "reversal"
    assert taken_back(refund) == [
        TakenBack(
            "EndToEnd-2B6C-CHDDBB5",
            Money.of(600, "CHF"),
            "MD06: Lastschrift-Widerspruch durch den Zahlungspflichtigen",
        )
    ]


def test_a_reversed_credit_names_its_payment_by_end_to_end_id_if_it_can() -> None:
    refund = postfinance_entry(12)
    [tx] = refund.transactions
    bank_reversal = replace(refund, transactions=(replace(tx, return_reason=None),))
    unnamed = replace(refund, transactions=(replace(tx, end_to_end_id="NOTPROVIDED"),))
    plain_debit = replace(bank_reversal, reversal=False)

    [back] = taken_back(bank_reversal)
    assert back.reason == "the bank reversed its booking"
    assert taken_back(unnamed) == [
        TakenBack(
            None,
            Money.of(600, "CHF"),
            "MD06: Lastschrift-Widerspruch durch den Zahlungspflichtigen",
        )
    ]
    assert taken_back(replace(bank_reversal, transactions=())) == [
        TakenBack(None, Money.of(600, "CHF"), "the bank reversed its booking")
    ]
    assert taken_back(plain_debit) == []
    assert taken_back(replace(refund, status="PDNG")) == []


def test_payment_ids_are_stable_and_distinct_per_line() -> None:
    first = payment_id("acme-nl", "NL91ABNA0417164300", "ref:1", 1)
    assert first == payment_id("acme-nl", "NL91ABNA0417164300", "ref:1", 1)
    assert first != payment_id("acme-nl", "NL91ABNA0417164300", "ref:1", 2)
    assert first != payment_id("other-be", "NL91ABNA0417164300", "ref:1", 1)


def test_a_payer_iban_is_compacted_and_other_accounts_kept_as_stated() -> None:
    assert account_id(Party("A", "nl91 abna 0417 1643 00", None)) == "NL91ABNA0417164300"
    assert account_id(Party("A", "CH1111111111111111111", None)) == "CH1111111111111111111"
    assert account_id(Party("A", None, "740618130100033626")) == "740618130100033626"
    assert account_id(None) is None
