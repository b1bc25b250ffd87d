"""Which environment variables a service reads: its pydantic settings class, introspected.

Variable names are field names or aliases, case-insensitive (pydantic-settings' default). OTEL_*
variables are read by the OpenTelemetry SDK and settle_shared.telemetry, not by the settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from unittest import mock

from settle_shared.settings import ServiceSettings
from tests.deploy.k8s_generator import service_definition

SDK_PREFIXES = ("OTEL_",)


def settings_type(service: str) -> type[ServiceSettings]:
    settings: type[ServiceSettings] = service_definition(service).settings_type
    return settings


def env_names(settings: type[ServiceSettings]) -> set[str]:
    return {_env_name(name, field.alias) for name, field in settings.model_fields.items()}


def required_env_names(settings: type[ServiceSettings]) -> set[str]:
    return {
        _env_name(name, field.alias)
        for name, field in settings.model_fields.items()
        if field.is_required()
    }


def _env_name(field_name: str, alias: str | None) -> str:
    return (alias or field_name).upper()


def unknown_names(settings: type[ServiceSettings], names: Iterable[str]) -> list[str]:
    known = env_names(settings)
    return sorted(
        name for name in names if name.upper() not in known and not name.startswith(SDK_PREFIXES)
    )


def load(settings: type[ServiceSettings], environment: Mapping[str, str]) -> ServiceSettings:
    """Build the settings exactly as the process would, from this environment and nothing else."""
    with mock.patch.dict(os.environ, environment, clear=True):
        return settings()
