"""Writes the Kubernetes manifests that derive from code, so they cannot drift from it.

From the event registry (topics, owners, partitions) and each service's `ServiceDefinition`
(the topics it consumes) it generates:
- k8s/components/strimzi/topics.yaml: a KafkaTopic per registry topic with its partitions;
- k8s/components/strimzi/users.yaml: a KafkaUser per service whose ACLs read what it consumes (with
  its consumer group, named after the service) and write what it owns (its dead-letter topic too),
  and one per outside producer (the ERP) that may only write its own topics;
- k8s/components/keda/scaledobjects.yaml: a ScaledObject per worker Deployment on its group's lag
  per consumed topic, never scaling past the partitions there are to share;
- k8s/components/cloudnative-pg/clusters.yaml: a CloudNativePG Cluster per service, and the egress
  its pods need to reach it and nothing else.

    uv run python -m tests.deploy.k8s_generator          # rewrite the files
    uv run python -m tests.deploy.k8s_generator --check  # exit 1 and show the diff if stale
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from settle_local.stack import SERVICES
from settle_shared.events import REGISTRY
from settle_shared.registry import Topic
from settle_shared.runtime import ServiceDefinition

K8S_DIR = Path(__file__).resolve().parents[2] / "k8s"
KAFKA_CLUSTER = "settle"
KAFKA_BOOTSTRAP = f"{KAFKA_CLUSTER}-kafka-bootstrap:9093"
KAFKA_CA_SECRET = f"{KAFKA_CLUSTER}-cluster-ca-cert"
TOPIC_REPLICAS = 3
MIN_IN_SYNC_REPLICAS = 2
EVENT_RETENTION_MS = 14 * 24 * 3600 * 1000
DEAD_LETTER_RETENTION_MS = 30 * 24 * 3600 * 1000
LAG_THRESHOLD = 100
POSTGRES_IMAGE = "ghcr.io/cloudnative-pg/postgresql:15.14-system-trixie"
PART_OF = {"app.kubernetes.io/part-of": "settle"}

Manifest = dict[str, Any]


@dataclass(frozen=True)
class ServiceTopology:
    """What the manifests need to know about one service's place in the event flow."""

    name: str
    consumes: tuple[Topic, ...]
    owns: tuple[Topic, ...]

    @property
    def group(self) -> str:
        return self.name


def topology() -> list[ServiceTopology]:
    return [
        ServiceTopology(
            name=name,
            consumes=tuple(sorted(service_definition(name).consumes, key=lambda t: t.name)),
            owns=_owned_by(name),
        )
        for name in SERVICES
    ]


def outside_producers() -> list[ServiceTopology]:
    """Owners of registry topics that are not Settle services, such as the ERP."""
    owners = sorted({topic.owner for topic in REGISTRY.topics()} - set(SERVICES))
    return [ServiceTopology(name=owner, consumes=(), owns=_owned_by(owner)) for owner in owners]


def _owned_by(owner: str) -> tuple[Topic, ...]:
    return tuple(topic for topic in REGISTRY.topics() if topic.owner == owner)


def service_definition(name: str) -> ServiceDefinition[Any]:
    module = importlib.import_module(f"{name}.bootstrap")
    definition = getattr(module, "SERVICE", None)
    if not isinstance(definition, ServiceDefinition):
        raise RuntimeError(f"{name}.bootstrap has no SERVICE = ServiceDefinition(...)")
    return definition


def kafka_topics(topics: Iterable[Topic]) -> list[Manifest]:
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaTopic",
            "metadata": {
                "name": topic.name,
                "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **PART_OF},
                "annotations": {"settle.io/owner": topic.owner},
            },
            "spec": {
                "partitions": topic.partitions,
                "replicas": TOPIC_REPLICAS,
                "config": {
                    "min.insync.replicas": MIN_IN_SYNC_REPLICAS,
                    "retention.ms": (
                        DEAD_LETTER_RETENTION_MS if topic.is_dead_letter else EVENT_RETENTION_MS
                    ),
                },
            },
        }
        for topic in topics
    ]


def kafka_user(service: ServiceTopology) -> Manifest:
    reads = [_acl("topic", topic.name, ["Read", "Describe"]) for topic in service.consumes]
    group = [_acl("group", service.group, ["Read", "Describe"])] if service.consumes else []
    writes = [_acl("topic", topic.name, ["Write", "Describe"]) for topic in service.owns]
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {
            "name": service.name,
            "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **PART_OF},
        },
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": reads + group + writes},
        },
    }


