"""Segmentation's HTTP API: a customer's segment with its explanation, the distribution, rules."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from segmentation.adapters.repository import SegmentationRepository
from segmentation.domain import rules
from settle_shared.auth import CallerTenant
from settle_shared.http import DatabaseDependency
from settle_shared.problems import ProblemError, documented_problem

router = APIRouter(prefix="/v1", tags=["segments"])


class SegmentView(BaseModel):
    customer_id: str
    segment: str
    rule: str
    reasons: list[str]
    revision: int
    decided_at: datetime


class Distribution(BaseModel):
    customers_by_segment: dict[str, int]


class RuleSetView(BaseModel):
    rule: str
    segments: list[str]
    history_needed: int
    thresholds: dict[str, float]


@router.get(
    "/customers/{customer_id}/segment",
    summary="A customer's segment and why",
    responses={404: documented_problem("This customer has no segment yet, or is not yours")},
)
async def customer_segment(
    customer_id: str, tenant: CallerTenant, db: DatabaseDependency
) -> SegmentView:
    async with db.pool.acquire() as connection:
        assignment = await SegmentationRepository(connection).assignment(tenant, customer_id)
    if assignment is None:
        raise ProblemError(
            404, "not-found", "No segment yet", f"customer {customer_id} has no segment"
        )
    return SegmentView(
        customer_id=assignment.customer_id,
        segment=assignment.segment,
        rule=assignment.rule,
        reasons=assignment.reasons,
        revision=assignment.revision,
        decided_at=assignment.decided_at,
    )


@router.get("/segments", summary="How many customers are in each segment")
async def distribution(tenant: CallerTenant, db: DatabaseDependency) -> Distribution:
    async with db.pool.acquire() as connection:
        counts = await SegmentationRepository(connection).distribution(tenant)
    return Distribution(
        customers_by_segment={segment: counts.get(segment, 0) for segment in rules.SEGMENTS}
    )


@router.get("/rules", summary="The rule set in force")
async def rule_set(tenant: CallerTenant) -> RuleSetView:
    return RuleSetView(
        rule=rules.RULE_SET,
        segments=list(rules.SEGMENTS),
        history_needed=rules.HISTORY_NEEDED,
        thresholds={
            "reliable_bureau_score": rules.RELIABLE_SCORE,
            "risky_bureau_score": rules.RISKY_SCORE,
            "reliable_average_days_late": rules.RELIABLE_DAYS_LATE,
            "late_payer_average_days_late": rules.LATE_PAYER_DAYS_LATE,
        },
    )
