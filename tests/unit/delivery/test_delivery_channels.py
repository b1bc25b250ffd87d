import pytest
from pydantic import ValidationError

from delivery.adapters.channels import ChannelSenders
from delivery.bootstrap import DeliverySettings
from delivery.domain.messages import email_message_id
from delivery.testing.memory_sender import InMemoryEmailSender
from delivery.testing.sender_contract import failure_of, message


def test_the_message_id_is_derived_from_the_action_id() -> None:
    assert email_message_id("5f0c7c2e-7d0e") == "<5f0c7c2e-7d0e@settle.delivery>"
    assert email_message_id("A-1") == email_message_id("A-1")


def test_an_action_id_unfit_for_a_message_id_is_hashed_deterministically() -> None:
    unfit = email_message_id("action 1 <x>")

    assert unfit == email_message_id("action 1 <x>")
    assert unfit != email_message_id("action 2 <x>")
    assert " " not in unfit
    assert unfit.count("<") == 1


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "letter"])
async def test_a_channel_without_a_provider_fails_permanently_and_says_why(channel: str) -> None:
    senders = ChannelSenders({"email": InMemoryEmailSender()})
    sender = senders.for_channel(channel)  # type: ignore[arg-type]

    failure = await failure_of(lambda: sender.send(message(channel=channel)))

    assert sender.provider == "none"
    assert failure.kind == "permanent"
    assert failure.detail == f"channel {channel} is not available yet"


async def test_the_email_channel_goes_to_its_sender() -> None:
    email = InMemoryEmailSender()

    await ChannelSenders({"email": email}).for_channel("email").send(message())

    assert len(email.accepted) == 1


def test_smtp_credentials_must_come_in_pairs() -> None:
    with pytest.raises(ValueError, match="SMTP_USERNAME and SMTP_PASSWORD"):
        DeliverySettings(smtp_username="settle")


def test_a_placeholder_smtp_password_is_refused_outside_test_mode() -> None:
    with pytest.raises(ValidationError, match="SMTP_PASSWORD must be a real secret"):
        DeliverySettings(smtp_username="settle", smtp_password="changeme")


def test_smtp_settings_have_local_defaults() -> None:
    settings = DeliverySettings()

    smtp = settings.smtp()
    assert (smtp.host, smtp.port, smtp.starttls) == ("127.0.0.1", 25, False)
    assert smtp.sender_address == "reminders@settle.localhost"
    policy = settings.dispatch()
    assert (policy.tick_seconds, policy.max_attempts) == (2.0, 5)
    assert policy.sending_lease.total_seconds() == 300