def _acl(resource_type: str, name: str, operations: list[str]) -> Manifest:
    return {
        "resource": {"type": resource_type, "name": name, "patternType": "literal"},
        "operations": operations,
    }


def scaled_object(service: ServiceTopology) -> Manifest:
    worker = f"{service.name}-worker"
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": worker, "labels": _labels(service.name, "worker")},
        "spec": {
            "scaleTargetRef": {"name": worker},
            "minReplicaCount": 1,
            # More consumers than the busiest topic has partitions would sit idle.
            "maxReplicaCount": max(topic.partitions for topic in service.consumes),
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "triggers": [_lag_trigger(service, topic) for topic in service.consumes],
        },
    }


def _lag_trigger(service: ServiceTopology, topic: Topic) -> Manifest:
    return {
        "type": "kafka",
        "name": f"lag-{topic.name.replace('.', '-')}",
        "metadata": {
            "bootstrapServers": KAFKA_BOOTSTRAP,
            "consumerGroup": service.group,
            "topic": topic.name,
            "lagThreshold": str(LAG_THRESHOLD),
            "offsetResetPolicy": "earliest",
            "sasl": "scram_sha512",
            "tls": "enable",
        },
        "authenticationRef": {"name": f"{service.name}-kafka"},
    }


def trigger_authentication(service: ServiceTopology) -> Manifest:
    """KEDA reads the group's lag as the service's own KafkaUser (Strimzi writes its Secret)."""
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": f"{service.name}-kafka", "labels": _labels(service.name, "worker")},
        "spec": {
            "env": [
                {"parameter": "username", "name": "KAFKA_SASL_USERNAME", "containerName": "app"}
            ],
            "secretTargetRef": [
                {"parameter": "password", "name": service.name, "key": "password"},
                {"parameter": "ca", "name": KAFKA_CA_SECRET, "key": "ca.crt"},
            ],
        },
    }


def postgres_cluster(service: ServiceTopology) -> Manifest:
    """CloudNativePG writes `<name>-app` with the `uri` the service's DATABASE_URL reads."""
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": f"{service.name}-db", "labels": _labels(service.name, "database")},
        "spec": {
            "instances": 3,
            "imageName": POSTGRES_IMAGE,
            "primaryUpdateStrategy": "unsupervised",
            "bootstrap": {"initdb": {"database": "app", "owner": "app"}},
            "storage": {"size": "10Gi"},
            "resources": {
                "requests": {"cpu": "250m", "memory": "512Mi"},
                "limits": {"memory": "1Gi"},
            },
        },
    }


def database_egress(service: ServiceTopology) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{service.name}-to-database", "labels": _labels(service.name)},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": service.name, **PART_OF}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {"podSelector": {"matchLabels": {"cnpg.io/cluster": f"{service.name}-db"}}}
                    ],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                }
            ],
        },
    }


def _labels(service: str, component: str | None = None) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": service}
    if component is not None:
        labels["app.kubernetes.io/component"] = component
    return labels | PART_OF


def generated_files() -> dict[Path, str]:
    services = topology()
    consumers = [service for service in services if service.consumes]
    return {
        K8S_DIR / "components/strimzi/topics.yaml": _render(kafka_topics(REGISTRY.topics())),
        K8S_DIR / "components/strimzi/users.yaml": _render(
            [kafka_user(s) for s in [*services, *outside_producers()]]
        ),
        K8S_DIR / "components/keda/scaledobjects.yaml": _render(
            [doc for s in consumers for doc in (scaled_object(s), trigger_authentication(s))]
        ),
        K8S_DIR / "components/cloudnative-pg/clusters.yaml": _render(
            [doc for s in services for doc in (postgres_cluster(s), database_egress(s))]
        ),
    }


HEADER = (
    "# Generated by `uv run python -m tests.deploy.k8s_generator` from the event registry and the\n"
    "# services' definitions. Do not edit: change the code and regenerate.\n"
)


def _render(manifests: Sequence[Manifest]) -> str:
    return HEADER + yaml.safe_dump_all(manifests, sort_keys=False, width=100)


def stale_files() -> dict[Path, str]:
    """Each generated file whose committed text differs, with a unified diff."""
    stale = {}
    for path, expected in generated_files().items():
        actual = path.read_text() if path.exists() else ""
        if actual != expected:
            diff = difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile=f"{path} (committed)",
                tofile=f"{path} (generated)",
            )
            stale[path] = "".join(diff)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.deploy.k8s_generator")
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for diff in stale.values():
            sys.stdout.write(diff)
        return 1 if stale else 0
    for path, text in generated_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(K8S_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
