"""MT940 reversals: the :61: mark RC (a credit reversed) takes money off the account and RD (a
debit reversed) brings it back; a Dutch /RTRN/ gives the return's reason."""

import io
from datetime import date

from payments.adapters.statement_files import read_statement_file
from payments.domain.booking import TakenBack, kind_of, taken_back
from payments.domain.checks import check_file
from payments.domain.statement import Entry, Party
from settle_shared.money import Money
from settle_simulators.bank import BankEntry, iban, mt940_statement

PAYER = iban("DE", "370400440532013000")


def read(entries: list[BankEntry], opening: int) -> list[Entry]:
    text = mt940_statement("NL91ABNA0417164300", entries, Money.of(opening, "EUR"), "S-1", 1)
    items = list(read_statement_file(io.BytesIO(text)))
    check_file(items)
    return [item for item in items if isinstance(item, Entry)]


def reversed_collection(direction: str = "debit") -> BankEntry:
    return BankEntry(
        Money.of(123450, "EUR"),
        date(2026, 11, 23),
        direction="debit" if direction == "debit" else "credit",
        counterparty_name="B. DE VRIES",
        counterparty_iban=PAYER,
        end_to_end_id="E2E-1",
        reversal=True,
        returns="MD06",
    )


def test_a_reversed_credit_is_a_debit_that_names_the_payment_it_sends_back() -> None:
    [entry] = read([reversed_collection()], opening=123450)

    assert (entry.direction, entry.reversal, kind_of(entry)) == ("debit", True, "reversal")
    [tx] = entry.transactions
    assert (tx.end_to_end_id, tx.return_reason) == ("E2E-1", "MD06")
    assert tx.creditor == Party("B. DE VRIES", PAYER, None)
    assert taken_back(entry) == [TakenBack("E2E-1", Money.of(123450, "EUR"), "MD06")]


def test_a_reversed_debit_brings_the_money_back() -> None:
    [entry] = read([reversed_collection("credit")], opening=0)

    assert (entry.direction, entry.reversal, kind_of(entry)) == ("credit", True, "reversal")
    assert taken_back(entry) == []
