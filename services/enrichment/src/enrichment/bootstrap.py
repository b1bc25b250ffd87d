"""Builds enrichment from its settings and the infrastructure it is given (real or fake)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Self

import httpx
from pydantic import Field, SecretStr, model_validator

from enrichment.adapters.bureau import BureauClient
from enrichment.entrypoints import api
from enrichment.entrypoints.consumers import consumers
from enrichment.handlers import CustomerEnrichment
from settle_shared.db import Database
from settle_shared.events.topics import CUSTOMERS, INVOICES, PAYMENTS
from settle_shared.runtime import Infrastructure, ServiceDefinition, Wiring
from settle_shared.settings import ServiceSettings, refuse_placeholder


class EnrichmentSettings(ServiceSettings):
    bureau_url: str = Field(description="Base URL of the credit bureau API")
    bureau_api_key: SecretStr = Field(description="API key sent to the bureau as a bearer token")
    bureau_name: str = Field(
        default="settle-bureau-sim", description="The bureau's name, as assessments carry it"
    )
    bureau_timeout_seconds: float = Field(default=5.0, gt=0, description="Per request")
    bureau_retry_attempts: int = Field(
        default=3, ge=1, description="Attempts per lookup on 5xx, 429, timeouts, connection errors"
    )
    bureau_cache_hours: float = Field(
        default=168.0, ge=0, description="How long a bureau answer is reused before asking again"
    )

    @model_validator(mode="after")
    def _refuse_placeholder_bureau_key(self) -> Self:
        if not self.settle_test_mode:
            refuse_placeholder("BUREAU_API_KEY", self.bureau_api_key)
        return self


@dataclass(frozen=True)
class Components:
    """What the HTTP routes reach through `request.app.state.service`."""

    db: Database
    enrichment: CustomerEnrichment


async def bootstrap(settings: EnrichmentSettings, infrastructure: Infrastructure) -> Wiring:
    http = httpx.AsyncClient(
        base_url=settings.bureau_url,
        timeout=settings.bureau_timeout_seconds,
        headers={"Authorization": f"Bearer {settings.bureau_api_key.get_secret_value()}"},
    )
    bureau = BureauClient(http, settings.bureau_name, settings.bureau_retry_attempts)
    enrichment = CustomerEnrichment(
        infrastructure.db, bureau, timedelta(hours=settings.bureau_cache_hours)
    )
    return Wiring(
        state=Components(infrastructure.db, enrichment),
        consumers=consumers(infrastructure.db, enrichment),
        close=http.aclose,
    )


SERVICE = ServiceDefinition(
    name="enrichment",
    description="Profiles customers with a credit bureau's assessment, limits and exposure.",
    package="enrichment",
    settings_type=EnrichmentSettings,
    routers=[api.router],
    bootstrap=bootstrap,
    consumes=[CUSTOMERS, INVOICES, PAYMENTS],
)
