"""The local Kafka runner: a real broker that starts, carries records, and stops without a trace."""

import os
import socket
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from settle_local.kafka import Kafka, KafkaBroker, create_topics
from settle_local.ports import LOOPBACK
from settle_local.processes import InfrastructureError


def _unique_topic(purpose: str) -> str:
    return f"test.{purpose}.{uuid.uuid4().hex[:8]}"


async def _partition_counts(bootstrap_servers: str, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}


async def test_created_topics_have_the_requested_partitions(kafka: Kafka) -> None:
    single, several = _unique_topic("single"), _unique_topic("several")

    await create_topics(kafka.bootstrap_servers, [(single, 1), (several, 6)])

    counts = await _partition_counts(kafka.bootstrap_servers, [single, several])
    assert counts == {single: 1, several: 6}


async def test_creating_existing_topics_again_changes_nothing(kafka: Kafka) -> None:
    topic = _unique_topic("existing")
    await create_topics(kafka.bootstrap_servers, [(topic, 2)])

    await create_topics(kafka.bootstrap_servers, [(topic, 2)])

    assert await _partition_counts(kafka.bootstrap_servers, [topic]) == {topic: 2}


async def test_a_started_broker_accepts_and_returns_a_record(kafka: Kafka) -> None:
    topic = _unique_topic("roundtrip")
    await create_topics(kafka.bootstrap_servers, [(topic, 3)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, key=b"invoice-1", value=b"issued")
        record = await consumer.getone()
    finally:
        await consumer.stop()
        await producer.stop()

    assert (record.key, record.value) == (b"invoice-1", b"issued")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def _process_group_is_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_stopped_broker_leaves_no_process_and_frees_its_port(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path)
    await broker.start()
    pid = broker.pid
    port = int(broker.bootstrap_servers.rsplit(":", 1)[1])
    assert pid is not None

    await broker.stop()
    await broker.stop()

    assert broker.pid is None
    assert _process_group_is_gone(pid)
    assert _port_is_free(port)


async def test_a_broker_whose_jvm_cannot_start_reports_why(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, jvm_flags=["-XX:+NoSuchJvmOption"])

    with pytest.raises(InfrastructureError, match="NoSuchJvmOption"):
        await broker.start()

    assert broker.pid is None
