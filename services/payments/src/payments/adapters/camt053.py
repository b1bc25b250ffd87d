"""ISO 20022 camt.053 bank statements (001.02, .03, .04 and .08) and camt.054 debit/credit
notifications (001.02, .04 and .08), read as a stream. A notification reads as a statement
without balances: its entries are checked and booked the same way.

Elements are matched by local name, so every version's namespace (and any prefix) reads the same.
Each entry is yielded as soon as it has been read and its XML is then dropped: memory stays flat
however long the file. A statement is yielded before its entries, once its header (account,
balances, summary) is complete. Anything unreadable raises a `StatementRejected` that says where.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from lxml import etree

from payments.domain.amounts import AmountError, money_from_text
from payments.domain.statement import (
    Account,
    Balance,
    CreditorReference,
    Direction,
    Entry,
    Location,
    MalformedStatement,
    Party,
    StatedTotal,
    Statement,
    StatementItem,
    TransactionDetails,
    TransactionsSummary,
    UnsupportedDocument,
)
from settle_shared.errors import Problem
from settle_shared.money import Money

SUPPORTED_VERSIONS = (
    "camt.053.001.02",
    "camt.053.001.03",
    "camt.053.001.04",
    "camt.053.001.08",
    "camt.054.001.02",
    "camt.054.001.04",
    "camt.054.001.08",
)
# The message element and the element of each statement (notification) in it.
_MESSAGES = {"BkToCstmrStmt": "Stmt", "BkToCstmrDbtCdtNtfctn": "Ntfctn"}
_ISO_20022 = re.compile(
    r"^urn:iso:std:iso:20022:tech:xsd:(?P<message>[a-z]{4}\.\d{3}\.\d{3}\.\d{2})$"
)
_DIRECTIONS: dict[str, Direction] = {"CRDT": "credit", "DBIT": "debit"}
_REPEATED_IN_STATEMENT = frozenset({"Bal", "Ntry"})
_TRANSACTIONS_PATH = "NtryDtls/TxDtls"
_TRANSACTIONS = frozenset({_TRANSACTIONS_PATH})
_HEADER_PARTS = ("Id", "ElctrncSeqNb", "CreDtTm", "Acct", "Bal", "TxsSummry")
_EVENT_TAGS = tuple(
    f"{{*}}{name}" for name in ("Document", "GrpHdr", *_MESSAGES.values(), "Ntry", *_HEADER_PARTS)
)

Element = etree._Element
Source = str | Path | IO[bytes]


def read_camt053(source: Source) -> Iterator[StatementItem]:
    """Every statement of the file, each followed by its entries, in file order."""
    reader = _Reader()
    events = etree.iterparse(
        str(source) if isinstance(source, Path) else source,
        events=("start", "end"),
        tag=_EVENT_TAGS,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for event, element in events:
            yield from reader.start(element) if event == "start" else reader.end(element)
    except etree.XMLSyntaxError as error:
        line, column = error.position
        raise MalformedStatement(
            f"the file is not well-formed XML (truncated or damaged): {error.msg}",
            [Problem(f"line {line}, column {column}", error.msg)],
        ) from error
    reader.finish(events.root)


class _Reader:
    """Sees only the elements it needs (the parser filters the rest out in C); hands statement
    headers and entries out as they complete, then drops their XML."""

    def __init__(self) -> None:
        self._version = ""
        self._message_id: str | None = None
        self._statements = 0
        self._statement: Element | None = None
        self._header: _HeaderBuilder | None = None
        self._header_sent = False
        self._children: Counter[str] = Counter()

    def start(self, element: Element) -> Iterator[StatementItem]:
        parent = element.getparent()
        if parent is None:
            self._version = _document_version(element)
            return
        if not self._version:
            raise _not_a_document(element.getroottree().getroot())
        name = _local(element)
        if name == _MESSAGES.get(_local(parent)) and _is_statements(parent):
            self._statements += 1
            self._statement = element
            self._header = _HeaderBuilder(
                self._statements, self._version, self._message_id, _located(element, self._path())
            )
            self._header_sent = False
            self._children = Counter()
        elif name == "Ntry" and parent is self._statement:
            yield from self._send_header()

    def end(self, element: Element) -> Iterator[StatementItem]:
        parent = element.getparent()
        if parent is None:
            return
        name = _local(element)
        if parent is self._statement:
            self._children[name] += 1
            yield from self._statement_child(name, element)
            _release(element)
        elif name == _MESSAGES.get(_local(parent)) and _is_statements(parent):
            yield from self._send_header()
            self._statement = None
            _release(element)
        elif name == "GrpHdr" and _is_statements(parent):
            self._message_id = _Node(element).text("MsgId")
            _release(element)

    def finish(self, root: Element | None) -> None:
        if not self._version and root is not None:
            raise _not_a_document(root)
        if self._statements == 0:
            raise MalformedStatement(
                "the document holds no statement",
                [Problem(self._messages_path, f"no {self._statement_name} element")],
            )

    def _statement_child(self, name: str, element: Element) -> Iterator[StatementItem]:
        header = self._require_header()
        count = self._children[name]
        path = f"{header.at.path}/{name}[{count}]" if name in _REPEATED_IN_STATEMENT else None
        if name == "Ntry":
            yield _entry(element, header.number, count, _located(element, path))
        else:
            header.take(name, element, _located(element, path or f"{header.at.path}/{name}"))

    def _send_header(self) -> Iterator[StatementItem]:
        if not self._header_sent:
            self._header_sent = True
            yield self._require_header().build()

    def _require_header(self) -> _HeaderBuilder:
        assert self._header is not None, "statement children are only read inside a Stmt"
        return self._header

    def _path(self) -> str:
        return f"{self._messages_path}/{self._statement_name}[{self._statements}]"

    @property
    def _messages_path(self) -> str:
        message = (
            "BkToCstmrDbtCdtNtfctn" if self._version.startswith("camt.054") else "BkToCstmrStmt"
        )
        return f"/Document/{message}"

    @property
    def _statement_name(self) -> str:
        return _MESSAGES[self._messages_path.rsplit("/", 1)[-1]]


def _is_statements(element: Element) -> bool:
    """BkToCstmrStmt (or BkToCstmrDbtCdtNtfctn) right under the Document."""
    parent = element.getparent()
    return _local(element) in _MESSAGES and parent is not None and parent.getparent() is None


class _HeaderBuilder:
    """Collects a statement's header elements (they all come before its first entry)."""

    def __init__(self, number: int, version: str, message_id: str | None, at: Location) -> None:
        self.number = number
        self.version = version
        self.message_id = message_id
        self.at = at
        self.statement_id: str | None = None
        self.account: Account | None = None
        self.electronic_sequence: int | None = None
        self.created_at: datetime | None = None
        self.balances: list[Balance] = []
        self.summary = TransactionsSummary()

    def take(self, name: str, element: Element, at: Location) -> None:
        if name == "Id":
            self.statement_id = _clean(element.text)
        elif name == "ElctrncSeqNb":
            self.electronic_sequence = _integer(element, at)
        elif name == "CreDtTm":
            self.created_at = _datetime(_clean(element.text), at)
        elif name == "Acct":
            self.account = _account(_Node(element))
        elif name == "Bal":
            self.balances.append(_balance(_Node(element), at))
        elif name == "TxsSummry":
            self.summary = _summary(_Node(element), at)

    def build(self) -> Statement:
        if not self.statement_id:
            raise _missing(self.at, "Id", f"statement {self.number} has no Id")
        if self.account is None or not self.account.identifier:
            raise _missing(self.at, "Acct/Id", f"statement {self.statement_id} names no account")
        return Statement(
            number=self.number,
            version=self.version,
            message_id=self.message_id,
            statement_id=self.statement_id,
            account=self.account,
            electronic_sequence=self.electronic_sequence,
            created_at=self.created_at,
            balances=tuple(self.balances),
            summary=self.summary,
            at=self.at,
        )


