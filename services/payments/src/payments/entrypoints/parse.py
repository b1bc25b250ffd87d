"""`python -m payments parse FILE`: what the service reads in a bank file, as JSON lines (the
statement, its balances, every entry with amount, dates, counterparty and the references found),
then the checks' verdict; exit status 1 and the precise error for a file it refuses."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from payments.adapters.statement_files import read_statement_file
from payments.domain.booking import account_id, kind_of
from payments.domain.checks import check_file
from payments.domain.references import check_reference, references_in_text
from payments.domain.statement import (
    Entry,
    Party,
    Statement,
    StatementItem,
    StatementRejected,
)
from settle_shared.money import Money


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if len(argv) != 1:
        err.write("usage: python -m payments parse FILE\n")
        return 2
    items: list[StatementItem] = []
    try:
        with Path(argv[0]).open("rb") as file:
            for item in _echoed(read_statement_file(file), out):
                items.append(item)
            checked = check_file(items)
    except StatementRejected as rejected:
        _write(
            err,
            {
                "rejected": rejected.slug,
                "reason": rejected.reason,
                "problems": [p.as_dict() for p in rejected.problems],
            },
        )
        return 1
    except OSError as error:
        err.write(f"cannot read {argv[0]}: {error.strerror}\n")
        return 2
    _write(
        out,
        {"accepted": True, "statements": len(checked), "entries": sum(c.entries for c in checked)},
    )
    return 0


def _echoed(items: Iterator[StatementItem], out: TextIO) -> Iterator[StatementItem]:
    for item in items:
        _write(out, _statement(item) if isinstance(item, Statement) else _entry(item))
        yield item


def _statement(statement: Statement) -> dict[str, Any]:
    return {
        "statement": statement.statement_id,
        "format": statement.version,
        "account": statement.account.identifier,
        "currency": statement.currency,
        "balances": [
            {
                "code": b.code,
                "amount": _money(b.amount),
                "direction": b.direction,
                "on": b.on.isoformat() if b.on else None,
            }
            for b in statement.balances
        ],
        "at": statement.at.describe(),
    }


def _entry(entry: Entry) -> dict[str, Any]:
    return {
        "entry": entry.number,
        "statement": entry.statement_number,
        "kind": kind_of(entry),
        "amount": _money(entry.amount),
        "direction": entry.direction,
        "status": entry.status,
        "booking_date": entry.booking_date.isoformat() if entry.booking_date else None,
        "value_date": entry.value_date.isoformat() if entry.value_date else None,
        "bank_reference": entry.account_servicer_reference,
        "transactions": [
            {
                "amount": _money(tx.amount) if tx.amount else None,
                "counterparty": _name(tx.debtor or tx.creditor),
                "counterparty_account": account_id(tx.debtor or tx.creditor),
                "end_to_end_id": tx.end_to_end_id,
                "returns_a_payment": tx.return_reason,
                "remittance": list(tx.remittance_lines),
                "references": [
                    {"value": c.reference.value, "scheme": c.scheme, "valid": c.trusted}
                    for c in map(
                        check_reference,
                        (*tx.creditor_references, *references_in_text(tx.remittance_lines)),
                    )
                ],
            }
            for tx in entry.transactions
        ],
        "at": entry.at.describe(),
    }


def _name(party: Party | None) -> str | None:
    return party.name if party else None


def _money(money: Money) -> dict[str, Any]:
    return {"amount_minor": money.amount_minor, "currency": money.currency}


def _write(stream: TextIO, value: dict[str, Any]) -> None:
    stream.write(json.dumps(value, ensure_ascii=False) + "\n")
