"""A labelled portfolio (`settle_simulators.bank`) as matching sees it: its items as open items,
its payments as incoming payments."""

from __future__ import annotations

from payments.domain.matching import IncomingPayment
from payments.domain.openitems import OpenItem
from payments.domain.statement import CreditorReference
from settle_simulators.bank import LabelledPayment, PortfolioItem


def open_item(item: PortfolioItem) -> OpenItem:
    return OpenItem(
        item.item_id,
        item.number,
        item.customer_id,
        item.amount.currency,
        item.amount.amount_minor,
        item.amount.amount_minor,
        item.payment_reference,
        item.issue_date,
        item.due_date,
        "credit" if item.credit else "invoice",
    )


def incoming(number: int, labelled: LabelledPayment) -> IncomingPayment:
    entry = labelled.entry
    reference = entry.structured_reference
    return IncomingPayment(
        f"P-{number}",
        entry.amount,
        entry.counterparty_name,
        entry.counterparty_iban,
        (entry.remittance,) if entry.remittance else (),
        (CreditorReference(reference, "SCOR"),) if reference else (),
        booked_on=entry.booking_date,
    )
