"""What the simulated ERP's customers will do: who pays when, how much, and with which reference.
Pure and deterministic (seeded), so the demo tells the same story every run."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from settle_shared.events.erp import ErpInvoiceIssued
from settle_shared.money import Money
from settle_simulators import bank
from settle_simulators.erp import Portfolio

HABITS = ("punctual", "late", "partial", "silent")
HABIT_WEIGHTS = (45, 30, 10, 15)
JOURNEY_CUSTOMER = "C-JOURNEY"


@dataclass(frozen=True)
class PlannedPayment:
    on: date
    entry: bank.BankEntry
    invoice_id: str | None


def plan_payments(
    portfolio: Portfolio, today: date, seed: int = 11
) -> dict[date, list[PlannedPayment]]:
    """Bank credits by booking date: each customer keeps a paying habit; two unknown payers."""
    rng = random.Random(seed)
    habits = {c.customer_id: rng.choices(HABITS, HABIT_WEIGHTS)[0] for c in portfolio.customers}
    habits[JOURNEY_CUSTOMER] = "journey"
    names = {c.customer_id: c.master.name for c in portfolio.customers}
    plan: dict[date, list[PlannedPayment]] = defaultdict(list)
    for invoice in portfolio.invoices:
        account = bank.iban("NL", f"INGB{rng.randrange(10**9, 10**10)}")
        for on, minor in _instalments(invoice, habits[invoice.customer_id], rng):
            remittance, reference = _reference(invoice, rng)
            entry = bank.BankEntry(
                amount=Money.of(minor, invoice.amount.currency),
                booking_date=max(on, today + timedelta(days=1)),
                counterparty_name=names[invoice.customer_id],
                counterparty_iban=account,
                remittance=remittance,
                structured_reference=reference,
            )
            plan[entry.booking_date].append(
                PlannedPayment(entry.booking_date, entry, invoice.invoice_id)
            )
    for stranger in range(2):
        on = today + timedelta(days=3 + 7 * stranger)
        unknown = bank.BankEntry(
            amount=Money.of(rng.randrange(5_000, 90_000), "EUR"),
            booking_date=on,
            counterparty_name="Onbekende Betaler",
            counterparty_iban=bank.iban("NL", f"RABO{rng.randrange(10**9, 10**10)}"),
            remittance="betaling",
        )
        plan[on].append(PlannedPayment(on, unknown, None))
    return dict(plan)


def _instalments(
    invoice: ErpInvoiceIssued, habit: str, rng: random.Random
) -> list[tuple[date, int]]:
    due, total = invoice.due_date, invoice.amount.amount_minor
    if habit == "journey":
        return [(due + timedelta(days=6), total)]
    if habit == "punctual":
        return [(due - timedelta(days=rng.randrange(0, 4)), total)]
    if habit == "late":
        return [(due + timedelta(days=rng.randrange(5, 26)), total)]
    if habit == "partial":
        half = total // 2
        return [
            (due + timedelta(days=2), half),
            (due + timedelta(days=rng.randrange(10, 20)), total - half),
        ]
    return []


def _reference(invoice: ErpInvoiceIssued, rng: random.Random) -> tuple[str | None, str | None]:
    """(remittance text, structured reference): most payers quote the structured reference;
    some only write the invoice number."""
    if rng.random() < 0.15:
        return f"Factuur {invoice.invoice_number}", None
    return None, invoice.payment_reference
