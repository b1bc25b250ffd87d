"""A file is rejected whole, with a precise error, when it cannot be read or does not add up."""

import io
import re
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from payments.adapters.camt053 import read_camt053
from payments.domain.checks import check_file
from payments.domain.statement import (
    Entry,
    InconsistentStatement,
    MalformedStatement,
    Statement,
    StatementItem,
    UnsupportedDocument,
)
from settle_shared.money import Money
from settle_simulators.bank import NAMESPACE, BankEntry, statement_xml

ACCOUNT = "NL91ABNA0417164300"
DAY = date(2026, 11, 20)


def statement(*amounts: int, statement_id: str = "STMT-1") -> bytes:
    entries = [
        BankEntry(
            Money.of(abs(minor), "EUR"),
            DAY,
            direction="credit" if minor > 0 else "debit",
            counterparty_name=f"Payer {index}",
            remittance=f"Invoice 2026-{index:06d}",
        )
        for index, minor in enumerate(amounts, start=1)
    ]
    return statement_xml(
        ACCOUNT, entries, Money.of(100000, "EUR"), statement_id, datetime(2026, 11, 20, tzinfo=UTC)
    )


def edited(xml: bytes, xpath: str, text: str) -> bytes:
    tree = etree.fromstring(xml)
    [element] = tree.xpath(xpath, namespaces={"c": NAMESPACE})
    element.text = text
    return bytes(etree.tostring(tree))


def check(xml: bytes) -> list[StatementItem]:
    items = list(read_camt053(io.BytesIO(xml)))
    check_file(items)
    return items


def test_a_statement_built_by_the_bank_passes() -> None:
    items = check(statement(12345, -500, 700))
    assert len(items) == 4


def test_a_closing_balance_that_does_not_add_up_is_refused_with_expected_and_found() -> None:
    xml = edited(statement(12345, -500), "//c:Bal[2]/c:Amt", "1118.46")

    with pytest.raises(InconsistentStatement) as refused:
        check(xml)

    [problem] = refused.value.problems
    assert problem.location == "/Document/BkToCstmrStmt/Stmt[1]/Bal[2] (line 32)"
    assert problem.message == (
        "statement STMT-1: OPBD EUR 1000.00 CRDT + booked credits EUR 123.45 "
        "- booked debits EUR 5.00 = EUR 1118.45 CRDT expected, but CLBD is EUR 1118.46 CRDT"
    )
    assert refused.value.reason == problem.message


def test_a_closing_balance_on_the_wrong_side_is_refused() -> None:
    xml = edited(statement(12345), "//c:Bal[2]/c:CdtDbtInd", "DBIT")
    with pytest.raises(InconsistentStatement, match=re.escape("but CLBD is EUR 1123.45 DBIT")):
        check(xml)


def test_a_pending_entry_does_not_count_towards_the_booked_balance() -> None:
    xml = edited(statement(12345, 700), "//c:Ntry[2]/c:Sts", "PDNG")
    with pytest.raises(InconsistentStatement, match=re.escape("booked credits EUR 123.45 ")):
        check(xml)


def test_transaction_details_that_disagree_with_their_entry_are_refused() -> None:
    xml = edited(statement(12345, 700), "//c:Ntry[2]//c:TxAmt/c:Amt", "6.99")

    with pytest.raises(InconsistentStatement) as refused:
        check(xml)

    [problem] = refused.value.problems
    assert problem.location.startswith("/Document/BkToCstmrStmt/Stmt[1]/Ntry[2] ")
    assert problem.message == (
        "statement STMT-1, entry 2: its 1 transaction(s) add up to EUR 6.99 "
        "but the entry amount is EUR 7.00"
    )


def test_a_batch_of_credits_must_add_up_to_its_entry() -> None:
    tree = etree.fromstring(statement(12345))
    details = tree.find(f".//{{{NAMESPACE}}}TxDtls")
    assert details is not None
    twin = etree.fromstring(etree.tostring(details))
    twin.find(f".//{{{NAMESPACE}}}Amt").text = "0.01"  # type: ignore[union-attr]
    details.addnext(twin)

    with pytest.raises(
        InconsistentStatement, match=re.escape("its 2 transaction(s) add up to EUR 123.46")
    ):
        check(etree.tostring(tree))


