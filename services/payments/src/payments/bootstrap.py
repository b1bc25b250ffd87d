"""Builds payments from its settings and the infrastructure it is given (real or fake)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from payments.domain.matching import Tolerance
from payments.entrypoints import api
from payments.entrypoints.consumers import consumers
from settle_shared.db import Database
from settle_shared.events.topics import CUSTOMERS, ERP_PAYMENTS, INVOICES
from settle_shared.runtime import Infrastructure, ServiceDefinition, Wiring
from settle_shared.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    payments_tolerance_minor: int = Field(
        default=1000,
        ge=0,
        description="A payment within this many minor units of what is open settles it "
        "(short: written off; over: stays unapplied), unless the share below is smaller",
    )
    payments_tolerance_basis_points: int = Field(
        default=100, ge=0, le=10_000, description="The same tolerance as a share of what is open"
    )

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance(self.payments_tolerance_minor, self.payments_tolerance_basis_points)


@dataclass(frozen=True)
class Components:
    """What the HTTP routes reach through `request.app.state.service`."""

    db: Database
    tolerance: Tolerance


async def bootstrap(settings: PaymentsSettings, infrastructure: Infrastructure) -> Wiring:
    return Wiring(
        state=Components(infrastructure.db, settings.tolerance),
        consumers=consumers(infrastructure.db),
    )


SERVICE = ServiceDefinition(
    name="payments",
    description=(
        "Reads bank statements, matches payments to open invoices with evidence, and says which "
        "invoices are settled or partially paid."
    ),
    package="payments",
    settings_type=PaymentsSettings,
    routers=[api.router],
    bootstrap=bootstrap,
    consumes=[INVOICES, CUSTOMERS, ERP_PAYMENTS],
    max_body_bytes=api.MAX_STATEMENT_BYTES,
)
