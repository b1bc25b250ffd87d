"""The simulators feeding the running stack: an ERP portfolio and one debtor's journey, then
weeks of simulated time, a day at a time, with the bank sending statements as customers pay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from settle_local.ledger import Ledger, Snapshot
from settle_local.observe import SettledProbe
from settle_local.report import write_report
from settle_local.scenario import JOURNEY_CUSTOMER, PlannedPayment, plan_payments
from settle_local.stack import API_KEY, TENANT, Stack
from settle_shared.clock import FixedClock
from settle_shared.events import REGISTRY
from settle_shared.events.topics import ERP_INVOICES, INGESTION_REJECTED
from settle_shared.kafka import KafkaPublisher
from settle_shared.money import Money
from settle_shared.settings import KafkaSettings
from settle_shared.testing.topic_recorder import TopicRecorder
from settle_simulators import bank
from settle_simulators.erp import ErpConnector, Portfolio, journey, portfolio

DAY_SECONDS = 86400.0
CREDITOR_ACCOUNT = bank.iban("NL", "ABNA0417164300")


@dataclass(frozen=True)
class DemoOptions:
    customers: int = 40
    days: int = 45


async def run_demo(stack: Stack, console: Console, options: DemoOptions) -> Path:
    start = datetime.now(UTC)
    today = start.date()
    debtor = journey(TENANT, today, start)
    book = portfolio(TENANT, options.customers, today)
    everything = Portfolio(debtor.customers + book.customers, debtor.invoices + book.invoices)
    plan = plan_payments(everything, today)
    topics = [topic.name for topic in REGISTRY.topics()]
    async with (
        TopicRecorder(stack.kafka.bootstrap_servers, topics) as recorder,
        SettledProbe(stack) as probe,
    ):
        ledger = Ledger(recorder.seen)
        with console.status(
            f"the ERP publishes {len(everything.customers)} customers and {len(everything.invoices)} invoices"
        ):
            await _erp_publishes(stack, everything)
            await probe.wait_until_settled()
        snapshots = [ledger.snapshot(0)]
        await _simulate_days(stack, console, options.days, today, plan, probe, ledger, snapshots)
        facts = _facts(ledger, everything, plan, options.days)
        story = await _journey_story(stack, ledger, start)
    _print_summary(console, facts, story)
    report = write_report(stack.run_dir / "report.html", snapshots, facts, story)
    console.print(f"report: [link=file://{report}]{report}[/link]")
    return report


async def _erp_publishes(stack: Stack, everything: Portfolio) -> None:
    publisher = KafkaPublisher(
        KafkaSettings(kafka_bootstrap_servers=stack.kafka.bootstrap_servers), "erp-simulator"
    )
    await publisher.start()
    try:
        erp = ErpConnector(publisher, FixedClock(datetime.now(UTC)))
        await erp.publish(everything.events())
        await erp.publish_malformed(ERP_INVOICES.name, f"{TENANT}:broken-connector")
    finally:
        await publisher.stop()


async def _simulate_days(
    stack: Stack,
    console: Console,
    days: int,
    today: date,
    plan: dict[date, list[PlannedPayment]],
    probe: SettledProbe,
    ledger: Ledger,
    snapshots: list[Snapshot],
) -> None:
    balance = Money.of(5_000_000, "EUR")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("simulating", total=days)
        for day in range(1, days + 1):
            await stack.advance_clocks(DAY_SECONDS)
            booked_on = today + timedelta(days=day)
            entries = [payment.entry for payment in plan.get(booked_on, [])]
            if entries:
                balance = await _bank_sends_statement(stack, console, booked_on, entries, balance)
            if not await probe.wait_until_settled():
                console.print(
                    f"[yellow]day {day}: the stack had not caught up after 60s; going on[/yellow]"
                )
            snapshots.append(ledger.snapshot(day))
            latest = snapshots[-1]
            progress.update(
                task,
                advance=1,
                description=f"day {day:>2}: {latest.reminders} reminders, {latest.payments} payments, "
                f"{latest.open_invoices} invoices open",
            )


async def _bank_sends_statement(
    stack: Stack, console: Console, booked_on: date, entries: list[bank.BankEntry], opening: Money
) -> Money:
    statement = bank.statement_xml(
        CREDITOR_ACCOUNT, entries, opening, f"STMT-{booked_on.isoformat()}", datetime.now(UTC)
    )
    response = await bank.upload(stack.url("payments"), API_KEY, statement)
    if response.status_code not in (200, 201):
        console.print(f"[red]statement of {booked_on} refused: {response.text}[/red]")
        return opening
    return Money.of(
        opening.amount_minor + sum(e.amount.amount_minor for e in entries), opening.currency
    )


def _facts(
    ledger: Ledger, everything: Portfolio, plan: dict[date, list[PlannedPayment]], days: int
) -> list[tuple[str, str]]:
    open_balances = ledger.open_balances()
    still_open = [minor for minor in open_balances.values() if minor > 0]
    statements = sum(1 for on in plan if on <= min(plan, default=on) + timedelta(days=days))
    return [
        (
            "ERP published",
            f"{len(everything.customers)} customers, {len(everything.invoices)} invoices, 1 broken record",
        ),
        (
            "Rejected by ingestion",
            f"{len(ledger.on(INGESTION_REJECTED.name))} (on {INGESTION_REJECTED.name}, with the reason)",
        ),
        (
            "Accepted by ingestion",
            f"{ledger.count('settle.customer.upserted.v1')} customers, {ledger.count('settle.invoice.issued.v1')} invoices",
        ),
        ("Bureau assessments", _counts(ledger.credit_statuses())),
        ("Segments", _counts(ledger.latest_segments())),
        (
            "Dunning cases",
            f"{ledger.count('settle.dunning.case-opened.v1')} opened, {ledger.count('settle.dunning.case-closed.v1')} closed as paid",
        ),
        (
            "Reminders requested",
            f"{ledger.count('settle.dunning.reminder-requested.v1')}: "
            + _counts({f"{s} by {c}": n for (s, c), n in ledger.reminders_by_step().items()}),
        ),
        (
            "Deliveries",
            _counts({f"{c} {s}": n for (c, s), n in ledger.delivery_outcomes().items()}),
        ),
        ("Bank statements", f"{statements} uploaded as camt.053"),
        (
            "Payments",
            f"{ledger.count('settle.payment.received.v1')} received, {ledger.count('settle.payment.matched.v1')} matched automatically, {ledger.count('settle.payment.unmatched.v1')} in the work queue",
        ),
        (
            "Invoices",
            f"{ledger.count('settle.invoice.settled.v1')} settled, {ledger.count('settle.invoice.partially-paid.v1')} partial payments",
        ),
        ("Still open", f"{len(still_open)} invoices, EUR {sum(still_open) / 100:,.2f}"),
        ("Reminders after payment", str(len(ledger.reminders_after_settlement()))),
    ]


async def _journey_story(stack: Stack, ledger: Ledger, start: datetime) -> list[tuple[str, str]]:
    def day_of(instant: str) -> str:
        return f"day {(datetime.fromisoformat(instant) - start).days}"

    def mine(ce_type: str) -> list[dict[str, Any]]:
        return [
            s.data() for s in ledger.of(ce_type) if s.data().get("customer_id") == JOURNEY_CUSTOMER
        ]

    story: list[tuple[str, str]] = []
    for invoice in mine("settle.invoice.issued.v1"):
        story.append(
            ("day 0", f"invoice {invoice['invoice_number']} issued, due {invoice['due_date']}")
        )
    for segment in mine("settle.customer.segmented.v1"):
        story.append(
            (
                day_of(str(segment["decided_at"])),
                f"segment {segment['segment']}: {'; '.join(segment['reasons'])}",
            )
        )
    subjects = await _subjects(stack)
    statuses = {s["action_id"]: s["status"] for s in mine("settle.delivery.status-changed.v1")}
    for reminder in mine("settle.dunning.reminder-requested.v1"):
        action_id = str(reminder["action_id"])
        outcome = subjects.get(action_id) or _delivery_outcome(statuses.get(action_id))
        story.append(
            (
                day_of(str(reminder["requested_at"])),
                f"reminder {reminder['step']} by {reminder['channel']} ({reminder['language']}): {outcome}",
            )
        )
    for settled in mine("settle.invoice.settled.v1"):
        story.append(
            (
                day_of(str(settled["settled_at"])),
                "paid in full by bank transfer, matched automatically",
            )
        )
    for closed in mine("settle.dunning.case-closed.v1"):
        story.append(
            (
                day_of(str(closed["closed_at"])),
                f"case closed ({closed['reason']}); no reminder after this",
            )
        )
    return story


async def _subjects(stack: Stack) -> dict[str, str]:
    assert stack.simulators is not None
    async with httpx.AsyncClient() as client:
        messages = (await client.get(f"{stack.simulators.mail_api_url}/messages")).json()
    return {dict(m["headers"]).get("X-Settle-Action-Id", ""): m["subject"] for m in messages}


def _delivery_outcome(status: str | None) -> str:
    """What became of a reminder that is not among the e-mails sent (an SMS, or one cancelled)."""
    if status == "cancelled":
        return "not sent: cancelled, the case closed first"
    return status or "not sent yet"


def _counts(counts: Mapping[str, int]) -> str:
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {count}" for name, count in ranked) or "none"


def _print_summary(
    console: Console, facts: list[tuple[str, str]], story: list[tuple[str, str]]
) -> None:
    for title, rows in (("What happened", facts), ("One debtor's journey", story)):
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column(style="dim")
        table.add_column()
        for label, value in rows:
            table.add_row(label, value)
        console.print(table)
