"""Builds segmentation from its settings and the infrastructure it is given (real or fake)."""

from __future__ import annotations

from dataclasses import dataclass

from segmentation.entrypoints import api
from segmentation.entrypoints.consumers import consumers
from settle_shared.db import Database
from settle_shared.events.topics import CUSTOMERS_ENRICHED, INVOICES, PAYMENTS
from settle_shared.runtime import Infrastructure, ServiceDefinition, Wiring
from settle_shared.settings import ServiceSettings


class SegmentationSettings(ServiceSettings):
    pass


@dataclass(frozen=True)
class Components:
    """What the HTTP routes reach through `request.app.state.service`."""

    db: Database


async def bootstrap(settings: SegmentationSettings, infrastructure: Infrastructure) -> Wiring:
    return Wiring(
        state=Components(infrastructure.db),
        consumers=consumers(infrastructure.db),
    )


SERVICE = ServiceDefinition(
    name="segmentation",
    description="Segments customers by how they actually pay, with an explanation per decision.",
    package="segmentation",
    settings_type=SegmentationSettings,
    routers=[api.router],
    bootstrap=bootstrap,
    consumes=[CUSTOMERS_ENRICHED, INVOICES, PAYMENTS],
)
