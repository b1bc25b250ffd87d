"""Webhooks of payment service providers: a payment made through a payment link.

The body is JSON (see `ProviderWebhook`), signed as `Settle-Signature: t=<unix seconds>,
v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; the provider's secret that verifies it names the
tenant (no API key: providers sign instead)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from payments import webhooks
from payments.domain.psp import BadSignature, StaleSignature, verified_tenant
from settle_shared.errors import Problem
from settle_shared.http import DatabaseDependency
from settle_shared.money import Money
from settle_shared.problems import ProblemError, documented_problem

router = APIRouter(prefix="/psp", tags=["payment service providers"])

SIGNATURE_HEADER = "Settle-Signature"
MAX_WEBHOOK_BYTES = 64 * 1024


@dataclass(frozen=True)
class PspSettings:
    secrets: Mapping[str, Mapping[str, Sequence[str]]] = field(repr=False)
    tolerance: timedelta


class ProviderWebhook(BaseModel):
    """A payment the provider collected."""

    event_id: str = Field(min_length=1, max_length=200, description="Same on every redelivery")
    payment_id: str = Field(min_length=1, max_length=200, description="The provider's id")
    amount: Money
    paid_at: AwareDatetime
    payer_name: str | None = Field(default=None, max_length=200)
    payer_account: str | None = Field(default=None, max_length=64, description="IBAN if known")
    invoice_reference: str | None = Field(
        default=None, max_length=200, description="The invoice number or reference in the link"
    )


class WebhookView(BaseModel):
    payment_id: str
    status: Literal["matched", "unmatched", "already_received"]


@router.post(
    "/webhooks/{provider}",
    summary="A payment service provider reports a payment made through a payment link",
    description=(
        "Signed with HMAC-SHA256 over `<t>.<raw body>` in the `Settle-Signature: t=<unix "
        "seconds>,v1=<hex>` header. A redelivered event (same event_id) credits nothing and "
        "answers with what the first delivery decided."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ProviderWebhook.model_json_schema()}},
        }
    },
    responses={
        401: documented_problem("Signature missing, wrong, or (stale-signature) too old"),
        404: documented_problem("No secrets configured for this provider"),
        413: documented_problem("The body is larger than the limit"),
        422: documented_problem("The body is not a webhook this endpoint reads"),
    },
)
async def provider_webhook(provider: str, request: Request, db: DatabaseDependency) -> WebhookView:
    components = request.app.state.service
    settings: PspSettings = components.psp
    secrets = settings.secrets.get(provider)
    if not secrets:
        raise ProblemError(404, "unknown-provider", "Unknown provider", f"provider {provider}")
    body = await _body(request)
    tenant = _tenant(request, body, secrets, db.clock.now(), settings.tolerance)
    reported = _webhook(body)
    async with db.transaction() as tx:
        outcome = await webhooks.provider_payment(
            tx,
            tenant,
            webhooks.ProviderPayment(
                provider,
                reported.event_id,
                reported.payment_id,
                reported.amount,
                reported.paid_at,
                reported.payer_name,
                reported.payer_account,
                reported.invoice_reference,
            ),
            components.tolerance,
        )
    return WebhookView(payment_id=outcome.payment_id, status=outcome.status)


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise ProblemError(
            413,
            "payload-too-large",
            "Request body too large",
            f"{len(body)} bytes; the limit is {MAX_WEBHOOK_BYTES} bytes",
        )
    return body


def _tenant(
    request: Request,
    body: bytes,
    secrets: Mapping[str, Sequence[str]],
    now: datetime,
    tolerance: timedelta,
) -> str:
    try:
        return verified_tenant(request.headers.get(SIGNATURE_HEADER), body, secrets, now, tolerance)
    except StaleSignature as stale:
        raise ProblemError(
            401, "stale-signature", "Webhook signature too old", str(stale)
        ) from stale
    except BadSignature as bad:
        raise ProblemError(401, "invalid-signature", "Webhook signature invalid", str(bad)) from bad


def _webhook(body: bytes) -> ProviderWebhook:
    try:
        return ProviderWebhook.model_validate_json(body)
    except ValidationError as invalid:
        problems = [
            Problem("/" + "/".join(str(part) for part in error["loc"]), error["msg"])
            for error in invalid.errors()
        ]
        raise ProblemError(
            422, "invalid-webhook", "The webhook body is not valid", "see errors", problems
        ) from invalid
