"""Message delivery status, published by the delivery service."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, ConfigDict

from settle_shared.events.common import Channel, CustomerEvent, EntityId
from settle_shared.events.topics import DELIVERY_STATUS, REGISTRY

DeliveryStatus = Literal["sent", "delivered", "failed", "bounced", "unknown", "cancelled"]


@REGISTRY.event("settle.delivery.status-changed", 1, DELIVERY_STATUS)
class DeliveryStatusChanged(CustomerEvent):
    """A reminder message changed status: handed to the provider, delivered, failed, bounced, or
    cancelled before it was sent because its case closed (the invoice was paid)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "message_id": "9d3c1b7e-1f1a-4a55-8a3b-3f6c2f1e0a77",
                    "action_id": "5f0c7c2e-7d0e-4b8e-9a37-2b1f0d5e9f11",
                    "case_id": "0b6f9a55-6c53-4f0e-a3e2-4f1b6f7f2a10",
                    "channel": "email",
                    "status": "sent",
                    "provider": "smtp",
                    "provider_message_id": "<5f0c7c2e@settle.example>",
                    "detail": "250 OK",
                    "occurred_at": "2026-11-17T08:00:03+00:00",
                }
            ]
        }
    )

    message_id: EntityId
    action_id: EntityId
    case_id: EntityId
    channel: Channel
    status: DeliveryStatus
    provider: str
    provider_message_id: str | None = None
    detail: str | None = None
    occurred_at: AwareDatetime

    def subject(self) -> str:
        return self.message_id
