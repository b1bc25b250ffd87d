"""SWIFT MT940 statements, read with the mt-940 library one statement (:20: to :62:) at a time,
so memory follows the longest statement, not the file. Each statement turns into the same
`Statement` and `Entry` values a camt.053 file gives; `:86:` texts in the Dutch structured form
(/EREF/.../IBAN/.../NAME/.../REMI/..., /RTRN/ for a return's reason) and the German one (?20...)
are split into payer, end to end id and remittance; any other `:86:` is remittance text as it
stands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import mt940

from payments.domain.amounts import AmountError, money_from_text
from payments.domain.statement import (
    Account,
    Balance,
    Direction,
    Entry,
    Location,
    MalformedStatement,
    Party,
    Statement,
    StatementItem,
    TransactionDetails,
    TransactionsSummary,
)
from settle_shared.errors import Problem
from settle_shared.money import Money

VERSION = "MT940"
_STATEMENT_START = re.compile(rb"^:20:")
_TRANSACTION = re.compile(rb"^:61:")
_DUTCH_FIELDS = re.compile(
    r"/(EREF|IBAN|NAME|REMI|BIC|MARF|CSID|ORDP|BENM|TRTP|PREF|RTRN|CREF|ISDT)/"
)
# The :61: debit/credit mark: a reversal of a credit (RC) takes money off the account, a
# reversal of a debit (RD) brings it back.
_DIRECTIONS: dict[str, Direction] = {"C": "credit", "D": "debit", "RC": "debit", "RD": "credit"}
_BALANCE_CODES = {
    "final_opening_balance": "OPBD",
    "intermediate_opening_balance": "OPBD",
    "final_closing_balance": "CLBD",
    "intermediate_closing_balance": "CLBD",
}


def read_mt940(source: str | Path | IO[bytes]) -> Iterator[StatementItem]:
    """Every statement of the file, each followed by its entries, in file order."""
    number = 0
    for first_line, lines in _statements(source):
        number += 1
        yield from _read_statement(number, first_line, lines)
    if number == 0:
        raise MalformedStatement(
            "the file holds no MT940 statement (no :20: tag)", [Problem("line 1", "no :20:")]
        )


def _statements(source: str | Path | IO[bytes]) -> Iterator[tuple[int, list[bytes]]]:
    """The raw lines of each statement, with the line number it starts on."""
    stream: IO[bytes] = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
    try:
        current: list[bytes] = []
        start = 0
        for line_number, line in enumerate(stream, start=1):
            if _STATEMENT_START.match(line):
                if current:
                    yield start, current
                current, start = [], line_number
            if start:
                current.append(line)
        if current:
            yield start, current
    finally:
        if isinstance(source, str | Path):
            stream.close()


def _read_statement(number: int, first_line: int, lines: list[bytes]) -> Iterator[StatementItem]:
    at = Location(f"statement {number} (:20: on line {first_line})", first_line)
    parsed = mt940.models.Transactions()
    try:
        parsed.parse(_decode(b"".join(lines)))
    except (RuntimeError, ValueError, KeyError, AttributeError) as error:
        raise MalformedStatement(
            f"{at.describe()} cannot be read as MT940: {error}",
            [Problem(at.describe(), str(error))],
        ) from error
    data = parsed.data
    currency = parsed.currency
    if currency is None:
        raise MalformedStatement(
            f"{at.describe()} states no balance, so no currency",
            [Problem(at.describe(), "no :60F:/:60M: or :62F:/:62M: balance")],
        )
    reference = str(data.get("transaction_reference") or "").strip()
    if not reference:
        raise MalformedStatement(f"{at.describe()} has an empty :20:", [Problem(at.path, ":20:")])
    statement_number = data.get("statement_number")
    yield Statement(
        number=number,
        version=VERSION,
        message_id=None,
        statement_id=f"{reference}/{statement_number}" if statement_number else reference,
        account=Account(
            iban=None, other_id=str(data.get("account_identification") or ""), currency=currency
        ),
        electronic_sequence=None,
        created_at=None,
        balances=tuple(_balances(data, at)),
        summary=TransactionsSummary(),
        at=at,
    )
    transaction_lines = [first_line + i for i, line in enumerate(lines) if _TRANSACTION.match(line)]
    for index, transaction in enumerate(parsed.transactions, start=1):
        line = transaction_lines[index - 1] if index <= len(transaction_lines) else first_line
        where = Location(f"statement {number}, :61: #{index} (line {line})", line)
        yield _entry(number, index, transaction.data, currency, where)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _balances(data: dict[str, Any], at: Location) -> Iterator[Balance]:
    for key, code in _BALANCE_CODES.items():
        balance = data.get(key)
        if balance is None:
            continue
        signed = Decimal(balance.amount.amount)
        yield Balance(
            code=code,
            amount=_money(abs(signed), balance.amount.currency, at),
            direction="debit" if signed < 0 else "credit",
            on=date(balance.date.year, balance.date.month, balance.date.day),
            at=at,
        )


def _entry(
    statement_number: int, number: int, data: dict[str, Any], currency: str, at: Location
) -> Entry:
    signed = Decimal(data["amount"].amount)
    status = str(data.get("status") or "")
    direction = _DIRECTIONS.get(status) or ("debit" if signed < 0 else "credit")
    amount = _money(abs(signed), currency, at)
    details = _details(data, amount, direction, at)
    booked = data.get("entry_date") or data.get("date")
    return Entry(
        statement_number=statement_number,
        number=number,
        amount=amount,
        direction=direction,
        reversal=status.startswith("R"),
        status="BOOK",
        booking_date=_date(booked),
        value_date=_date(data.get("date")),
        account_servicer_reference=_text(data.get("bank_reference")),
        entry_reference=_text(data.get("customer_reference")),
        bank_transaction_code=_text(data.get("id")),
        additional_info=_text(data.get("extra_details")),
        transactions=(details,),
        at=at,
    )


def _details(
    data: dict[str, Any], amount: Money, direction: Direction, at: Location
) -> TransactionDetails:
    text = str(data.get("transaction_details") or "")
    fields = _dutch_fields(text)
    purpose = _text(data.get("purpose"))
    remittance = fields.get("REMI") or purpose or " ".join(text.split())
    name = fields.get("NAME") or _text(data.get("applicant_name"))
    iban = fields.get("IBAN") or _text(data.get("applicant_iban"))
    party = Party(name=name, iban=iban, other_id=None) if name or iban else None
    return TransactionDetails(
        number=1,
        amount=amount,
        direction=direction,
        end_to_end_id=fields.get("EREF") or _text(data.get("end_to_end_reference")),
        account_servicer_reference=_text(data.get("bank_reference")),
        debtor=party if direction == "credit" else None,
        creditor=party if direction == "debit" else None,
        remittance_lines=(remittance,) if remittance else (),
        creditor_references=(),
        referred_documents=(),
        additional_info=_text(data.get("posting_text")),
        at=at,
        return_reason=fields.get("RTRN"),
    )


def _dutch_fields(text: str) -> dict[str, str]:
    """'/EREF/E2E-1/IBAN/NL91.../NAME/Bakkerij/REMI/Invoice 12' -> {EREF: ..., ...}."""
    flat = text.replace("\n", "")
    parts = _DUTCH_FIELDS.split(flat)
    if len(parts) < 3:
        return {}
    values = (part.strip().removesuffix("/") for part in parts[2::2])
    return {name: value for name, value in zip(parts[1::2], values, strict=True) if value}


def _money(value: Decimal, currency: str, at: Location) -> Money:
    try:
        return money_from_text(format(value, "f"), currency)
    except AmountError as error:
        raise MalformedStatement(
            f"{at.describe()}: {error}", [Problem(at.path, str(error))]
        ) from error


def _date(value: object) -> date | None:
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    return None


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
