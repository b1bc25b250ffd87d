"""Large camt.053 statements for load tests and benchmarks: the payments of a labelled portfolio
(`settle_simulators.bank.portfolio`, whose open items the receiving side is seeded with) as one
end-of-day statement, with a bank fee debited now and then. The file is written entry by entry;
balances and the stated entry count add up.

    python -m settle_simulators.camt_generator --entries 100000 statement.xml
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from settle_shared.money import Money
from settle_simulators.bank import BankEntry, Portfolio, iban, portfolio, write_statement

ACCOUNT = iban("NL", "ABNA0417164300")
FEE_EVERY = 50
OPENING = Money.of(10_000_000_00, "EUR")


@dataclass(frozen=True)
class GeneratedStatement:
    statement_id: str
    entries: int
    credits: int
    debits: int
    opening_minor: int
    closing_minor: int


def sized_portfolio(entries: int, seed: int = 2026) -> Portfolio:
    """A portfolio whose payments, with the bank fees among them, make `entries` entries: ten
    payments per customer, half again as many open invoices as payments."""
    payments = entries * FEE_EVERY // (FEE_EVERY + 1)
    while payments + payments // FEE_EVERY < entries:
        payments += 1
    return portfolio(
        seed=seed,
        customers=max(20, payments // 10),
        invoices=max(40, payments * 3 // 2),
        payments=payments,
    )


def statement_entries(book: Portfolio) -> Iterator[BankEntry]:
    """The portfolio's payments in order, a bank fee after every FEE_EVERY of them."""
    for number, labelled in enumerate(book.payments, start=1):
        yield labelled.entry
        if number % FEE_EVERY == 0:
            yield BankEntry(
                Money.of(150 + number % 7 * 25, "EUR"),
                labelled.entry.booking_date,
                direction="debit",
                remittance=f"Transaction fees, batch {number // FEE_EVERY}",
                bank_reference=f"FEE{number:010d}",
            )


def write_large_statement(
    out: IO[bytes],
    book: Portfolio,
    statement_id: str,
    created_at: datetime,
    *,
    account: str = ACCOUNT,
    opening: Money = OPENING,
) -> GeneratedStatement:
    credits = debits = 0
    closing = opening.amount_minor
    for entry in statement_entries(book):
        closing += entry.signed_minor
        credits += entry.direction == "credit"
        debits += entry.direction == "debit"
    write_statement(
        out,
        account,
        statement_entries(book),
        opening,
        statement_id,
        created_at,
        entry_count=credits + debits,
        closing_minor=closing,
    )
    return GeneratedStatement(
        statement_id, credits + debits, credits, debits, opening.amount_minor, closing
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m settle_simulators.camt_generator", description=__doc__
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--statement-id", default="STMT-LARGE-0001")
    arguments = parser.parse_args(argv)
    book = sized_portfolio(arguments.entries, arguments.seed)
    with arguments.out.open("wb") as out:
        written = write_large_statement(out, book, arguments.statement_id, datetime.now(UTC))
    print(f"{written.entries} entries written to {arguments.out}")


if __name__ == "__main__":
    main()
