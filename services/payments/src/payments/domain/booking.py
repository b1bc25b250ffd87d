"""What each entry of a statement means for receivables: which entries are payments to match,
how an entry is recognised when an overlapping statement reports it again, and the payment
lines a (batched) credit entry holds."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from payments.domain.identity import digest
from payments.domain.statement import CreditorReference, Entry, Party
from settle_shared.money import Money

EntryKind = Literal["credit", "debit", "reversal", "returned", "not_booked"]
_PAYMENT_IDS = uuid.UUID("6f1d3c0e-2b7a-5c8e-9a41-0c3e5b7d9f12")
_NO_END_TO_END_ID = "NOTPROVIDED"


def kind_of(entry: Entry) -> EntryKind:
    """Only booked credits that reverse nothing are payments; the rest is recorded, not matched.
    A credit all of whose transactions carry return information ("returned") is money this
    account sent coming back, not a customer paying."""
    if not entry.booked:
        return "not_booked"
    if entry.reversal:
        return "reversal"
    if entry.direction == "credit" and _all_returns(entry):
        return "returned"
    return entry.direction


def _all_returns(entry: Entry) -> bool:
    return bool(entry.transactions) and all(tx.return_reason for tx in entry.transactions)


@dataclass(frozen=True)
class TakenBack:
    """A payment this account received, sent back to the payer by a booked debit: the bank
    reversed its booking, or the payer's bank returned it (a direct debit refunded on the
    payer's objection, say). The debit names it by the end-to-end id the payment carried;
    without one (None), nothing tells which payment it was."""

    end_to_end_id: str | None
    amount: Money
    reason: str


def taken_back(entry: Entry) -> list[TakenBack]:
    """The payments a debit entry sends back: its transactions that reverse or return one (the
    whole entry, if it reverses a credit without saying more)."""
    if not entry.booked or entry.direction != "debit":
        return []
    if entry.reversal and not entry.transactions:
        return [TakenBack(None, entry.amount, _REVERSED)]
    single = len(entry.transactions) == 1
    return [
        TakenBack(
            _end_to_end_id(tx.end_to_end_id),
            entry.amount if single or tx.amount is None else tx.amount,
            tx.return_reason or _REVERSED,
        )
        for tx in entry.transactions
        if (entry.reversal or tx.return_reason) and (tx.direction or entry.direction) == "debit"
    ]


_REVERSED = "the bank reversed its booking"


def _end_to_end_id(stated: str | None) -> str | None:
    return None if stated is None or stated.upper() == _NO_END_TO_END_ID else stated


class EntryKeys:
    """Names each booked entry of one statement the same way any statement reporting it will:
    by the bank's reference for it (with its date, direction and amount, in case a bank reuses
    references), else by its content. Identical entries within one statement stay apart by their
    rank (#2, #3...), so a payer who pays the same amount twice in a day is credited twice."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def key(self, entry: Entry) -> str:
        if entry.account_servicer_reference:
            base = (
                f"ref:{entry.account_servicer_reference}|{entry.booking_date}"
                f"|{entry.direction}|{entry.amount.amount_minor}{entry.amount.currency}"
            )
        else:
            base = f"sha256:{digest(entry)}"
        self._seen[base] += 1
        rank = self._seen[base]
        return base if rank == 1 else f"{base}#{rank}"


@dataclass(frozen=True)
class KeyedEntry:
    """An entry with what it means (`kind`) and, when booked, its identity (`key`)."""

    entry: Entry
    kind: EntryKind
    key: str | None


def key_entries(entries: Iterable[Entry], keys: EntryKeys) -> list[KeyedEntry]:
    """Kind and identity of each entry, in statement order (ranks count from the first entry of
    the statement, so `keys` must have seen every earlier entry of it)."""
    keyed = []
    for entry in entries:
        kind = kind_of(entry)
        keyed.append(KeyedEntry(entry, kind, keys.key(entry) if kind != "not_booked" else None))
    return keyed


@dataclass(frozen=True)
class PaymentLine:
    """One credit transfer inside a booked credit entry (a batch holds several)."""

    index: int
    amount: Money
    payer: Party | None
    remittance: tuple[str, ...]
    references: tuple[CreditorReference, ...]
    referred_documents: tuple[str, ...]
    end_to_end_id: str | None
    bank_reference: str | None


def payment_lines(entry: Entry) -> list[PaymentLine]:
    """The payments of a credit entry (not the money it returns to this account). A batch's
    transactions carry their own amounts (the file checks make sure of it); a single
    transaction without one is the whole entry."""
    if not entry.transactions:
        return [
            PaymentLine(1, entry.amount, None, (), (), (), None, entry.account_servicer_reference)
        ]
    single = len(entry.transactions) == 1
    return [
        PaymentLine(
            index=tx.number,
            amount=entry.amount if single or tx.amount is None else tx.amount,
            payer=tx.debtor,
            remittance=tx.remittance_lines,
            references=tx.creditor_references,
            referred_documents=tx.referred_documents,
            end_to_end_id=tx.end_to_end_id,
            bank_reference=tx.account_servicer_reference or entry.account_servicer_reference,
        )
        for tx in entry.transactions
        if (tx.direction or entry.direction) == "credit" and not tx.return_reason
    ]


def payment_id(tenant: str, account: str, entry_key: str, line: int) -> str:
    """The same payment line of the same booked entry always gets the same id."""
    return str(uuid.uuid5(_PAYMENT_IDS, f"{tenant}\n{account}\n{entry_key}\n{line}"))


def account_id(party: Party | None) -> str | None:
    """The payer's account: a valid IBAN in its compact form, else the account id as stated."""
    if party is None:
        return None
    if party.iban:
        return compact_account(party.iban)
    return party.other_id


@lru_cache(maxsize=65_536)
def compact_account(iban: str) -> str:
    """A valid IBAN in its compact form, else the text as stated. Remembered: a statement names
    the same payers' accounts again and again, and checking an IBAN costs some 14 microseconds."""
    try:
        return str(IBAN(iban).compact)
    except SchwiftyException:
        return iban
