"""aiokafka adapters for the messaging ports, configured from the standard settings."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.helpers import create_ssl_context

from settle_shared.messaging import IncomingRecord, OutgoingRecord
from settle_shared.settings import KafkaSettings


def connection_options(settings: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for bootstrap servers, TLS and SASL."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(settings)
    if settings.kafka_sasl_mechanism:
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    return options


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ssl_cafile,
        certfile=settings.kafka_ssl_certfile,
        keyfile=settings.kafka_ssl_keyfile,
    )
    return context


class KafkaPublisher:
    """Idempotent producer (acks=all): retries never duplicate or reorder within a partition."""

    def __init__(self, settings: KafkaSettings, client_id: str) -> None:
        self._producer = AIOKafkaProducer(
            **connection_options(settings),
            client_id=client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            request_timeout_ms=15000,
            # A relay cycle sends thousands of ~1 KB events; with the default 16 KB batches they
            # would leave in many produce requests one after the other.
            max_batch_size=256 * 1024,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        # Enqueue everything first so the batch shares round trips; send() keeps call order.
        pending = [
            await self._producer.send(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
            for record in records
        ]
        await asyncio.gather(*pending)


class KafkaSubscription:
    def __init__(self, settings: KafkaSettings, group_id: str, topics: Sequence[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            **connection_options(settings),
            group_id=group_id,
            client_id=f"{settings.kafka_client_id_prefix}-{group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=300000,
        )
        self._positions: dict[tuple[str, int], int] = {}

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def fetch(self, timeout_ms: int, max_records: int) -> list[IncomingRecord]:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        records = [
            IncomingRecord(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=message.key,
                value=message.value,
                headers=list(message.headers),
            )
            for messages in batches.values()
            for message in messages
        ]
        for record in records:
            self._positions[record.position] = record.offset + 1
        return records

    async def commit(self, next_offsets: dict[tuple[str, int], int]) -> None:
        await self._consumer.commit(
            {
                TopicPartition(topic, partition): offset
                for (topic, partition), offset in next_offsets.items()
            }
        )

    def lag(self) -> dict[tuple[str, int], int]:
        lag: dict[tuple[str, int], int] = {}
        for partition in self._consumer.assignment():
            position = (partition.topic, partition.partition)
            highwater = self._consumer.highwater(partition)
            if highwater is not None and position in self._positions:
                lag[position] = max(0, highwater - self._positions[position])
        return lag


class KafkaMessaging:
    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings

    def publisher(self, client_id: str) -> KafkaPublisher:
        return KafkaPublisher(
            self._settings, f"{self._settings.kafka_client_id_prefix}-{client_id}"
        )

    def subscription(self, group_id: str, topics: Sequence[str]) -> KafkaSubscription:
        return KafkaSubscription(self._settings, group_id, topics)
