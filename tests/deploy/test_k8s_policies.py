"""What every rendered overlay must honour beyond its schema: hardened pods, probes, resources,
disruption budgets, network isolation, pinned images, no secrets in the manifests, and settings
the services actually read."""

from __future__ import annotations

import re

import pytest

from settle_local.stack import SERVICES
from settle_shared.settings import ServiceSettings
from tests.deploy import policies, settings_env
from tests.deploy.tooling import OVERLAYS, Manifest, name_of

ROLES = {service: {"api", "worker", "relay"} for service in SERVICES} | {
    "dunning": {"api", "worker", "relay", "scheduler"}
}
KAFKA_BROKERS = {"strimzi.io/cluster": "settle", "strimzi.io/kind": "Kafka"}
VERSION_TAG = re.compile(r":\d+\.\d+\.\d+$")


@pytest.fixture(params=OVERLAYS)
def manifests(
    request: pytest.FixtureRequest, rendered: dict[str, list[Manifest]]
) -> list[Manifest]:
    overlay: str = request.param
    return rendered[overlay]


def test_every_container_has_liveness_and_readiness_probes(manifests: list[Manifest]) -> None:
    assert policies.probe_violations(manifests) == []


def test_service_containers_probe_their_health_endpoints(manifests: list[Manifest]) -> None:
    wrong = [
        f"{c.label}: {probe} is {c.spec[probe].get('httpGet', {}).get('path')}"
        for c in policies.containers(manifests)
        if not c.init and _service_of(c.pod_labels) in SERVICES
        for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready"))
        if c.spec[probe].get("httpGet", {}).get("path") != path
    ]
    assert wrong == []


def test_every_container_requests_cpu_and_memory_and_limits_memory(
    manifests: list[Manifest],
) -> None:
    assert policies.resource_violations(manifests) == []


def test_every_pod_is_non_root_read_only_and_unprivileged(manifests: list[Manifest]) -> None:
    assert policies.security_violations(manifests) == []


def test_every_deployment_has_exactly_one_disruption_budget(manifests: list[Manifest]) -> None:
    assert policies.disruption_budget_violations(manifests) == []


def test_every_deployment_is_isolated_by_network_policies(manifests: list[Manifest]) -> None:
    assert policies.network_policy_violations(manifests) == []


def test_every_image_is_pinned(manifests: list[Manifest]) -> None:
    assert policies.image_violations(manifests) == []


def test_no_secret_value_is_written_into_the_manifests(manifests: list[Manifest]) -> None:
    assert policies.plaintext_secret_violations(manifests) == []


def test_production_runs_a_released_image_from_a_registry(
    rendered: dict[str, list[Manifest]],
) -> None:
    images = {c.spec["image"] for c in policies.containers(rendered["production"])}
    unreleased = {
        image
        for image in images
        if "/" not in image or not (VERSION_TAG.search(image) or policies.DIGEST.search(image))
    }
    assert unreleased == set()


def test_each_service_runs_one_deployment_per_role_after_migrating(
    manifests: list[Manifest],
) -> None:
    found: dict[str, set[str]] = {}
    wrong_commands = []
    for deployment in policies.deployments(manifests):
        labels = policies.pod_labels(deployment)
        service, role = _service_of(labels), labels.get("app.kubernetes.io/component", "")
        if service not in SERVICES:
            continue
        found.setdefault(service, set()).add(role)
        spec = policies.pod_spec(deployment)
        commands = {c["name"]: c.get("args") for c in spec.get("initContainers", [])}
        commands |= {c["name"]: c.get("args") for c in spec["containers"]}
        if commands != {"migrate": [service, "migrate"], "app": [service, role]}:
            wrong_commands.append(f"{name_of(deployment)} runs {commands}")
    assert found == ROLES
    assert wrong_commands == []


