"""Every camt.054 and MT940 sample in the corpus is read and every entry accounted for; a file
whose figures do not add up is refused whole, and the test says exactly why."""

import io
import re
from pathlib import Path

import pytest
from stdnum import iso11649

from payments.adapters.statement_files import read_statement_file
from payments.domain.checks import check_file
from payments.domain.references import (
    check_reference,
    is_dutch_payment_reference,
    is_finnish_reference,
    is_norwegian_kid,
    references_in_text,
)
from payments.domain.statement import (
    CreditorReference,
    Entry,
    InconsistentStatement,
    Statement,
    StatementItem,
)

CORPORA = Path(__file__).parents[2] / "fixtures" / "corpora"


def read(folder: str, name: str) -> list[StatementItem]:
    return list(read_statement_file(io.BytesIO((CORPORA / folder / name).read_bytes())))


def ledger(items: list[StatementItem]) -> list[tuple[str, int, str]]:
    return [
        (e.direction, e.amount.amount_minor, e.amount.currency)
        for e in items
        if isinstance(e, Entry)
    ]


ACCEPTED = {
    ("camt054", "dvbern_camt054_v04_ch_esr.xml"): [("debit", 14700, "CHF")],
    ("camt054", "dvbern_camt054_v08_ch_qrr.xml"): [("credit", 169222, "CHF")],
    ("camt054", "genkgo_camt054_v02.xml"): [("debit", 20000000, "SEK")],
    ("camt054", "viafintech_camt054_v04_ch_postfinance.xml"): [
        ("credit", 2400, "CHF"),
        ("credit", 5656, "CHF"),
        ("debit", 600, "CHF"),
        ("debit", 1553, "CHF"),
    ],
    ("mt940", "wolph_mbank.sta"): [("credit", 1, "PLN")] * 3,
}

REFUSED = {
    ("camt054", "genkgo_camt054_v08_ch_isr.xml"): (
        1,
        "entry 1: transaction 1 is in CHF but the entry is SEK 200000.00",
    ),
    ("mt940", "jejik_deutschebank.txt"): (
        1,
        "OPBD EUR 0.00 CRDT + booked credits EUR 0.00 - booked debits EUR 12.35 = EUR 12.35 DBIT "
        "expected, but CLBD is EUR 0.00 CRDT",
    ),
    ("mt940", "wolph_jejik_abnamro.sta"): (
        10,
        "OPBD EUR 3236.28 CRDT + booked credits EUR 0.00 - booked debits EUR 321.44 = "
        "EUR 2914.84 CRDT expected, but CLBD is EUR 876.84 CRDT",
    ),
    ("mt940", "wolph_jejik_ing.sta"): (
        7,
        "booked debits EUR 50.27 = EUR 45.59 DBIT expected, but CLBD is EUR 3.47 CRDT",
    ),
    ("mt940", "wolph_jejik_postfinance.sta"): (
        4,
        "OPBD CHF 229.20 CRDT + booked credits CHF 10.10 - booked debits CHF 79.90 = "
        "CHF 159.40 CRDT expected, but CLBD is CHF 159.60 CRDT",
    ),
    ("mt940", "wolph_jejik_rabobank.sta"): (
        5,
        "OPBD EUR 473.17 CRDT + booked credits EUR 0.00 - booked debits EUR 1213.28 = "
        "EUR 740.11 DBIT expected, but CLBD is EUR 395.82 CRDT",
    ),
    ("mt940", "wolph_jejik_triodos.sta"): (
        2,
        "booked debits EUR 715.70 = EUR 4259.39 CRDT expected, but CLBD is EUR 4370.79 CRDT",
    ),
}


def test_every_camt054_and_mt940_sample_is_covered_here() -> None:
    files = {
        (path.parent.name, path.name)
        for folder in ("camt054", "mt940")
        for path in (CORPORA / folder).iterdir()
        if path.suffix != ".md"
    }
    assert files == set(ACCEPTED) | set(REFUSED)


