"""A rendered reminder on its way through a channel, and what the channel answered."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from settle_shared.events.common import Channel
from settle_shared.events.dunning import Recipient

MessageStatus = Literal["queued", "sending", "sent", "failed", "unknown", "cancelled"]
FailureKind = Literal["transient", "permanent", "ambiguous"]
"""transient: certainly not accepted, may be tried again; permanent: refused for good;
ambiguous: may or may not have been accepted (the connection broke after the content left)."""

MESSAGE_ID_DOMAIN = "settle.delivery"
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_MESSAGE_ID_NAMESPACE = uuid.UUID("8f6d3c2a-5b1e-4f57-9a0e-3d2b7c9e4a61")


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    tenant: str
    action_id: str
    case_id: str
    channel: Channel
    recipient: Recipient
    language: str
    subject: str
    text: str
    html: str
    attempt: int
    attempted_at: datetime


@dataclass(frozen=True)
class SendReceipt:
    provider_message_id: str | None
    detail: str


class SendFailed(Exception):
    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: FailureKind = kind
        self.detail = detail


def email_message_id(action_id: str) -> str:
    """The same Message-ID for every attempt of one action, so the provider, the debtor's mail
    client and our status events all name the same message."""
    local = (
        action_id
        if _DOT_ATOM.match(action_id)
        else str(uuid.uuid5(_MESSAGE_ID_NAMESPACE, action_id))
    )
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"
