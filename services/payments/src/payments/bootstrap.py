"""Builds payments from its settings and the infrastructure it is given (real or fake)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import Field, SecretStr

from payments.domain.matching import Tolerance
from payments.entrypoints import api, psp
from payments.entrypoints.consumers import consumers
from payments.entrypoints.psp import PspSettings
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

    payments_psp_secrets: dict[str, dict[str, list[SecretStr]]] = Field(
        default_factory=dict,
        description="Webhook signing secrets, as JSON: provider -> tenant -> secrets (two "
        "while one is rotated). The secret that verifies a webhook names its tenant",
    )
    payments_psp_tolerance_seconds: int = Field(
        default=300, ge=1, description="How far a webhook's signed timestamp may be from now"
    )

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance(self.payments_tolerance_minor, self.payments_tolerance_basis_points)

    @property
    def psp(self) -> PspSettings:
        return PspSettings(
            {
                provider: {
                    tenant: [secret.get_secret_value() for secret in secrets]
                    for tenant, secrets in by_tenant.items()
                }
                for provider, by_tenant in self.payments_psp_secrets.items()
            },
            timedelta(seconds=self.payments_psp_tolerance_seconds),
        )


@dataclass(frozen=True)
class Components:
    """What the HTTP routes reach through `request.app.state.service`."""

    db: Database
    tolerance: Tolerance
    psp: PspSettings


async def bootstrap(settings: PaymentsSettings, infrastructure: Infrastructure) -> Wiring:
    return Wiring(
        state=Components(infrastructure.db, settings.tolerance, settings.psp),
        consumers=consumers(infrastructure.db, settings.tolerance),
    )


SERVICE = ServiceDefinition(
    name="payments",
    description=(
        "Reads bank statements, matches payments to open invoices with evidence, and says which "
        "invoices are settled or partially paid."
    ),
    package="payments",
    settings_type=PaymentsSettings,
    routers=[api.router, psp.router],
    bootstrap=bootstrap,
    consumes=[INVOICES, CUSTOMERS, ERP_PAYMENTS],
    max_body_bytes=api.MAX_STATEMENT_BYTES,
)
