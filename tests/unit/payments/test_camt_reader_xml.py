"""The compiled camt reader refuses what is not well-formed XML where libxml2 refused it, says
where, and reads what is: other encodings, prefixes, CDATA, references and comments."""

import io
from datetime import UTC, date, datetime

import pytest

from payments.adapters.camt053 import read_camt053
from payments.domain.statement import (
    Entry,
    MalformedStatement,
    Statement,
    StatementItem,
    UnsupportedDocument,
)
from settle_shared.money import Money
from settle_simulators.bank import NAMESPACE, BankEntry, statement_xml


def statement() -> bytes:
    entries = [
        BankEntry(
            Money.of(12345, "EUR"),
            date(2026, 11, 20),
            counterparty_name="Bakkerij de Vries",
            remittance="Invoice 2026-000123",
        )
    ]
    return statement_xml(
        "NL91ABNA0417164300",
        entries,
        Money.of(100000, "EUR"),
        "STMT-1",
        datetime(2026, 11, 20, tzinfo=UTC),
    )


def read(xml: bytes) -> list[StatementItem]:
    return list(read_camt053(io.BytesIO(xml)))


def refusal(xml: bytes) -> MalformedStatement:
    with pytest.raises(MalformedStatement) as refused:
        read(xml)
    return refused.value


def only_entry(items: list[StatementItem]) -> Entry:
    [entry] = [item for item in items if isinstance(item, Entry)]
    return entry


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ((b"<Ustrd>", b"<Ustrd>\x0b"), "U+000B, which XML does not allow"),
        ((b"<Ustrd>", b"<Ustrd>\xef\xbf\xbe"), "U+FFFE or U+FFFF"),
        ((b"<Ustrd>", b"<Ustrd>a]]>b"), "']]>' in text"),
        ((b"<Ustrd>", b"<Ustrd>&nbsp;"), "undefined entity"),
        ((b"<Ustrd>", b"<Ustrd>&#1;"), "undefined entity"),
        ((b"<Ustrd>", b"<x:Ustrd>"), "the namespace prefix x is not declared"),
        ((b'Ccy="EUR"', b'Ccy="E<R"'), "attribute value holding '<'"),
        ((b"<Ntry", b'<Ntry xmlns:p="not a uri"'), "is not a URI"),
        ((b"</Document>", b"</Document><Document/>"), "after the end of the root element"),
        ((b"</Document>", b"</Document>text"), "text outside the root element"),
        ((b"<Ustrd>", b"<Ustrd><?xml version='1.0'?>"), "XML declaration after the start"),
        ((b"version='1.0'", b"version='2.0'"), "XML version 2.0 is not supported"),
        ((b"encoding='UTF-8'", b"encoding='x-klingon'"), "unknown encoding, x-klingon"),
        ((b"</Ustrd>", b"</Nm>"), "</Nm> where </Ustrd> closes the open element"),
    ],
)
def test_what_is_not_well_formed_is_refused_saying_what_and_where(
    damage: tuple[bytes, bytes], why: str
) -> None:
    xml = statement()
    assert damage[0] in xml
    refused = refusal(xml.replace(damage[0], damage[1], 1))

    assert refused.reason.startswith("the file is not well-formed XML (truncated or damaged)")
    assert why in refused.reason
    [problem] = refused.problems
    assert problem.location.startswith("line ")


def test_a_truncated_file_names_the_element_it_ends_in_and_its_line() -> None:
    xml = statement()
    cut = xml[: xml.index(b"<Ustrd>") + len(b"<Ustrd>")]

    refused = refusal(cut)

    opened = cut.count(b"\n") + 1
    assert f"the file ends inside <Ustrd> (opened on line {opened})" in refused.reason
    column = len(cut) - cut.rindex(b"\n")
    assert refused.problems[0].location == f"line {opened}, column {column}"


def test_nesting_deeper_than_libxml2_allows_is_refused() -> None:
    deep = b"<a>" * 300 + b"</a>" * 300
    xml = statement().replace(b"<Ustrd>", b"<Ustrd>" + deep, 1)

    assert "nested more than 256 deep" in refusal(xml).reason


def test_a_doctype_is_unsupported_before_anything_is_read() -> None:
    xml = statement().replace(b"?>", b"?><!DOCTYPE Document>", 1)

    with pytest.raises(UnsupportedDocument, match="carry no DOCTYPE"):
        read(xml)


def test_a_latin_1_file_reads_in_the_encoding_it_declares() -> None:
    xml = (
        statement().replace(b"UTF-8", b"ISO-8859-1", 1).replace(b"Vries", "Vriés".encode("latin-1"))
    )

    entry = only_entry(read(xml))

    [transaction] = entry.transactions
    assert transaction.debtor is not None
    assert transaction.debtor.name == "Bakkerij de Vriés"


def test_prefixes_cdata_references_and_comments_read_as_plain_text() -> None:
    xml = (
        statement()
        .replace(f'xmlns="{NAMESPACE}"'.encode(), f'xmlns:c="{NAMESPACE}"'.encode(), 1)
        .replace(b"<", b"<c:")
        .replace(b"<c:/", b"</c:")
        .replace(b"<c:?", b"<?")
        .replace(
            b"Invoice 2026-000123", b"Invoice <!-- kept out --><![CDATA[2026]]>&#45;000&#x31;23"
        )
    )

    [statement_item, entry] = read(xml)

    assert isinstance(statement_item, Statement)
    assert isinstance(entry, Entry)
    assert entry.transactions[0].remittance_lines == ("Invoice 2026-000123",)


def test_an_entry_says_the_line_its_start_tag_ends_on_as_libxml2_does() -> None:
    xml = statement().replace(b"<Ntry>", b"<Ntry\n\n>", 1)
    line = xml[: xml.index(b"<Ntry")].count(b"\n") + 3

    assert only_entry(read(xml)).at.line == line


def test_a_file_that_cannot_be_read_raises_what_reading_it_raised() -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("the disk went away")

    with pytest.raises(OSError, match="the disk went away"):
        list(read_camt053(Broken(statement())))