def _document_version(root: Element) -> str:
    found = _ISO_20022.match(etree.QName(root).namespace or "")
    if found is None:
        raise _not_a_document(root)
    namespace = found.string
    message = found["message"]
    if message not in SUPPORTED_VERSIONS:
        raise UnsupportedDocument(
            f"{message} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)}",
            [Problem("/Document", f"namespace {namespace}")],
        )
    if root.getroottree().docinfo.doctype:
        raise UnsupportedDocument(
            "bank statements carry no DOCTYPE; this file declares one",
            [Problem("/", "DOCTYPE declaration")],
        )
    return message


def _not_a_document(root: Element) -> UnsupportedDocument:
    name = _local(root)
    namespace = etree.QName(root).namespace or "(none)"
    return UnsupportedDocument(
        f"the root element is {name} in namespace {namespace}, not an ISO 20022 Document",
        [Problem(f"/{name}", f"namespace {namespace}")],
    )


def _entry(element: Element, statement_number: int, number: int, at: Location) -> Entry:
    node = _Node(element, leaves=_TRANSACTIONS)
    status = node.text("Sts/Cd") or node.text("Sts/Prtry") or node.text("Sts")
    if status is None:
        raise _missing(at, "Sts", f"entry {number} of statement {statement_number} has no status")
    return Entry(
        statement_number=statement_number,
        number=number,
        amount=_required_money(node, "Amt", at),
        direction=_required_direction(node, at),
        reversal=node.text("RvslInd") in ("true", "1"),
        status=status,
        booking_date=_date(node, "BookgDt", at),
        value_date=_date(node, "ValDt", at),
        account_servicer_reference=node.text("AcctSvcrRef"),
        entry_reference=node.text("NtryRef"),
        bank_transaction_code=_bank_transaction_code(node),
        additional_info=node.text("AddtlNtryInf"),
        transactions=tuple(
            _transaction(details, index, element, at)
            for index, details in enumerate(node.all(_TRANSACTIONS_PATH), start=1)
        ),
        at=at,
    )


