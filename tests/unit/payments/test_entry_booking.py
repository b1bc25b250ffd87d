"""How entries are recognised across overlapping statements, and which of them are payments."""

from dataclasses import replace
from datetime import date
from pathlib import Path

from payments.adapters.camt053 import read_camt053
from payments.domain.booking import EntryKeys, account_id, kind_of, payment_id, payment_lines
from payments.domain.statement import Entry, Location, Party
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


def test_only_booked_credits_that_reverse_nothing_are_payments() -> None:
    assert kind_of(entry()) == "credit"
    assert kind_of(replace(entry(), direction="debit")) == "debit"
    assert kind_of(replace(entry(), reversal=True)) == "reversal"
    assert kind_of(replace(entry(), status="PDNG")) == "not_booked"


def test_a_credit_without_details_is_one_payment_of_the_whole_entry() -> None:
    [line] = payment_lines(entry("REF-1"))
    assert (line.index, line.amount, line.bank_reference) == (1, Money.of(885, "EUR"), "REF-1")


def test_a_batch_is_one_payment_per_transaction_with_its_own_payer() -> None:
    items = list(read_camt053(CORPUS / "viafintech_camt053_v04_ch_postfinance.xml"))
    batch = next(i for i in items if isinstance(i, Entry) and len(i.transactions) == 3)

    lines = payment_lines(batch)

    assert [line.amount.amount_minor for line in lines] == [2000, 4000, 5000]
    assert [line.remittance for line in lines] == [
        ("Mitteilung Return Muster",),
        ("Return Mitteilung Muster",),
        ("Mitteilung Return Mitteilung",),
    ]
    assert {line.payer.name for line in lines if line.payer} == {"Max Mustermann"}


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
