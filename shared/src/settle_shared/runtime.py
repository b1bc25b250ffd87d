"""How a service process runs: `python -m <service> api|worker|relay|scheduler|all|migrate`.

One image, several roles: `api` serves the service's HTTP routes, `worker` runs its Kafka
consumers, `relay` publishes its outbox, `scheduler` runs its timed loops, and `all` runs every
role in one process (local and tests). Every role serves /health and /metrics. `migrate` applies
the database migrations and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI

from settle_shared import inbox, migrations
from settle_shared.auth import ApiKeys
from settle_shared.clock import Clock, ShiftableClock, SystemClock
from settle_shared.consumer import ConsumerGuard, ConsumerSpec, GuardPolicy
from settle_shared.db import Database, create_pool
from settle_shared.events import REGISTRY
from settle_shared.health import Health, Heartbeat
from settle_shared.http import create_app
from settle_shared.kafka import KafkaMessaging
from settle_shared.logs import configure_logging
from settle_shared.messaging import MessagingFactory
from settle_shared.outbox import OutboxRelay, OutboxWriter
from settle_shared.registry import EventRegistry, Topic
from settle_shared.settings import ServiceSettings
from settle_shared.telemetry import configure_telemetry, instrument_app

log = logging.getLogger(__name__)

Role = Literal["api", "worker", "relay", "scheduler", "all"]
ROLES: tuple[str, ...] = ("api", "worker", "relay", "scheduler", "all", "migrate")
HOUSEKEEPING_SECONDS = 600.0
# Objects allocated between young collections of the cyclic garbage collector (Python: 700).
YOUNG_COLLECTION_EVERY = 50_000

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class BackgroundLoop:
    """A long-running loop of a service (a scheduler tick, a dispatcher); beats its heartbeat."""

    name: str
    role: Literal["worker", "relay", "scheduler"]
    run: Callable[[Heartbeat], Awaitable[None]]
    max_silence_seconds: float = 60.0


@dataclass
class Wiring:
    """What a service's bootstrap() hands the runtime."""

    state: Any
    consumers: Sequence[ConsumerSpec] = ()
    loops: Sequence[BackgroundLoop] = ()
    close: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Infrastructure:
    """What bootstrap() receives: connections and ports, real or fake."""

    service: str
    clock: Clock
    db: Database
    messaging: MessagingFactory
    registry: EventRegistry = REGISTRY


@dataclass(frozen=True)
class ServiceDefinition(Generic[S]):
    """A service as the runtime, the contracts generator and the deploy manifests see it."""

    name: str
    description: str
    package: str
    settings_type: type[S]
    routers: Sequence[APIRouter]
    bootstrap: Callable[[S, Infrastructure], Awaitable[Wiring]]
    consumes: Sequence[Topic] = ()
    max_body_bytes: int = 10 * 1024 * 1024

    def check_wiring(self, wiring: Wiring) -> None:
        """The consumers bootstrap built must read exactly the topics the definition declares."""
        wired = {topic for spec in wiring.consumers for topic in spec.topics}
        declared = {topic.name for topic in self.consumes}
        if wired != declared:
            raise RuntimeError(
                f"{self.name} declares it consumes {sorted(declared)} "
                f"but its consumers read {sorted(wired)}"
            )


def main(definition: ServiceDefinition[Any], argv: Sequence[str] | None = None) -> None:
    args = _parse_arguments(definition, argv)
    if args.role == "migrate":
        # Only the database matters here, so an init container needs no other secret.
        database_only = ServiceSettings()
        configure_logging(definition.name, database_only.log_level)
        asyncio.run(run_migrations(definition, database_only))
        return
    settings = definition.settings_type()
    configure_logging(definition.name, settings.log_level)
    configure_telemetry(definition.name)
    app = build_app(definition, settings, args.role)
    host = args.host or settings.http_host
    port = args.port if args.port is not None else settings.http_port
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )
    app.state.server = server
    server.run()
    sys.exit(app.state.exit_code if server.started else 3)


def _parse_arguments(
    definition: ServiceDefinition[Any], argv: Sequence[str] | None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {definition.package}", description=definition.description
    )
    parser.add_argument("role", choices=ROLES, help="what this process does")
    parser.add_argument("--host", default=None, help="HTTP bind address (default: HTTP_HOST)")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default: PORT)")
    return parser.parse_args(argv)


async def run_migrations(definition: ServiceDefinition[Any], settings: ServiceSettings) -> None:
    applied = await migrations.migrate(
        settings.database_url, migrations.service_migrations(definition.package)
    )
    log.info("migrations applied", extra={"applied": [f"{m.source}/{m.version}" for m in applied]})


def _tune_collector() -> None:
    """What startup built (the app, schemas, validators, pools) lives as long as the process.
    Frozen, the collector's full passes stop walking it: they had taken 100 ms about every second
    of a bulk import, each a pause for every request in flight. Young collections then wait for
    `YOUNG_COLLECTION_EVERY` new objects instead of 700: a bulk import holds each chunk's rows,
    decisions and events for the chunk's life, and with the default they were walked and promoted
    over and over, then walked again by full passes (decision 10). Reference counting frees
    nearly all garbage; only cycles wait longer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, 20, 20)


def openapi_app(definition: ServiceDefinition[Any]) -> FastAPI:
    """The service's HTTP surface without starting anything: for contracts/openapi."""
    return create_app(
        title=f"Settle {definition.name}",
        description=definition.description,
        routers=definition.routers,
        api_keys=ApiKeys({}),
        test_mode=False,
    )