def _transaction(
    element: Element, number: int, entry: Element, entry_at: Location
) -> TransactionDetails:
    at = _located(element, f"{entry_at.path}/{_relative_path(element, entry)}")
    node = _Node(element)
    amount = _optional_money(node, "Amt", at) or _optional_money(node, "AmtDtls/TxAmt/Amt", at)
    indicator = node.text("CdtDbtInd")
    return TransactionDetails(
        number=number,
        amount=amount,
        direction=_direction(indicator, at) if indicator else None,
        end_to_end_id=node.text("Refs/EndToEndId"),
        account_servicer_reference=node.text("Refs/AcctSvcrRef"),
        debtor=_party(node, "RltdPties/Dbtr", "RltdPties/DbtrAcct"),
        creditor=_party(node, "RltdPties/Cdtr", "RltdPties/CdtrAcct"),
        remittance_lines=tuple(
            line
            for path in ("RmtInf/Ustrd", "RmtInf/Strd/AddtlRmtInf")
            for found in node.all(path)
            if (line := _clean(found.text))
        ),
        creditor_references=tuple(
            reference
            for found in node.all("RmtInf/Strd/CdtrRefInf")
            if (reference := _creditor_reference(_Node(found)))
        ),
        referred_documents=tuple(
            document
            for found in node.all("RmtInf/Strd/RfrdDocInf")
            if (document := _Node(found).text("Nb"))
        ),
        additional_info=node.text("AddtlTxInf"),
        at=at,
        return_reason=_return_reason(node),
    )


def _return_reason(node: _Node) -> str | None:
    """RtrInf: the reason code (Cd or Prtry) and the bank's words, if the transaction returns
    an earlier payment."""
    if node.first("RtrInf") is None:
        return None
    code = node.text("RtrInf/Rsn/Cd") or node.text("RtrInf/Rsn/Prtry")
    words = " ".join(text for found in node.all("RtrInf/AddtlInf") if (text := _clean(found.text)))
    return ": ".join(part for part in (code, words) if part) or "no reason given"


def _creditor_reference(node: _Node) -> CreditorReference | None:
    value = node.text("Ref")
    if value is None:
        return None
    return CreditorReference(
        value=value,
        code=node.text("Tp/CdOrPrtry/Cd") or node.text("Tp/CdOrPrtry/Prtry"),
        issuer=node.text("Tp/Issr"),
    )


def _account(node: _Node) -> Account:
    return Account(
        iban=node.text("Id/IBAN"),
        other_id=node.text("Id/Othr/Id"),
        currency=node.text("Ccy"),
    )


def _party(node: _Node, party: str, account: str) -> Party | None:
    name = node.text(f"{party}/Nm") or node.text(f"{party}/Pty/Nm")
    iban = node.text(f"{account}/Id/IBAN")
    other_id = node.text(f"{account}/Id/Othr/Id")
    if name is None and iban is None and other_id is None:
        return None
    return Party(name=name, iban=iban, other_id=other_id)


def _balance(node: _Node, at: Location) -> Balance:
    code = node.text("Tp/CdOrPrtry/Cd") or node.text("Tp/CdOrPrtry/Prtry")
    if code is None:
        raise _missing(at, "Tp/CdOrPrtry", "a balance states no type")
    return Balance(
        code=code,
        amount=_required_money(node, "Amt", at),
        direction=_required_direction(node, at),
        on=_date(node, "Dt", at),
        at=at,
    )


def _summary(node: _Node, at: Location) -> TransactionsSummary:
    def stated(name: str) -> StatedTotal | None:
        found = node.first(name)
        if found is None:
            return None
        where = _located(found, f"{at.path}/{name}")
        count = node.first(f"{name}/NbOfNtries")
        return StatedTotal(
            count=_integer(count, where) if count is not None else None,
            total=_decimal(node.text(f"{name}/Sum"), where),
            at=where,
        )

    return TransactionsSummary(
        entries=stated("TtlNtries"), credits=stated("TtlCdtNtries"), debits=stated("TtlDbtNtries")
    )


