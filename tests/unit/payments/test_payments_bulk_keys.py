"""A statement read a chunk at a time names its entries exactly as read in one go."""

from dataclasses import replace
from datetime import date

from payments.domain.booking import EntryKeys, key_entries
from payments.domain.statement import Entry, Location
from settle_shared.money import Money


def entry(number: int, status: str = "BOOK", reference: str | None = None) -> Entry:
    return Entry(
        statement_number=1,
        number=number,
        amount=Money.of(885, "EUR"),
        direction="credit",
        reversal=False,
        status=status,
        booking_date=date(2026, 11, 20),
        value_date=date(2026, 11, 20),
        account_servicer_reference=reference,
        entry_reference=None,
        bank_transaction_code=None,
        additional_info=None,
        transactions=(),
        at=Location(f"/Document/BkToCstmrStmt/Stmt[1]/Ntry[{number}]", number),
    )


def test_an_identical_entry_in_a_later_chunk_is_ranked_after_the_earlier_ones() -> None:
    entries = [entry(number) for number in range(1, 6)]
    keys = EntryKeys()

    chunked = key_entries(entries[:2], keys) + key_entries(entries[2:], keys)

    assert [keyed.key for keyed in chunked] == [
        keyed.key for keyed in key_entries(entries, EntryKeys())
    ]
    assert chunked[4].key == f"{chunked[0].key}#5"


def test_an_entry_not_booked_gets_no_key_and_takes_no_rank() -> None:
    keys = EntryKeys()

    pending, booked = key_entries([entry(1, status="PDNG"), entry(2)], keys)

    assert (pending.kind, pending.key) == ("not_booked", None)
    assert booked.key is not None
    assert "#" not in booked.key


def test_each_keyed_entry_says_what_it_is() -> None:
    debit = replace(entry(1, reference="FEE1"), direction="debit")

    [keyed] = key_entries([debit], EntryKeys())

    assert keyed.kind == "debit"
    assert keyed.key == "ref:FEE1|2026-11-20|debit|885EUR"
