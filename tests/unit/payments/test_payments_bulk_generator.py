"""The large statement generator writes files the payments service's checks accept."""

import io
from datetime import UTC, datetime

from payments.adapters.statement_files import read_statement_file
from payments.domain.checks import check_file
from payments.domain.statement import Entry
from settle_simulators.camt_generator import FEE_EVERY, sized_portfolio, write_large_statement

CREATED = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def test_a_generated_statement_has_the_entries_asked_for_and_adds_up() -> None:
    out = io.BytesIO()

    written = write_large_statement(out, sized_portfolio(510), "STMT-GEN-1", CREATED)
    [checked] = check_file(read_statement_file(io.BytesIO(out.getvalue())))

    assert checked.entries == written.entries == 510
    assert written.debits == 10 == written.credits // FEE_EVERY
    assert checked.statement.closing is not None
    assert checked.statement.closing.signed_minor == written.closing_minor


def test_generated_payments_carry_the_remittance_the_portfolio_labelled() -> None:
    book = sized_portfolio(200, seed=3)
    out = io.BytesIO()
    write_large_statement(out, book, "STMT-GEN-2", CREATED)

    credits = [
        item
        for item in read_statement_file(io.BytesIO(out.getvalue()))
        if isinstance(item, Entry) and item.direction == "credit"
    ]

    assert [entry.amount for entry in credits] == [p.entry.amount for p in book.payments]
    assert [entry.transactions[0].end_to_end_id for entry in credits] == [
        p.entry.end_to_end_id for p in book.payments
    ]
