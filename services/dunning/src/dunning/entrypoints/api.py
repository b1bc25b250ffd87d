"""Dunning's HTTP API: cases with their steps and reminders, and the policies in force."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from dunning.adapters.repository import Action, DunningRepository
from dunning.domain.calendar import SendingRules
from dunning.domain.cases import Case, CaseStatus
from dunning.domain.policies import DEFAULT_POLICY, POLICIES, Policy, policy_for
from dunning.domain.schedule import StepState, overview
from settle_shared.auth import CallerTenant
from settle_shared.events.common import Channel
from settle_shared.events.dunning import CaseCloseReason, Recipient
from settle_shared.http import DatabaseDependency
from settle_shared.money import Money
from settle_shared.problems import ProblemError, documented_problem

router = APIRouter(
    prefix="/v1",
    tags=["dunning"],
)


def sending_rules(request: Request) -> SendingRules:
    rules: SendingRules = request.app.state.service.rules
    return rules


RulesDependency = Annotated[SendingRules, Depends(sending_rules)]


class CaseSummary(BaseModel):
    case_id: UUID
    customer_id: str
    invoice_id: str
    invoice_number: str
    invoice_revision: int = Field(description="The revision of the invoice the case reflects")
    issue_date: date
    due_date: date
    amount: Money = Field(description="The invoice amount, as last amended")
    credited: Money = Field(description="Linked credit notes counted against the invoice")
    open_amount: Money = Field(
        description="What reminders ask for: the amount less credit notes and payments"
    )
    policy: str
    status: CaseStatus
    close_reason: CaseCloseReason | None
    opened_at: datetime
    closed_at: datetime | None


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None


class PolicyStepView(BaseModel):
    step: int
    offset_days: int
    name: str
    template: str
    channel: Channel


class PolicyView(BaseModel):
    name: str
    description: str
    steps: list[PolicyStepView]


class PoliciesView(BaseModel):
    default_policy: str
    send_hour: int
    business_days: str
    policies: list[PolicyView]


class CaseStepView(BaseModel):
    step: int
    name: str
    state: StepState
    planned_at: datetime | None
    fired_at: datetime | None
    reason: str | None


class DeliveryView(BaseModel):
    status: str
    provider: str | None
    detail: str | None
    changed_at: datetime


class ActionView(BaseModel):
    action_id: UUID
    step: int
    step_name: str
    template: str
    channel: Channel
    language: str
    recipient: Recipient
    amount_due: Money
    requested_at: datetime
    delivery: DeliveryView | None


class CaseDetail(BaseModel):
    case: CaseSummary
    policy: PolicyView
    steps: list[CaseStepView]
    actions: list[ActionView]


@router.get(
    "/cases",
    summary="The caller's dunning cases, oldest first, a page at a time",
    responses={
        400: documented_problem("The cursor is not one this API handed out"),
        422: documented_problem("A query parameter is not valid"),
    },
)
async def list_cases(
    tenant: CallerTenant,
    db: DatabaseDependency,
    status: CaseStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> CasePage:
    after = _decode_cursor(cursor) if cursor else 0
    async with db.pool.acquire() as connection:
        rows = await DunningRepository(connection).cases_page(tenant, status, after, limit + 1)
    page = rows[:limit]
    next_cursor = _encode_cursor(page[-1][0]) if len(rows) > limit else None
    return CasePage(items=[_summary(case) for _, case in page], next_cursor=next_cursor)


@router.get(
    "/cases/{case_id}",
    summary="A case: its policy, steps and reminders sent",
    responses={
        404: documented_problem("No such case for this tenant"),
        422: documented_problem("The request is not valid"),
    },
)
async def case_detail(
    case_id: str, tenant: CallerTenant, db: DatabaseDependency, rules: RulesDependency
) -> CaseDetail:
    not_found = ProblemError(404, "not-found", "No such case", f"case {case_id} does not exist")
    try:
        case_uuid = UUID(case_id)
    except ValueError as error:
        raise not_found from error
    async with db.pool.acquire() as connection:
        repository = DunningRepository(connection)
        case = await repository.case(case_uuid, tenant)
        if case is None:
            raise not_found
        customer = await repository.customer(tenant, case.customer_id)
        timers = await repository.timers(case_uuid)
        actions = await repository.actions(case_uuid)
    policy = policy_for(case.policy)
    profile = customer.profile if customer else None
    calendar = rules.calendar(profile.time_zone if profile else None)
    closed_because = case.why_not_remind() if case.status == "closed" else None
    steps = overview(policy, case.due_date, calendar, timers, closed_because)
    return CaseDetail(
        case=_summary(case),
        policy=_policy_view(policy),
        steps=[CaseStepView.model_validate(step, from_attributes=True) for step in steps],
        actions=[_action_view(action) for action in actions],
    )


@router.get("/policies", summary="The dunning policies in force, per customer segment")
async def policies(tenant: CallerTenant, rules: RulesDependency) -> PoliciesView:
    return PoliciesView(
        default_policy=DEFAULT_POLICY,
        send_hour=rules.send_hour,
        business_days=rules.business_days.describe(),
        policies=[_policy_view(policy) for policy in POLICIES.values()],
    )


def _summary(case: Case) -> CaseSummary:
    return CaseSummary(
        case_id=case.case_id,
        customer_id=case.customer_id,
        invoice_id=case.invoice_id,
        invoice_number=case.invoice_number,
        invoice_revision=case.invoice_revision,
        issue_date=case.issue_date,
        due_date=case.due_date,
        amount=case.amount,
        credited=case.credited,
        open_amount=case.open_amount,
        policy=case.policy,
        status=case.status,
        close_reason=case.close_reason,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
    )


def _policy_view(policy: Policy) -> PolicyView:
    return PolicyView(
        name=policy.name,
        description=policy.description,
        steps=[
            PolicyStepView(
                step=number,
                offset_days=step.offset_days,
                name=step.name,
                template=step.template,
                channel=step.channel,
            )
            for number, step in enumerate(policy.steps, start=1)
        ],
    )


def _action_view(action: Action) -> ActionView:
    delivery = action.delivery
    return ActionView(
        action_id=action.action_id,
        step=action.step,
        step_name=action.step_name,
        template=action.template,
        channel=action.channel,
        language=action.language,
        recipient=action.recipient,
        amount_due=action.amount_due,
        requested_at=action.requested_at,
        delivery=DeliveryView.model_validate(delivery, from_attributes=True) if delivery else None,
    )


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"after:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, seq = decoded.partition(":")
        if prefix != "after" or not seq.isdigit():
            raise ValueError(cursor)
        return int(seq)
    except ValueError as error:  # bad base64 and bad UTF-8 are ValueErrors too
        raise ProblemError(
            400, "invalid-cursor", "The cursor is not valid", "Pass next_cursor from a page as is"
        ) from error