def test_every_service_pod_reaches_kafka_and_its_own_database_only(
    manifests: list[Manifest],
) -> None:
    problems = []
    for deployment in policies.deployments(manifests):
        labels = policies.pod_labels(deployment)
        service = _service_of(labels)
        if service not in SERVICES:
            continue
        if not policies.reaches_pods(manifests, labels, KAFKA_BROKERS, 9093):
            problems.append(f"{name_of(deployment)} cannot reach the Kafka brokers")
        for other in SERVICES:
            database = {"cnpg.io/cluster": f"{other}-db"}
            reaches = policies.reaches_pods(manifests, labels, database, 5432)
            if reaches != (other == service):
                verb = "can" if reaches else "cannot"
                problems.append(f"{name_of(deployment)} {verb} reach the {other} database")
    assert problems == []


def test_only_api_pods_take_traffic_from_the_ingress_controller(
    manifests: list[Manifest],
) -> None:
    open_to_ingress = {
        name_of(deployment)
        for deployment in policies.deployments(manifests)
        for policy in policies.network_policies_for(manifests, policies.pod_labels(deployment))
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if peer.get("namespaceSelector", {})
        .get("matchLabels", {})
        .get("kubernetes.io/metadata.name")
        == "ingress-nginx"
    }
    api_deployments = {
        name_of(d)
        for d in policies.deployments(manifests)
        if policies.pod_labels(d).get("app.kubernetes.io/component") == "api"
    }
    assert open_to_ingress == api_deployments


def test_service_containers_set_only_variables_their_settings_read(
    manifests: list[Manifest],
) -> None:
    unknown = {
        container.label: names
        for container, environment in _service_environments(manifests)
        if (names := settings_env.unknown_names(_settings_of(container), environment))
    }
    assert unknown == {}


def test_service_settings_load_from_what_each_container_is_given(
    manifests: list[Manifest],
) -> None:
    failures = {}
    for container, environment in _service_environments(manifests):
        try:
            settings_env.load(_settings_of(container), environment)
        except ValueError as error:
            failures[container.label] = str(error)
    assert failures == {}


def test_the_policy_checks_catch_a_careless_deployment() -> None:
    careless = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "careless"},
        "spec": {
            "selector": {"matchLabels": {"app": "careless"}},
            "template": {
                "metadata": {"labels": {"app": "careless"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "settle:latest",
                            "env": [{"name": "SMTP_PASSWORD", "value": "hunter2-hunter2"}],
                        }
                    ]
                },
            },
        },
    }
    manifests = [careless, {"kind": "Secret", "metadata": {"name": "leak"}}]
    assert policies.probe_violations(manifests)
    assert policies.resource_violations(manifests)
    assert policies.security_violations(manifests)
    assert policies.disruption_budget_violations(manifests)
    assert policies.network_policy_violations(manifests)
    assert policies.image_violations(manifests)
    assert len(policies.plaintext_secret_violations(manifests)) == 2


def _service_of(labels: dict[str, str]) -> str:
    return labels.get("app.kubernetes.io/name", "")


def _settings_of(container: policies.Container) -> type[ServiceSettings]:
    return settings_env.settings_type(_service_of(container.pod_labels))


def _service_environments(
    manifests: list[Manifest],
) -> list[tuple[policies.Container, dict[str, str]]]:
    """Each service container with the environment it would get, secrets as stand-in values."""
    config_maps = {
        m["metadata"]["name"]: m.get("data", {}) for m in manifests if m["kind"] == "ConfigMap"
    }
    environments = []
    for container in policies.containers(manifests):
        if _service_of(container.pod_labels) not in SERVICES:
            continue
        environment: dict[str, str] = {}
        for source in container.spec.get("envFrom", []):
            environment |= config_maps[source["configMapRef"]["name"]]
        for variable in container.spec.get("env", []):
            environment[variable["name"]] = variable.get("value") or _stand_in(variable["name"])
        environments.append((container, environment))
    return environments


def _stand_in(name: str) -> str:
    if name == "SETTLE_API_KEYS":
        return '{"rendered-manifest-api-key": "tenant-a"}'
    if name == "DATABASE_URL":
        return "postgresql://app:rendered-secret@database:5432/app"
    return "rendered-secret-stand-in"
