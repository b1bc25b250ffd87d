"""Reminders requested and case lifecycle, published by the dunning service."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from settle_shared.events.common import (
    Channel,
    CustomerEvent,
    EmailAddress,
    EntityId,
    LanguageTag,
    PhoneNumber,
    PostalAddress,
)
from settle_shared.events.topics import DUNNING_ACTIONS, DUNNING_CASES, REGISTRY
from settle_shared.money import Money

CaseCloseReason = Literal["paid", "cancelled", "credited", "written_off"]


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str | None = None
    email: EmailAddress | None = None
    phone: PhoneNumber | None = None
    postal_address: PostalAddress | None = None


@REGISTRY.event("settle.dunning.reminder-requested", 1, DUNNING_ACTIONS)
class ReminderRequested(CustomerEvent):
    """Send this reminder for this step of a case. Requested at most once per case and step."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "action_id": "5f0c7c2e-7d0e-4b8e-9a37-2b1f0d5e9f11",
                    "case_id": "0b6f9a55-6c53-4f0e-a3e2-4f1b6f7f2a10",
                    "invoice_id": "INV-2026-000123",
                    "invoice_number": "2026-000123",
                    "step": 1,
                    "step_name": "friendly-reminder",
                    "channel": "email",
                    "template": "friendly-reminder",
                    "language": "nl",
                    "recipient": {"name": "Anna de Vries", "email": "ap@devries.example"},
                    "customer_name": "Bakkerij de Vries B.V.",
                    "amount_due": {"amount_minor": 123450, "currency": "EUR"},
                    "due_date": "2026-11-16",
                    "payment_reference": "RF18539007547034",
                    "requested_at": "2026-11-17T08:00:00+00:00",
                }
            ]
        }
    )

    action_id: EntityId
    case_id: EntityId
    invoice_id: EntityId
    invoice_number: EntityId
    step: int = Field(ge=1)
    step_name: str
    channel: Channel
    template: str
    language: LanguageTag
    recipient: Recipient
    customer_name: str
    amount_due: Money
    due_date: date
    payment_reference: str | None = None
    requested_at: AwareDatetime

    def subject(self) -> str:
        return self.action_id


@REGISTRY.event("settle.dunning.case-opened", 1, DUNNING_CASES)
class CaseOpened(CustomerEvent):
    """A dunning case was opened for an open invoice."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "case_id": "0b6f9a55-6c53-4f0e-a3e2-4f1b6f7f2a10",
                    "invoice_id": "INV-2026-000123",
                    "policy": "standard",
                    "opened_at": "2026-11-02T09:20:02+00:00",
                }
            ]
        }
    )

    case_id: EntityId
    invoice_id: EntityId
    policy: str
    opened_at: AwareDatetime

    def subject(self) -> str:
        return self.case_id


@REGISTRY.event("settle.dunning.case-closed", 1, DUNNING_CASES)
class CaseClosed(CustomerEvent):
    """A dunning case was closed; nothing more will be sent for it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "case_id": "0b6f9a55-6c53-4f0e-a3e2-4f1b6f7f2a10",
                    "invoice_id": "INV-2026-000123",
                    "reason": "paid",
                    "closed_at": "2026-11-20T10:00:00+00:00",
                }
            ]
        }
    )

    case_id: EntityId
    invoice_id: EntityId
    reason: CaseCloseReason
    closed_at: AwareDatetime

    def subject(self) -> str:
        return self.case_id
