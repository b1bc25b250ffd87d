"""Typed settings read from the environment, with the standard names platform teams expect."""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from settle_shared.auth import Caller

TENANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "password", "test"})


class PlaceholderSecret(ValueError):
    pass


class KeyHolder(BaseModel):
    """An API key given to someone: what a person does with it by hand says who did it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    holder: str = Field(min_length=1, max_length=100, pattern=r"\S")


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Comma-separated host:port list"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    kafka_client_id_prefix: str = "settle"

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Self:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                "KAFKA_SECURITY_PROTOCOL is SASL_*: set KAFKA_SASL_MECHANISM, "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self


class ServiceSettings(KafkaSettings):
    """What every service reads. Each service subclasses it with its own fields."""

    database_url: str = Field(
        default="postgresql://settle@127.0.0.1:5432/settle",
        description="PostgreSQL URL of this service's own database (sslmode honoured)",
    )
    database_pool_max: int = Field(default=10, ge=1)
    database_pool_min: int | None = Field(
        default=None,
        ge=1,
        description="Connections opened at start (default: DATABASE_POOL_MAX). Opening one "
        "under load costs a server process and the first preparation of every statement, at "
        "the moment requests already wait for connections.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, alias="PORT", ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    settle_test_mode: bool = Field(
        default=False,
        description="Enables the test clock endpoint. Never set in production.",
    )
    settle_api_keys: dict[str, str | KeyHolder] = Field(
        default_factory=dict,
        description="JSON object mapping API key to the tenant it acts for, "
        '{"<key>": "<tenant>"}, or to the tenant and who holds the key, '
        '{"<key>": {"tenant": "<tenant>", "holder": "<name>"}}',
    )
    dead_letter_cap: int = Field(
        default=100,
        ge=1,
        description="Consecutive dead-lettered records after which a consumer stops",
    )
    inbox_retention_days: int = Field(default=30, ge=1)

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    @property
    def api_callers(self) -> dict[str, Caller]:
        return {
            key: Caller(grant) if isinstance(grant, str) else Caller(grant.tenant, grant.holder)
            for key, grant in self.settle_api_keys.items()
        }

    @property
    def opened_pool_connections(self) -> int:
        return self.database_pool_max if self.database_pool_min is None else self.database_pool_min

    @model_validator(mode="after")
    def _pool_minimum_within_maximum(self) -> Self:
        if self.opened_pool_connections > self.database_pool_max:
            raise ValueError(
                f"DATABASE_POOL_MIN ({self.database_pool_min}) exceeds "
                f"DATABASE_POOL_MAX ({self.database_pool_max})"
            )
        return self

    @model_validator(mode="after")
    def _api_keys_are_real_and_name_valid_tenants(self) -> Self:
        for caller in self.api_callers.values():
            tenant = caller.tenant
            if not TENANT_PATTERN.fullmatch(tenant):
                raise ValueError(
                    f"SETTLE_API_KEYS maps a key to {tenant!r}, which is no valid tenant"
                )
        if not self.settle_test_mode:
            for key in self.settle_api_keys:
                refuse_placeholder("SETTLE_API_KEYS", key)
        return self


def refuse_placeholder(name: str, value: str | SecretStr | None) -> None:
    """Fail at startup on secrets nobody chose, outside test mode."""
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    if plain is None or plain.strip().lower() in PLACEHOLDER_SECRETS or len(plain) < 12:
        raise PlaceholderSecret(f"{name} must be a real secret of at least 12 characters")
