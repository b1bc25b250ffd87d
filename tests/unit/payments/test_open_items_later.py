"""A statement chunk's known payers' items that no payment names are indexed only when matching
asks for that customer's items; the decisions must be those of indexing everything at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from copy import copy

from payments.domain.matching import (
    Decision,
    IncomingPayment,
    Matched,
    Unmatched,
    apply,
    clues_of,
    decide,
)
from payments.domain.openitems import OpenItem, OpenItems, StoredItem
from payments.domain.references import reference_key
from payments.domain.remittance import serial_keys
from settle_simulators.bank import portfolio
from tests.unit.payments.labelled_portfolio import incoming, open_item

CHUNK = 100


def _item(invoice_id: str, number: str, customer_id: str, open_minor: int) -> OpenItem:
    return OpenItem(invoice_id, number, customer_id, "EUR", open_minor, open_minor)


def test_items_added_for_later_are_indexed_when_their_customer_is_asked_for() -> None:
    items = OpenItems()
    items.add(_item("i-1", "INV-2026-000001", "c-1", 100))
    built: list[str] = []

    def later() -> Iterator[StoredItem]:
        built.append("c-2")
        yield StoredItem(_item("i-2", "INV-2026-000002", "c-2", 200), None, None)

    items.add_later("c-2", later)

    assert items.by_serial("000002") == []
    assert len(items) == 1
    assert [i.invoice_id for i in items.of_customer("c-2")] == ["i-2"]
    assert [i.invoice_id for i in items.by_serial("000002")] == ["i-2"]
    assert [i.invoice_id for i in items.of_customer("c-2")] == ["i-2"]
    assert built == ["c-2"]
    assert len(items) == 2


def test_a_chunk_decides_as_if_every_item_were_indexed_at_once() -> None:
    book = portfolio(seed=5, customers=300, invoices=3000, payments=600)
    stored = {item.item_id: open_item(item) for item in book.items}
    accounts = {account: {customer: 1} for account, customer in book.known_accounts().items()}
    names = {c.customer_id: c.name for c in book.customers}
    payments = [incoming(n, p) for n, p in enumerate(book.payments)]
    lazily_indexed = deferred = 0

    for start in range(0, len(payments), CHUNK):
        chunk = payments[start : start + CHUNK]
        eager, lazy = OpenItems(), OpenItems()
        for index in (eager, lazy):
            for customer_id, name in names.items():
                index.add_customer(customer_id, name)
            for account, known in accounts.items():
                for customer_id, count in known.items():
                    index.learn_account(account, customer_id, count)
        named, of_payers = _loaded(chunk, stored, eager)
        for item in named + of_payers:
            eager.add(copy(item))
        for item in named:
            lazy.add(copy(item))
        for customer_id in {item.customer_id for item in of_payers}:
            mine = [item for item in of_payers if item.customer_id == customer_id]
            lazy.add_later(customer_id, _later(mine))
        for payment in chunk:
            expected, got = decide(payment, eager), decide(payment, lazy)
            assert _outcome(got) == _outcome(expected), payment.payment_id
            apply(eager, payment, expected)
            apply(lazy, payment, got)
            _remember(stored, accounts, payment, expected)
        lazily_indexed += len(lazy) - len(named)
        deferred += len(of_payers)

    assert 0 < lazily_indexed < deferred // 2


def _loaded(
    chunk: list[IncomingPayment], stored: dict[str, OpenItem], accounts: OpenItems
) -> tuple[list[OpenItem], list[OpenItem]]:
    """What the chunk loader loads: items named by a reference or number, or open for a
    payment's amount, and (apart) the other open items of the known payers; credits always."""
    clues = [clues_of(payment) for payment in chunk]
    references = {key for clue in clues for key in clue.trusted_reference_keys}
    serials = {serial for clue in clues for serial in clue.serials}
    amounts = {payment.amount.amount_minor for payment in chunk}
    payers = set().union(
        *(accounts.customers_paying_from(payment.payer_account) for payment in chunk),
        *(accounts.customers_named(clue.payer_name_key) for clue in clues),
    )
    named, of_payers = [], []
    for item in stored.values():
        if item.is_credit or (
            item.is_open
            and (
                item.open_minor in amounts
                or (item.payment_reference and reference_key(item.payment_reference) in references)
                or serials.intersection(serial_keys(item.invoice_number))
            )
        ):
            named.append(item)
        elif item.is_open and item.customer_id in payers:
            of_payers.append(item)
    return named, of_payers


def _later(items: list[OpenItem]) -> Callable[[], Iterator[StoredItem]]:
    return lambda: (StoredItem(copy(item), None, None) for item in items)


def _remember(
    stored: dict[str, OpenItem],
    accounts: dict[str, dict[str, int]],
    payment: IncomingPayment,
    decision: Decision,
) -> None:
    if not isinstance(decision, Matched):
        return
    for allocation in decision.allocations:
        item = stored[allocation.invoice_id]
        item.open_minor = max(0, item.open_minor - allocation.amount_minor)
        if allocation.settles or item.open_minor == 0:
            item.open_minor, item.status = 0, "settled"
    if decision.teaches_account and payment.payer_account:
        known = accounts.setdefault(payment.payer_account, {})
        known[decision.customer_id] = known.get(decision.customer_id, 0) + 1


def _outcome(decision: Decision) -> object:
    if isinstance(decision, Unmatched):
        return ("unmatched", decision.reason, [s.invoice_ids for s in decision.suggestions])
    return ("matched", decision.allocations, decision.evidence)
