"""Checks a whole file must pass before any of it is applied: balances that add up, batches whose
transactions add up to their entry, totals that match what the bank states, one currency."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from payments.domain.amounts import AmountError, display, display_minor, minor_units
from payments.domain.identity import content_line
from payments.domain.statement import (
    Balance,
    Entry,
    InconsistentStatement,
    StatedTotal,
    Statement,
    StatementItem,
)
from settle_shared.errors import Problem
from settle_shared.money import Money

MAX_PROBLEMS = 50


@dataclass(frozen=True)
class CheckedStatement:
    statement: Statement
    fingerprint: str
    entries: int


def check_file(items: Iterable[StatementItem]) -> list[CheckedStatement]:
    """Read every statement and entry; raise `InconsistentStatement` naming every problem."""
    problems: list[Problem] = []
    checked: list[CheckedStatement] = []
    tally: _Tally | None = None
    for item in items:
        if isinstance(item, Statement):
            if tally is not None:
                checked.append(tally.close(problems))
            tally = _Tally(item)
        elif tally is not None:
            tally.add(item, problems)
    if tally is not None:
        checked.append(tally.close(problems))
    problems.extend(_repeated_statements(checked))
    if problems:
        raise InconsistentStatement(_reason(problems), _capped(problems))
    return checked


@dataclass
class _Side:
    count: int = 0
    minor: int = 0

    def add(self, amount: Money) -> None:
        self.count += 1
        self.minor += amount.amount_minor


class _Tally:
    """Running totals of one statement while its entries stream past."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self.currency = statement.currency
        self.entries = 0
        self.booked_credits_minor = 0
        self.booked_debits_minor = 0
        self.credits = _Side()
        self.debits = _Side()
        self._hash = hashlib.sha256(content_line(statement))

    def add(self, entry: Entry, problems: list[Problem]) -> None:
        self.entries += 1
        self._hash.update(content_line(entry))
        self.currency = self.currency or entry.amount.currency
        if entry.amount.currency != self.currency:
            problems.append(
                Problem(
                    entry.at.describe(),
                    f"{self._entry_name(entry)} is in {entry.amount.currency} "
                    f"but the account is in {self.currency}",
                )
            )
            return
        (self.credits if entry.direction == "credit" else self.debits).add(entry.amount)
        if entry.booked and entry.direction == "credit":
            self.booked_credits_minor += entry.amount.amount_minor
        elif entry.booked:
            self.booked_debits_minor += entry.amount.amount_minor
        problems.extend(_transaction_problems(entry, self._entry_name(entry)))

    def _entry_name(self, entry: Entry) -> str:
        return f"statement {self.statement.statement_id}, entry {entry.number}"

    def close(self, problems: list[Problem]) -> CheckedStatement:
        problems.extend(self._balance_problems())
        problems.extend(self._summary_problems())
        return CheckedStatement(self.statement, self._hash.hexdigest(), self.entries)

    def _balance_problems(self) -> list[Problem]:
        opening, closing = self.statement.opening, self.statement.closing
        if opening is None or closing is None:
            return []
        wrong_currency = [
            Problem(
                balance.at.describe(),
                f"statement {self.statement.statement_id}: the {balance.code} balance is in "
                f"{balance.amount.currency} but the account is in {self.currency}",
            )
            for balance in (opening, closing)
            if balance.amount.currency != self.currency
        ]
        if wrong_currency:
            return wrong_currency
        expected = opening.signed_minor + self.booked_credits_minor - self.booked_debits_minor
        if expected == closing.signed_minor:
            return []
        currency = closing.amount.currency
        return [
            Problem(
                closing.at.describe(),
                f"statement {self.statement.statement_id}: {opening.code} {_signed(opening)} "
                f"+ booked credits {display_minor(self.booked_credits_minor, currency)} "
                f"- booked debits {display_minor(self.booked_debits_minor, currency)} "
                f"= {_signed_minor(expected, currency)} expected, "
                f"but {closing.code} is {_signed(closing)}",
            )
        ]

    def _summary_problems(self) -> list[Problem]:
        summary = self.statement.summary
        stated = (
            ("entries", summary.entries, self.entries, self.credits.minor + self.debits.minor),
            ("credit entries", summary.credits, self.credits.count, self.credits.minor),
            ("debit entries", summary.debits, self.debits.count, self.debits.minor),
        )
        problems: list[Problem] = []
        for label, total, count, minor in stated:
            if total is not None:
                problems.extend(self._stated_total_problems(label, total, count, minor))
        return problems

    def _stated_total_problems(
        self, label: str, total: StatedTotal, count: int, minor: int
    ) -> list[Problem]:
        where = f"statement {self.statement.statement_id}"
        problems: list[Problem] = []
        if total.count is not None and total.count != count:
            problems.append(
                Problem(
                    total.at.describe(),
                    f"{where} states {total.count} {label} but holds {count}",
                )
            )
        if total.total is not None and self.currency is not None:
            try:
                stated_minor = minor_units(str(total.total), self.currency)
            except AmountError as error:
                return [*problems, Problem(total.at.describe(), str(error))]
            if stated_minor != minor:
                problems.append(
                    Problem(
                        total.at.describe(),
                        f"{where} states {label} summing to "
                        f"{display_minor(stated_minor, self.currency)} but they sum to "
                        f"{display_minor(minor, self.currency)}",
                    )
                )
        return problems


