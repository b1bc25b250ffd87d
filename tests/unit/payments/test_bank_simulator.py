"""The simulated bank writes statements the payments service reads back exactly."""

import io
from datetime import UTC, date, datetime

import pytest
from lxml import etree
from schwifty import IBAN

from payments.adapters.camt053 import read_camt053
from payments.domain.checks import check_file
from payments.domain.statement import Entry, Statement
from settle_shared.money import Money
from settle_simulators.bank import NAMESPACE, BankEntry, iban, statement_xml

ACCOUNT = "NL91ABNA0417164300"
CREATED = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
PAYER = iban("DE", "370400440532013000")


def entries() -> list[BankEntry]:
    return [
        BankEntry(
            Money.of(123450, "EUR"),
            date(2026, 11, 19),
            counterparty_name="Bakkerij de Vries B.V.",
            counterparty_iban=PAYER,
            remittance="Invoice 2026-000123",
            structured_reference="RF18539007547034",
            end_to_end_id="E2E-0001",
            value_date=date(2026, 11, 20),
        ),
        BankEntry(
            Money.of(2500, "EUR"),
            date(2026, 11, 20),
            direction="debit",
            counterparty_name="Bank fees",
            remittance="Account fee November",
        ),
    ]


def test_what_the_bank_writes_the_parser_reads_back_exactly() -> None:
    xml = statement_xml(
        ACCOUNT,
        entries(),
        Money.of(-10000, "EUR"),
        "STMT-2026-11-20",
        CREATED,
        electronic_sequence=42,
    )

    items = list(read_camt053(io.BytesIO(xml)))
    [checked] = check_file(items)

    statement, credit, debit = items
    assert isinstance(statement, Statement)
    assert isinstance(credit, Entry)
    assert isinstance(debit, Entry)
    assert checked.entries == 2
    assert (statement.statement_id, statement.account.iban, statement.currency) == (
        "STMT-2026-11-20",
        ACCOUNT,
        "EUR",
    )
    assert statement.electronic_sequence == 42
    assert statement.created_at == CREATED
    assert statement.opening is not None
    assert statement.closing is not None
    assert (statement.opening.amount.amount_minor, statement.opening.direction) == (10000, "debit")
    assert (statement.closing.amount.amount_minor, statement.closing.direction) == (
        110950,
        "credit",
    )
    assert (credit.amount, credit.direction, credit.booking_date, credit.value_date) == (
        Money.of(123450, "EUR"),
        "credit",
        date(2026, 11, 19),
        date(2026, 11, 20),
    )
    [details] = credit.transactions
    assert details.end_to_end_id == "E2E-0001"
    assert details.debtor is not None
    assert (details.debtor.name, details.debtor.iban) == ("Bakkerij de Vries B.V.", PAYER)
    assert details.remittance_lines == ("Invoice 2026-000123",)
    assert [r.value for r in details.creditor_references] == ["RF18539007547034"]
    assert debit.direction == "debit"
    assert debit.transactions[0].creditor is not None
    assert debit.transactions[0].creditor.name == "Bank fees"


def test_every_iban_the_bank_writes_is_valid() -> None:
    xml = statement_xml(ACCOUNT, entries(), Money.of(0, "EUR"), "STMT-1", CREATED)

    written = etree.fromstring(xml).findall(f".//{{{NAMESPACE}}}IBAN")

    assert [element.text for element in written] == [ACCOUNT, PAYER]
    for element in written:
        assert IBAN(element.text or "").compact == element.text


def test_iban_builds_check_digits_for_a_domestic_account_number() -> None:
    assert iban("NL", "ABNA0417164300") == "NL91ABNA0417164300"
    assert iban("DE", "370400440532013000") == "DE89370400440532013000"
    assert IBAN(iban("BE", "096123456769")).country_code == "BE"


def test_an_invalid_iban_is_refused_rather_than_written() -> None:
    with pytest.raises(ValueError, match="checksum"):
        statement_xml("NL92ABNA0417164300", entries(), Money.of(0, "EUR"), "STMT-1", CREATED)
    bad_payer = BankEntry(
        Money.of(100, "EUR"), date(2026, 11, 20), counterparty_iban="DE00370400440532013000"
    )
    with pytest.raises(ValueError, match="checksum"):
        statement_xml(ACCOUNT, [bad_payer], Money.of(0, "EUR"), "STMT-1", CREATED)


def test_an_entry_in_another_currency_than_the_account_is_refused() -> None:
    foreign = BankEntry(Money.of(100, "USD"), date(2026, 11, 20))
    with pytest.raises(ValueError, match="entry in USD on an account in EUR"):
        statement_xml(ACCOUNT, [foreign], Money.of(0, "EUR"), "STMT-1", CREATED)


def test_an_entry_keeps_its_bank_reference_in_every_statement_that_reports_it() -> None:
    shared = entries()[0]
    first = statement_xml(ACCOUNT, [shared], Money.of(0, "EUR"), "STMT-1", CREATED)
    second = statement_xml(ACCOUNT, [shared, entries()[1]], Money.of(0, "EUR"), "STMT-2", CREATED)

    def references(xml: bytes) -> list[str | None]:
        return [
            item.account_servicer_reference
            for item in read_camt053(io.BytesIO(xml))
            if isinstance(item, Entry)
        ]

    assert references(first)[0] == references(second)[0]
    assert references(second)[0] != references(second)[1]


def test_long_remittance_text_is_split_into_140_character_lines() -> None:
    text = "x" * 150
    entry = BankEntry(Money.of(100, "EUR"), date(2026, 11, 20), remittance=text)
    xml = statement_xml(ACCOUNT, [entry], Money.of(0, "EUR"), "STMT-1", CREATED)

    [_, read] = read_camt053(io.BytesIO(xml))

    assert isinstance(read, Entry)
    assert read.transactions[0].remittance_lines == ("x" * 140, "x" * 10)


def test_zero_and_three_decimal_currencies_are_written_with_their_own_decimals() -> None:
    for currency, minor, text in (("JPY", 2700, "2700"), ("KWD", 1234, "1.234")):
        entry = BankEntry(Money.of(minor, currency), date(2026, 11, 20))
        xml = statement_xml(ACCOUNT, [entry], Money.of(0, currency), "STMT-1", CREATED)
        [amount] = etree.fromstring(xml).findall(f".//{{{NAMESPACE}}}Ntry/{{{NAMESPACE}}}Amt")
        assert amount.text == text
        [_, read] = read_camt053(io.BytesIO(xml))
        assert isinstance(read, Entry)
        assert read.amount == Money.of(minor, currency)
