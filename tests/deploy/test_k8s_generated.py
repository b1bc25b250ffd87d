"""The manifests that derive from code (topics, users and their ACLs, autoscaling, databases) are
generated, committed, and checked here against the code and in the rendered overlays."""

from __future__ import annotations

from settle_local.stack import SERVICES
from settle_shared.events import REGISTRY
from settle_shared.events.topics import DEAD_LETTER_TOPIC_OF
from tests.deploy import policies
from tests.deploy.k8s_generator import service_definition, stale_files
from tests.deploy.tooling import Manifest


def test_the_committed_generated_manifests_match_the_code() -> None:
    stale = stale_files()
    assert stale == {}, (
        "k8s/ is out of date with the code: run `uv run python -m tests.deploy.k8s_generator`\n"
        + "".join(stale.values())
    )


def test_every_overlay_has_a_kafka_topic_per_registry_topic_with_its_partitions(
    rendered: dict[str, list[Manifest]],
) -> None:
    expected = {topic.name: topic.partitions for topic in REGISTRY.topics()}
    for manifests in rendered.values():
        topics = {
            m["metadata"]["name"]: m["spec"]["partitions"]
            for m in manifests
            if m["kind"] == "KafkaTopic"
        }
        assert topics == expected


def test_each_service_may_read_what_it_consumes_and_write_what_it_owns(
    rendered: dict[str, list[Manifest]],
) -> None:
    users = {m["metadata"]["name"]: m for m in rendered["production"] if m["kind"] == "KafkaUser"}
    for service in SERVICES:
        acls = users[service]["spec"]["authorization"]["acls"]
        consumed = {topic.name for topic in service_definition(service).consumes}
        owned = {topic.name for topic in REGISTRY.topics() if topic.owner == service}
        assert _resources(acls, "topic", "Read") == consumed
        assert _resources(acls, "group", "Read") == {service}
        assert _resources(acls, "topic", "Write") == owned
        assert DEAD_LETTER_TOPIC_OF[service].name in owned


def test_the_erp_may_only_write_its_own_topics(rendered: dict[str, list[Manifest]]) -> None:
    users = {m["metadata"]["name"]: m for m in rendered["production"] if m["kind"] == "KafkaUser"}
    acls = users["erp"]["spec"]["authorization"]["acls"]
    assert _resources(acls, "topic", "Write") == {
        topic.name for topic in REGISTRY.topics() if topic.owner == "erp"
    }
    assert _resources(acls, "topic", "Read") == set()


def test_every_worker_scales_on_its_group_lag_up_to_its_partitions(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["production"]
    scaled = {
        m["spec"]["scaleTargetRef"]["name"]: m for m in manifests if m["kind"] == "ScaledObject"
    }
    workers = {
        d["metadata"]["name"]: policies.pod_labels(d)["app.kubernetes.io/name"]
        for d in policies.deployments(manifests)
        if policies.pod_labels(d).get("app.kubernetes.io/component") == "worker"
    }
    assert set(scaled) == set(workers)
    for worker, service in workers.items():
        consumes = service_definition(service).consumes
        spec = scaled[worker]["spec"]
        assert {t["metadata"]["consumerGroup"] for t in spec["triggers"]} == {service}
        assert {t["metadata"]["topic"] for t in spec["triggers"]} == {t.name for t in consumes}
        assert spec["maxReplicaCount"] == max(topic.partitions for topic in consumes)


def test_keda_owns_the_worker_replica_count_where_it_scales_them(
    rendered: dict[str, list[Manifest]],
) -> None:
    fixed = [
        d["metadata"]["name"]
        for d in policies.deployments(rendered["production"])
        if policies.pod_labels(d).get("app.kubernetes.io/component") == "worker"
        and "replicas" in d["spec"]
    ]
    assert fixed == []


def test_every_service_has_its_own_database_cluster(rendered: dict[str, list[Manifest]]) -> None:
    for manifests in rendered.values():
        clusters = {m["metadata"]["name"] for m in manifests if m["kind"] == "Cluster"}
        assert clusters == {f"{service}-db" for service in SERVICES}


def _resources(acls: list[Manifest], resource_type: str, operation: str) -> set[str]:
    return {
        acl["resource"]["name"]
        for acl in acls
        if acl["resource"]["type"] == resource_type and operation in acl["operations"]
    }
