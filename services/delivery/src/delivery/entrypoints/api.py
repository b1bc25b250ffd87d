"""Delivery's HTTP API: a message's status and attempts, messages of a case, template previews."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from delivery.adapters.repository import Attempt, DeliveryRepository, StoredMessage
from delivery.domain.messages import MessageStatus
from delivery.domain.rendering import ReminderValues, TemplateRenderer, UnknownTemplate
from settle_shared.auth import CallerTenant
from settle_shared.errors import Problem
from settle_shared.events.common import Channel, EntityId, LanguageTag
from settle_shared.http import DatabaseDependency
from settle_shared.money import Money
from settle_shared.problems import ProblemError, documented_problem

INVALID_INPUT = documented_problem("The request is not valid; every problem is listed")
router = APIRouter(
    prefix="/v1",
    tags=["messages"],
)


def template_renderer(request: Request) -> TemplateRenderer:
    renderer: TemplateRenderer = request.app.state.service.renderer
    return renderer


RendererDependency = Annotated[TemplateRenderer, Depends(template_renderer)]


class AttemptView(BaseModel):
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    detail: str | None


class MessageSummary(BaseModel):
    message_id: UUID
    action_id: str
    case_id: str
    customer_id: str
    invoice_id: str
    channel: Channel
    template: str
    language: str = Field(description="The language the text is in (after any fallback)")
    requested_language: str
    subject: str
    status: MessageStatus
    attempts: int
    next_attempt_at: datetime | None
    provider: str | None
    provider_message_id: str | None
    detail: str | None
    created_at: datetime
    updated_at: datetime


class MessageView(MessageSummary):
    attempt_history: list[AttemptView]


class MessageList(BaseModel):
    messages: list[MessageSummary]


class SampleValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_name: str = "Bakkerij de Vries B.V."
    recipient_name: str | None = "Anna de Vries"
    invoice_number: EntityId = "2026-000123"
    amount_due: Money = Money.of(123450, "EUR")
    due_date: date = date(2026, 11, 16)
    payment_reference: str | None = "RF18539007547034"


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(examples=["friendly-reminder"])
    language: LanguageTag
    values: SampleValues = Field(default_factory=SampleValues)


class PreviewView(BaseModel):
    template: str
    requested_language: str
    language: str = Field(description="The language the text is in (after any fallback)")
    subject: str
    text: str
    html: str


class TemplateCatalogue(BaseModel):
    templates: dict[str, list[str]] = Field(description="Template name -> languages written")


@router.get(
    "/messages/{message_id}",
    summary="A message: status, attempts, rendered subject",
    responses={404: documented_problem("No such message for this tenant"), 422: INVALID_INPUT},
)
async def message(message_id: UUID, tenant: CallerTenant, db: DatabaseDependency) -> MessageView:
    async with db.pool.acquire() as connection:
        repository = DeliveryRepository(connection)
        found = await repository.message(tenant, message_id)
        attempts = await repository.attempts(message_id) if found else []
    if found is None:
        raise ProblemError(404, "not-found", "No such message", f"message {message_id} not found")
    return MessageView(
        **_summary(found).model_dump(), attempt_history=[_attempt(a) for a in attempts]
    )


@router.get(
    "/messages",
    summary="Messages of a case or an action, newest first",
    responses={422: INVALID_INPUT},
)
async def messages(
    tenant: CallerTenant,
    db: DatabaseDependency,
    case_id: Annotated[str | None, Query(max_length=128)] = None,
    action_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MessageList:
    async with db.pool.acquire() as connection:
        found = await DeliveryRepository(connection).find(tenant, case_id, action_id, limit)
    return MessageList(messages=[_summary(m) for m in found])


@router.get("/templates", summary="Every template and the languages it is written in")
async def templates(tenant: CallerTenant, renderer: RendererDependency) -> TemplateCatalogue:
    return TemplateCatalogue(templates=renderer.templates())


@router.post(
    "/templates/preview",
    summary="Render a template with sample values",
    responses={422: documented_problem("The request is not valid, or names an unknown template")},
)
async def preview(
    body: PreviewRequest, tenant: CallerTenant, renderer: RendererDependency
) -> PreviewView:
    values = body.values
    try:
        rendered = renderer.render(
            body.template,
            body.language,
            ReminderValues(
                customer_name=values.customer_name,
                recipient_name=values.recipient_name,
                invoice_number=values.invoice_number,
                amount_due=values.amount_due,
                due_date=values.due_date,
                payment_reference=values.payment_reference,
            ),
        )
    except UnknownTemplate as error:
        raise ProblemError(
            422,
            "unknown-template",
            "Unknown template",
            str(error),
            [Problem("/template", f"known templates: {', '.join(renderer.templates())}")],
        ) from error
    return PreviewView(
        template=rendered.template,
        requested_language=rendered.requested_language,
        language=rendered.language,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )


def _summary(message: StoredMessage) -> MessageSummary:
    return MessageSummary(
        message_id=message.message_id,
        action_id=message.action_id,
        case_id=message.case_id,
        customer_id=message.customer_id,
        invoice_id=message.invoice_id,
        channel=message.channel,
        template=message.template,
        language=message.language,
        requested_language=message.requested_language,
        subject=message.subject,
        status=message.status,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
        provider=message.provider,
        provider_message_id=message.provider_message_id,
        detail=message.detail,
        created_at=message.created_at,
        updated_at=message.updated_at,
    )


def _attempt(attempt: Attempt) -> AttemptView:
    return AttemptView(
        attempt=attempt.attempt,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        outcome=attempt.outcome,
        detail=attempt.detail,
    )
