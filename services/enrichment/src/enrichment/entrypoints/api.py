"""Enrichment's HTTP API: a customer's profile with its exposure, the manual credit limit, and a
bureau refresh on demand."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from enrichment import handlers
from enrichment.adapters.repository import EnrichmentRepository
from enrichment.domain.exposure import Exposure
from enrichment.domain.profile import InvalidCreditLimit, LimitSource, check_manual_limit
from settle_shared.auth import CallerTenant
from settle_shared.db import Database
from settle_shared.errors import Problem
from settle_shared.events.common import CustomerMaster
from settle_shared.events.enrichment import CreditAssessment
from settle_shared.http import DatabaseDependency
from settle_shared.money import Money
from settle_shared.problems import ProblemError, documented_problem

UNKNOWN_CUSTOMER = documented_problem("No such customer for this tenant")
INVALID_INPUT = documented_problem("The request is not valid; every problem is listed")
router = APIRouter(
    prefix="/v1",
    tags=["customer profiles"],
)


def enrichment(request: Request) -> handlers.CustomerEnrichment:
    use_cases: handlers.CustomerEnrichment = request.app.state.service.enrichment
    return use_cases


EnrichmentDependency = Annotated[handlers.CustomerEnrichment, Depends(enrichment)]


class ExposureView(BaseModel):
    open_amount: Money | None = Field(
        description="Open invoice amounts in the exposure currency (the credit limit's)"
    )
    open_invoices: int = Field(description="Open invoices counted in open_amount")
    uncounted_invoices: int = Field(description="Open invoices in other currencies, not counted")
    over_limit: bool


class ProfileView(BaseModel):
    customer_id: str
    master: CustomerMaster
    credit: CreditAssessment
    credit_limit: Money | None = Field(description="The limit in force")
    credit_limit_source: LimitSource | None
    manual_credit_limit: Money | None
    exposure: ExposureView
    revision: int = Field(description="Revision of the last announced profile")
    enriched_at: datetime | None


@router.get(
    "/customers/{customer_id}/profile",
    summary="A customer's profile and exposure",
    responses={404: UNKNOWN_CUSTOMER, 422: INVALID_INPUT},
)
async def customer_profile(
    customer_id: str, tenant: CallerTenant, db: DatabaseDependency
) -> ProfileView:
    return await _profile_view(db, tenant, customer_id)


@router.put(
    "/customers/{customer_id}/credit-limit",
    summary="Set a manual credit limit; it wins over the bureau's recommendation",
    responses={
        404: UNKNOWN_CUSTOMER,
        422: documented_problem("Not a valid amount, or a negative one"),
    },
)
async def set_credit_limit(
    customer_id: str, limit: Money, tenant: CallerTenant, db: DatabaseDependency
) -> ProfileView:
    try:
        check_manual_limit(limit)
    except InvalidCreditLimit as error:
        raise ProblemError(
            422,
            "validation-failed",
            "The request is not valid",
            str(error),
            [Problem("/amount_minor", str(error))],
        ) from error
    await _change_manual_limit(db, tenant, customer_id, limit)
    return await _profile_view(db, tenant, customer_id)


@router.delete(
    "/customers/{customer_id}/credit-limit",
    summary="Remove the manual credit limit; the bureau's recommendation applies again",
    responses={404: UNKNOWN_CUSTOMER, 422: INVALID_INPUT},
)
async def remove_credit_limit(
    customer_id: str, tenant: CallerTenant, db: DatabaseDependency
) -> ProfileView:
    await _change_manual_limit(db, tenant, customer_id, None)
    return await _profile_view(db, tenant, customer_id)


@router.post(
    "/customers/{customer_id}/bureau-refresh",
    summary="Ask the credit bureau now, bypassing the cache",
    responses={
        404: UNKNOWN_CUSTOMER,
        409: documented_problem("The customer has no registration number to look up"),
        422: INVALID_INPUT,
        502: documented_problem("The credit bureau did not answer; nothing changed"),
    },
)
async def refresh_bureau(
    customer_id: str,
    tenant: CallerTenant,
    db: DatabaseDependency,
    use_cases: EnrichmentDependency,
) -> ProfileView:
    try:
        await use_cases.refresh_bureau(tenant, customer_id)
    except handlers.UnknownCustomer as error:
        raise _unknown(customer_id) from error
    except handlers.NothingToLookUp as error:
        raise ProblemError(
            409,
            "no-registration-number",
            "Nothing to look up",
            f"customer {customer_id} has no registration number",
        ) from error
    except handlers.BureauUnavailable as error:
        raise ProblemError(
            502, "bureau-unavailable", "The credit bureau did not answer", str(error)
        ) from error
    return await _profile_view(db, tenant, customer_id)


async def _change_manual_limit(
    db: Database, tenant: str, customer_id: str, limit: Money | None
) -> None:
    try:
        async with db.transaction() as tx:
            await handlers.set_manual_limit(tx, tenant, customer_id, limit)
    except handlers.UnknownCustomer as error:
        raise _unknown(customer_id) from error


async def _profile_view(db: Database, tenant: str, customer_id: str) -> ProfileView:
    async with db.pool.acquire() as connection:
        repository = EnrichmentRepository(connection)
        profile = await repository.profile(tenant, customer_id)
        if profile is None:
            raise _unknown(customer_id)
        exposure = Exposure.of(
            await repository.open_items(tenant, customer_id), profile.credit_limit
        )
        over_limit = await repository.over_limit(tenant, customer_id)
    return ProfileView(
        customer_id=customer_id,
        master=profile.master,
        credit=profile.credit,
        credit_limit=profile.credit_limit,
        credit_limit_source=profile.credit_limit_source,
        manual_credit_limit=profile.manual_limit,
        exposure=ExposureView(
            open_amount=exposure.open_amount,
            open_invoices=exposure.open_invoices,
            uncounted_invoices=exposure.uncounted_invoices,
            over_limit=over_limit,
        ),
        revision=profile.revision,
        enriched_at=profile.enriched_at,
    )


def _unknown(customer_id: str) -> ProblemError:
    return ProblemError(404, "not-found", "Unknown customer", f"no customer {customer_id}")