def _transaction_problems(entry: Entry, name: str) -> list[Problem]:
    """A batch's transactions must add up to its entry; a batch of credits needs an amount
    for each transaction, since each is a payment of its own."""
    transactions = entry.transactions
    stated = [tx for tx in transactions if tx.amount is not None]
    if not stated:
        if len(transactions) > 1 and entry.direction == "credit":
            return [
                Problem(
                    entry.at.describe(),
                    f"{name} is a batch of {len(transactions)} credits "
                    "but states no amount for any of them",
                )
            ]
        return []
    if len(stated) < len(transactions):
        missing = next(tx for tx in transactions if tx.amount is None)
        return [
            Problem(
                missing.at.describe(),
                f"{name}: transaction {missing.number} states no amount while others do",
            )
        ]
    foreign = [tx for tx in stated if tx.amount and tx.amount.currency != entry.amount.currency]
    if foreign:
        tx = foreign[0]
        return [
            Problem(
                tx.at.describe(),
                f"{name}: transaction {tx.number} is in "
                f"{tx.amount.currency if tx.amount else '?'} but the entry is "
                f"{display(entry.amount)}",
            )
        ]
    total = sum(
        (tx.amount.amount_minor if tx.amount else 0)
        * (1 if (tx.direction or entry.direction) == entry.direction else -1)
        for tx in stated
    )
    if total == entry.amount.amount_minor:
        return []
    return [
        Problem(
            entry.at.describe(),
            f"{name}: its {len(stated)} transaction(s) add up to "
            f"{display_minor(total, entry.amount.currency)} but the entry amount is "
            f"{display(entry.amount)}",
        )
    ]


def _repeated_statements(checked: list[CheckedStatement]) -> list[Problem]:
    seen = Counter((c.statement.account.identifier, c.statement.statement_id) for c in checked)
    return [
        Problem(
            c.statement.at.describe(),
            f"statement {c.statement.statement_id} of account {c.statement.account.identifier} "
            "appears more than once in the file",
        )
        for c in checked
        if seen[(c.statement.account.identifier, c.statement.statement_id)] > 1
    ]


def _signed_minor(minor: int, currency: str) -> str:
    return f"{display_minor(abs(minor), currency)} {'CRDT' if minor >= 0 else 'DBIT'}"


def _signed(balance: Balance) -> str:
    return f"{display(balance.amount)} {'CRDT' if balance.direction == 'credit' else 'DBIT'}"


def _reason(problems: list[Problem]) -> str:
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"{problems[0].message}{more}"


def _capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    left_out = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], Problem("/", f"{left_out} more problem(s) not listed")]
