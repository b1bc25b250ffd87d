"""Measures a large camt.053 upload to payments end to end; writes
bench/results/payments_import.json.

For each size (20,000 and 100,000 entries by default) a fresh payments database is seeded with
the open-item book of a labelled portfolio (`settle_simulators.bank.portfolio`: customers, open
invoices with and without RF references, credit notes, payer accounts known from earlier
matches), and the portfolio's payments are written as one statement
(`settle_simulators.camt_generator`). Payments runs as in production, one process per role (`api`
and `relay`, after `migrate`), against a local PostgreSQL and Kafka. Timed from the first byte of
the upload:

- response: the upload answered (file checked, every entry booked, every payment matched or
  queued, every event in the outbox);
- published: the relay has published every event to Kafka (acks=all) and marked it so; the
  topic's end offsets are checked to hold them.
- first settlement: the first invoice-settled event is on Kafka, where dunning reads it (the file
  is checked whole before anything is applied, so this grows with the file).

Memory: the peak resident set (VmHWM) of the api process, which parses and imports the file, in
a fresh process per size; it should not grow with the file.

CPU: the seconds of CPU the api and the relay used from the upload until every event was
published, what the whole machine used besides (PostgreSQL, Kafka, this benchmark, the system),
how busy the cores were, and how much time the host took from this virtual machine meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console

from payments.domain.references import reference_key
from payments.domain.remittance import name_key, number_key, serial_keys
from settle_local.paths import repo_root
from settle_local.ports import free_port
from settle_local.processes import ServerProcess, wait_until_healthy
from settle_local.throwaway import throwaway_infrastructure
from settle_shared.events.payments import InvoiceSettled
from settle_shared.events.topics import PAYMENTS
from settle_simulators.bank import Portfolio
from settle_simulators.camt_generator import sized_portfolio, write_large_statement

API_KEY = "bench-payments-key-0001"
TENANT = "bench"
CREATED = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
SETTLED = InvoiceSettled.event_type.ce_type
TARGETS = {
    "published_seconds_at_100000_entries": 60,
    "peak_rss_growth_from_20000_to_100000_entries_mb": 50,
}


async def seed(database_url: str, book: Portfolio) -> None:
    """The open-item book, as payments keeps it once ingestion's events are in."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.copy_records_to_table(
            "customers",
            records=[
                (TENANT, c.customer_id, c.name, name_key(c.name), 1, CREATED)
                for c in book.customers
            ],
            columns=["tenant", "customer_id", "name", "name_key", "revision", "updated_at"],
        )
        await connection.copy_records_to_table(
            "open_items",
            records=[
                (
                    TENANT,
                    item.item_id,
                    item.customer_id,
                    item.number,
                    number_key(item.number),
                    item.payment_reference,
                    reference_key(item.payment_reference) if item.payment_reference else None,
                    item.amount.currency,
                    item.amount.amount_minor,
                    item.due_date,
                    1,
                    CREATED,
                    list(serial_keys(item.number)),
                    item.issue_date,
                )
                for item in book.items
                if not item.credit
            ],
            columns=[
                "tenant",
                "invoice_id",
                "customer_id",
                "invoice_number",
                "number_key",
                "payment_reference",
                "reference_key",
                "currency",
                "amount_minor",
                "due_date",
                "revision",
                "updated_at",
                "serial_keys",
                "issue_date",
            ],
        )
        await connection.copy_records_to_table(
            "credit_notes",
            records=[
                (
                    TENANT,
                    item.item_id,
                    item.customer_id,
                    item.number,
                    item.amount.currency,
                    item.amount.amount_minor,
                    item.issue_date,
                    CREATED,
                )
                for item in book.items
                if item.credit
            ],
            columns=[
                "tenant",
                "credit_note_id",
                "customer_id",
                "credit_note_number",
                "currency",
                "amount_minor",
                "issue_date",
                "received_at",
            ],
        )
        await connection.copy_records_to_table(
            "payer_accounts",
            records=[
                (TENANT, account, customer_id, 1, CREATED)
                for account, customer_id in book.known_accounts().items()
            ],
            columns=["tenant", "account", "customer_id", "confirmations", "updated_at"],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def cpu_seconds(pid: int) -> float:
    """CPU (user and system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_seconds() -> dict[str, float]:
    """CPU the whole machine has used so far, summed over its cores, and the time the host
    (this is a virtual machine) took from it: a busy host makes the same work take longer."""
    user, nice, system, _, _, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    tick = os.sysconf("SC_CLK_TCK")
    return {"machine": (user + nice + system + irq + softirq) / tick, "stolen": steal / tick}


def cpu_now(pids: dict[str, int]) -> dict[str, float]:
    return machine_seconds() | {role: cpu_seconds(p) for role, p in pids.items()}


def cpu_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, Any]:
    used = {role: after[role] - before[role] for role in before}
    return {
        "api": round(used["api"], 1),
        "relay": round(used["relay"], 1),
        "everything_else": round(used["machine"] - used["api"] - used["relay"], 1),
        "machine_busy_share": round(used["machine"] / (seconds * len(os.sched_getaffinity(0))), 2),
        "stolen_by_the_host": round(used["stolen"], 1),
    }


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


async def file_body(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            yield chunk


async def unpublished(database_url: str) -> int:
    """Events in the outbox: the relay deletes each one it has published."""
    connection = await asyncpg.connect(database_url)
    try:
        pending: int = await connection.fetchval("SELECT count(*) FROM outbox")
        return pending
    finally:
        await connection.close()


async def records_on_topic(bootstrap_servers: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        offsets = await consumer.end_offsets(
            [TopicPartition(PAYMENTS.name, partition) for partition in range(PAYMENTS.partitions)]
        )
        return sum(offsets.values())
    finally:
        await consumer.stop()


@asynccontextmanager
async def watch_for_first(
    bootstrap_servers: str, ce_type: str
) -> AsyncIterator[asyncio.Task[float]]:
    """A task that ends, with the `time.monotonic()` of its arrival, when the first record of
    this type published from now on is read from the payments topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    partitions = [TopicPartition(PAYMENTS.name, p) for p in range(PAYMENTS.partitions)]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for partition in partitions:
        await consumer.position(partition)  # pins "from now on" before the caller goes on

    async def first() -> float:
        wanted = ce_type.encode()
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                if any(("ce_type", wanted) in r.headers for r in records):
                    return time.monotonic()

    task = asyncio.create_task(first())
    try:
        yield task
    finally:
        task.cancel()
        await consumer.stop()


async def measure_size(
    entries: int, run_dir: Path, postgres: Any, bootstrap_servers: str, console: Console
) -> dict[str, Any]:
    console.print(f"{entries} entries: portfolio and statement")
    book = sized_portfolio(entries)
    statement = run_dir / f"statement-{entries}.xml"
    with statement.open("wb") as out:
        written = write_large_statement(out, book, f"STMT-BENCH-{entries}", CREATED)
    database = f"bench_payments_{uuid.uuid4().hex[:8]}"
    await postgres.create_database(database)
    database_url = postgres.url(database)
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "SETTLE_API_KEYS": json.dumps({API_KEY: TENANT}),
        "LOG_LEVEL": "WARNING",
        "OTEL_TRACES_EXPORTER": "none",
    }
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "payments", "migrate", env=environment
    )
    await migrate.wait()
    await seed(database_url, book)
    on_topic_before = await records_on_topic(bootstrap_servers)
    port = free_port()
    processes = [
        (
            role,
            ServerProcess(
                [sys.executable, "-m", "payments", role, "--port", str(role_port)],
                output=run_dir / f"{role}-{entries}.log",
                environment=environment,
            ),
            run_dir / f"{role}-{entries}.log",
        )
        for role, role_port in (("api", port), ("relay", free_port()))
    ]
    try:
        await wait_until_healthy(f"http://127.0.0.1:{port}/health/ready", processes, 60)
        api = processes[0][1]
        rss_ready = peak_rss_mb(api.pid)
        pids = {"api": api.pid, "relay": processes[1][1].pid}
        console.print(f"{entries} entries: uploading {statement.stat().st_size >> 20} MB")
        async with watch_for_first(bootstrap_servers, SETTLED) as first_settled:
            cpu_before = cpu_now(pids)
            began = time.monotonic()
            async with httpx.AsyncClient(timeout=600) as client:
                response = await client.post(
                    f"http://127.0.0.1:{port}/v1/statements",
                    content=file_body(statement),
                    headers={
                        "Content-Type": "application/xml",
                        "Authorization": f"Bearer {API_KEY}",
                    },
                )
            answered = time.monotonic() - began
            if response.status_code != 201:
                raise RuntimeError(
                    f"upload answered {response.status_code}: {response.text[:2000]}"
                )
            rss_peak = peak_rss_mb(api.pid)
            pending_at_response = pending = await unpublished(database_url)
            while pending:
                await asyncio.sleep(0.2)
                pending = await unpublished(database_url)
            published = time.monotonic() - began
            cpu = cpu_used(cpu_before, cpu_now(pids), published)
            first_settlement = await asyncio.wait_for(first_settled, 30) - began
        on_topic = await records_on_topic(bootstrap_servers) - on_topic_before
        await processes[1][1].stop(signal.SIGTERM, 10)
    finally:
        for _, process, _ in processes:
            await process.stop(signal.SIGTERM, 10)
    report = response.json()
    drain_seconds = published - answered
    return {
        "entries": written.entries,
        "credits": written.credits,
        "file_mb": round(statement.stat().st_size / 2**20, 1),
        "open_items": sum(not item.credit for item in book.items),
        "payments": report["payments"],
        "matched": report["matched"],
        "unmatched": report["unmatched"],
        "events_on_topic": on_topic,
        "first_settlement_on_kafka_seconds": round(first_settlement, 2),
        "response_seconds": round(answered, 2),
        "published_seconds": round(published, 2),
        "entries_per_second": round(written.entries / published),
        "outbox_backlog_at_response": pending_at_response,
        "relay_drain_after_response_seconds": round(drain_seconds, 2),
        "relay_events_per_second_after_response": (
            round(pending_at_response / drain_seconds) if drain_seconds > 0 else None
        ),
        "cpu_seconds_until_published": cpu,
        "api_rss_mb_when_ready": round(rss_ready, 1),
        "api_peak_rss_mb": round(rss_peak, 1),
    }


