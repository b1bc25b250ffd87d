"""A payment service provider that reports payments made through payment links, as signed
webhooks (`Settle-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from settle_shared.money import Money


@dataclass(frozen=True)
class LinkPayment:
    """What the provider collected; `event_id` stays the same on every redelivery."""

    event_id: str
    payment_id: str
    amount: Money
    paid_at: datetime
    invoice_reference: str | None = None
    payer_name: str | None = None
    payer_account: str | None = None

    def body(self) -> bytes:
        return json.dumps(
            {
                "event_id": self.event_id,
                "payment_id": self.payment_id,
                "amount": self.amount.model_dump(mode="json"),
                "paid_at": self.paid_at.isoformat(),
                "payer_name": self.payer_name,
                "payer_account": self.payer_account,
                "invoice_reference": self.invoice_reference,
            }
        ).encode()


def signature_header(secrets: list[str], signed_at: datetime, body: bytes) -> str:
    """The header for `body`, with one v1 per secret (several while a secret is rotated)."""
    timestamp = int(signed_at.timestamp())
    signed = f"{timestamp}.".encode() + body
    signatures = (hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets)
    return ",".join([f"t={timestamp}", *(f"v1={v1}" for v1 in signatures)])


@dataclass
class PspSender:
    """Posts signed webhooks to the payments service through `client` (real HTTP or ASGI)."""

    client: httpx.AsyncClient
    provider: str
    secrets: list[str] = field(default_factory=list)

    async def send(self, payment: LinkPayment, signed_at: datetime) -> httpx.Response:
        body = payment.body()
        return await self.send_raw(body, signature_header(self.secrets, signed_at, body))

    async def send_raw(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["Settle-Signature"] = signature
        return await self.client.post(
            f"/psp/webhooks/{self.provider}", content=body, headers=headers
        )
