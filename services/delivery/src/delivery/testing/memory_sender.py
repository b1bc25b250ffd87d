"""An in-memory e-mail provider with the SMTP sink's knobs, for the unit tier."""

from __future__ import annotations

import re

from delivery.adapters.smtp import build_email, recipient_address
from delivery.domain.messages import OutgoingMessage, SendFailed, SendReceipt, email_message_id


class InMemoryEmailSender:
    provider = "memory"

    def __init__(
        self, reject_pattern: str | None = None, defer_first: int = 0, reachable: bool = True
    ) -> None:
        self.accepted: list[bytes] = []
        self._reject = re.compile(reject_pattern, re.IGNORECASE) if reject_pattern else None
        self._deferrals_left = defer_first
        self._reachable = reachable

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        content = build_email(message, "reminders@settle.localhost").as_bytes()
        address = recipient_address(message)
        if not self._reachable:
            raise SendFailed("transient", "ConnectionRefusedError: provider unreachable")
        if self._reject and self._reject.search(address):
            raise SendFailed("permanent", "550 5.1.1 Recipient address rejected")
        if self._deferrals_left > 0:
            self._deferrals_left -= 1
            raise SendFailed("transient", "451 4.3.0 Try again later")
        self.accepted.append(content)
        return SendReceipt(email_message_id(message.action_id), "250 OK")
