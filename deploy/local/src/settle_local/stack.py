"""The whole system on one machine: PostgreSQL, Kafka, the simulators and the six services, each
service a separate `python -m <service> all` process in test mode (so its clock can be moved).

Used by `python -m settle_local up` and by the end-to-end tests, so both run the same stack.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from settle_local.kafka import Kafka, create_topics, kafka_from_env
from settle_local.paths import repo_root
from settle_local.ports import LOOPBACK, free_port, preferred_port
from settle_local.postgres import Postgres, postgres_from_env
from settle_local.processes import InfrastructureError, ServerProcess, wait_until_healthy
from settle_shared.events import REGISTRY

SERVICES = ("ingestion", "enrichment", "segmentation", "dunning", "delivery", "payments")
FIXED_PORTS = {name: 8101 + index for index, name in enumerate(SERVICES)}
TENANT = "acme-nl"
API_KEY = "local-acme-nl-api-key"
BUREAU_API_KEY = "local-bureau-api-key"
READY_TIMEOUT_SECONDS = 120.0
STOP_GRACE_SECONDS = 15.0


@dataclass
class Component:
    name: str
    kind: str
    state: str = "waiting"
    address: str = ""
    started_in: float | None = None
    pid: int | None = None


Progress = Callable[[Component], None]


def _ignore(component: Component) -> None:
    return None


@dataclass
class Simulators:
    bureau_url: str
    smtp_port: int
    mail_api_url: str


@dataclass
class _Running:
    process: ServerProcess
    log: Path
    url: str


@dataclass
class Stack:
    run_dir: Path
    fixed_ports: bool = False
    progress: Progress = _ignore
    service_settings: Mapping[str, str] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "logs").mkdir(exist_ok=True)
        self.postgres: Postgres = postgres_from_env(self.run_dir / "postgres")
        self.kafka: Kafka = kafka_from_env(self.run_dir / "kafka")
        self.simulators: Simulators | None = None
        self._processes: dict[str, _Running] = {}
        for name, kind in [
            ("postgres", "infrastructure"),
            ("kafka", "infrastructure"),
            ("simulators", "simulator"),
        ]:
            self.components[name] = Component(name, kind)
        for name in SERVICES:
            self.components[name] = Component(name, "service")

    async def start(self) -> None:
        try:
            await asyncio.gather(self._start_postgres(), self._start_kafka())
            await self._start_simulators()
            await asyncio.gather(*(self._start_service(name) for name in SERVICES))
        except BaseException:
            await self.stop()
            raise
        self._write_state()

    async def stop(self) -> None:
        for name in [*SERVICES, "simulators"]:
            running = self._processes.pop(name, None)
            if running is not None:
                await running.process.stop(signal.SIGTERM, STOP_GRACE_SECONDS)
                self._set(name, state="stopped")
        await asyncio.gather(self.kafka.stop(), self.postgres.stop())
        self._set("kafka", state="stopped")
        self._set("postgres", state="stopped")

    async def __aenter__(self) -> Stack:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def url(self, service: str) -> str:
        return self._processes[service].url

    def database_url(self, service: str) -> str:
        return self.postgres.url(service)

    def log_path(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    async def advance_clocks(self, seconds: float) -> None:
        """Move every service's test clock forward, as one would move a Kill Bill test clock."""
        async with httpx.AsyncClient(timeout=10) as client:
            responses = await asyncio.gather(
                *(
                    client.post(f"{self.url(name)}/test/clock", json={"advance_seconds": seconds})
                    for name in SERVICES
                )
            )
        for name, response in zip(SERVICES, responses, strict=True):
            if response.status_code != 200:
                raise InfrastructureError(f"{name} refused the clock move: {response.text}")

    def memory_mb(self) -> dict[str, float]:
        """Proportional set size per component (shared pages split between the processes sharing
        them, so PostgreSQL's backends and shared buffers are not counted once per backend)."""
        usage = {name: _pss_mb(running.process.pid) for name, running in self._processes.items()}
        for name in ("kafka", "postgres"):
            pid = self.components[name].pid
            if pid is not None:
                usage[name] = _pss_mb(pid, include_children=name == "postgres")
        return usage

    async def _start_postgres(self) -> None:
        await self._timed("postgres", self.postgres.start)
        self._set(
            "postgres",
            address=self.postgres.url("").rstrip("/"),
            pid=getattr(self.postgres, "pid", None),
        )

    async def _start_kafka(self) -> None:
        async def start_and_create_topics() -> None:
            await self.kafka.start()
            await create_topics(
                self.kafka.bootstrap_servers, [(t.name, t.partitions) for t in REGISTRY.topics()]
            )

        await self._timed("kafka", start_and_create_topics)
        self._set(
            "kafka", address=self.kafka.bootstrap_servers, pid=getattr(self.kafka, "pid", None)
        )

    async def _start_simulators(self) -> None:
        bureau_port, smtp_port, mail_port = free_port(), free_port(), free_port()
        simulators = Simulators(
            bureau_url=f"http://{LOOPBACK}:{bureau_port}",
            smtp_port=smtp_port,
            mail_api_url=f"http://{LOOPBACK}:{mail_port}",
        )
        arguments = [
            "serve",
            f"--bureau-port={bureau_port}",
            f"--bureau-api-key={BUREAU_API_KEY}",
            f"--smtp-port={smtp_port}",
            f"--mail-api-port={mail_port}",
            f"--maildir={self.run_dir / 'mail'}",
        ]

        async def start() -> None:
            self._spawn("simulators", "settle_simulators", arguments, {}, simulators.mail_api_url)
            await self._wait_until_ready("simulators", f"{simulators.mail_api_url}/messages")

        await self._timed("simulators", start)
        self.simulators = simulators
        self._set(
            "simulators",
            address=f"bureau {simulators.bureau_url}, smtp :{smtp_port}, mail {simulators.mail_api_url}",
        )

    async def _start_service(self, name: str) -> None:
        port = preferred_port(FIXED_PORTS[name]) if self.fixed_ports else free_port()
        url = f"http://{LOOPBACK}:{port}"

        async def start() -> None:
            self._spawn(name, name, ["all", f"--port={port}"], self._service_environment(name), url)
            await self._wait_until_ready(name, f"{url}/health/ready")

        await self._timed(name, start)
        self._set(name, address=url)

    def _service_environment(self, name: str) -> dict[str, str]:
        assert self.simulators is not None
        return {
            "DATABASE_URL": self.database_url(name),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "SETTLE_TEST_MODE": "true",
            "SETTLE_API_KEYS": json.dumps({API_KEY: TENANT}),
            "LOG_LEVEL": "INFO",
            "BUREAU_URL": self.simulators.bureau_url,
            "BUREAU_API_KEY": BUREAU_API_KEY,
            "SMTP_HOST": LOOPBACK,
            "SMTP_PORT": str(self.simulators.smtp_port),
            "DUNNING_TICK_SECONDS": "1",
            "DELIVERY_TICK_SECONDS": "1",
            **self.service_settings,
        }

    def _spawn(
        self, name: str, module: str, arguments: list[str], environment: dict[str, str], url: str
    ) -> None:
        log = self.log_path(name)
        process = ServerProcess(
            [sys.executable, "-m", module, *arguments],
            output=log,
            cwd=repo_root(),
            environment={**os.environ, **environment},
        )
        self._processes[name] = _Running(process, log, url)
        self._set(name, pid=process.pid)

    async def _wait_until_ready(self, name: str, probe_url: str) -> None:
        running = self._processes[name]
        await wait_until_healthy(
            probe_url, [(name, running.process, running.log)], READY_TIMEOUT_SECONDS
        )

    async def _timed(self, name: str, start: Callable[[], object]) -> None:
        self._set(name, state="starting")
        began = time.monotonic()
        try:
            result = start()
            if asyncio.iscoroutine(result):
                await result
        except BaseException:
            self._set(name, state="failed")
            raise
        self._set(name, state="ready", started_in=time.monotonic() - began)

    def _set(self, name: str, **changes: object) -> None:
        component = self.components[name]
        for key, value in changes.items():
            setattr(component, key, value)
        self.progress(component)

    def _write_state(self) -> None:
        state = {
            "tenant": TENANT,
            "api_key": API_KEY,
            "kafka_bootstrap_servers": self.kafka.bootstrap_servers,
            "simulators": asdict(self.simulators) if self.simulators else None,
            "components": {name: asdict(component) for name, component in self.components.items()},
            "databases": {name: self.database_url(name) for name in SERVICES},
        }
        (self.run_dir / "stack.json").write_text(json.dumps(state, indent=2))


def _pss_mb(pid: int, include_children: bool = False) -> float:
    pids = [pid, *(_children(pid) if include_children else [])]
    return sum(_pss_kb(p) for p in pids) / 1024


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return 0


def _children(pid: int) -> list[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(child) for child in listed]