async def measure(arguments: argparse.Namespace, console: Console) -> dict[str, Any]:
    async with throwaway_infrastructure("settle-bench-payments-") as (run_dir, postgres, kafka):
        return {
            str(entries): await measure_size(
                entries, run_dir, postgres, kafka.bootstrap_servers, console
            )
            for entries in arguments.sizes
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python bench/payments_import.py", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument(
        "--out", type=Path, default=repo_root() / "bench" / "results" / "payments_import.json"
    )
    arguments = parser.parse_args(argv)
    console = Console()
    results = asyncio.run(measure(arguments, console))
    smallest, largest = results[str(min(arguments.sizes))], results[str(max(arguments.sizes))]
    growth = largest["api_peak_rss_mb"] - smallest["api_peak_rss_mb"]
    document = {
        "benchmark": "payments_import",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version()},
        "setup": "payments as api and relay processes; local PostgreSQL and Kafka; a seeded "
        "open-item book; one camt.053 statement uploaded over HTTP; timed from the upload until "
        "every event is published to Kafka",
        "targets": TARGETS,
        "results": results,
        "peak_rss_growth_mb": round(growth, 1),
        "met": {
            "published_seconds_at_100000_entries": largest["published_seconds"]
            <= TARGETS["published_seconds_at_100000_entries"],
            "peak_rss_growth_from_20000_to_100000_entries_mb": growth
            <= TARGETS["peak_rss_growth_from_20000_to_100000_entries_mb"],
        },
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(document, indent=2) + "\n")
    console.print_json(data=document)
    console.print(f"written to {arguments.out}")


if __name__ == "__main__":
    main()
