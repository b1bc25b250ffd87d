import uuid

import pytest

from settle_local.kafka import Kafka, create_topics
from settle_shared.kafka import KafkaMessaging
from settle_shared.settings import KafkaSettings
from settle_shared.testing.messaging_contract import PARTITIONS, MessagingContract


@pytest.fixture
def messaging(kafka: Kafka) -> KafkaMessaging:
    return KafkaMessaging(KafkaSettings(kafka_bootstrap_servers=kafka.bootstrap_servers))


@pytest.fixture
async def topic(kafka: Kafka) -> str:
    name = f"contract-{uuid.uuid4().hex[:8]}"
    await create_topics(kafka.bootstrap_servers, [(name, PARTITIONS)])
    return name


class TestKafkaMessaging(MessagingContract):
    pass
