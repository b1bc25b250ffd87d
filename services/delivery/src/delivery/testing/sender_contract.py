"""The behaviour every e-mail `ChannelSender` must have, whatever the provider behind it.

Test modules subclass `EmailSenderContract` and provide a `provider` fixture: an async factory
taking `reject_pattern`, `defer_first` and `reachable`, returning a `ProviderUnderTest`. The
in-memory provider runs it in the unit tier, the SMTP sender against a real SMTP sink in the
integration tier: same assertions.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol

from delivery.adapters.channels import ChannelSender
from delivery.domain.messages import OutgoingMessage, SendFailed, email_message_id
from settle_shared.events.dunning import Recipient


@dataclass(frozen=True)
class Delivered:
    """What the provider got, read back from the MIME message."""

    to: str
    subject: str
    message_id: str
    headers: dict[str, str]
    text: str
    html: str

    @classmethod
    def from_mime(cls, raw: bytes) -> Delivered:
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        text, html = mail.get_body(("plain",)), mail.get_body(("html",))
        assert text is not None
        assert html is not None
        return cls(
            to=str(mail["To"]),
            subject=str(mail["Subject"]),
            message_id=str(mail["Message-ID"]),
            headers={name: str(value) for name, value in mail.items()},
            text=text.get_content(),
            html=html.get_content(),
        )


class ProviderUnderTest(Protocol):
    @property
    def sender(self) -> ChannelSender: ...

    def delivered(self) -> list[Delivered]: ...


class ProviderFactory(Protocol):
    def __call__(
        self, *, reject_pattern: str | None = None, defer_first: int = 0, reachable: bool = True
    ) -> Awaitable[ProviderUnderTest]: ...


def message(**changes: object) -> OutgoingMessage:
    sample = OutgoingMessage(
        message_id="9d3c1b7e-1f1a-4a55-8a3b-3f6c2f1e0a77",
        tenant="acme-nl",
        action_id="5f0c7c2e-7d0e-4b8e-9a37-2b1f0d5e9f11",
        case_id="0b6f9a55-6c53-4f0e-a3e2-4f1b6f7f2a10",
        channel="email",
        recipient=Recipient(name="Anna de Vries", email="ap@devries.example"),
        language="nl",
        subject="Betalingsherinnering: factuur 2026-000123",
        text="Beste Anna de Vries,\n\nFactuur 2026-000123 staat nog open.\n",
        html="<p>Beste Anna de Vries,</p><p>Factuur 2026-000123 staat nog open.</p>\n",
        attempt=1,
        attempted_at=datetime(2026, 11, 17, 8, 0, tzinfo=UTC),
    )
    return replace(sample, **changes)  # type: ignore[arg-type]


async def failure_of(send: Callable[[], Awaitable[object]]) -> SendFailed:
    try:
        await send()
    except SendFailed as failure:
        return failure
    raise AssertionError("the send was expected to fail")


class EmailSenderContract:
    async def test_a_message_arrives_once_with_its_headers_and_both_bodies(
        self, provider: ProviderFactory
    ) -> None:
        under_test = await provider()
        receipt = await under_test.sender.send(message())

        [delivered] = under_test.delivered()
        assert delivered.to == "Anna de Vries <ap@devries.example>"
        assert delivered.subject == "Betalingsherinnering: factuur 2026-000123"
        assert delivered.message_id == email_message_id("5f0c7c2e-7d0e-4b8e-9a37-2b1f0d5e9f11")
        assert delivered.headers["X-Settle-Action-Id"] == "5f0c7c2e-7d0e-4b8e-9a37-2b1f0d5e9f11"
        assert delivered.headers["X-Settle-Case-Id"] == "0b6f9a55-6c53-4f0e-a3e2-4f1b6f7f2a10"
        assert delivered.headers["Content-Language"] == "nl"
        assert "Factuur 2026-000123 staat nog open." in delivered.text
        assert "<p>Factuur 2026-000123 staat nog open.</p>" in delivered.html
        assert receipt.provider_message_id == delivered.message_id

    async def test_every_attempt_of_one_action_carries_the_same_message_id(
        self, provider: ProviderFactory
    ) -> None:
        under_test = await provider()
        first = await under_test.sender.send(message(attempt=1))
        second = await under_test.sender.send(message(attempt=2, message_id="other"))

        assert first.provider_message_id == second.provider_message_id
        assert len({d.message_id for d in under_test.delivered()}) == 1

    async def test_names_and_subjects_outside_ascii_arrive_intact(
        self, provider: ProviderFactory
    ) -> None:
        under_test = await provider()
        await under_test.sender.send(
            message(
                recipient=Recipient(name="Jürgen Müller", email="jm@mueller.example"),
                subject="Zahlungserinnerung: Rechnung Nr. 7 über 1.234,50 €",
                text="Guten Tag Jürgen Müller,\n\nFälligkeitsdatum: 16. November 2026\n",
            )
        )

        [delivered] = under_test.delivered()
        assert delivered.to == "Jürgen Müller <jm@mueller.example>"
        assert delivered.subject == "Zahlungserinnerung: Rechnung Nr. 7 über 1.234,50 €"
        assert "Fälligkeitsdatum: 16. November 2026" in delivered.text

    async def test_a_refused_recipient_fails_permanently_with_the_reply(
        self, provider: ProviderFactory
    ) -> None:
        under_test = await provider(reject_pattern="devries")

        failure = await failure_of(lambda: under_test.sender.send(message()))

        assert failure.kind == "permanent"
        assert failure.detail.startswith("550")
        assert under_test.delivered() == []

    async def test_a_deferred_message_fails_transiently_and_goes_through_later(
        self, provider: ProviderFactory
    ) -> None:
        under_test = await provider(defer_first=1)

        failure = await failure_of(lambda: under_test.sender.send(message()))
        await under_test.sender.send(message(attempt=2))

        assert failure.kind == "transient"
        assert failure.detail.startswith("451")
        assert len(under_test.delivered()) == 1

    async def test_an_unreachable_provider_is_a_transient_failure(
        self, provider: ProviderFactory
    ) -> None:
        under_test = await provider(reachable=False)

        failure = await failure_of(lambda: under_test.sender.send(message()))

        assert failure.kind == "transient"

    async def test_a_recipient_without_an_address_fails_permanently(
        self, provider: ProviderFactory
    ) -> None:
        under_test = await provider()

        failure = await failure_of(
            lambda: under_test.sender.send(message(recipient=Recipient(name="Anna")))
        )

        assert failure.kind == "permanent"
        assert "no e-mail address" in failure.detail
        assert under_test.delivered() == []