def build_app(definition: ServiceDefinition[S], settings: S, role: Role) -> FastAPI:
    app = create_app(
        title=f"Settle {definition.name}",
        description=definition.description,
        routers=definition.routers if role in ("api", "all") else (),
        api_keys=ApiKeys(settings.api_callers),
        test_mode=settings.settle_test_mode,
        lifespan=lambda app: _lifespan(app, definition, settings, role),
        max_body_bytes=definition.max_body_bytes,
    )
    app.state.exit_code = 0
    instrument_app(app)
    return app


@asynccontextmanager
async def _lifespan(
    app: FastAPI, definition: ServiceDefinition[S], settings: S, role: Role
) -> AsyncIterator[None]:
    if role == "all":
        await run_migrations(definition, settings)
    clock: Clock = ShiftableClock() if settings.settle_test_mode else SystemClock()
    app.state.clock = clock
    async with AsyncExitStack() as stack:
        pool = await create_pool(
            settings.database_url, settings.database_pool_max, settings.opened_pool_connections
        )
        stack.push_async_callback(pool.close)
        infrastructure = Infrastructure(
            service=definition.name,
            clock=clock,
            db=Database(pool, OutboxWriter(f"/settle/{definition.name}", clock), clock),
            messaging=KafkaMessaging(settings),
        )
        wiring = await definition.bootstrap(settings, infrastructure)
        definition.check_wiring(wiring)
        if wiring.close is not None:
            stack.push_async_callback(wiring.close)
        app.state.service = wiring.state
        supervisor = Supervisor(app.state.health, on_failure=lambda: _shut_down(app))
        stack.push_async_callback(supervisor.stop)
        start_roles(supervisor, infrastructure, wiring, settings, role)
        _tune_collector()
        log.info("service started", extra={"role": role})
        yield
        log.info("service stopping", extra={"role": role})
    log.info("service stopped", extra={"role": role})


def start_roles(
    supervisor: Supervisor,
    infrastructure: Infrastructure,
    wiring: Wiring,
    settings: ServiceSettings,
    role: Role,
) -> None:
    runs = {role} if role != "all" else {"worker", "relay", "scheduler"}
    if "worker" in runs:
        for spec in wiring.consumers:
            supervisor.start(f"consumer {spec.name}", _guard_runner(infrastructure, spec, settings))
    if "relay" in runs:
        supervisor.start("outbox relay", lambda beat: _relay(infrastructure, beat))
        supervisor.start(
            "housekeeping",
            lambda beat: _housekeeping(infrastructure, settings, beat),
            max_silence_seconds=HOUSEKEEPING_SECONDS * 2,
        )
    for loop in wiring.loops:
        if loop.role in runs:
            supervisor.start(loop.name, loop.run, loop.max_silence_seconds)


def _guard_runner(
    infrastructure: Infrastructure, spec: ConsumerSpec, settings: ServiceSettings
) -> Callable[[Heartbeat], Awaitable[None]]:
    async def run(beat: Heartbeat) -> None:
        guard = ConsumerGuard(
            spec,
            infrastructure.messaging.subscription(spec.name, spec.topics),
            infrastructure.messaging.publisher(f"{spec.name}-dead-letters"),
            infrastructure.registry,
            infrastructure.clock,
            beat,
            GuardPolicy(dead_letter_cap=settings.dead_letter_cap),
        )
        await guard.run()

    return run


async def _relay(infrastructure: Infrastructure, beat: Heartbeat) -> None:
    publisher = infrastructure.messaging.publisher(f"{infrastructure.service}-outbox")
    await OutboxRelay(infrastructure.db.pool, publisher, beat).run()


async def _housekeeping(
    infrastructure: Infrastructure, settings: ServiceSettings, beat: Heartbeat
) -> None:
    while True:
        async with infrastructure.db.pool.acquire() as connection:
            pruned_inbox = await inbox.prune(connection, settings.inbox_retention_days)
        log.info("housekeeping", extra={"inbox_pruned": pruned_inbox})
        beat.beat()
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


class Supervisor:
    """Runs background loops; when one fails, marks the service unready and asks it to stop, so
    the failure is loud (a restart) rather than a silently dead consumer."""

    def __init__(self, health: Health, on_failure: Callable[[], None]) -> None:
        self._health = health
        self._on_failure = on_failure
        self._tasks: list[asyncio.Task[None]] = []

    def start(
        self,
        name: str,
        run: Callable[[Heartbeat], Awaitable[None]],
        max_silence_seconds: float = 60.0,
    ) -> None:
        beat = self._health.heartbeat(name, max_silence_seconds)
        self._tasks.append(asyncio.create_task(self._watch(name, run, beat), name=name))

    async def _watch(
        self, name: str, run: Callable[[Heartbeat], Awaitable[None]], beat: Heartbeat
    ) -> None:
        try:
            await run(beat)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            beat.fail(repr(error))
            log.exception("background loop failed; stopping the service", extra={"loop": name})
            self._on_failure()
        else:
            beat.fail("stopped unexpectedly")
            self._on_failure()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _shut_down(app: FastAPI) -> None:
    app.state.exit_code = 1
    server: uvicorn.Server | None = getattr(app.state, "server", None)
    if server is not None:
        server.should_exit = True
