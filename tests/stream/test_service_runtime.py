"""A service as a real process: `python -m segmentation all` against real Kafka and PostgreSQL."""

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from settle_local.kafka import Kafka, create_topics
from settle_local.paths import repo_root
from settle_local.ports import free_port
from settle_local.processes import ServerProcess, log_tail
from settle_shared.events import REGISTRY
from settle_shared.events.enrichment import CreditAssessment, CustomerEnriched
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.topics import (
    CUSTOMERS_ENRICHED,
    CUSTOMERS_SEGMENTED,
    SEGMENTATION_DEAD_LETTER,
)
from settle_shared.kafka import KafkaPublisher
from settle_shared.messaging import OutgoingRecord
from settle_shared.publishing import envelope, to_record
from settle_shared.settings import KafkaSettings
from settle_shared.testing.waiting import eventually

POOL_SIZE = 4


class RunningService:
    def __init__(self, process: ServerProcess, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    async def ready(self) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(f"{self.url}/health/ready")


@pytest.fixture
async def segmentation(
    kafka: Kafka, fresh_database: str, tmp_path: Path
) -> AsyncIterator[RunningService]:
    await create_topics(
        kafka.bootstrap_servers, [(t.name, t.partitions) for t in REGISTRY.topics()]
    )
    port = free_port()
    log = tmp_path / "segmentation.log"
    environment = {
        **os.environ,
        "DATABASE_URL": fresh_database,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SETTLE_TEST_MODE": "true",
        "SETTLE_API_KEYS": json.dumps({"runtime-test-key": "acme-nl"}),
        "DATABASE_POOL_MAX": str(POOL_SIZE),
    }
    process = ServerProcess(
        [sys.executable, "-m", "segmentation", "all", f"--port={port}"],
        output=log,
        cwd=repo_root(),
        environment=environment,
    )
    service = RunningService(process, f"http://127.0.0.1:{port}", log)
    try:
        await eventually(
            lambda: _is_ready(service), seconds=60, what=f"segmentation ready\n{log_tail(log)}"
        )
        yield service
    finally:
        await process.stop(signal.SIGTERM, 15)


async def _is_ready(service: RunningService) -> bool:
    if service.process.exit_code is not None:
        raise AssertionError(
            f"service exited with {service.process.exit_code}\n{log_tail(service.log)}"
        )
    try:
        return (await service.ready()).status_code == 200
    except httpx.TransportError:
        return False


async def publish(kafka: Kafka, records: list[OutgoingRecord]) -> None:
    publisher = KafkaPublisher(
        KafkaSettings(kafka_bootstrap_servers=kafka.bootstrap_servers), "runtime-test"
    )
    await publisher.start()
    await publisher.publish(records)
    await publisher.stop()


async def read_all(kafka: Kafka, topic: str, count: int) -> list[dict[str, object]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"reader-{uuid.uuid4()}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[dict[str, object]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    found.extend(
                        {"value": m.value, "headers": dict(m.headers), "key": m.key} for m in batch
                    )
    finally:
        await consumer.stop()
    return found


def enriched(customer: str) -> OutgoingRecord:
    payload = CustomerEnriched.model_validate(
        {
            "tenant": "acme-nl",
            "customer_id": customer,
            "master": CUSTOMER_EXAMPLE["master"],
            "credit": CreditAssessment(status="found", score=75).model_dump(),
            "revision": 1,
            "enriched_at": datetime.now(UTC),
        }
    )
    return to_record(payload, envelope(payload, source="/test", time=datetime.now(UTC)))


async def test_a_service_process_becomes_ready_processes_events_and_dead_letters_garbage(
    kafka: Kafka, segmentation: RunningService
) -> None:
    customer = f"C-{uuid.uuid4().hex[:6]}"
    garbage = OutgoingRecord(CUSTOMERS_ENRICHED.name, customer.encode(), b"\x00not json", [])
    await publish(kafka, [garbage, enriched(customer)])

    segmented = await read_all(kafka, CUSTOMERS_SEGMENTED.name, 1)
    assert json.loads(segmented[0]["value"])["customer_id"] == customer  # type: ignore[arg-type]
    headers = segmented[0]["headers"]
    assert headers["ce_type"] == b"settle.customer.segmented.v1"  # type: ignore[index]
    assert headers["ce_source"] == b"/settle/segmentation"  # type: ignore[index]
    assert len(headers["traceparent"]) == 55  # type: ignore[index]

    [dead] = await read_all(kafka, SEGMENTATION_DEAD_LETTER.name, 1)
    assert dead["value"] == b"\x00not json"
    assert dead["headers"]["settle-dlq-kind"] == b"undecodable"  # type: ignore[index]
    assert (await segmentation.ready()).json()["ready"] is True


async def test_the_service_holds_its_whole_pool_open_once_ready(
    fresh_database: str, segmentation: RunningService
) -> None:
    """Connections are opened at start and kept, so none is opened while requests wait."""
    connection = await asyncpg.connect(fresh_database)

    async def others() -> int:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return count

    try:
        await eventually(lambda: _equals(others(), POOL_SIZE), seconds=10, what="whole pool")
        await asyncio.sleep(1.5)
        assert await others() == POOL_SIZE
    finally:
        await connection.close()


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected


async def test_the_test_clock_moves_forward_only(segmentation: RunningService) -> None:
    async with httpx.AsyncClient(base_url=segmentation.url) as client:
        before = (await client.get("/test/clock")).json()
        moved = (await client.post("/test/clock", json={"advance_seconds": 86400})).json()
        backwards = await client.post("/test/clock", json={"to": "2000-01-01T00:00:00+00:00"})
    assert moved["offset_seconds"] == before["offset_seconds"] + 86400
    assert backwards.status_code == 409
    assert backwards.json()["type"].endswith("/clock-moved-backwards")


async def test_sigterm_stops_the_service_cleanly(segmentation: RunningService) -> None:
    await segmentation.process.stop(signal.SIGTERM, 15)
    # uvicorn re-raises SIGTERM once it has shut down gracefully: the conventional exit status.
    assert segmentation.process.exit_code == -signal.SIGTERM
    log = segmentation.log.read_text()
    assert "Traceback" not in log
    assert '"message": "service stopped"' in log