def test_stated_entry_counts_and_sums_must_match_the_entries() -> None:
    xml = edited(statement(12345, -500), "//c:TtlCdtNtries/c:NbOfNtries", "2")
    with pytest.raises(InconsistentStatement) as refused:
        check(xml)
    [problem] = refused.value.problems
    assert problem.message == "statement STMT-1 states 2 credit entries but holds 1"
    assert "TxsSummry/TtlCdtNtries" in problem.location


def test_a_truncated_file_is_refused_before_anything_is_read_from_its_end() -> None:
    xml = statement(12345, 700, 900)
    truncated = xml[: len(xml) * 2 // 3]

    with pytest.raises(MalformedStatement) as refused:
        list(read_camt053(io.BytesIO(truncated)))

    assert "not well-formed XML (truncated or damaged)" in refused.value.reason
    assert re.fullmatch(r"line \d+, column \d+", refused.value.problems[0].location)


def test_an_empty_body_is_malformed() -> None:
    with pytest.raises(MalformedStatement, match="not well-formed"):
        list(read_camt053(io.BytesIO(b"")))


@pytest.mark.parametrize(
    ("namespace", "why"),
    [
        ("urn:iso:std:iso:20022:tech:xsd:camt.054.001.06", "camt.054.001.06 is not supported"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.06", "camt.053.001.06 is not supported"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.001.001.03", "pain.001.001.03 is not supported"),
        ("urn:example:invoice", "not an ISO 20022 Document"),
    ],
)
def test_other_document_types_are_refused_by_name(namespace: str, why: str) -> None:
    xml = statement(12345).replace(NAMESPACE.encode(), namespace.encode())
    with pytest.raises(UnsupportedDocument, match=why):
        list(read_camt053(io.BytesIO(xml)))


def test_a_document_declaring_a_doctype_is_refused() -> None:
    xml = statement(12345).replace(
        b"<Document", b'<!DOCTYPE Document [<!ENTITY big "boom">]>\n<Document', 1
    )
    with pytest.raises(UnsupportedDocument, match="DOCTYPE"):
        list(read_camt053(io.BytesIO(xml)))


@pytest.mark.parametrize("version", ["camt.053.001.03", "camt.053.001.04", "camt.053.001.08"])
def test_each_supported_version_reads_by_local_name(version: str) -> None:
    xml = statement(12345).replace(b"camt.053.001.02", version.encode())
    [header, entry] = check(xml)
    assert isinstance(header, Statement)
    assert isinstance(entry, Entry)
    assert header.version == version


def test_a_namespace_prefix_reads_the_same_as_a_default_namespace() -> None:
    plain = statement(12345, -500)
    prefixed = re.sub(rb"<(/?)(\w+)", rb"<\1c:\2", plain).replace(b"xmlns=", b"xmlns:c=")
    assert prefixed != plain
    assert check(prefixed)[1:] == check(plain)[1:]


def test_an_amount_with_more_decimals_than_its_currency_names_its_place() -> None:
    xml = edited(statement(12345), "//c:Ntry[1]/c:Amt", "123.455")
    with pytest.raises(MalformedStatement) as refused:
        list(read_camt053(io.BytesIO(xml)))
    assert refused.value.problems[0].location == "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/Amt"
    assert "more decimals than EUR's 2" in refused.value.problems[0].message


def test_an_unknown_credit_debit_indicator_is_malformed() -> None:
    xml = edited(statement(12345), "//c:Ntry[1]/c:CdtDbtInd", "CREDIT")
    with pytest.raises(MalformedStatement, match="'CREDIT' is neither CRDT nor DBIT"):
        list(read_camt053(io.BytesIO(xml)))


def test_the_same_statement_twice_in_one_file_is_refused() -> None:
    tree = etree.fromstring(statement(12345))
    statement_element = tree.find(f".//{{{NAMESPACE}}}Stmt")
    assert statement_element is not None
    statement_element.addnext(etree.fromstring(etree.tostring(statement_element)))

    with pytest.raises(InconsistentStatement, match="appears more than once in the file"):
        check(etree.tostring(tree))
