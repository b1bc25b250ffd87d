"""A single-node Apache Kafka (KRaft) run from its Maven Central artifacts, or an external cluster.

The jars are resolved once by deploy/kafka/pom.xml into the cache directory; every start formats a
fresh log directory, so each broker is a new, empty cluster.
"""

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from xml.etree import ElementTree

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from settle_local.paths import cache_dir, repo_root
from settle_local.ports import LOOPBACK, free_ports
from settle_local.processes import (
    InfrastructureError,
    Server,
    ServerProcess,
    StartStopContext,
    log_tail,
)

# Measured on 2 cores, format included: C1-only compilation starts the broker in 3.2 s instead of
# 4.0 s. The serial collector does not change that, but spares two cores G1's background threads.
# Both cost peak throughput, so pass jvm_flags=() to benchmark the broker.
FAST_STARTUP_JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")

_POM_NAMESPACES = {"m": "http://maven.apache.org/POM/4.0.0"}
_RESOLVED_MARKER = "resolved.sha256"
_OUTPUT_TAIL_LINES = 40
_ANSI_ESCAPES = re.compile(r"\x1b\[[0-9;]*m")
_TOPIC_LEADERS_TIMEOUT_SECONDS = 30.0


class Kafka(Server, Protocol):
    """What tests and the local stack need from a Kafka cluster, local or external."""

    @property
    def bootstrap_servers(self) -> str: ...


def kafka_from_env(run_dir: Path) -> Kafka:
    """The cluster named by $SETTLE_KAFKA_BOOTSTRAP_SERVERS, else a local broker in run_dir."""
    bootstrap_servers = os.environ.get("SETTLE_KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap_servers:
        return ExternalKafka(bootstrap_servers)
    return KafkaBroker(run_dir)


class ExternalKafka(StartStopContext):
    """A cluster someone else runs: starting and stopping it are no-ops."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._bootstrap_servers = bootstrap_servers

    @property
    def bootstrap_servers(self) -> str:
        return self._bootstrap_servers

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class KafkaBroker(StartStopContext):
    """One combined broker and controller listening on free ports of 127.0.0.1."""

    def __init__(
        self,
        run_dir: Path,
        *,
        heap: str = "512m",
        jvm_flags: Sequence[str] = FAST_STARTUP_JVM_FLAGS,
        startup_timeout: float = 90.0,
        stop_timeout: float = 20.0,
    ) -> None:
        self._run_dir = run_dir
        self._heap = heap
        self._jvm_flags = tuple(jvm_flags)
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._process: ServerProcess | None = None
        self._port: int | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self._port is None:
            raise InfrastructureError("the Kafka broker has not been started")
        return f"{LOOPBACK}:{self._port}"

    @property
    def pid(self) -> int | None:
        """The JVM's process id while the broker runs."""
        return self._process.pid if self._process is not None else None

    @property
    def run_dir(self) -> Path:
        return self._run_dir

    @property
    def log_path(self) -> Path:
        return self._run_dir / "server.log"

    @property
    def _console_path(self) -> Path:
        return self._run_dir / "console.log"

    @property
    def _data_dir(self) -> Path:
        return self._run_dir / "data"

    async def start(self) -> None:
        if self._process is not None:
            return
        lib = await asyncio.to_thread(ensure_kafka_jars)
        java_command = self._java_command(_java(), lib)
        self._port, controller_port = free_ports(2)
        config = self._write_config(self._port, controller_port)
        await self._format_storage(java_command, config)
        process = ServerProcess([*java_command, "kafka.Kafka", config], output=self._console_path)
        self._process = process
        try:
            await self._wait_until_ready(process)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._process is None:
            return
        await self._process.stop(signal.SIGTERM, self._stop_timeout)
        self._process = None

    def _java_command(self, java: str, lib: Path) -> list[str]:
        return [
            java,
            f"-Xmx{self._heap}",
            *self._jvm_flags,
            "-Djava.awt.headless=true",
            # Kafka logs its own shutdown from a hook; log4j's hook must not close the log first.
            "-Dlog4j.shutdownHookEnabled=false",
            f"-Dlog4j2.configurationFile={_kafka_deploy_dir() / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self._run_dir}",
            "-cp",
            str(lib / "*"),
        ]

    def _write_config(self, port: int, controller_port: int) -> Path:
        self._run_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self._data_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)
        self._console_path.unlink(missing_ok=True)
        properties = _server_properties(port, controller_port, self._data_dir)
        config = self._run_dir / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        return config

    async def _format_storage(self, java_command: list[str], config: Path) -> None:
        # `--cluster-id=X` rather than `-t X`: a random id may begin with "-", which the parser
        # would read as an option.
        command = [
            *java_command,
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={_new_cluster_id()}",
            "--config",
            str(config),
        ]
        result = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise InfrastructureError(
                f"formatting the Kafka log directory failed with exit code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n{log_tail(self.log_path)}"
            )

    async def _wait_until_ready(self, process: ServerProcess) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while not await _is_ready(self.bootstrap_servers):
            if process.exit_code is not None:
                raise InfrastructureError(
                    f"Kafka exited with code {process.exit_code} while starting\n{self._logs()}"
                )
            if time.monotonic() > deadline:
                raise InfrastructureError(
                    f"Kafka did not answer on {self.bootstrap_servers} "
                    f"within {self._startup_timeout:g} s\n{self._logs()}"
                )
            await asyncio.sleep(0.25)

    def _logs(self) -> str:
        return f"{log_tail(self._console_path)}\n{log_tail(self.log_path)}"


