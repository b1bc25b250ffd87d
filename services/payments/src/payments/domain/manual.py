"""A person's match: which invoices a payment pays, and how much of each.

Amounts a person gives are applied as given; invoices without one are filled, earliest due
first, from what the payment has left. Whatever is not allocated stays unapplied on the payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from payments.domain.amounts import display, display_minor
from payments.domain.matching import Allocation, Evidence, Matched
from payments.domain.openitems import OpenItem
from settle_shared.money import Money

RefusalKind = Literal[
    "unknown-invoice",
    "invoice-closed",
    "currency-mismatch",
    "several-customers",
    "duplicate-invoice",
    "over-allocated",
    "nothing-left",
]


class ManualMatchRefused(Exception):
    def __init__(self, kind: RefusalKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class Requested:
    invoice_id: str
    amount: Money | None = None


def manual_match(
    amount: Money, requested: Sequence[Requested], items: Sequence[OpenItem], who: str, note: str
) -> Matched:
    """The match a person asked for, or the first reason it cannot be applied."""
    chosen = _chosen(amount, requested, items)
    shares = _shares(amount, requested, chosen)
    allocations = tuple(
        Allocation(
            invoice_id=item.invoice_id,
            invoice_number=item.invoice_number,
            customer_id=item.customer_id,
            is_credit=False,
            currency=item.currency,
            amount_minor=shares[item.invoice_id],
            settles=shares[item.invoice_id] == item.open_minor,
            written_off_minor=0,
        )
        for item in chosen
    )
    evidence = Evidence((f"matched by hand by {who}: {note}",), ())
    return Matched(
        customer_id=chosen[0].customer_id,
        allocations=allocations,
        unapplied_minor=amount.amount_minor - sum(shares.values()),
        currency=amount.currency,
        teaches_account=True,
        explain=lambda: evidence,
    )


def _chosen(
    amount: Money, requested: Sequence[Requested], items: Sequence[OpenItem]
) -> list[OpenItem]:
    by_id = {item.invoice_id: item for item in items}
    ids = [request.invoice_id for request in requested]
    if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
        raise ManualMatchRefused("duplicate-invoice", f"invoice {duplicates[0]} is listed twice")
    chosen: list[OpenItem] = []
    for invoice_id in ids:
        item = by_id.get(invoice_id)
        if item is None or item.kind != "invoice":
            raise ManualMatchRefused("unknown-invoice", f"no invoice {invoice_id}")
        if item.status != "open" or item.open_minor == 0:
            raise ManualMatchRefused(
                "invoice-closed", f"invoice {item.invoice_number} is {item.status}, nothing is open"
            )
        if item.currency != amount.currency:
            raise ManualMatchRefused(
                "currency-mismatch",
                f"invoice {item.invoice_number} is in {item.currency}, the payment in "
                f"{amount.currency}",
            )
        chosen.append(item)
    customers = sorted({item.customer_id for item in chosen})
    if len(customers) > 1:
        raise ManualMatchRefused(
            "several-customers", f"the invoices belong to customers {', '.join(customers)}"
        )
    return chosen


def _shares(
    amount: Money, requested: Sequence[Requested], chosen: list[OpenItem]
) -> dict[str, int]:
    given: dict[str, int] = {}
    for request in requested:
        if request.amount is None:
            continue
        if request.amount.currency != amount.currency:
            raise ManualMatchRefused(
                "currency-mismatch",
                f"{display(request.amount)} for invoice {request.invoice_id}, but the payment "
                f"is in {amount.currency}",
            )
        given[request.invoice_id] = request.amount.amount_minor
    for item in chosen:
        share = given.get(item.invoice_id)
        if share is not None and share > item.open_minor:
            raise ManualMatchRefused(
                "over-allocated",
                f"{display_minor(share, amount.currency)} for invoice {item.invoice_number}, "
                f"but only {display_minor(item.open_minor, amount.currency)} is open",
            )
    left = amount.amount_minor - sum(given.values())
    if left < 0:
        raise ManualMatchRefused(
            "over-allocated",
            f"{display_minor(sum(given.values()), amount.currency)} allocated, but the "
            f"payment is {display(amount)}",
        )
    shares = dict(given)
    for item in sorted((item for item in chosen if item.invoice_id not in given), key=_due_first):
        if left == 0:
            raise ManualMatchRefused(
                "nothing-left", f"nothing of the payment is left for invoice {item.invoice_number}"
            )
        shares[item.invoice_id] = min(left, item.open_minor)
        left -= shares[item.invoice_id]
    return shares


def _due_first(item: OpenItem) -> tuple[date, str]:
    return (item.due_date or date.max, item.invoice_number)
