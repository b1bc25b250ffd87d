"""Builds ingestion from its settings and the infrastructure it is given (real or fake)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from ingestion.adapters.outbox import TransactionalOutbox
from ingestion.adapters.tokens import JwksFile, JwksUrl, SigningKeys, TokenVerifier
from ingestion.domain.limits import MAX_BODY_BYTES
from ingestion.entrypoints import api
from ingestion.entrypoints.consumers import consumers
from ingestion.entrypoints.dependencies import Components
from ingestion.entrypoints.housekeeping import expired_keys_pruning
from settle_shared.clock import Clock
from settle_shared.events.topics import ERP_CUSTOMERS, ERP_INVOICES
from settle_shared.runtime import Infrastructure, ServiceDefinition, Wiring
from settle_shared.settings import ServiceSettings


class IngestionSettings(ServiceSettings):
    ingestion_jwt_jwks_file: Path | None = Field(
        default=None, description="JWKS document of the identity provider's signing keys"
    )
    ingestion_jwt_jwks_url: str | None = Field(
        default=None, description="The identity provider's JWKS endpoint (instead of a file)"
    )
    ingestion_jwt_issuer: str | None = Field(default=None, description="Expected `iss` claim")
    ingestion_jwt_audience: str | None = Field(default=None, description="Expected `aud` claim")
    ingestion_jwt_tenant_claim: str = Field(
        default="tenant", description="The claim naming the tenant a token acts for"
    )
    ingestion_idempotency_key_hours: int = Field(
        default=24, ge=1, le=24 * 30, description="How long an Idempotency-Key is remembered"
    )

    @model_validator(mode="after")
    def _tokens_configured_whole(self) -> Self:
        sources = [self.ingestion_jwt_jwks_file, self.ingestion_jwt_jwks_url]
        if all(source is None for source in sources):
            return self
        if None not in sources:
            raise ValueError("set INGESTION_JWT_JWKS_FILE or INGESTION_JWT_JWKS_URL, not both")
        if not (self.ingestion_jwt_issuer and self.ingestion_jwt_audience):
            raise ValueError(
                "bearer tokens need INGESTION_JWT_ISSUER and INGESTION_JWT_AUDIENCE as well as "
                "the signing keys"
            )
        return self


def token_verifier(settings: IngestionSettings, clock: Clock) -> TokenVerifier | None:
    keys: SigningKeys
    if settings.ingestion_jwt_jwks_file is not None:
        keys = JwksFile(settings.ingestion_jwt_jwks_file)
    elif settings.ingestion_jwt_jwks_url is not None:
        keys = JwksUrl(settings.ingestion_jwt_jwks_url)
    else:
        return None
    issuer, audience = settings.ingestion_jwt_issuer, settings.ingestion_jwt_audience
    assert issuer is not None, "validated with the keys"
    assert audience is not None, "validated with the keys"
    return TokenVerifier(
        keys,
        issuer,
        audience,
        settings.ingestion_jwt_tenant_claim,
        clock,
    )


async def bootstrap(settings: IngestionSettings, infrastructure: Infrastructure) -> Wiring:
    outbox = TransactionalOutbox()
    return Wiring(
        state=Components(
            db=infrastructure.db,
            outbox=outbox,
            tokens=token_verifier(settings, infrastructure.clock),
            idempotency_keys_kept_for=timedelta(hours=settings.ingestion_idempotency_key_hours),
        ),
        consumers=consumers(infrastructure.db, outbox),
        loops=[expired_keys_pruning(infrastructure.db)],
    )


SERVICE = ServiceDefinition(
    name="ingestion",
    description=(
        "The front door for ERP data: validates customers and invoices, stores them as received "
        "and announces every real change exactly once."
    ),
    package="ingestion",
    settings_type=IngestionSettings,
    routers=[api.router],
    bootstrap=bootstrap,
    consumes=[ERP_CUSTOMERS, ERP_INVOICES],
    max_body_bytes=MAX_BODY_BYTES,
)