def _bank_transaction_code(node: _Node) -> str | None:
    domain = node.text("BkTxCd/Domn/Cd")
    if domain:
        family = node.text("BkTxCd/Domn/Fmly/Cd")
        sub_family = node.text("BkTxCd/Domn/Fmly/SubFmlyCd")
        return "/".join(code for code in (domain, family, sub_family) if code)
    return node.text("BkTxCd/Prtry/Cd")


# Values


def _required_money(node: _Node, path: str, at: Location) -> Money:
    money = _optional_money(node, path, at)
    if money is None:
        raise _missing(at, path, "no amount")
    return money


def _optional_money(node: _Node, path: str, at: Location) -> Money | None:
    found = node.first(path)
    if found is None:
        return None
    currency = found.get("Ccy")
    if not currency:
        raise _malformed(at, path, "the amount has no Ccy attribute")
    try:
        return money_from_text(found.text or "", currency)
    except AmountError as error:
        raise _malformed(at, path, str(error)) from error


def _required_direction(node: _Node, at: Location) -> Direction:
    indicator = node.text("CdtDbtInd")
    if indicator is None:
        raise _missing(at, "CdtDbtInd", "no credit/debit indicator")
    return _direction(indicator, at)


def _direction(indicator: str, at: Location) -> Direction:
    direction = _DIRECTIONS.get(indicator)
    if direction is None:
        raise _malformed(at, "CdtDbtInd", f"{indicator!r} is neither CRDT nor DBIT")
    return direction


def _date(node: _Node, path: str, at: Location) -> date | None:
    day = node.text(f"{path}/Dt")
    instant = node.text(f"{path}/DtTm")
    try:
        if day is not None:
            return date.fromisoformat(day)
        if instant is not None:
            return datetime.fromisoformat(instant).date()
    except ValueError as error:
        raise _malformed(at, path, f"{day or instant!r} is not an ISO 8601 date") from error
    return None


def _datetime(text: str | None, at: Location) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as error:
        raise MalformedStatement(
            f"{text!r} is not an ISO 8601 date and time",
            [Problem(at.describe(), f"{text!r} is not an ISO 8601 date and time")],
        ) from error


def _integer(element: Element, at: Location) -> int:
    text = _clean(element.text) or ""
    if not text.isdigit():
        raise MalformedStatement(
            f"{text!r} is not a whole number", [Problem(at.describe(), "expected a whole number")]
        )
    return int(text)


def _decimal(text: str | None, at: Location) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise MalformedStatement(
            f"{text!r} is not a decimal number", [Problem(at.describe(), "expected a decimal")]
        ) from error


# Namespace-agnostic navigation and memory release


class _Node:
    """An element's descendants by local-name path ('RmtInf/Ustrd'), gathered in one walk:
    every lookup is then a dict access, whatever namespace or prefix the file uses. Paths in
    `leaves` are indexed but not entered (an entry's transactions are read one by one)."""

    def __init__(self, element: Element, leaves: frozenset[str] = frozenset()) -> None:
        self._paths: dict[str, list[Element]] = {}
        self._walk(element, "", leaves)

    def all(self, path: str) -> list[Element]:
        return self._paths.get(path, [])

    def first(self, path: str) -> Element | None:
        found = self._paths.get(path)
        return found[0] if found else None

    def text(self, path: str) -> str | None:
        found = self.first(path)
        return _clean(found.text) if found is not None else None

    def _walk(self, element: Element, prefix: str, leaves: frozenset[str]) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            path = prefix + child.tag.rpartition("}")[2]
            self._paths.setdefault(path, []).append(child)
            if len(child) and path not in leaves:
                self._walk(child, path + "/", leaves)


def _clean(text: str | None) -> str | None:
    stripped = text.strip() if text else ""
    return stripped or None


def _local(element: Element) -> str:
    return str(element.tag).rpartition("}")[2]


def _located(element: Element, path: str | None) -> Location:
    return Location(path or "", element.sourceline)


def _relative_path(element: Element, top: Element) -> str:
    steps: list[str] = []
    current = element
    while current is not top:
        parent = current.getparent()
        assert parent is not None, "the element lies inside top"
        twins = [sibling for sibling in parent if sibling.tag == current.tag]
        name = _local(current)
        steps.append(f"{name}[{twins.index(current) + 1}]" if len(twins) > 1 else name)
        current = parent
    return "/".join(reversed(steps))


def _release(element: Element) -> None:
    """Drop a finished element and the siblings read before it, so the tree stays small."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _missing(at: Location, path: str, message: str) -> MalformedStatement:
    return MalformedStatement(
        f"{message} ({at.path}/{path} is missing)", [Problem(f"{at.path}/{path}", message)]
    )


def _malformed(at: Location, path: str, message: str) -> MalformedStatement:
    where = f"{at.path}/{path}"
    line = f" (line {at.line})" if at.line else ""
    return MalformedStatement(f"{where}{line}: {message}", [Problem(where, message)])
