"""PostgreSQL and Kafka for one run of a benchmark: local servers in a temporary folder (or the ones
$SETTLE_POSTGRES_URL and $SETTLE_KAFKA_BOOTSTRAP_SERVERS name), with every Settle topic created."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

from settle_local.kafka import Kafka, create_topics, kafka_from_env
from settle_local.postgres import Postgres, postgres_from_env
from settle_shared.events import REGISTRY


class Infrastructure(NamedTuple):
    run_dir: Path
    postgres: Postgres
    kafka: Kafka


@asynccontextmanager
async def throwaway_infrastructure(prefix: str) -> AsyncIterator[Infrastructure]:
    with tempfile.TemporaryDirectory(prefix=prefix) as directory:
        run_dir = Path(directory)
        (run_dir / "postgres").mkdir()
        (run_dir / "kafka").mkdir()
        async with (
            postgres_from_env(run_dir / "postgres") as postgres,
            kafka_from_env(run_dir / "kafka") as kafka,
        ):
            await create_topics(
                kafka.bootstrap_servers, [(t.name, t.partitions) for t in REGISTRY.topics()]
            )
            yield Infrastructure(run_dir, postgres, kafka)
