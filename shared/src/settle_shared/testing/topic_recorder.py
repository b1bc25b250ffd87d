"""Records every message on some Kafka topics from the beginning, in the background, so tests and
the local demo can wait for and assert on what the services published."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer

from settle_shared.testing.waiting import eventually


@dataclass(frozen=True)
class Seen:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def ce_type(self) -> str | None:
        return self.headers.get("ce_type")

    def data(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.value or b"{}")
        return decoded


class TopicRecorder:
    def __init__(self, bootstrap_servers: str, topics: Sequence[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            group_id=f"recorder-{uuid.uuid4()}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.seen: list[Seen] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._record())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def __aenter__(self) -> TopicRecorder:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def of_type(self, ce_type: str, **data_matches: object) -> list[Seen]:
        return [
            seen
            for seen in self.seen
            if seen.ce_type == ce_type
            and all(seen.data().get(field) == value for field, value in data_matches.items())
        ]

    def on(self, topic: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.topic == topic]

    async def wait_for(self, ce_type: str, seconds: float = 30.0, **data_matches: object) -> Seen:
        found = await eventually(
            lambda: self.of_type(ce_type, **data_matches),
            seconds=seconds,
            what=f"{ce_type} with {data_matches}",
        )
        return found[0]

    async def wait_on(self, topic: str, seconds: float = 30.0) -> Seen:
        found = await eventually(
            lambda: self.on(topic), seconds=seconds, what=f"a record on {topic}"
        )
        return found[0]

    async def _record(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                self.seen.extend(
                    Seen(
                        message.topic,
                        message.key,
                        message.value,
                        {name: value.decode(errors="replace") for name, value in message.headers},
                    )
                    for message in messages
                )
