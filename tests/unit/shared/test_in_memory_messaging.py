import itertools

import pytest

from settle_shared.testing.memory_broker import InMemoryMessaging, UnknownTopic
from settle_shared.testing.messaging_contract import PARTITIONS, MessagingContract, record

_names = itertools.count()


@pytest.fixture
def messaging() -> InMemoryMessaging:
    return InMemoryMessaging()


@pytest.fixture
def topic(messaging: InMemoryMessaging) -> str:
    name = f"contract-{next(_names)}"
    messaging.broker.create_topic(name, PARTITIONS)
    return name


class TestInMemoryMessaging(MessagingContract):
    pass


async def test_publishing_to_a_missing_topic_fails_like_kafka_without_auto_create(
    messaging: InMemoryMessaging,
) -> None:
    publisher = messaging.publisher("p")
    with pytest.raises(UnknownTopic):
        await publisher.publish([record("nope", "k", "v")])
