"""The reader streams: statements come before their entries, and memory stays flat however long
the file is."""

import io
import os
from datetime import UTC, date, datetime
from pathlib import Path

from payments.adapters.camt053 import read_camt053
from payments.domain.statement import Entry, Statement, sections
from settle_shared.money import Money
from settle_simulators.bank import BankEntry, statement_xml

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpora" / "camt053"
ENTRIES = 8000


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def long_statement(path: Path, entries: int) -> None:
    """One statement with `entries` copies of a realistic credit (balances are not the point)."""
    entry = BankEntry(
        Money.of(12345, "EUR"),
        date(2026, 11, 20),
        counterparty_name="Bakkerij de Vries B.V.",
        counterparty_iban="DE89370400440532013000",
        remittance="Invoice 2026-000123 " * 5,
        structured_reference="RF18539007547034",
        end_to_end_id="E2E-1",
    )
    xml = statement_xml(
        "NL91ABNA0417164300", [entry], Money.of(0, "EUR"), "S-1", datetime(2026, 11, 20, tzinfo=UTC)
    )
    head, rest = xml.split(b"<Ntry>", 1)
    body, tail = rest.rsplit(b"</Ntry>", 1)
    with path.open("wb") as file:
        file.write(head)
        for _ in range(entries):
            file.write(b"<Ntry>" + body + b"</Ntry>")
        file.write(tail)


def test_memory_does_not_grow_with_the_number_of_entries(tmp_path: Path) -> None:
    path = tmp_path / "long.xml"
    long_statement(path, ENTRIES)
    assert path.stat().st_size > 10_000_000
    read = 0
    after_warm_up = 0

    for item in read_camt053(path):
        if isinstance(item, Entry):
            read += 1
            if read == 1000:
                after_warm_up = resident_bytes()

    assert read == ENTRIES
    # Keeping the parsed tree would cost some 100 MB here.
    assert resident_bytes() - after_warm_up < 20_000_000


def test_a_statement_is_handed_out_before_its_entries() -> None:
    kinds = [
        type(item).__name__
        for item in read_camt053(CORPUS / "genkgo_camt053_v02_multi_statement.xml")
    ]
    assert kinds == ["Statement", "Entry", "Statement", "Entry"]


def test_sections_pair_each_statement_with_its_own_entries() -> None:
    pairs = [
        (statement.statement_id, [entry.amount.amount_minor for entry in entries])
        for statement, entries in sections(
            read_camt053(CORPUS / "genkgo_camt053_v02_multi_statement.xml")
        )
    ]
    assert pairs == [("253EURNL26VAYB8060476890", [885]), ("254EURNL26VAYB8060476890", [700])]


def test_a_statement_without_entries_is_still_handed_out() -> None:
    xml = statement_xml(
        "NL91ABNA0417164300",
        [],
        Money.of(500, "EUR"),
        "S-EMPTY",
        datetime(2026, 11, 20, tzinfo=UTC),
    )
    items = list(read_camt053(io.BytesIO(xml)))
    assert [type(item) for item in items] == [Statement]
