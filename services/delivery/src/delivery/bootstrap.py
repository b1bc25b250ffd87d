"""Builds delivery from its settings and the infrastructure it is given (real or fake)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Self

from pydantic import Field, SecretStr, model_validator

from delivery.adapters.channels import ChannelSenders
from delivery.adapters.smtp import SmtpConfig, SmtpEmailSender
from delivery.domain.rendering import TemplateRenderer
from delivery.entrypoints import api
from delivery.entrypoints.consumers import consumers
from delivery.entrypoints.dispatcher import Dispatcher, DispatchPolicy
from settle_shared.db import Database
from settle_shared.events.topics import DUNNING_ACTIONS, DUNNING_CASES
from settle_shared.runtime import BackgroundLoop, Infrastructure, ServiceDefinition, Wiring
from settle_shared.settings import ServiceSettings, refuse_placeholder


class DeliverySettings(ServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS before AUTH")
    smtp_ca_file: str | None = Field(
        default=None, description="PEM bundle to verify the SMTP server with (default: system)"
    )
    smtp_from: str = "reminders@settle.localhost"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    delivery_tick_seconds: float = Field(default=2.0, gt=0)
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_sending_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A message still `sending` after this long is `unknown`, never resent",
    )

    @model_validator(mode="after")
    def _smtp_credentials_come_in_pairs(self) -> Self:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set both SMTP_USERNAME and SMTP_PASSWORD, or neither")
        if self.smtp_password is not None and not self.settle_test_mode:
            refuse_placeholder("SMTP_PASSWORD", self.smtp_password)
        return self

    def smtp(self) -> SmtpConfig:
        return SmtpConfig(
            host=self.smtp_host,
            port=self.smtp_port,
            sender_address=self.smtp_from,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            starttls=self.smtp_starttls,
            ca_file=self.smtp_ca_file,
            timeout_seconds=self.smtp_timeout_seconds,
        )

    def dispatch(self) -> DispatchPolicy:
        return DispatchPolicy(
            tick_seconds=self.delivery_tick_seconds,
            max_attempts=self.delivery_max_attempts,
            sending_lease=timedelta(seconds=self.delivery_sending_lease_seconds),
        )


@dataclass(frozen=True)
class Components:
    """What the HTTP routes (and tests) reach through `request.app.state.service`."""

    db: Database
    renderer: TemplateRenderer
    dispatcher: Dispatcher


async def bootstrap(settings: DeliverySettings, infrastructure: Infrastructure) -> Wiring:
    renderer = TemplateRenderer()
    senders = ChannelSenders({"email": SmtpEmailSender(settings.smtp())})
    policy = settings.dispatch()
    dispatcher = Dispatcher(infrastructure.db, senders, policy)
    return Wiring(
        state=Components(infrastructure.db, renderer, dispatcher),
        consumers=consumers(infrastructure.db, renderer),
        loops=[
            BackgroundLoop(
                "delivery dispatcher",
                "worker",
                dispatcher.run,
                # It beats after each send: a handful of SMTP round trips, each with a timeout.
                max_silence_seconds=60 + 8 * settings.smtp_timeout_seconds,
            )
        ],
    )


SERVICE = ServiceDefinition(
    name="delivery",
    description="Renders reminders in the debtor's language and sends them, never twice.",
    package="delivery",
    settings_type=DeliverySettings,
    routers=[api.router],
    bootstrap=bootstrap,
    consumes=[DUNNING_ACTIONS, DUNNING_CASES],
)