@pytest.mark.parametrize(("folder", "name"), sorted(ACCEPTED))
def test_a_consistent_sample_is_read_whole_and_passes_the_checks(folder: str, name: str) -> None:
    items = read(folder, name)

    assert ledger(items) == ACCEPTED[(folder, name)]
    assert sum(c.entries for c in check_file(items)) == len(ACCEPTED[(folder, name)])


@pytest.mark.parametrize(("folder", "name"), sorted(REFUSED))
def test_a_sample_whose_figures_do_not_add_up_is_read_then_refused_saying_why(
    folder: str, name: str
) -> None:
    entries, why = REFUSED[(folder, name)]
    items = read(folder, name)

    assert len(ledger(items)) == entries
    with pytest.raises(InconsistentStatement) as refused:
        check_file(items)
    assert any(why in problem.message for problem in refused.value.problems)


def test_mt940_dutch_structured_details_give_payer_and_remittance() -> None:
    items = read("mt940", "wolph_mbank.sta")
    statement = next(i for i in items if isinstance(i, Statement))
    first = next(i for i in items if isinstance(i, Entry))

    assert (statement.source, statement.account.identifier) == (
        "mt940",
        "PL29114010810000267002001002",
    )
    assert first.account_servicer_reference == "MB170119012058"
    assert "TRANSAKCJA COLLECT" in first.transactions[0].remittance_lines[0]


def test_the_abn_amro_betalingskenmerk_is_found_in_the_text() -> None:
    entry = next(i for i in read("mt940", "wolph_jejik_abnamro.sta") if isinstance(i, Entry))
    [found] = references_in_text(entry.transactions[0].remittance_lines)
    assert (found.value, found.issuer) == ("000000042188659", "CUR")


def test_the_qr_references_of_the_postfinance_notification_are_valid() -> None:
    entry = next(
        i for i in read("camt054", "dvbern_camt054_v08_ch_qrr.xml") if isinstance(i, Entry)
    )
    checks = [check_reference(r) for tx in entry.transactions for r in tx.creditor_references]
    assert [(c.key, c.valid_as) for c in checks] == [
        ("539115429773825311971477453", "Swiss QR/ISR reference"),
        ("662437765447746478179744715", "Swiss QR/ISR reference"),
    ]


def _vectors(section: str) -> list[tuple[str, bool]]:
    text = (CORPORA / "refs" / "vectors.md").read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 2 and cells[1][:1] in ("V", "I") and cells[0] != "value":
            for value in re.split(r",\s*", cells[0].split(" (")[0]):
                if value and "random" not in value:
                    rows.append((value.strip("*").replace(" ", ""), cells[1].startswith("V")))
    return rows


@pytest.mark.parametrize(
    ("section", "scheme"),
    [
        ("ISO 11649 RF", "ISO 11649 RF"),
        ("Belgian OGM/VCS", "Belgian OGM/VCS"),
        ("Swiss QR-reference", "Swiss QR/ISR reference"),
    ],
)
def test_published_vectors_hold_or_fail_as_published(section: str, scheme: str) -> None:
    vectors = _vectors(section)
    assert vectors
    for value, valid in vectors:
        check = check_reference(CreditorReference(value, "SCOR"))
        assert (check.valid_as == scheme) is valid, value


@pytest.mark.parametrize(
    ("section", "is_valid"),
    [
        ("Finnish national reference", is_finnish_reference),
        ("Dutch betalingskenmerk", is_dutch_payment_reference),
        ("Norwegian KID", is_norwegian_kid),
    ],
)
def test_national_reference_vectors_hold_or_fail_as_published(
    section: str, is_valid: object
) -> None:
    assert callable(is_valid)
    vectors = _vectors(section)
    assert vectors
    for value, valid in vectors:
        assert is_valid(value) is valid, value


def test_our_rf_check_agrees_with_python_stdnum() -> None:
    for value, _ in _vectors("ISO 11649 RF"):
        assert check_reference(CreditorReference(value)).trusted == iso11649.is_valid(value)
