"""`python -m payments parse` shows integrators what was read; the matcher never matches wrongly
on a labelled portfolio."""

import io
import json
from pathlib import Path

from payments.domain.matching import Matched, apply, decide
from payments.domain.openitems import OpenItems
from payments.entrypoints import parse
from settle_simulators.bank import Portfolio, portfolio
from tests.unit.payments.labelled_portfolio import incoming, open_item

CORPORA = Path(__file__).parents[2] / "fixtures" / "corpora"


def test_parse_prints_every_entry_and_accepts_a_consistent_file() -> None:
    out, err = io.StringIO(), io.StringIO()

    status = parse.main([str(CORPORA / "mt940" / "wolph_mbank.sta")], out, err)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 0
    assert lines[0]["statement"] == "ST170119CYC/1/1"
    assert [line["amount"]["amount_minor"] for line in lines if "entry" in line] == [1, 1, 1]
    assert lines[-1] == {"accepted": True, "statements": 1, "entries": 3}


def test_parse_shows_which_entries_return_money_and_which_take_a_payment_back() -> None:
    out, err = io.StringIO(), io.StringIO()

    status = parse.main(
        [str(CORPORA / "camt053" / "viafintech_camt053_v04_ch_postfinance.xml")], out, err
    )

    entries = {
        line["entry"]: line
        for line in map(json.loads, out.getvalue().splitlines())
        if "entry" in line
    }
    assert status == 0
    assert entries[9]["kind"] == "returned"
    assert {tx["returns_a_payment"] for tx in entries[9]["transactions"]} == {
        "NARR: RETOUR VAL 23.03.2016 BEGUENSTIGTER UNBEKANNT"
    }
    assert entries[12]["kind"] == "reversal"
    assert [tx["returns_a_payment"] for tx in entries[12]["transactions"]] == [
        "MD06: Lastschrift-Widerspruch durch den Zahlungspflichtigen"
    ]
    assert [tx["returns_a_payment"] for tx in entries[10]["transactions"]] == [None, None]


def test_parse_exits_non_zero_with_the_precise_error_for_a_refused_file() -> None:
    out, err = io.StringIO(), io.StringIO()

    status = parse.main(
        [str(CORPORA / "camt053" / "viafintech_camt053_v02_nl_ing_batch.xml")], out, err
    )

    assert status == 1
    assert sum(1 for line in out.getvalue().splitlines() if '"entry"' in line) == 3
    refused = json.loads(err.getvalue())
    assert refused["rejected"] == "inconsistent-statement"
    assert "states 35 entries but holds 3" in " ".join(p["message"] for p in refused["problems"])


def _index(book: Portfolio) -> OpenItems:
    items = OpenItems()
    for customer in book.customers:
        items.add_customer(customer.customer_id, customer.name)
    for item in book.items:
        items.add(open_item(item))
    for account, customer_id in book.known_accounts().items():
        items.learn_account(account, customer_id)
    return items


def test_on_a_noisy_labelled_portfolio_nothing_is_matched_wrongly() -> None:
    book = portfolio(seed=11, customers=300, invoices=3000, payments=500)
    items = _index(book)
    wrong, automatic = [], 0

    for number, labelled in enumerate(book.payments):
        payment = incoming(number, labelled)
        decision = decide(payment, items)
        apply(items, payment, decision)
        if isinstance(decision, Matched):
            automatic += 1
            chosen = {a.invoice_id for a in decision.allocations}
            if not labelled.matchable or chosen != set(labelled.paid):
                wrong.append((labelled.kind, sorted(chosen), labelled.paid))

    assert wrong == []
    assert automatic >= 0.9 * len(book.payments)
