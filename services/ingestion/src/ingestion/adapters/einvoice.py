"""Reading e-invoices (UBL 2.1, UN/CEFACT CII) safely, as a stream.

The parser never resolves entities, never loads a DTD, never touches the network, and refuses a
document with a DOCTYPE at its first element, before reading its body. Line items, which make up
nearly all of a large invoice and are not needed to collect it, are dropped as soon as they have
been read, so memory stays flat however long the invoice is. Then the header is read by path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from lxml import etree

from ingestion.adapters.files import UnreadableFile
from ingestion.domain.amounts import AmountError, minor_units
from settle_shared.errors import Problem

Element = etree._Element


def read_header(source: IO[bytes], line_tags: tuple[str, ...]) -> Element:
    """The document's root with its line items removed; `UnreadableFile` if it is not XML we
    accept."""
    events = etree.iterparse(
        source,
        events=("start", "end"),
        tag=None,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root: Element | None = None
    try:
        for event, element in events:
            if root is None:
                root = element
                _refuse_doctype(element)
            elif event == "end" and element.tag in line_tags:
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)
    except etree.XMLSyntaxError as error:
        line, column = error.position
        raise UnreadableFile(
            f"the file is not well-formed XML: {error.msg}",
            [Problem(f"line {line}, column {column}", error.msg)],
        ) from error
    if root is None:
        raise UnreadableFile("the file is empty", [Problem("line 1", "no XML element")])
    return root


def _refuse_doctype(root: Element) -> None:
    if root.getroottree().docinfo.doctype:
        raise UnreadableFile(
            "documents with a DOCTYPE are refused (entities and DTDs are never processed)",
            [Problem("line 1", "remove the <!DOCTYPE ...> declaration")],
        )


@dataclass
class HeaderReader:
    """Reads header fields by path, remembering where each came from and what was wrong."""

    root: Element
    namespaces: dict[str, str]
    root_name: str

    def __post_init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.problems: list[Problem] = []

    def text(self, field: str, *paths: str, required: bool = True) -> str | None:
        for path in paths:
            found = self.root.xpath(path, namespaces=self.namespaces)
            values = (
                [e for e in found if isinstance(e, etree._Element)]
                if isinstance(found, list)
                else []
            )
            for element in values:
                value = (element.text or "").strip()
                if value:
                    self.fields[f"/{field}"] = self._where(path)
                    return value
        self.fields[f"/{field}"] = self._where(paths[0])
        if required:
            self.problems.append(
                Problem(self._where(paths[0]), f"missing: Settle needs the {_name(field)}")
            )
        return None

    def attribute(self, path: str, name: str) -> str | None:
        found = self.root.xpath(path, namespaces=self.namespaces)
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            value = found[0].get(name)
            return value.strip() if value else None
        return None

    def date(self, field: str, value: str | None, pattern: str = "%Y-%m-%d") -> date | None:
        if value is None:
            return None
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            self.problems.append(
                Problem(self.fields[f"/{field}"], f"{value!r} is not a date ({pattern})")
            )
            return None

    def amount(self, field: str, value: str | None, currency: str | None) -> dict[str, Any] | None:
        if value is None or currency is None:
            return None
        try:
            return {"amount_minor": minor_units(Decimal(value), currency), "currency": currency}
        except (InvalidOperation, AmountError) as error:
            message = str(error) if isinstance(error, AmountError) else f"{value!r} is not a number"
            self.problems.append(Problem(self.fields[f"/{field}"], message))
            return None

    def _where(self, path: str) -> str:
        return f"/{self.root_name}/{path}"


def _name(field: str) -> str:
    return field.replace("_", " ")
