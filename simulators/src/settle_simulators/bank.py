"""A simulated bank: writes ISO 20022 camt.053.001.02 end-of-day statements, as a bank's
e-banking export would, and uploads them to the payments service like a treasury system.

Balances add up (closing = opening + credits - debits), every IBAN is checked (ISO 13616), and an
entry keeps the same bank reference (AcctSvcrRef) in every statement that reports it, so
overlapping statements look the way real ones do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import httpx
from lxml import etree
from stdnum import iban as iso13616
from stdnum.iso7064 import mod_97_10

from settle_shared.money import Money

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
CONTENT_TYPE = "application/xml"
REMITTANCE_LINE = 140  # characters per Ustrd line


@dataclass(frozen=True)
class BankEntry:
    """One booked line of the statement: money in (credit) or out (debit)."""

    amount: Money
    booking_date: date
    direction: Literal["credit", "debit"] = "credit"
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance: str | None = None
    structured_reference: str | None = None
    end_to_end_id: str | None = None
    value_date: date | None = None
    bank_reference: str | None = None

    @property
    def signed_minor(self) -> int:
        return self.amount.amount_minor if self.direction == "credit" else -self.amount.amount_minor

    def reference(self) -> str:
        """The bank's own reference (AcctSvcrRef): given, else derived from the content."""
        if self.bank_reference:
            return self.bank_reference
        content = "|".join(
            str(part)
            for part in (
                self.booking_date,
                self.direction,
                self.amount.amount_minor,
                self.amount.currency,
                self.counterparty_iban,
                self.end_to_end_id,
                self.remittance,
                self.structured_reference,
            )
        )
        return hashlib.sha256(content.encode()).hexdigest()[:20].upper()


def iban(country: str, bban: str) -> str:
    """An IBAN with correct check digits for a country's domestic account number (BBAN)."""
    check = mod_97_10.calc_check_digits(f"{bban}{country}")
    return iso13616.validate(f"{country}{check}{bban}")


def statement_xml(
    account_iban: str,
    entries: Sequence[BankEntry],
    opening_balance: Money,
    statement_id: str,
    created_at: datetime,
    *,
    electronic_sequence: int | None = None,
    account_owner: str | None = None,
) -> bytes:
    """A camt.053.001.02 document holding one statement of the account."""
    account = _valid_iban(account_iban)
    currency = opening_balance.currency
    for entry in entries:
        if entry.amount.currency != currency:
            raise ValueError(f"entry in {entry.amount.currency} on an account in {currency}")
        if entry.counterparty_iban is not None:
            _valid_iban(entry.counterparty_iban)
    closing_minor = opening_balance.amount_minor + sum(entry.signed_minor for entry in entries)
    last_day = max((entry.booking_date for entry in entries), default=created_at.date())
    document = _root("Document")
    statements = _sub(document, "BkToCstmrStmt")
    _group_header(statements, statement_id, created_at)
    statement = _sub(statements, "Stmt")
    _text(statement, "Id", statement_id)
    if electronic_sequence is not None:
        _text(statement, "ElctrncSeqNb", str(electronic_sequence))
    _text(statement, "CreDtTm", created_at.isoformat())
    _account(statement, account, currency, account_owner)
    first_day = min((entry.booking_date for entry in entries), default=last_day)
    _balance(statement, "OPBD", opening_balance.amount_minor, currency, first_day)
    _balance(statement, "CLBD", closing_minor, currency, last_day)
    _summary(statement, entries)
    for entry in entries:
        _entry(statement, entry)
    return bytes(
        etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )


async def upload(payments_url: str, api_key: str, xml: bytes) -> httpx.Response:
    """POST the statement file to the payments service, as a treasury system would."""
    async with httpx.AsyncClient(base_url=payments_url, timeout=120.0) as client:
        return await client.post(
            "/v1/statements",
            content=xml,
            headers={"Content-Type": CONTENT_TYPE, "Authorization": f"Bearer {api_key}"},
        )


def _group_header(parent: etree._Element, statement_id: str, created_at: datetime) -> None:
    header = _sub(parent, "GrpHdr")
    _text(header, "MsgId", f"MSG-{statement_id}")
    _text(header, "CreDtTm", created_at.isoformat())
    pagination = _sub(header, "MsgPgntn")
    _text(pagination, "PgNb", "1")
    _text(pagination, "LastPgInd", "true")


