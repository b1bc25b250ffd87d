"""Runs a service's real bootstrap() against a real Postgres, with the in-memory broker and a
fixed clock, so handler tests drive the service through its consumers and read its outbox."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from settle_shared import migrations
from settle_shared.auth import ApiKeys, Caller
from settle_shared.clock import FixedClock
from settle_shared.consumer import ConsumerGuard, GuardPolicy
from settle_shared.db import Database, create_pool
from settle_shared.events import REGISTRY
from settle_shared.health import Health
from settle_shared.http import create_app
from settle_shared.messaging import IncomingRecord
from settle_shared.outbox import OutboxRelay, OutboxWriter
from settle_shared.publishing import envelope, to_record
from settle_shared.registry import EventPayload
from settle_shared.runtime import Infrastructure, ServiceDefinition, Wiring
from settle_shared.settings import ServiceSettings
from settle_shared.testing.memory_broker import InMemoryBroker, InMemoryMessaging


def memory_broker_with_all_topics() -> InMemoryBroker:
    broker = InMemoryBroker()
    for topic in REGISTRY.topics():
        broker.create_topic(topic.name, topic.partitions)
    return broker


@dataclass
class ServiceHarness:
    definition: ServiceDefinition[Any]
    clock: FixedClock
    broker: InMemoryBroker
    pool: asyncpg.Pool
    wiring: Wiring
    guards: list[ConsumerGuard]
    relay: OutboxRelay
    health: Health = field(default_factory=Health)

    @classmethod
    async def start(
        cls,
        definition: ServiceDefinition[Any],
        settings: ServiceSettings,
        clock: FixedClock,
        broker: InMemoryBroker | None = None,
    ) -> ServiceHarness:
        await migrations.migrate(
            settings.database_url, migrations.service_migrations(definition.package)
        )
        broker = broker or memory_broker_with_all_topics()
        messaging = InMemoryMessaging(broker)
        pool = await create_pool(settings.database_url, 5)
        db = Database(pool, OutboxWriter(f"/settle/{definition.name}", clock), clock)
        infrastructure = Infrastructure(definition.name, clock, db, messaging)
        wiring = await definition.bootstrap(settings, infrastructure)
        definition.check_wiring(wiring)
        health = Health()
        guards = [
            ConsumerGuard(
                spec,
                messaging.subscription(spec.name, spec.topics),
                messaging.publisher("dead-letters"),
                REGISTRY,
                clock,
                health.heartbeat(spec.name),
                GuardPolicy(dead_letter_cap=settings.dead_letter_cap, transient_attempts=2),
            )
            for spec in wiring.consumers
        ]
        for guard in guards:
            await guard.start()
        relay = OutboxRelay(pool, messaging.publisher("relay"), health.heartbeat("relay"))
        return cls(definition, clock, broker, pool, wiring, guards, relay, health)

    def publish(self, payload: EventPayload, event_id: str | None = None) -> str:
        """Put an event on its topic as another service (or an ERP) would."""
        event = envelope(payload, source="/test", time=self.clock.now(), event_id=event_id)
        self.broker.append(to_record(payload, event))
        return event.id

    async def consume(self) -> int:
        """Let every consumer process everything waiting for it."""
        total = 0
        while True:
            handled = 0
            for guard in self.guards:
                handled += await guard.poll_once()
            total += handled
            if handled == 0:
                return total

    def api(self, api_keys: Mapping[str, str | Caller]) -> httpx.AsyncClient:
        """An HTTP client for the service's routes, wired to this harness's components."""
        app = create_app(
            title=self.definition.name,
            description=self.definition.description,
            routers=self.definition.routers,
            api_keys=ApiKeys(api_keys),
            test_mode=False,
        )
        app.state.service = self.wiring.state
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    async def relay_outbox(self) -> int:
        return await self.relay.publish_pending()

    def published(self, topic: str, ce_type: str | None = None) -> list[IncomingRecord]:
        return [
            record
            for record in self.broker.records(topic)
            if ce_type is None or _header(record, "ce_type") == ce_type
        ]

    async def close(self) -> None:
        for guard in self.guards:
            await guard.stop()
        if self.wiring.close is not None:
            await self.wiring.close()
        await self.pool.close()


def _header(record: IncomingRecord, name: str) -> str | None:
    return next((value.decode() for key, value in record.headers if key == name), None)


def payloads(records: Sequence[IncomingRecord]) -> list[dict[str, Any]]:
    return [json.loads(record.value or b"null") for record in records]
