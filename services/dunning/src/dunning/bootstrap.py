"""Builds dunning from its settings and the infrastructure it is given (real or fake)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from dunning.domain.calendar import SendingRules
from dunning.entrypoints import api
from dunning.entrypoints.consumers import consumers
from dunning.entrypoints.scheduler import TimerScheduler
from dunning.handlers import DunningHandlers
from settle_shared.db import Database
from settle_shared.events.topics import (
    CUSTOMERS_ENRICHED,
    CUSTOMERS_SEGMENTED,
    DELIVERY_STATUS,
    INVOICES,
    PAYMENTS,
)
from settle_shared.runtime import Infrastructure, ServiceDefinition, Wiring
from settle_shared.settings import ServiceSettings


class DunningSettings(ServiceSettings):
    dunning_tick_seconds: float = Field(
        default=5.0, gt=0, description="Seconds between two scheduler looks for due timers"
    )
    dunning_send_hour: int = Field(
        default=9, ge=0, le=23, description="Hour, in the debtor's time zone, reminders go out"
    )
    dunning_timer_batch: int = Field(
        default=100, ge=1, description="Most due timers one scheduler tick claims"
    )


@dataclass(frozen=True)
class Components:
    """What the HTTP routes (and tests) reach through `request.app.state.service`."""

    db: Database
    rules: SendingRules
    handlers: DunningHandlers
    scheduler: TimerScheduler


async def bootstrap(settings: DunningSettings, infrastructure: Infrastructure) -> Wiring:
    rules = SendingRules(send_hour=settings.dunning_send_hour)
    handlers = DunningHandlers(rules)
    scheduler = TimerScheduler(
        infrastructure.db,
        handlers,
        batch_size=settings.dunning_timer_batch,
        tick_seconds=settings.dunning_tick_seconds,
    )
    return Wiring(
        state=Components(infrastructure.db, rules, handlers, scheduler),
        consumers=consumers(infrastructure.db, handlers),
        loops=[scheduler.loop()],
    )


SERVICE = ServiceDefinition(
    name="dunning",
    description=(
        "Opens a dunning case per open invoice and requests reminders step by step, in the "
        "debtor's time zone and language, until the invoice is paid."
    ),
    package="dunning",
    settings_type=DunningSettings,
    routers=[api.router],
    bootstrap=bootstrap,
    consumes=[INVOICES, CUSTOMERS_ENRICHED, CUSTOMERS_SEGMENTED, PAYMENTS, DELIVERY_STATUS],
)
