"""The sender port: one `ChannelSender` per channel. E-mail is the first; SMS, WhatsApp and letter
providers plug in by adding a sender for their channel at bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from delivery.domain.messages import OutgoingMessage, SendFailed, SendReceipt
from settle_shared.events.common import Channel

NO_PROVIDER = "none"


class ChannelSender(Protocol):
    """Hands one message to a provider. Returns the provider's receipt, or raises `SendFailed`
    saying whether the message was certainly not accepted (transient, permanent) or may have been
    (ambiguous). Any other exception is a fault of ours, not of the message."""

    @property
    def provider(self) -> str: ...

    async def send(self, message: OutgoingMessage) -> SendReceipt: ...


class UnavailableChannel:
    """A channel with no provider yet: its messages fail at once, visibly."""

    provider = NO_PROVIDER

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        raise SendFailed("permanent", f"channel {self._channel} is not available yet")


class ChannelSenders:
    def __init__(self, senders: Mapping[Channel, ChannelSender]) -> None:
        self._senders = dict(senders)

    def for_channel(self, channel: Channel) -> ChannelSender:
        return self._senders.get(channel) or UnavailableChannel(channel)
