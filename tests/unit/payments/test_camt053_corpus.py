"""Every real bank file in the corpus is read, and every entry in it is accounted for."""

from datetime import date
from pathlib import Path

import pytest

from payments.adapters.camt053 import read_camt053
from payments.domain.booking import kind_of, payment_lines
from payments.domain.checks import check_file
from payments.domain.matching import IncomingPayment, Unmatched, decide
from payments.domain.openitems import OpenItem, OpenItems
from payments.domain.references import check_reference
from payments.domain.statement import (
    Entry,
    InconsistentStatement,
    Statement,
    StatementItem,
)
from settle_shared.money import Money

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpora" / "camt053"


def read(name: str) -> list[StatementItem]:
    return list(read_camt053(CORPUS / name))


def statements(items: list[StatementItem]) -> list[Statement]:
    return [item for item in items if isinstance(item, Statement)]


def entries(items: list[StatementItem]) -> list[Entry]:
    return [item for item in items if isinstance(item, Entry)]


def ledger(items: list[StatementItem]) -> list[tuple[str, int, str, date | None, str | None]]:
    """Each entry as (direction, minor units, currency, booking date, bank reference)."""
    return [
        (
            e.direction,
            e.amount.amount_minor,
            e.amount.currency,
            e.booking_date,
            e.account_servicer_reference,
        )
        for e in entries(items)
    ]


def test_every_corpus_file_is_covered_here() -> None:
    covered = {
        "genkgo_camt053_v02_multi_statement.xml",
        "genkgo_camt053_v03.xml",
        "genkgo_camt053_v08.xml",
        "viafintech_camt053_v02_de_volksbank.xml",
        "viafintech_camt053_v02_nl_ing_batch.xml",
        "viafintech_camt053_v04_ch_postfinance.xml",
        "viafintech_camt053_v08_ch_ubs_scor_qrr.xml",
    }
    assert {path.name for path in CORPUS.glob("*.xml")} == covered


def test_genkgo_multi_statement_file_holds_two_statements_that_add_up() -> None:
    items = read("genkgo_camt053_v02_multi_statement.xml")
    first, second = statements(items)
    assert (first.statement_id, second.statement_id) == (
        "253EURNL26VAYB8060476890",
        "254EURNL26VAYB8060476890",
    )
    assert first.account.iban == "NL26VAYB8060476890"
    assert first.electronic_sequence == 12312
    assert second.electronic_sequence is None
    assert first.opening is not None
    assert (first.opening.code, first.opening.amount.amount_minor) == ("OPBD", 1815)
    assert ledger(items) == [
        ("credit", 885, "EUR", date(2014, 12, 31), None),
        ("debit", 700, "EUR", date(2014, 12, 31), None),
    ]
    [credit, debit] = entries(items)
    assert credit.value_date == date(2015, 1, 2)
    assert credit.transactions[0].end_to_end_id == "000000001"
    assert credit.transactions[0].remittance_lines == ("Transaction Description 1",)
    assert debit.transactions[0].creditor is not None
    assert [c.entries for c in check_file(items)] == [1, 1]


def test_genkgo_v03_is_read_but_refused_for_its_inconsistent_balances_and_details() -> None:
    items = read("genkgo_camt053_v03.xml")
    [statement] = statements(items)
    assert statement.version == "camt.053.001.03"
    assert statement.account.other_id == "NL26VAYB8060476890"
    assert [(b.code, b.amount.currency) for b in statement.balances] == [
        ("OPBD", "EUR"),
        ("CLBD", "SEK"),
        ("OPAV", "CHF"),
        ("CLAV", "JPY"),
    ]
    assert ledger(items) == [
        ("credit", 885, "EUR", date(2014, 12, 31), "XXXXXXXXXXXXXXXXXXXXXXEUR")
    ]
    [details] = entries(items)[0].transactions
    assert details.amount == Money.of(10575, "EUR")
    assert details.debtor is not None
    assert (details.debtor.name, details.debtor.iban) == ("NAME NAME", "NL56AGDH9619008421")
    with pytest.raises(InconsistentStatement) as refused:
        check_file(items)
    messages = [problem.message for problem in refused.value.problems]
    assert any("add up to EUR 105.75 but the entry amount is EUR 8.85" in m for m in messages)
    assert any("the CLBD balance is in SEK but the account is in EUR" in m for m in messages)


@pytest.mark.parametrize("name", ["genkgo_camt053_v03.xml", "genkgo_camt053_v08.xml"])
def test_genkgo_scor_reference_is_read_and_not_trusted_as_rf(name: str) -> None:
    [entry] = entries(read(name))
    [reference] = entry.transactions[0].creditor_references
    assert (reference.value, reference.code, reference.issuer) == (
        "4654654654654654",
        "SCOR",
        "BBA",
    )
    check = check_reference(reference)
    assert not check.trusted
    assert "not ISO 11649 RF" in check.describe()


