"""Builds ingestion from its settings and the infrastructure it is given (real or fake)."""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.entrypoints import api
from ingestion.entrypoints.consumers import consumers
from settle_shared.db import Database
from settle_shared.events.topics import ERP_CUSTOMERS, ERP_INVOICES
from settle_shared.runtime import Infrastructure, ServiceDefinition, Wiring
from settle_shared.settings import ServiceSettings


class IngestionSettings(ServiceSettings):
    pass


@dataclass(frozen=True)
class Components:
    """What the HTTP routes reach through `request.app.state.service`."""

    db: Database


async def bootstrap(settings: IngestionSettings, infrastructure: Infrastructure) -> Wiring:
    return Wiring(
        state=Components(infrastructure.db),
        consumers=consumers(infrastructure.db),
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
)
