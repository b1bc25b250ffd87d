"""What customers owe, as matching sees it: open invoices and unused credit notes, looked up by
reference, number, customer and open amount, and the payer accounts learned for each customer.

One `OpenItems` holds whatever the caller loaded: the few hundred items a chunk of a statement
may touch (the service), or a whole portfolio (the benchmark). Applying a match updates it, so
the next payment of the same statement sees what the previous one left open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from payments.domain.references import reference_key
from payments.domain.remittance import name_key, number_index_keys, number_key, number_keys
from settle_shared.money import Money

ItemKind = Literal["invoice", "credit"]
ItemStatus = Literal["open", "settled", "cancelled"]


@dataclass(slots=True, eq=False)
class OpenItem:
    """An invoice (what stays open of it) or a credit note (what is left of it to net)."""

    invoice_id: str
    invoice_number: str
    customer_id: str
    currency: str
    amount_minor: int
    open_minor: int
    payment_reference: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    kind: ItemKind = "invoice"
    status: ItemStatus = "open"
    known_number_key: str | None = field(default=None, repr=False)
    _number_keys: tuple[str, ...] | None = field(default=None, init=False, repr=False)

    @property
    def number_keys(self) -> tuple[str, ...]:
        """The keys its number is written as (see `remittance.number_keys`), worked out when
        first needed: of the items loaded for a statement chunk, few are ever compared."""
        if self._number_keys is None:
            self._number_keys = number_keys(self.invoice_number)
        return self._number_keys

    @property
    def number_key(self) -> str:
        """The whole number as compared: 'INV-2026-000123' -> 'INV2026000123'; given when the
        item is built (as stored, or as indexed), else worked out when first needed."""
        if self.known_number_key is None:
            self.known_number_key = number_key(self.invoice_number)
        return self.known_number_key

    @property
    def is_open(self) -> bool:
        return self.status == "open" and self.open_minor > 0

    @property
    def is_credit(self) -> bool:
        return self.kind == "credit"

    @property
    def open_amount(self) -> Money:
        return Money.of(self.open_minor, self.currency)

    @property
    def amount(self) -> Money:
        return Money.of(self.amount_minor, self.currency)

    @property
    def label(self) -> str:
        return f"{'credit note' if self.is_credit else 'invoice'} {self.invoice_number}"


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as loaded, with the reference key and serial keys stored with it."""

    item: OpenItem
    reference: str | None
    serials: Sequence[str] | None


@dataclass
class OpenItems:
    """An index of open items; `apply` keeps it current as payments are matched."""

    _by_id: dict[str, OpenItem] = field(default_factory=dict)
    _by_reference: dict[str, list[OpenItem]] = field(default_factory=dict)
    _by_serial: dict[str, list[OpenItem]] = field(default_factory=dict)
    _by_customer: dict[str, list[OpenItem]] = field(default_factory=dict)
    _by_open_amount: dict[tuple[str, int], list[OpenItem]] = field(default_factory=dict)
    _accounts: dict[str, dict[str, int]] = field(default_factory=dict)
    _names: dict[str, set[str]] = field(default_factory=dict)
    _customer_names: dict[str, str] = field(default_factory=dict)
    _later: dict[str, list[Callable[[], Iterable[StoredItem]]]] = field(default_factory=dict)

    def add(
        self,
        item: OpenItem,
        reference: str | None = None,
        serials: Iterable[str] | None = None,
    ) -> None:
        """Index an item by its reference key and serial keys, worked out here unless the
        caller has them already (as stored with the item)."""
        if item.invoice_id in self._by_id:
            return
        self._by_id[item.invoice_id] = item
        if item.payment_reference:
            key = reference or reference_key(item.payment_reference)
            self._by_reference.setdefault(key, []).append(item)
        if serials is None:
            item.known_number_key, serials = number_index_keys(item.invoice_number)
        for key in serials:
            self._by_serial.setdefault(key, []).append(item)
        self._by_customer.setdefault(item.customer_id, []).append(item)
        if item.is_open and not item.is_credit:
            self._by_open_amount.setdefault((item.currency, item.open_minor), []).append(item)

    def add_stored(self, stored: StoredItem) -> None:
        self.add(stored.item, stored.reference, stored.serials)

    def add_later(self, customer_id: str, items: Callable[[], Iterable[StoredItem]]) -> None:
        """A customer's items that only a look-up by customer may want: the caller promises
        that none of them is named by the payments to match, nor open for an amount one of them
        pays. They are indexed when the customer's items are first asked for, as most never
        are."""
        self._later.setdefault(customer_id, []).append(items)

    def add_customer(self, customer_id: str, name: str | None) -> None:
        key = name_key(name)
        if key is None or self._customer_names.get(customer_id) == name:
            return
        self._customer_names[customer_id] = name or ""
        self._names.setdefault(key, set()).add(customer_id)

    def learn_account(self, account: str, customer_id: str, confirmations: int = 1) -> None:
        known = self._accounts.setdefault(account, {})
        known[customer_id] = known.get(customer_id, 0) + confirmations

    def forget_account(self, account: str, customer_id: str) -> None:
        self._accounts.get(account, {}).pop(customer_id, None)

    # Look-ups

    def get(self, invoice_id: str) -> OpenItem | None:
        return self._by_id.get(invoice_id)

    def by_reference(self, key: str) -> list[OpenItem]:
        return self._by_reference.get(key, [])

    def by_serial(self, digits: str) -> list[OpenItem]:
        """Items whose number ends in these digits (the text then says whether it gives the
        number, or only ends like it)."""
        return self._by_serial.get(digits, [])

    def of_customer(self, customer_id: str) -> Iterator[OpenItem]:
        for items in self._later.pop(customer_id, ()):
            for stored in items():
                self.add_stored(stored)
        return (item for item in self._by_customer.get(customer_id, ()) if item.is_open)

    def with_open_amount(self, amount: Money) -> list[OpenItem]:
        return self._by_open_amount.get((amount.currency, amount.amount_minor), [])

    def customers_paying_from(self, account: str | None) -> frozenset[str]:
        if account is None:
            return frozenset()
        return frozenset(self._accounts.get(account, ()))

    def customers_named(self, payer_name_key: str | None) -> frozenset[str]:
        if payer_name_key is None:
            return frozenset()
        return frozenset(self._names.get(payer_name_key, ()))

    def customer_name(self, customer_id: str) -> str | None:
        return self._customer_names.get(customer_id)

    def __len__(self) -> int:
        """Items indexed so far (not those added for later and not yet asked for)."""
        return len(self._by_id)

    def items(self) -> Iterable[OpenItem]:
        return self._by_id.values()

    # Changes

    def reduce(self, item: OpenItem, by_minor: int, closes: bool) -> None:
        """Take `by_minor` off what is open (a payment applied, a credit netted)."""
        self._leave_amount_bucket(item)
        item.open_minor = max(0, item.open_minor - by_minor)
        if closes or item.open_minor == 0:
            item.open_minor = 0
            item.status = "settled"
        self._enter_amount_bucket(item)

    def _leave_amount_bucket(self, item: OpenItem) -> None:
        bucket = self._by_open_amount.get((item.currency, item.open_minor))
        if bucket is not None and item in bucket:
            bucket.remove(item)

    def _enter_amount_bucket(self, item: OpenItem) -> None:
        if item.is_open and not item.is_credit:
            self._by_open_amount.setdefault((item.currency, item.open_minor), []).append(item)