def test_genkgo_v08_reads_status_codes_and_booking_date_times() -> None:
    items = read("genkgo_camt053_v08.xml")
    [entry] = entries(items)
    assert entry.status == "BOOK"
    assert entry.booking_date == date(2014, 12, 31)
    assert entry.account_servicer_reference == "AAAASESS-FP-CN_98765/01"
    assert entry.transactions[0].amount == Money.of(0, "SEK")
    assert entry.transactions[0].end_to_end_id == "MUELL/FINP/RA12345"
    with pytest.raises(InconsistentStatement, match="transaction 1 is in SEK"):
        check_file(items)


def test_volksbank_statement_adds_up_from_its_previous_closing_balance() -> None:
    items = read("viafintech_camt053_v02_de_volksbank.xml")
    [statement] = statements(items)
    assert statement.opening is not None
    assert statement.opening.code == "PRCD"
    assert ledger(items) == [
        ("debit", 200, "EUR", date(2013, 12, 27), "2013122710583450000"),
        ("debit", 300, "EUR", date(2013, 12, 27), "2013122710583600000"),
        ("credit", 100, "EUR", date(2013, 12, 27), "2013122711085260000"),
        ("debit", 600, "EUR", date(2013, 12, 27), "2013122711513230000"),
    ]
    batch = entries(items)[3]
    assert [tx.amount for tx in batch.transactions] == [
        Money.of(350, "EUR"),
        Money.of(250, "EUR"),
    ]
    return_booking = entries(items)[2]
    assert return_booking.transactions[0].remittance_lines == ("R CKBUCHUNG",)
    assert return_booking.transactions[0].debtor is not None
    assert return_booking.transactions[0].debtor.other_id == "740618130100033626"
    [checked] = check_file(items)
    assert checked.entries == 4


def test_ing_batch_sample_is_read_but_its_cut_entries_fail_balance_and_totals() -> None:
    items = read("viafintech_camt053_v02_nl_ing_batch.xml")
    assert ledger(items) == [
        ("debit", 475374, "EUR", date(2019, 5, 21), "68047a4871ab34285b5555555502010c"),
        ("credit", 268800, "EUR", date(2019, 6, 13), "s8ecaaf0f96f492f603167c748a0b1c6"),
        ("credit", 500000, "EUR", date(2019, 6, 18), "d36e51a0ff7e4561b11c2b1c5d79d9ea"),
    ]
    assert entries(items)[0].transactions == ()
    with pytest.raises(InconsistentStatement) as refused:
        check_file(items)
    assert refused.value.problems[0].location.startswith("/Document/BkToCstmrStmt/Stmt[1]/Bal[3]")
    assert refused.value.problems[0].message == (
        "statement 2019062434566666666666666: OPBD EUR 7329.80 CRDT + booked credits "
        "EUR 7688.00 - booked debits EUR 4753.74 = EUR 10264.06 CRDT expected, "
        "but CLBD is EUR 23038.20 CRDT"
    )
    assert "states 35 entries but holds 3" in refused.value.problems[1].message


def test_postfinance_batches_split_into_one_payment_per_transaction() -> None:
    items = read("viafintech_camt053_v04_ch_postfinance.xml")
    [statement] = statements(items)
    assert statement.currency == "CHF"
    booked = entries(items)
    assert len(booked) == 13
    assert [kind_of(e) for e in booked] == (
        ["debit"] * 6 + ["credit"] * 2 + ["returned"] + ["credit"] * 2 + ["reversal"] * 2
    )
    lines = [line for e in booked if kind_of(e) == "credit" for line in payment_lines(e)]
    assert len(lines) == 21
    assert sum(line.amount.amount_minor for line in lines) == 170056
    assert sum(len(e.transactions) for e in booked) == 32
    [checked] = check_file(items)
    assert checked.entries == 13


def test_ubs_v08_flags_the_bad_qr_reference_and_trusts_the_rf_one() -> None:
    items = read("viafintech_camt053_v08_ch_ubs_scor_qrr.xml")
    assert ledger(items) == [
        ("credit", 47440, "CHF", date(2023, 6, 20), "9999171ZC0173078"),
        ("credit", 8885, "CHF", date(2023, 6, 20), "2022172PH0003127"),
        ("debit", 2097, "EUR", date(2023, 6, 20), "0124571DN6195349"),
    ]
    rf, qrr = (entries(items)[i].transactions[0].creditor_references[0] for i in (1, 2))
    assert check_reference(rf).trusted
    assert (qrr.value, qrr.code) == ("000000270148751802165444888", "QRR")
    assert "bad Swiss QR/ISR reference check digit" in check_reference(qrr).describe()
    with pytest.raises(InconsistentStatement, match="entry 3 is in EUR but the account is in CHF"):
        check_file(items)


def test_a_payment_quoting_the_bad_qr_reference_is_flagged_not_matched() -> None:
    [_, _, debit] = entries(read("viafintech_camt053_v08_ch_ubs_scor_qrr.xml"))
    reference = debit.transactions[0].creditor_references[0]
    items = OpenItems()
    items.add(OpenItem("INV-1", "2026-1", "C-1", "EUR", 2097, 2097, reference.value))
    payment = IncomingPayment("p-1", Money.of(2097, "EUR"), None, None, (), (reference,))

    decision = decide(payment, items)

    assert isinstance(decision, Unmatched)
    assert any("bad Swiss QR/ISR reference check digit" in s for s in decision.evidence.signals)
