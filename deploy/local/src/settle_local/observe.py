"""Knowing when the running stack has caught up: every consumer group has read everything, every
outbox is empty, and nothing due is waiting in dunning's timers or delivery's queue."""

from __future__ import annotations

import asyncio
import importlib
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from settle_local.stack import SERVICES, Stack
from settle_shared.runtime import ServiceDefinition

_DUE_WORK = {
    "dunning": "SELECT count(*) FROM timers WHERE state = 'pending' AND due_at <= $1",
    "delivery": "SELECT count(*) FROM messages WHERE status = 'sending' "
    "OR (status = 'queued' AND next_attempt_at <= $1)",
}


class SettledProbe:
    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        bootstrap = stack.kafka.bootstrap_servers
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._pools: dict[str, asyncpg.Pool] = {}
        self._consumed = {name: _definition(name).consumes for name in SERVICES}

    async def __aenter__(self) -> SettledProbe:
        await self._admin.start()
        await self._offsets.start()
        for name in SERVICES:
            self._pools[name] = await asyncpg.create_pool(
                self._stack.database_url(name), min_size=1, max_size=2
            )
        return self

    async def __aexit__(self, *_: object) -> None:
        for pool in self._pools.values():
            await pool.close()
        await self._offsets.stop()
        await self._admin.close()

    async def wait_until_settled(self, seconds: float = 60.0) -> bool:
        """True once two readings in a row find nothing left to do; False after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        quiet_readings = 0
        while loop.time() < deadline:
            quiet_readings = quiet_readings + 1 if await self.work_left() == 0 else 0
            if quiet_readings == 2:
                return True
            await asyncio.sleep(0.3)
        return False

    async def work_left(self) -> int:
        lag = sum([await self._lag(name) for name in SERVICES])
        outboxes = sum(
            [await self._count(name, "SELECT count(*) FROM outbox") for name in SERVICES]
        )
        now = await self._service_now()
        due = sum([await self._count(name, sql, now) for name, sql in _DUE_WORK.items()])
        return lag + outboxes + due

    async def _lag(self, service: str) -> int:
        partitions = [
            TopicPartition(topic.name, partition)
            for topic in self._consumed[service]
            for partition in range(topic.partitions)
        ]
        if not partitions:
            return 0
        committed = await self._admin.list_consumer_group_offsets(service, partitions=partitions)
        ends = await self._offsets.end_offsets(partitions)
        return sum(
            max(
                0,
                ends[partition]
                - (
                    committed[partition].offset
                    if partition in committed and committed[partition].offset >= 0
                    else 0
                ),
            )
            for partition in partitions
        )

    async def _count(self, service: str, sql: str, *args: object) -> int:
        count: int = await self._pools[service].fetchval(sql, *args)
        return count

    async def _service_now(self) -> datetime:
        async with httpx.AsyncClient(timeout=5) as client:
            reading = (await client.get(f"{self._stack.url('dunning')}/test/clock")).json()
        return datetime.fromisoformat(reading["now"])


def _definition(service: str) -> ServiceDefinition[Any]:
    definition: ServiceDefinition[Any] = importlib.import_module(f"{service}.bootstrap").SERVICE
    return definition
