"""Measures the payments matcher and writes bench/results/payments_matching.json.

accuracy: a labelled portfolio (10,000 customers, 100,000 open invoices, 20,000 payments with
typos, missing references, batch and partial payments, unknown payers, duplicates) run through
the pure matcher in order; per payment and per invoice: auto-match rate, wrong auto-matches, and
how often the right items are among the top 3 suggestions of the payments left for a person.

throughput: the matching core (decide and apply, no I/O) against 1,000,000 open items, in
statement lines per second.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from payments.domain.matching import IncomingPayment, Matched, apply, decide
from payments.domain.openitems import OpenItem, OpenItems
from payments.domain.statement import CreditorReference
from settle_simulators.bank import LabelledPayment, Portfolio, portfolio

RESULTS = Path(__file__).parent / "results" / "payments_matching.json"
TARGETS = {
    "auto_matched_share_of_payments": ">= 0.95",
    "wrong_auto_matches": "== 0",
    "right_answer_in_top_3_of_the_rest": ">= 0.90",
    "lines_per_second_against_1m_open_items": ">= 50000",
}


def open_items(book: Portfolio) -> OpenItems:
    items = OpenItems()
    for customer in book.customers:
        items.add_customer(customer.customer_id, customer.name)
    for item in book.items:
        items.add(
            OpenItem(
                invoice_id=item.item_id,
                invoice_number=item.number,
                customer_id=item.customer_id,
                currency=item.amount.currency,
                amount_minor=item.amount.amount_minor,
                open_minor=item.amount.amount_minor,
                payment_reference=item.payment_reference,
                issue_date=item.issue_date,
                due_date=item.due_date,
                kind="credit" if item.credit else "invoice",
            )
        )
    for account, customer_id in book.known_accounts().items():
        items.learn_account(account, customer_id)
    return items


def incoming(number: int, labelled: LabelledPayment) -> IncomingPayment:
    entry = labelled.entry
    text = entry.remittance or ""
    return IncomingPayment(
        payment_id=f"P-{number:07d}",
        amount=entry.amount,
        payer_name=entry.counterparty_name,
        payer_account=entry.counterparty_iban,
        remittance=tuple(text[i : i + 140] for i in range(0, len(text), 140)),
        references=(
            (CreditorReference(entry.structured_reference, "SCOR"),)
            if entry.structured_reference
            else ()
        ),
        booked_on=entry.booking_date,
    )


@dataclass
class Tally:
    payments: int = 0
    auto: int = 0
    wrong: int = 0
    rest_with_answer: int = 0
    rest_top3: int = 0
    invoices_paid: int = 0
    invoices_auto: int = 0
    invoices_wrong: int = 0
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    wrong_examples: list[dict[str, Any]] = field(default_factory=list)


def measure_accuracy(book: Portfolio) -> dict[str, Any]:
    items = open_items(book)
    tally = Tally()
    for number, labelled in enumerate(book.payments):
        payment = incoming(number, labelled)
        truth = set(labelled.paid)
        still_open = all((item := items.get(i)) is not None and item.is_open for i in truth)
        decision = decide(payment, items)
        apply(items, payment, decision)
        kind = tally.by_kind.setdefault(labelled.kind, Counter())
        kind["payments"] += 1
        tally.payments += 1
        if labelled.matchable:
            tally.invoices_paid += len(truth)
        if isinstance(decision, Matched):
            chosen = {a.invoice_id for a in decision.allocations}
            right = labelled.matchable and chosen == truth
            tally.auto += 1
            kind["auto"] += 1
            if right:
                tally.invoices_auto += len(truth)
            else:
                tally.wrong += 1
                kind["wrong"] += 1
                tally.invoices_wrong += len(chosen - truth)
                if len(tally.wrong_examples) < 10:
                    tally.wrong_examples.append(
                        {
                            "kind": labelled.kind,
                            "truth": sorted(truth),
                            "chosen": sorted(chosen),
                            "evidence": list(decision.evidence.signals),
                        }
                    )
        elif still_open:
            tally.rest_with_answer += 1
            offered = {i for s in decision.suggestions[:3] for i in s.invoice_ids}
            hit = truth <= offered
            tally.rest_top3 += hit
            kind["left for a person"] += 1
            kind["right answer in top 3"] += hit
    return {
        "portfolio": {
            "customers": len(book.customers),
            "open_items": len(book.items),
            "payments": len(book.payments),
        },
        "per_payment": {
            "auto_matched_share_of_payments": round(tally.auto / tally.payments, 4),
            "wrong_auto_matches": tally.wrong,
            "right_answer_in_top_3_of_the_rest": round(
                tally.rest_top3 / max(1, tally.rest_with_answer), 4
            ),
            "left_for_a_person_with_a_known_answer": tally.rest_with_answer,
        },
        "per_invoice": {
            "invoices_paid": tally.invoices_paid,
            "settled_or_paid_automatically_and_rightly": round(
                tally.invoices_auto / max(1, tally.invoices_paid), 4
            ),
            "wrongly_allocated": tally.invoices_wrong,
        },
        "by_kind": {kind: dict(counts) for kind, counts in sorted(tally.by_kind.items())},
        "wrong_examples": tally.wrong_examples,
    }


def measure_throughput(customers: int, invoices: int, payments: int) -> dict[str, Any]:
    book = portfolio(seed=7, customers=customers, invoices=invoices, payments=payments)
    began = time.perf_counter()
    items = open_items(book)
    indexed = time.perf_counter() - began
    lines = [incoming(n, p) for n, p in enumerate(book.payments)]
    began = time.perf_counter()
    for payment in lines:
        apply(items, payment, decide(payment, items))
    elapsed = time.perf_counter() - began
    return {
        "open_items": len(items),
        "statement_lines": len(lines),
        "seconds": round(elapsed, 2),
        "lines_per_second_against_1m_open_items": round(len(lines) / elapsed),
        "index_build_seconds": round(indexed, 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python bench/payments_matching.py", description=__doc__)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--throughput-items", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    book = portfolio(seed=args.seed, payments=args.payments)
    accuracy = measure_accuracy(book)
    print(json.dumps(accuracy, indent=2))
    throughput = measure_throughput(
        customers=args.throughput_items // 10,
        invoices=args.throughput_items,
        payments=50_000,
    )
    print(json.dumps(throughput, indent=2))
    document = {
        "benchmark": "payments_matching",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version()},
        "command": "uv run python bench/payments_matching.py",
        "targets": TARGETS,
        "results": {"accuracy": accuracy, "throughput": throughput},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