def _server_properties(port: int, controller_port: int, data_dir: Path) -> dict[str, str]:
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "auto.create.topics.enable": "false",
        # One broker: every internal topic gets replication factor 1 and, to keep the first
        # consumer-group join and the first transaction fast, a single partition.
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "share.coordinator.state.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
    }


def _new_cluster_id() -> str:
    """A random id in Kafka's format: 16 bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if java is None or not Path(java).is_file():
        raise InfrastructureError(
            "a Java 17+ runtime is needed to run Kafka: install one "
            "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    return java


async def _is_ready(bootstrap_servers: str) -> bool:
    # Probe the port first, silently: aiokafka logs an error for every refused connection.
    if not await _accepts_connections(bootstrap_servers):
        return False
    return await _answers_admin_requests(bootstrap_servers)


async def _accepts_connections(bootstrap_servers: str) -> bool:
    host, port = bootstrap_servers.rsplit(":", 1)
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def _answers_admin_requests(bootstrap_servers: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    try:
        await admin.start()
        await admin.list_topics()
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()
    return True


def ensure_kafka_jars() -> Path:
    """The directory holding Kafka's runtime classpath, resolved by Maven on first use.

    Safe to call from concurrent processes: one resolves while the others wait on a file lock. A
    marker holding the pom's hash records a complete resolution, so editing the pom re-resolves.
    """
    pom = _kafka_deploy_dir() / "pom.xml"
    home = cache_dir() / f"kafka-{kafka_version(pom)}"
    lib = home / "lib"
    marker = home / _RESOLVED_MARKER
    fingerprint = hashlib.sha256(pom.read_bytes()).hexdigest()
    if _is_resolved(marker, fingerprint):
        return lib
    home.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(home / ".lock"):
        if not _is_resolved(marker, fingerprint):
            marker.unlink(missing_ok=True)
            shutil.rmtree(lib, ignore_errors=True)
            _copy_dependencies(pom, lib)
            marker.write_text(fingerprint)
    return lib


def kafka_version(pom: Path) -> str:
    """The <kafka.version> property of the pom."""
    version = ElementTree.parse(pom).findtext("m:properties/m:kafka.version", None, _POM_NAMESPACES)
    if not version:
        raise InfrastructureError(f"{pom} defines no <kafka.version> property")
    return version


def _kafka_deploy_dir() -> Path:
    return repo_root() / "deploy" / "kafka"


def _is_resolved(marker: Path, fingerprint: str) -> bool:
    return marker.is_file() and marker.read_text() == fingerprint


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def _copy_dependencies(pom: Path, lib: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfrastructureError(
            "Maven (mvn) is needed to download Kafka's jars: install it (apt-get install maven) "
            "or point SETTLE_KAFKA_BOOTSTRAP_SERVERS at a running cluster"
        )
    command = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={lib}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # Maven 3.8 emits colour resets even in batch mode with colours off.
        output = _ANSI_ESCAPES.sub("", result.stdout + result.stderr).splitlines()
        output = output[-_OUTPUT_TAIL_LINES:]
        raise InfrastructureError(
            f"{' '.join(command)} failed with exit code {result.returncode}:\n" + "\n".join(output)
        )


async def create_topics(
    bootstrap_servers: str,
    topics: Iterable[tuple[str, int]],
    *,
    replication_factor: int = 1,
) -> None:
    """Create the (name, partitions) topics that do not exist yet and wait until all have leaders.

    Existing topics are left as they are, whatever their partition count.
    """
    partitions_by_topic = dict(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, partitions, replication_factor)
            for name, partitions in partitions_by_topic.items()
            if name not in existing
        ]
        if missing:
            _raise_for_topic_errors(await admin.create_topics(missing))
        await _wait_for_leaders(admin, list(partitions_by_topic))
    finally:
        await admin.close()


def _raise_for_topic_errors(response: Any) -> None:
    for topic, error_code, *message in response.topic_errors:
        if error_code not in (0, TopicAlreadyExistsError.errno):
            raise for_code(error_code)(f"could not create topic {topic}: {message}")


async def _wait_for_leaders(admin: Any, topics: list[str]) -> None:
    try:
        async with asyncio.timeout(_TOPIC_LEADERS_TIMEOUT_SECONDS):
            while True:
                described = await admin.describe_topics(topics)
                if all(_has_leaders(topic) for topic in described):
                    return
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise InfrastructureError(
            f"topics {topics} got no partition leaders in {_TOPIC_LEADERS_TIMEOUT_SECONDS:g} s"
        ) from None


def _has_leaders(topic: Mapping[str, Any]) -> bool:
    partitions = topic["partitions"]
    return (
        topic["error_code"] == 0
        and len(partitions) > 0
        and all(partition["leader"] >= 0 for partition in partitions)
    )
