import pytest

from delivery.testing.memory_sender import InMemoryEmailSender
from delivery.testing.sender_contract import Delivered, EmailSenderContract, ProviderFactory


class MemoryProvider:
    def __init__(self, sender: InMemoryEmailSender) -> None:
        self.sender = sender

    def delivered(self) -> list[Delivered]:
        return [Delivered.from_mime(raw) for raw in self.sender.accepted]


@pytest.fixture
def provider() -> ProviderFactory:
    async def start(
        *, reject_pattern: str | None = None, defer_first: int = 0, reachable: bool = True
    ) -> MemoryProvider:
        return MemoryProvider(InMemoryEmailSender(reject_pattern, defer_first, reachable))

    return start


class TestInMemoryEmailSender(EmailSenderContract):
    pass
