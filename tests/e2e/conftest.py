from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from settle_local.stack import Stack
from settle_shared.events import REGISTRY
from settle_shared.testing.topic_recorder import TopicRecorder


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The whole system, as `make up` starts it: its own PostgreSQL and Kafka, the simulators,
    and the six services as separate processes in test mode."""
    run_dir: Path = tmp_path_factory.mktemp("stack")
    async with Stack(run_dir) as running:
        yield running


@pytest.fixture(scope="module")
async def topics(stack: Stack) -> AsyncIterator[TopicRecorder]:
    """Everything published on every topic, from the beginning."""
    async with TopicRecorder(
        stack.kafka.bootstrap_servers, [topic.name for topic in REGISTRY.topics()]
    ) as recorder:
        yield recorder
