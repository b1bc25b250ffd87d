"""Measures ingestion end to end and writes bench/results/ingestion_throughput.json.

The service runs as in production, one process per role (`api`, `worker`, `relay`, after
`migrate`), against a local PostgreSQL and Kafka. The api role is stateless and scales out; it runs
as two replicas by default (one per core), and requests go to them in turn, as a load balancer
would send them (`--api-replicas 1` measures a single process). Every figure is timed from the request (or the
ERP record) until the canonical event is on `invoices.v1`:

- http_batch: invoices sent in batch requests (`POST /v1/batch`), two requests in flight, timed
  until the topic's end offsets hold every event; each event is then read back and checked (one
  per invoice, none twice), untimed, since reading them competes for the cores being measured;
- http_single: one invoice per request (`PUT /v1/invoices/{id}`) at a fixed rate (open loop), the
  latency of each response and of its event, at the target's 200 requests per second and at 50;
- topic: ERP records published to `erp.invoices.v1`, consumed in batches by the worker.

The load generator shares the machine's two cores with everything it measures, so it sends with
aiohttp (its C parser costs a fraction of httpx's CPU per request). Traces are not exported.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console

from settle_local.paths import repo_root
from settle_local.ports import free_port
from settle_local.processes import ServerProcess, wait_until_healthy
from settle_local.throwaway import throwaway_infrastructure
from settle_shared.events.erp import ErpInvoiceIssued
from settle_shared.events.topics import INVOICES
from settle_shared.publishing import envelope, to_record

API_KEY = "bench-ingestion-key-0001"
IN_FLIGHT = 2
JSON = {"Content-Type": "application/json"}
TENANT = "bench"
TARGETS = {
    "http_batch_invoices_per_second": 10_000,
    "http_single_p99_ms_at_200_rps": 50,
}


class EventWatch:
    """Reads invoices.v1 from its end and notes when each invoice's event arrived. Paused, it
    reads nothing, and only the topic's end offsets tell how many events were published."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False
        )
        self._partitions = [TopicPartition(INVOICES.name, p) for p in range(INVOICES.partitions)]
        self.arrived: dict[str, float] = {}
        self.repeated = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_end(*self._partitions)
        self.resume()

    def resume(self) -> None:
        self._task = asyncio.create_task(self._read())

    async def pause(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def published(self) -> int:
        """Events on the topic so far (its end offsets, summed)."""
        offsets = await self._consumer.end_offsets(self._partitions)
        return sum(offsets.values())

    async def wait_published(self, since: int, count: int, seconds: float) -> float:
        """When the topic held `count` more events than `since`."""
        deadline = time.perf_counter() + seconds
        while (published := await self.published() - since) < count:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{count - published} of {count} events never published")
            await asyncio.sleep(0.02)
        return time.perf_counter()

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    invoice_id = orjson.loads(record.value or b"{}").get("invoice_id")
                    self.repeated += invoice_id in self.arrived
                    self.arrived.setdefault(invoice_id, now)

    async def wait_for(self, invoice_ids: Sequence[str], seconds: float) -> float:
        """When the last of these invoices' events arrived."""
        deadline = time.perf_counter() + seconds
        while any(i not in self.arrived for i in invoice_ids):
            if time.perf_counter() > deadline:
                missing = sum(1 for i in invoice_ids if i not in self.arrived)
                raise TimeoutError(f"{missing} of {len(invoice_ids)} events never arrived")
            await asyncio.sleep(0.02)
        return max(self.arrived[i] for i in invoice_ids)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._consumer.stop()


def invoice(run: str, number: int, today: date) -> dict[str, Any]:
    return {
        "customer_id": f"C-{number % 1000:04d}",
        "invoice_id": f"{run}-{number:07d}",
        "invoice_number": f"{run}-{number:07d}",
        "issue_date": today.isoformat(),
        "due_date": (today + timedelta(days=14)).isoformat(),
        "amount": {"amount_minor": 10_000 + number % 90_000, "currency": "EUR"},
        "payment_terms": "NET14",
        "updated_at": datetime.now(UTC).isoformat(),
    }


@dataclass(frozen=True)
class Api:
    """The api replicas, each sent its share of the requests as a load balancer would."""

    client: aiohttp.ClientSession
    replicas: tuple[str, ...]

    def url(self, number: int, path: str) -> str:
        return self.replicas[number % len(self.replicas)] + path


async def http_batch(api: Api, watch: EventWatch, count: int, batch_size: int) -> dict[str, Any]:
    run, today = uuid.uuid4().hex[:8], datetime.now(UTC).date()
    bodies = [
        json.dumps(
            {
                "items": [
                    {"type": "erp.invoice.issued.v1", "data": invoice(run, n, today)}
                    for n in range(start, min(start + batch_size, count))
                ]
            }
        ).encode()
        for start in range(0, count, batch_size)
    ]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    request_seconds: list[float] = []
    ids = [f"{run}-{n:07d}" for n in range(count)]

    async def sender(number: int) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            sent = time.perf_counter()
            async with api.client.post(
                api.url(number, "/v1/batch"), data=body, headers=JSON
            ) as response:
                response.raise_for_status()
                await response.read()
            request_seconds.append(time.perf_counter() - sent)

    # Reading every event back would take a good part of one of the two cores being measured:
    # the run is timed by the topic's end offsets, then each event is read back and checked.
    await watch.pause()
    since, repeated = await watch.published(), watch.repeated
    began = time.perf_counter()
    await asyncio.gather(*(sender(number) for number in range(IN_FLIGHT)))
    answered = time.perf_counter()
    last_event = await watch.wait_published(since, count, seconds=600)
    watch.resume()
    await watch.wait_for(ids, seconds=600)
    if watch.repeated != repeated:
        raise RuntimeError(f"{watch.repeated - repeated} events were published twice")
    return {
        "invoices": count,
        "batch_size": batch_size,
        "requests_in_flight": IN_FLIGHT,
        "api_replicas": len(api.replicas),
        "invoices_per_second": round(count / (last_event - began)),
        "seconds_to_last_event": round(last_event - began, 3),
        "seconds_to_last_response": round(answered - began, 3),
        "batch_request_ms": _percentiles(request_seconds),
    }


async def http_single(api: Api, watch: EventWatch, rate: int, seconds: int) -> dict[str, Any]:
    run, today = uuid.uuid4().hex[:8], datetime.now(UTC).date()
    bodies = [json.dumps(invoice(run, n, today)).encode() for n in range(rate * seconds)]
    response_seconds: list[float] = []
    late_seconds: list[float] = []
    sent_at: dict[str, float] = {}
    statuses: dict[int, int] = {}

    async def send(number: int, body: bytes) -> None:
        invoice_id = f"{run}-{number:07d}"
        sent_at[invoice_id] = time.perf_counter()
        late_seconds.append(sent_at[invoice_id] - (began + number / rate))
        url = api.url(number, f"/v1/invoices/{invoice_id}")
        async with api.client.put(url, data=body, headers=JSON) as response:
            await response.read()
        response_seconds.append(time.perf_counter() - sent_at[invoice_id])
        statuses[response.status] = statuses.get(response.status, 0) + 1

    # An open-loop sender must not pause: a full collection of this process's heap (every event
    # read so far) held the sends back, and then let them go as one burst the service paid for.
    gc.collect()
    gc.freeze()
    began = time.perf_counter()
    tasks = []
    for number, body in enumerate(bodies):
        # Open loop: each request leaves on schedule, whether earlier ones were answered or not.
        await asyncio.sleep(max(0.0, began + number / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(send(number, body)))
    await asyncio.gather(*tasks)
    await watch.wait_for(list(sent_at), seconds=120)
    event_seconds = [watch.arrived[i] - sent for i, sent in sent_at.items()]
    return {
        "requests": len(bodies),
        "requests_per_second": rate,
        "statuses": {str(code): n for code, n in sorted(statuses.items())},
        "response_ms": _percentiles(response_seconds),
        "request_to_event_ms": _percentiles(event_seconds),
        # How late the load generator sent, against its schedule: it shares the cores too.
        "sent_late_ms": _percentiles(late_seconds),
    }


async def topic(bootstrap_servers: str, watch: EventWatch, count: int) -> dict[str, Any]:
    run, today = uuid.uuid4().hex[:8], datetime.now(UTC).date()
    records = []
    for number in range(count):
        payload = ErpInvoiceIssued.model_validate({"tenant": TENANT, **invoice(run, number, today)})
        records.append(
            to_record(payload, envelope(payload, source="/erp/bench", time=datetime.now(UTC)))
        )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=5, acks="all")
    await producer.start()
    try:
        began = time.perf_counter()
        for record in records:
            await producer.send(record.topic, record.value, key=record.key, headers=record.headers)
        await producer.flush()
        published = time.perf_counter()
    finally:
        await producer.stop()
    last_event = await watch.wait_for([f"{run}-{n:07d}" for n in range(count)], seconds=900)
    return {
        "records": count,
        "records_per_second": round(count / (last_event - began)),
        "seconds_to_publish": round(published - began, 3),
        "seconds_to_last_event": round(last_event - began, 3),
    }


def _percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50": round(cut[49] * 1000, 1),
        "p95": round(cut[94] * 1000, 1),
        "p99": round(cut[98] * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


async def _analyze(database_url: str) -> None:
    """Gives the planner statistics, as autovacuum does within a minute of a table filling up.
    Without them, plans prepared while the tables were empty (sequential scans) stay cached on
    the pooled connections and the benchmark would measure a database's first minute."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def measure(arguments: argparse.Namespace, console: Console) -> dict[str, Any]:
    async with throwaway_infrastructure("settle-bench-ingestion-") as (run_dir, postgres, kafka):
        database = f"bench_ingestion_{uuid.uuid4().hex[:8]}"
        await postgres.create_database(database)
        environment = {
            **os.environ,
            "DATABASE_URL": postgres.url(database),
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "SETTLE_API_KEYS": json.dumps({API_KEY: TENANT}),
            "LOG_LEVEL": "WARNING",
            "OTEL_TRACES_EXPORTER": "none",
        }
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ingestion", "migrate", env=environment
        )
        await migrate.wait()
        api_ports = [free_port() for _ in range(arguments.api_replicas)]
        roles = [
            *((f"api-{n}", "api", port) for n, port in enumerate(api_ports, start=1)),
            ("worker", "worker", free_port()),
            ("relay", "relay", free_port()),
        ]
        processes = [
            (
                name,
                ServerProcess(
                    [sys.executable, "-m", "ingestion", role, "--port", str(port)],
                    output=run_dir / f"{name}.log",
                    environment=environment,
                ),
                run_dir / f"{name}.log",
            )
            for name, role, port in roles
        ]
        replicas = tuple(f"http://127.0.0.1:{port}" for port in api_ports)
        try:
            for replica in replicas:
                await wait_until_healthy(f"{replica}/health/ready", processes, 60)
            watch = EventWatch(kafka.bootstrap_servers)
            await watch.start()
            async with aiohttp.ClientSession(
                headers={"X-API-Key": API_KEY},
                timeout=aiohttp.ClientTimeout(total=60),
                connector=aiohttp.TCPConnector(limit=200),
            ) as client:
                api = Api(client, replicas)
                console.print("warming up")
                await http_batch(api, watch, 2_000, 500)
                await _analyze(postgres.url(database))
                console.print("batch requests")
                batch = await http_batch(api, watch, arguments.batch_invoices, 1_000)
                console.print("single requests at a fixed rate")
                # Unmeasured: the pools grow to what the rate needs, and each new database
                # connection prepares its statements, which took up to 400 ms in the
                # first half second.
                await http_single(api, watch, 200, 2)
                single = await http_single(api, watch, 200, arguments.single_seconds)
                console.print("single requests at a quarter of that rate")
                quarter = await http_single(api, watch, 50, arguments.single_seconds)
            console.print("topic records")
            from_topic = await topic(kafka.bootstrap_servers, watch, arguments.topic_records)
            await watch.stop()
        finally:
            for _, process, _ in processes:
                await process.stop(signal.SIGTERM, 10)
    return {
        "http_batch": batch,
        "http_single": single,
        "http_single_at_50_rps": quarter,
        "topic": from_topic,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python bench/ingestion_throughput.py", description=__doc__
    )
    parser.add_argument(
        "--api-replicas",
        type=int,
        default=2,
        help="api processes (one per core, as replicas behind a load balancer would run)",
    )
    parser.add_argument("--batch-invoices", type=int, default=50_000)
    parser.add_argument("--single-seconds", type=int, default=15)
    parser.add_argument("--topic-records", type=int, default=10_000)
    parser.add_argument(
        "--out",
        type=Path,
        default=repo_root() / "bench" / "results" / "ingestion_throughput.json",
    )
    arguments = parser.parse_args(argv)
    console = Console()
    results = asyncio.run(measure(arguments, console))
    document = {
        "benchmark": "ingestion_throughput",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version()},
        "setup": "ingestion as api, worker and relay processes; local PostgreSQL and Kafka; "
        "every figure from request to canonical event read back from invoices.v1",
        "targets": TARGETS,
        "results": results,
        "met": {
            "http_batch_invoices_per_second": results["http_batch"]["invoices_per_second"]
            >= TARGETS["http_batch_invoices_per_second"],
            "http_single_p99_ms_at_200_rps": results["http_single"]["response_ms"]["p99"]
            <= TARGETS["http_single_p99_ms_at_200_rps"],
        },
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(document, indent=2) + "\n")
    console.print_json(data=document)
    console.print(f"written to {arguments.out}")


if __name__ == "__main__":
    main()
