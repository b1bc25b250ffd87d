"""Every overlay renders with Kustomize, and every object in it is valid for the API server:
core kinds against Kubernetes' own schemas (strict: no unknown fields), custom resources against
the schemas in their operators' CRDs."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.deploy.tooling import (
    KUBERNETES_VERSION,
    OVERLAYS,
    CustomResourceSchemas,
    Manifest,
    name_of,
)

CUSTOM_KINDS = {
    ("kafka.strimzi.io/v1", "KafkaTopic"),
    ("kafka.strimzi.io/v1", "KafkaUser"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("postgresql.cnpg.io/v1", "Cluster"),
}


def test_there_are_a_local_and_a_production_overlay() -> None:
    assert {"local", "production"} <= set(OVERLAYS)


def test_the_fetched_crds_define_every_custom_kind_the_manifests_use(
    custom_resource_schemas: CustomResourceSchemas,
) -> None:
    assert custom_resource_schemas.kinds() >= CUSTOM_KINDS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_of_an_overlay_is_schema_valid(
    overlay: str,
    rendered: dict[str, list[Manifest]],
    custom_resource_schemas: CustomResourceSchemas,
) -> None:
    errors = []
    for manifest in rendered[overlay]:
        if custom_resource_schemas.knows(manifest):
            errors += custom_resource_schemas.errors(manifest)
        else:
            errors += _core_errors(manifest)
    assert errors == []


def _core_errors(manifest: Manifest) -> list[str]:
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{name_of(manifest)}: no schema for {manifest['apiVersion']} {manifest['kind']}"]
    except kubernetes_validate.ValidationError as error:
        path = ".".join(map(str, error.path)) or "<root>"
        return [f"{name_of(manifest)}: {path}: {error.message}"]
    return []


def test_a_kind_without_any_schema_is_an_error_not_a_pass() -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert _core_errors(unknown) == ["Widget/w: no schema for example.com/v1 Widget"]


def test_strict_core_validation_rejects_a_misspelt_field() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "typo"},
        "spec": {
            "replica": 2,
            "selector": {"matchLabels": {"app": "typo"}},
            "template": {
                "metadata": {"labels": {"app": "typo"}},
                "spec": {"containers": [{"name": "app", "image": "settle:local"}]},
            },
        },
    }
    assert _core_errors(deployment) != []


def test_custom_resource_validation_rejects_a_misspelt_field(
    custom_resource_schemas: CustomResourceSchemas,
) -> None:
    topic = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "invoices.v1"},
        "spec": {"partition": 6, "replicas": 3},
    }
    assert custom_resource_schemas.errors(topic) != []


def test_custom_resource_validation_rejects_a_wrong_type(
    custom_resource_schemas: CustomResourceSchemas,
) -> None:
    scaled_object = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "worker"},
        "spec": {"scaleTargetRef": {"name": "worker"}, "maxReplicaCount": "six", "triggers": []},
    }
    assert custom_resource_schemas.errors(scaled_object) != []
