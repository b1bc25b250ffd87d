"""A simulated bank: writes ISO 20022 camt.053.001.02 end-of-day statements, as a bank's
e-banking export would, and uploads them to the payments service like a treasury system.

Balances add up (closing = opening + credits - debits), every IBAN is checked (ISO 13616), and an
entry keeps the same bank reference (AcctSvcrRef) in every statement that reports it, so
overlapping statements look the way real ones do.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import IO, Literal

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
    # The bank reversed the booking (RvslInd), and the reason code of its return information
    # (RtrInf): a debit sending a payment back to the payer, or a credit bringing back one.
    reversal: bool = False
    returns: str | None = None

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
    if entry.reversal:
        _text(element, "RvslInd", "true")
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
    if entry.returns:
        _text(_sub(_sub(details, "RtrInf"), "Rsn"), "Cd", entry.returns)


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


# Large statements, written as a stream


def write_statement(
    out: IO[bytes],
    account_iban: str,
    entries: Iterable[BankEntry],
    opening_balance: Money,
    statement_id: str,
    created_at: datetime,
    *,
    entry_count: int,
    closing_minor: int,
) -> None:
    """The same camt.053.001.02 document as `statement_xml`, written entry by entry so a file
    of any length takes no more memory than one entry. The caller states the count and the
    closing balance (a stream cannot be read twice)."""
    account = _valid_iban(account_iban)
    currency = opening_balance.currency
    day = created_at.date()
    header = _root("Stmt")
    _text(header, "Id", statement_id)
    _text(header, "CreDtTm", created_at.isoformat())
    _account(header, account, currency, None)
    _balance(header, "OPBD", opening_balance.amount_minor, currency, day)
    _balance(header, "CLBD", closing_minor, currency, day)
    _text(_sub(_sub(header, "TxsSummry"), "TtlNtries"), "NbOfNtries", str(entry_count))
    group = _root("Head")
    _group_header(group, statement_id, created_at)
    with etree.xmlfile(out, encoding="UTF-8") as document:
        document.write_declaration()
        with (
            document.element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE}),
            document.element(f"{{{NAMESPACE}}}BkToCstmrStmt"),
        ):
            document.write(group[0])
            with document.element(f"{{{NAMESPACE}}}Stmt"):
                for child in header:
                    document.write(child)
                for entry in entries:
                    holder = _root("Stmt")
                    _entry(holder, entry)
                    document.write(holder[0])


# MT940


def mt940_statement(
    account_iban: str,
    entries: Sequence[BankEntry],
    opening_balance: Money,
    statement_id: str,
    sequence: int,
) -> bytes:
    """One SWIFT MT940 statement (:20: to :62F:), the remittance and the payer in :86: as
    Dutch banks write it (/EREF/, /IBAN/, /NAME/, /REMI/)."""
    currency = opening_balance.currency
    lines = [
        f":20:{statement_id}",
        f":25:{_valid_iban(account_iban)}",
        f":28C:{sequence}/1",
        _mt940_balance("60F", opening_balance.amount_minor, currency, _first_day(entries)),
    ]
    closing = opening_balance.amount_minor
    for entry in entries:
        closing += entry.signed_minor
        mark = "C" if entry.direction == "credit" else "D"
        if entry.reversal:
            # The mark names what is reversed: a debit reversing a credit is RC.
            mark = "RC" if entry.direction == "debit" else "RD"
        day = entry.booking_date.strftime("%y%m%d")
        lines.append(
            f":61:{day}{entry.booking_date:%m%d}{mark}{_mt940_amount(entry.amount)}"
            f"NTRF{(entry.end_to_end_id or 'NONREF')[:16]}//{entry.reference()[:16]}"
        )
        lines.extend(_mt940_details(entry))
    lines.append(_mt940_balance("62F", closing, currency, _last_day(entries)))
    return ("\r\n".join(lines) + "\r\n-\r\n").encode("latin-1", "replace")


def _mt940_details(entry: BankEntry) -> list[str]:
    fields = [
        f"/EREF/{entry.end_to_end_id}" if entry.end_to_end_id else "",
        f"/RTRN/{entry.returns}" if entry.returns else "",
        f"/IBAN/{entry.counterparty_iban}" if entry.counterparty_iban else "",
        f"/NAME/{entry.counterparty_name}" if entry.counterparty_name else "",
        f"/REMI/{entry.structured_reference or entry.remittance or ''}",
    ]
    text = "".join(fields)
    chunks = [text[start : start + 65] for start in range(0, len(text), 65)] or [""]
    return [f":86:{chunks[0]}", *chunks[1:6]]


def _mt940_balance(tag: str, minor: int, currency: str, on: date) -> str:
    mark = "C" if minor >= 0 else "D"
    return f":{tag}:{mark}{on:%y%m%d}{currency}{_mt940_amount(Money.of(abs(minor), currency))}"


def _mt940_amount(money: Money) -> str:
    return _decimal(money).replace(".", ",")


def _first_day(entries: Sequence[BankEntry]) -> date:
    return min((e.booking_date for e in entries), default=date(2026, 1, 1))


def _last_day(entries: Sequence[BankEntry]) -> date:
    return max((e.booking_date for e in entries), default=date(2026, 1, 1))


# A labelled portfolio: who owes what, and who pays what, with the noise real payers add


@dataclass(frozen=True)
class PortfolioCustomer:
    customer_id: str
    name: str
    account: str
    account_known: bool


@dataclass(frozen=True)
class PortfolioItem:
    """An open invoice, or an unused credit note (`credit`), of a customer."""

    item_id: str
    number: str
    customer_id: str
    amount: Money
    issue_date: date
    due_date: date
    payment_reference: str | None = None
    credit: bool = False


@dataclass(frozen=True)
class LabelledPayment:
    """A payment as the bank reports it, with the truth: the items it pays (`paid`, credit
    notes netted included), and whether an unambiguous match is possible at all."""

    entry: BankEntry
    kind: str
    paid: tuple[str, ...]
    matchable: bool


@dataclass(frozen=True)
class Portfolio:
    customers: tuple[PortfolioCustomer, ...]
    items: tuple[PortfolioItem, ...]
    payments: tuple[LabelledPayment, ...]

    def known_accounts(self) -> dict[str, str]:
        """Payer accounts learned from earlier matches (the bank's history): account -> customer."""
        return {c.account: c.customer_id for c in self.customers if c.account_known}


PAYMENT_MIX: tuple[tuple[str, float], ...] = (
    ("reference", 0.31),
    ("number", 0.25),
    ("number with a typo", 0.07),
    ("number cut short", 0.03),
    ("batch with numbers", 0.08),
    ("batch without numbers", 0.03),
    ("amount only, known payer", 0.08),
    ("partial payment", 0.055),
    ("bank charges deducted", 0.04),
    ("credit note netted", 0.02),
    ("unknown payer", 0.02),
    ("duplicate", 0.01),
)
_NAMES = (
    "Bakkerij",
    "Drukkerij",
    "Transport",
    "Bouwbedrijf",
    "Installatie",
    "Autobedrijf",
    "Garage",
    "Hoveniers",
    "Schilders",
    "Metaal",
    "Techniek",
    "Logistiek",
    "Handel",
    "Kantoor",
    "Zorg",
    "Media",
)
_SURNAMES = (
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "Kok",
    "Jacobs",
    "Vermeulen",
)
_FORMS = ("B.V.", "BV", "V.O.F.", "Holding B.V.", "& Zn", "N.V.")
_NUMBER_STYLES = (
    "Invoice {number}",
    "inv {compact}",
    "Factuur nr. {number}",
    "{number}",
    "Rechnung Nr. {spaced}",
    "betaling {number} dank u",
    "FACT {compact}",
    "ref {serial}",
)


def portfolio(
    seed: int = 2026,
    customers: int = 10_000,
    invoices: int = 100_000,
    payments: int = 20_000,
    start: date = date(2026, 9, 1),
) -> Portfolio:
    """A deterministic portfolio for a seed: customers with their bank accounts (most known
    from earlier payments), open invoices (a share with RF references) and credit notes, and
    payments in PAYMENT_MIX proportions, each labelled with what it really pays."""
    return _PortfolioBuilder(random.Random(seed), start).build(customers, invoices, payments)


class _PortfolioBuilder:
    def __init__(self, rng: random.Random, start: date) -> None:
        self.rng = rng
        self.start = start
        self.open: dict[str, list[PortfolioItem]] = {}
        self.remaining: dict[str, int] = {}
        self.paid_once: list[LabelledPayment] = []
        self.sequence = 0

    def build(self, customers: int, invoices: int, payments: int) -> Portfolio:
        people = tuple(self._customer(n) for n in range(customers))
        items = [self._invoice(n, self.rng.choice(people)) for n in range(invoices)]
        credits = [
            self._credit_note(n, self.rng.choice(people)) for n in range(max(1, invoices // 50))
        ]
        for item in [*items, *credits]:
            self.open.setdefault(item.customer_id, []).append(item)
            self.remaining[item.item_id] = item.amount.amount_minor
        kinds = [kind for kind, _ in PAYMENT_MIX]
        weights = [weight for _, weight in PAYMENT_MIX]
        made: list[LabelledPayment] = []
        while len(made) < payments:
            kind = self.rng.choices(kinds, weights)[0]
            # Some kinds need a particular customer (one with a known account, a credit
            # note...): try a few before giving up, so the mix keeps its proportions.
            for _ in range(50):
                payment = self._payment(kind, people)
                if payment is not None:
                    made.append(payment)
                    break
        return Portfolio(people, (*items, *credits), tuple(made))

    def _customer(self, n: int) -> PortfolioCustomer:
        name = (
            f"{self.rng.choice(_NAMES)} {self.rng.choice(_SURNAMES)} {n} {self.rng.choice(_FORMS)}"
        )
        account = iban("NL", f"{self.rng.choice(('INGB', 'RABO', 'ABNA'))}{n:010d}")
        return PortfolioCustomer(f"C-{n:06d}", name, account, self.rng.random() < 0.8)

    def _invoice(self, n: int, customer: PortfolioCustomer) -> PortfolioItem:
        issued = self.start + timedelta(days=self.rng.randrange(0, 60))
        amount = Money.of(int(10 ** self.rng.uniform(3.3, 6.3)), "EUR")
        reference = iso11649_reference(f"{n:08d}") if self.rng.random() < 0.45 else None
        return PortfolioItem(
            f"INV-{n:07d}",
            f"INV-2026-{n:07d}",
            customer.customer_id,
            amount,
            issued,
            issued + timedelta(days=30),
            reference,
        )

    def _credit_note(self, n: int, customer: PortfolioCustomer) -> PortfolioItem:
        issued = self.start + timedelta(days=self.rng.randrange(0, 60))
        amount = Money.of(int(10 ** self.rng.uniform(3, 4.5)), "EUR")
        return PortfolioItem(
            f"CN-{n:06d}",
            f"CN-2026-{n:06d}",
            customer.customer_id,
            amount,
            issued,
            issued,
            credit=True,
        )

    def _payment(self, kind: str, people: Sequence[PortfolioCustomer]) -> LabelledPayment | None:
        if kind == "duplicate":
            return self._duplicate()
        customer = self.rng.choice(people)
        invoices = [i for i in self.open.get(customer.customer_id, []) if not i.credit]
        if not invoices:
            return None
        invoice = self.rng.choice(invoices)
        if kind.startswith("batch"):
            return self._batch(kind, customer, invoices)
        return self._single_kinds[kind](customer, invoice, self.remaining[invoice.item_id])

    @property
    def _single_kinds(
        self,
    ) -> dict[str, Callable[[PortfolioCustomer, PortfolioItem, int], LabelledPayment | None]]:
        return {
            "reference": self._by_reference,
            "number": lambda c, i, due: self._pays("number", c, [i], due, text=self._mention(i)),
            "number with a typo": lambda c, i, due: self._pays(
                "number with a typo", c, [i], due, text=self._typo(i)
            ),
            "number cut short": self._cut_short,
            "amount only, known payer": self._amount_only,
            "partial payment": self._partial,
            "bank charges deducted": self._charges_deducted,
            "credit note netted": self._netted,
            "unknown payer": self._unknown_payer,
        }

    def _by_reference(
        self, customer: PortfolioCustomer, invoice: PortfolioItem, due: int
    ) -> LabelledPayment | None:
        if invoice.payment_reference is None:
            return None
        return self._pays(
            "reference", customer, [invoice], due, reference=invoice.payment_reference
        )

    def _cut_short(
        self, customer: PortfolioCustomer, invoice: PortfolioItem, due: int
    ) -> LabelledPayment:
        text = f"Betaling facturen {self._mention(invoice, style=0)}"
        return self._pays("number cut short", customer, [invoice], due, text=text[:-3])

    def _amount_only(
        self, customer: PortfolioCustomer, invoice: PortfolioItem, due: int
    ) -> LabelledPayment | None:
        if not customer.account_known:
            return None
        return self._pays("amount only, known payer", customer, [invoice], due, text="Betaling")

    def _partial(
        self, customer: PortfolioCustomer, invoice: PortfolioItem, due: int
    ) -> LabelledPayment:
        part = due * self.rng.randrange(20, 80) // 100
        return self._pays("partial payment", customer, [invoice], part, text=self._mention(invoice))

    def _charges_deducted(
        self, customer: PortfolioCustomer, invoice: PortfolioItem, due: int
    ) -> LabelledPayment | None:
        charges = self.rng.randrange(10, 500)
        if charges * 100 > due:
            return None
        return self._pays(
            "bank charges deducted",
            customer,
            [invoice],
            due - charges,
            text=self._mention(invoice),
        )

    def _unknown_payer(
        self, customer: PortfolioCustomer, invoice: PortfolioItem, due: int
    ) -> LabelledPayment:
        return self._pays(
            "unknown payer",
            customer,
            [invoice],
            due,
            text="betaling",
            payer=iban("NL", f"SNSB{self.rng.randrange(10**9, 10**10)}"),
            payer_name=f"{self.rng.choice(_SURNAMES)} private",
            matchable=False,
        )

    def _pays(
        self,
        kind: str,
        customer: PortfolioCustomer,
        items: Sequence[PortfolioItem],
        minor: int,
        *,
        text: str | None = None,
        reference: str | None = None,
        payer: str | None = None,
        payer_name: str | None = None,
        matchable: bool = True,
    ) -> LabelledPayment:
        self.sequence += 1
        for item in items:
            self._close_or_reduce(item, kind, minor)
        entry = BankEntry(
            Money.of(minor, "EUR"),
            self.start + timedelta(days=60 + self.sequence // 400),
            counterparty_name=payer_name or customer.name,
            counterparty_iban=payer or customer.account,
            remittance=text,
            structured_reference=reference,
            end_to_end_id=f"E2E-{self.sequence:07d}",
        )
        labelled = LabelledPayment(entry, kind, tuple(i.item_id for i in items), matchable)
        if kind != "partial payment" and matchable:
            self.paid_once.append(labelled)
        return labelled

    def _close_or_reduce(self, item: PortfolioItem, kind: str, minor: int) -> None:
        if kind == "partial payment":
            self.remaining[item.item_id] -= minor
            return
        self.open[item.customer_id].remove(item)
        self.remaining[item.item_id] = 0

    def _batch(
        self, kind: str, customer: PortfolioCustomer, invoices: list[PortfolioItem]
    ) -> LabelledPayment | None:
        if len(invoices) < 2 or (kind == "batch without numbers" and not customer.account_known):
            return None
        chosen = self.rng.sample(invoices, min(len(invoices), self.rng.randrange(2, 5)))
        minor = sum(self.remaining[i.item_id] for i in chosen)
        text = (
            "Facturen " + ", ".join(self._mention(i, style=3) for i in chosen)
            if kind == "batch with numbers"
            else "Betaling openstaande facturen"
        )
        return self._pays(kind, customer, chosen, minor, text=text)

    def _netted(
        self, customer: PortfolioCustomer, invoice: PortfolioItem, due: int
    ) -> LabelledPayment | None:
        credits = [i for i in self.open.get(customer.customer_id, []) if i.credit]
        if not credits or credits[0].amount.amount_minor >= due:
            return None
        credit = credits[0]
        text = f"{self._mention(invoice, style=3)} minus {credit.number}"
        minor = due - credit.amount.amount_minor
        return self._pays("credit note netted", customer, [invoice, credit], minor, text=text)

    def _duplicate(self) -> LabelledPayment | None:
        if not self.paid_once:
            return None
        earlier = self.rng.choice(self.paid_once)
        self.sequence += 1
        entry = BankEntry(
            earlier.entry.amount,
            earlier.entry.booking_date + timedelta(days=1),
            counterparty_name=earlier.entry.counterparty_name,
            counterparty_iban=earlier.entry.counterparty_iban,
            remittance=earlier.entry.remittance,
            structured_reference=earlier.entry.structured_reference,
            end_to_end_id=f"E2E-{self.sequence:07d}",
        )
        return LabelledPayment(entry, "duplicate", earlier.paid, matchable=False)

    def _mention(self, item: PortfolioItem, style: int | None = None) -> str:
        template = (
            _NUMBER_STYLES[self.rng.randrange(len(_NUMBER_STYLES))]
            if style is None
            else (_NUMBER_STYLES[style])
        )
        serial = item.number.rsplit("-", 1)[-1]
        return template.format(
            number=item.number,
            compact=item.number.replace("-", ""),
            spaced=item.number.replace("-", " "),
            serial=serial,
        )

    def _typo(self, item: PortfolioItem) -> str:
        digits = list(item.number)
        positions = [i for i, ch in enumerate(digits) if ch.isdigit() and i > 9]
        where = self.rng.choice(positions)
        how = self.rng.randrange(3)
        if how == 0:
            digits[where] = str((int(digits[where]) + self.rng.randrange(1, 10)) % 10)
        elif how == 1 and where + 1 < len(digits):
            digits[where], digits[where + 1] = digits[where + 1], digits[where]
        else:
            del digits[where]
        return f"Invoice {''.join(digits)}"


def iso11649_reference(body: str) -> str:
    """An ISO 11649 RF creditor reference for a body of up to 21 letters and digits."""
    check = mod_97_10.calc_check_digits(f"{body}RF")
    return f"RF{check}{body}"