def _account(parent: etree._Element, account_iban: str, currency: str, owner: str | None) -> None:
    account = _sub(parent, "Acct")
    _text(_sub(account, "Id"), "IBAN", account_iban)
    _text(account, "Ccy", currency)
    if owner:
        _text(_sub(account, "Ownr"), "Nm", owner)


def _balance(parent: etree._Element, code: str, minor: int, currency: str, on: date) -> None:
    balance = _sub(parent, "Bal")
    _text(_sub(_sub(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _amount(balance, "Amt", Money.of(abs(minor), currency))
    _text(balance, "CdtDbtInd", "CRDT" if minor >= 0 else "DBIT")
    _text(_sub(balance, "Dt"), "Dt", on.isoformat())


def _summary(parent: etree._Element, entries: Sequence[BankEntry]) -> None:
    summary = _sub(parent, "TxsSummry")
    credits = [entry for entry in entries if entry.direction == "credit"]
    debits = [entry for entry in entries if entry.direction == "debit"]
    for name, chosen in (
        ("TtlNtries", entries),
        ("TtlCdtNtries", credits),
        ("TtlDbtNtries", debits),
    ):
        total = _sub(summary, name)
        _text(total, "NbOfNtries", str(len(chosen)))
        if chosen:
            minor = sum(entry.amount.amount_minor for entry in chosen)
            _text(total, "Sum", _decimal(Money.of(minor, chosen[0].amount.currency)))


def _entry(parent: etree._Element, entry: BankEntry) -> None:
    element = _sub(parent, "Ntry")
    _amount(element, "Amt", entry.amount)
    _text(element, "CdtDbtInd", "CRDT" if entry.direction == "credit" else "DBIT")
    _text(element, "Sts", "BOOK")
    _text(_sub(element, "BookgDt"), "Dt", entry.booking_date.isoformat())
    _text(_sub(element, "ValDt"), "Dt", (entry.value_date or entry.booking_date).isoformat())
    _text(element, "AcctSvcrRef", entry.reference())
    domain = _sub(_sub(element, "BkTxCd"), "Domn")
    _text(domain, "Cd", "PMNT")
    family = _sub(domain, "Fmly")
    _text(family, "Cd", "RCDT" if entry.direction == "credit" else "ICDT")
    _text(family, "SubFmlyCd", "ESCT")
    _transaction(_sub(_sub(element, "NtryDtls"), "TxDtls"), entry)


def _transaction(details: etree._Element, entry: BankEntry) -> None:
    if entry.end_to_end_id:
        _text(_sub(details, "Refs"), "EndToEndId", entry.end_to_end_id)
    _amount(_sub(_sub(details, "AmtDtls"), "TxAmt"), "Amt", entry.amount)
    if entry.counterparty_name or entry.counterparty_iban:
        party, account = (
            ("Dbtr", "DbtrAcct") if entry.direction == "credit" else ("Cdtr", "CdtrAcct")
        )
        parties = _sub(details, "RltdPties")
        if entry.counterparty_name:
            _text(_sub(parties, party), "Nm", entry.counterparty_name)
        if entry.counterparty_iban:
            _text(_sub(_sub(parties, account), "Id"), "IBAN", _valid_iban(entry.counterparty_iban))
    if entry.remittance or entry.structured_reference:
        _remittance(_sub(details, "RmtInf"), entry)


def _remittance(parent: etree._Element, entry: BankEntry) -> None:
    text = entry.remittance or ""
    for start in range(0, len(text), REMITTANCE_LINE):
        _text(parent, "Ustrd", text[start : start + REMITTANCE_LINE])
    if entry.structured_reference:
        reference = _sub(_sub(parent, "Strd"), "CdtrRefInf")
        _text(_sub(_sub(reference, "Tp"), "CdOrPrtry"), "Cd", "SCOR")
        _text(reference, "Ref", entry.structured_reference)


def _valid_iban(value: str) -> str:
    return iso13616.validate(value)


def _decimal(money: Money) -> str:
    exponent = money.exponent
    return f"{Decimal(money.amount_minor).scaleb(-exponent):.{exponent}f}"


def _amount(parent: etree._Element, name: str, money: Money) -> None:
    element = _text(parent, name, _decimal(money))
    element.set("Ccy", money.currency)


def _root(name: str) -> etree._Element:
    return etree.Element(f"{{{NAMESPACE}}}{name}", nsmap={None: NAMESPACE})


def _sub(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")


def _text(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = _sub(parent, name)
    element.text = text
    return element
