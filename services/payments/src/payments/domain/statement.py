"""A bank statement as read from the bank's file: statements, balances, entries and the
transactions inside them. Positions (`Location`) say where in the file each thing was read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from typing import Literal

from settle_shared.errors import Problem
from settle_shared.money import Money

Direction = Literal["credit", "debit"]
StatementFormat = Literal["camt.053", "camt.054", "mt940"]
OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODE = "CLBD"
BOOKED = "BOOK"


@dataclass(frozen=True)
class Location:
    path: str
    line: int | None

    def describe(self) -> str:
        return f"{self.path} (line {self.line})" if self.line else self.path


@dataclass(frozen=True)
class Balance:
    code: str
    amount: Money
    direction: Direction
    on: date | None
    at: Location

    @property
    def signed_minor(self) -> int:
        return self.amount.amount_minor if self.direction == "credit" else -self.amount.amount_minor


@dataclass(frozen=True)
class StatedTotal:
    """A count and sum the bank states in TxsSummry (the sum has no currency of its own)."""

    count: int | None
    total: Decimal | None
    at: Location


@dataclass(frozen=True)
class TransactionsSummary:
    entries: StatedTotal | None = None
    credits: StatedTotal | None = None
    debits: StatedTotal | None = None


@dataclass(frozen=True)
class Account:
    iban: str | None
    other_id: str | None
    currency: str | None

    @property
    def identifier(self) -> str:
        return self.iban or self.other_id or ""


@dataclass(frozen=True)
class Statement:
    number: int
    version: str
    message_id: str | None
    statement_id: str
    account: Account
    electronic_sequence: int | None
    created_at: datetime | None
    balances: tuple[Balance, ...]
    summary: TransactionsSummary
    at: Location

    @property
    def source(self) -> StatementFormat:
        if self.version.startswith("camt.054"):
            return "camt.054"
        if self.version.startswith("camt.053"):
            return "camt.053"
        return "mt940"

    @property
    def opening(self) -> Balance | None:
        for code in OPENING_CODES:
            found = next((b for b in self.balances if b.code == code), None)
            if found is not None:
                return found
        return None

    @property
    def closing(self) -> Balance | None:
        return next((b for b in self.balances if b.code == CLOSING_CODE), None)

    @property
    def currency(self) -> str | None:
        """The account's currency as stated, else that of its opening or closing balance."""
        if self.account.currency:
            return self.account.currency
        stated = self.opening or self.closing
        return stated.amount.currency if stated else None


@dataclass(frozen=True)
class Party:
    name: str | None
    iban: str | None
    other_id: str | None

    @property
    def account(self) -> str | None:
        return self.iban or self.other_id


@dataclass(frozen=True)
class CreditorReference:
    """RmtInf/Strd/CdtrRefInf: a structured reference, its type code (Cd or Prtry) and issuer."""

    value: str
    code: str | None = None
    issuer: str | None = None


@dataclass(frozen=True)
class TransactionDetails:
    number: int
    amount: Money | None
    direction: Direction | None
    end_to_end_id: str | None
    account_servicer_reference: str | None
    debtor: Party | None
    creditor: Party | None
    remittance_lines: tuple[str, ...]
    creditor_references: tuple[CreditorReference, ...]
    referred_documents: tuple[str, ...]
    additional_info: str | None
    at: Location
    # The bank's return information (camt RtrInf), reason code and words: this transaction
    # sends back an earlier payment rather than being one of its own.
    return_reason: str | None = None


@dataclass(frozen=True)
class Entry:
    statement_number: int
    number: int
    amount: Money
    direction: Direction
    reversal: bool
    status: str
    booking_date: date | None
    value_date: date | None
    account_servicer_reference: str | None
    entry_reference: str | None
    bank_transaction_code: str | None
    additional_info: str | None
    transactions: tuple[TransactionDetails, ...]
    at: Location

    @property
    def booked(self) -> bool:
        return self.status == BOOKED


StatementItem = Statement | Entry


def sections(items: Iterable[StatementItem]) -> Iterator[tuple[Statement, Iterator[Entry]]]:
    """Each statement with its entries. As with itertools.groupby, read a statement's entries
    before moving on to the next statement."""
    for _, group in groupby(items, key=_statement_number):
        yield _split(group)


def _split(group: Iterator[StatementItem]) -> tuple[Statement, Iterator[Entry]]:
    statement = next(group)
    assert isinstance(statement, Statement), "a reader yields a statement before its entries"
    return statement, (entry for entry in group if isinstance(entry, Entry))


def _statement_number(item: StatementItem) -> int:
    return item.number if isinstance(item, Statement) else item.statement_number


class StatementRejected(Exception):
    """The file cannot be applied as it is; nothing of it is. Problems say where and why."""

    slug = "statement-rejected"
    title = "The statement file was rejected"

    def __init__(self, reason: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems = tuple(problems)


class UnsupportedDocument(StatementRejected):
    slug = "unsupported-document"
    title = "Not a supported bank statement"


class MalformedStatement(StatementRejected):
    slug = "malformed-statement"
    title = "The statement file cannot be read"


class InconsistentStatement(StatementRejected):
    slug = "inconsistent-statement"
    title = "The statement does not add up"
