"""Measures the transactional outbox and writes bench/results/outbox_relay.json.

Every service publishes through the outbox, so its two halves bound every pipeline: writing
events in the handler's transaction (`OutboxWriter.add_many`, in chunks as bulk handlers do) and
relaying them to Kafka (`OutboxRelay`, the single leader). A local PostgreSQL and Kafka; the
relay runs in this process, and the figure is from its start until the last event is acknowledged
by the broker and marked published.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.progress import Progress

from settle_local.paths import repo_root
from settle_local.throwaway import throwaway_infrastructure
from settle_shared.clock import SystemClock
from settle_shared.db import create_pool
from settle_shared.events.ingestion import InvoiceIssued
from settle_shared.health import Heartbeat
from settle_shared.kafka import KafkaPublisher
from settle_shared.migrations import migrate, service_migrations
from settle_shared.money import Money
from settle_shared.outbox import OutboxRelay, OutboxWriter
from settle_shared.settings import KafkaSettings


def event(number: int) -> InvoiceIssued:
    return InvoiceIssued.model_validate(
        {
            "tenant": "bench",
            "customer_id": f"C-{number % 1000:04d}",
            "invoice_id": f"INV-{number:08d}",
            "invoice_number": f"{number:08d}",
            "issue_date": date(2026, 11, 1),
            "due_date": date(2026, 11, 15),
            "amount": Money(amount_minor=10_000 + number % 90_000, currency="EUR"),
            "revision": 1,
            "received_at": datetime(2026, 11, 1, tzinfo=UTC),
        }
    )


async def write(pool: asyncpg.Pool, events: int, chunk: int) -> dict[str, Any]:
    writer = OutboxWriter("/bench", SystemClock())
    payloads = [event(n) for n in range(events)]
    began, cpu = time.perf_counter(), time.process_time()
    with Progress(transient=True) as progress:
        task = progress.add_task("writing events", total=events)
        for start in range(0, events, chunk):
            async with pool.acquire() as connection, connection.transaction():
                await writer.add_many(connection, payloads[start : start + chunk])
            progress.advance(task, min(chunk, events - start))
    seconds = time.perf_counter() - began
    return {
        "events": events,
        "events_per_transaction": chunk,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds),
        "process_cpu_microseconds_per_event": round((time.process_time() - cpu) / events * 1e6, 1),
    }


async def relay(pool: asyncpg.Pool, bootstrap_servers: str, events: int) -> dict[str, Any]:
    publisher = KafkaPublisher(
        KafkaSettings(kafka_bootstrap_servers=bootstrap_servers), "bench-relay"
    )
    heartbeat = Heartbeat("relay")
    relay = OutboxRelay(pool, publisher, heartbeat)
    began, cpu = time.perf_counter(), time.process_time()
    running = asyncio.create_task(relay.run())
    with Progress(transient=True) as progress:
        task = progress.add_task("relaying", total=events)
        while (left := await _unpublished(pool)) > 0:
            if running.done():
                running.result()
            progress.update(task, completed=events - left)
            await asyncio.sleep(0.05)
    seconds = time.perf_counter() - began
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds),
        "process_cpu_microseconds_per_event": round((time.process_time() - cpu) / events * 1e6, 1),
    }


async def _unpublished(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM outbox")
    return count


async def measure(arguments: argparse.Namespace) -> dict[str, Any]:
    async with throwaway_infrastructure("settle-bench-outbox-") as (_, postgres, kafka):
        url = postgres.url(f"bench_outbox_{uuid.uuid4().hex[:8]}")
        await migrate(url, service_migrations("ingestion"))
        pool = await create_pool(url, 4)
        try:
            written = await write(pool, arguments.events, arguments.chunk)
            relayed = await relay(pool, kafka.bootstrap_servers, arguments.events)
        finally:
            await pool.close()
    return {"write": written, "relay": relayed}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python bench/outbox_relay.py", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1_000, help="events per transaction")
    parser.add_argument(
        "--out", type=Path, default=repo_root() / "bench" / "results" / "outbox_relay.json"
    )
    arguments = parser.parse_args(argv)
    console = Console()
    results = asyncio.run(measure(arguments))
    document = {
        "benchmark": "outbox_relay",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version()},
        "setup": "OutboxWriter.add_many in transactions of --chunk events, then one OutboxRelay "
        "draining them to a local single-node Kafka (acks=all, idempotent producer)",
        "results": results,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(document, indent=2) + "\n")
    console.print_json(data=document)
    console.print(f"written to {arguments.out}")


if __name__ == "__main__":
    main()
