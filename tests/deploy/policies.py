"""Rules every rendered overlay must follow. Each check returns its violations, one line each,
so a test asserts an empty list and a failure names every offender at once."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.deploy.tooling import Manifest, name_of

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|CREDENTIAL|PRIVATE|DATABASE_URL", re.I)
URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
ENV_REFERENCE = re.compile(r"^\$\([A-Z_][A-Z0-9_]*\)$")


@dataclass(frozen=True)
class Container:
    workload: str
    spec: Manifest
    init: bool
    pod: Manifest
    pod_labels: dict[str, str]

    @property
    def label(self) -> str:
        return (
            f"{self.workload} {'init container' if self.init else 'container'} {self.spec['name']}"
        )


def deployments(manifests: Sequence[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == "Deployment"]


def pod_spec(deployment: Manifest) -> Manifest:
    spec: Manifest = deployment["spec"]["template"]["spec"]
    return spec


def pod_labels(deployment: Manifest) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"].get("labels", {})
    return labels


def containers(manifests: Sequence[Manifest]) -> Iterator[Container]:
    for deployment in deployments(manifests):
        spec, labels = pod_spec(deployment), pod_labels(deployment)
        for container in spec.get("initContainers", []):
            yield Container(name_of(deployment), container, True, spec, labels)
        for container in spec["containers"]:
            yield Container(name_of(deployment), container, False, spec, labels)


def probe_violations(manifests: Sequence[Manifest]) -> list[str]:
    """Every long-running container has liveness and readiness probes (init containers cannot)."""
    return [
        f"{container.label} has no {probe}"
        for container in containers(manifests)
        if not container.init
        for probe in ("livenessProbe", "readinessProbe")
        if probe not in container.spec
    ]


def resource_violations(manifests: Sequence[Manifest]) -> list[str]:
    """Requests for CPU and memory (scheduling), a memory limit (no node-wide OOM)."""
    required = (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
    return [
        f"{container.label} has no resources.{section}.{resource}"
        for container in containers(manifests)
        for section, resource in required
        if resource not in container.spec.get("resources", {}).get(section, {})
    ]


def security_violations(manifests: Sequence[Manifest]) -> list[str]:
    violations = []
    for deployment in deployments(manifests):
        spec = pod_spec(deployment)
        if spec.get("automountServiceAccountToken") is not False:
            violations.append(f"{name_of(deployment)} mounts a service account token")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            violations.append(f"{name_of(deployment)} shares a host namespace")
    for container in containers(manifests):
        violations += [
            f"{container.label}: {problem}" for problem in _container_problems(container)
        ]
    return violations


def _container_problems(container: Container) -> list[str]:
    pod = container.pod.get("securityContext", {})
    own = container.spec.get("securityContext", {})
    problems = []
    if own.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
        problems.append("runAsNonRoot is not true")
    if own.get("runAsUser", pod.get("runAsUser")) == 0:
        problems.append("runs as uid 0")
    if own.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if own.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem is not true")
    if own.get("privileged"):
        problems.append("is privileged")
    if "ALL" not in own.get("capabilities", {}).get("drop", []):
        problems.append("does not drop ALL capabilities")
    if own.get("capabilities", {}).get("add"):
        problems.append("adds capabilities")
    seccomp = own.get("seccompProfile", pod.get("seccompProfile", {})).get("type")
    if seccomp != "RuntimeDefault":
        problems.append(f"seccomp profile is {seccomp}, not RuntimeDefault")
    if not _mounts_writable_tmp(container):
        problems.append("has no emptyDir mounted at /tmp")
    return problems


def _mounts_writable_tmp(container: Container) -> bool:
    volumes = {volume["name"]: volume for volume in container.pod.get("volumes", [])}
    return any(
        mount["mountPath"] == "/tmp" and "emptyDir" in volumes.get(mount["name"], {})
        for mount in container.spec.get("volumeMounts", [])
    )


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against a set of labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    return all(_expression_holds(e, labels) for e in selector.get("matchExpressions", []))


def _expression_holds(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, operator = expression["key"], expression["operator"]
    values = expression.get("values", [])
    match operator:
        case "In":
            return labels.get(key) in values
        case "NotIn":
            return labels.get(key) not in values
        case "Exists":
            return key in labels
        case "DoesNotExist":
            return key not in labels
    raise ValueError(f"unknown selector operator {operator}")


def disruption_budget_violations(manifests: Sequence[Manifest]) -> list[str]:
    budgets = [m for m in manifests if m["kind"] == "PodDisruptionBudget"]
    violations = []
    for deployment in deployments(manifests):
        covering = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        if len(covering) != 1:
            names = [name_of(b) for b in covering]
            violations.append(f"{name_of(deployment)} is covered by {len(covering)} PDBs: {names}")
    return violations


def network_policies_for(
    manifests: Sequence[Manifest], labels: Mapping[str, str]
) -> list[Manifest]:
    return [
        m
        for m in manifests
        if m["kind"] == "NetworkPolicy" and selects(m["spec"]["podSelector"], labels)
    ]


def network_policy_violations(manifests: Sequence[Manifest]) -> list[str]:
    """Every pod is isolated both ways: some NetworkPolicy selects it for Ingress and Egress."""
    violations = []
    for deployment in deployments(manifests):
        policies = network_policies_for(manifests, pod_labels(deployment))
        for direction in ("Ingress", "Egress"):
            if not any(direction in p["spec"].get("policyTypes", []) for p in policies):
                violations.append(f"{name_of(deployment)} has no {direction} NetworkPolicy")
    return violations


def egress_peers(
    manifests: Sequence[Manifest], labels: Mapping[str, str]
) -> list[tuple[Manifest, Any]]:
    """(peer, port) pairs the pod may send to, peers as written in the policies."""
    return [
        (peer, port.get("port"))
        for policy in network_policies_for(manifests, labels)
        for rule in policy["spec"].get("egress", [])
        for peer in rule.get("to", [{}])
        for port in rule.get("ports", [{}])
    ]


def reaches_pods(
    manifests: Sequence[Manifest], labels: Mapping[str, str], target: Mapping[str, str], port: int
) -> bool:
    """Whether an egress rule lets a pod with `labels` reach same-namespace pods with `target`."""
    return any(
        "namespaceSelector" not in peer
        and "ipBlock" not in peer
        and selects(peer.get("podSelector", {}), target)
        and allowed in (port, None)
        for peer, allowed in egress_peers(manifests, labels)
    )


def image_violations(manifests: Sequence[Manifest]) -> list[str]:
    violations = [
        f"{container.label}: {problem}"
        for container in containers(manifests)
        if (problem := image_problem(container.spec.get("image", "")))
    ]
    violations += [
        f"{name_of(m)}: {problem}"
        for m in manifests
        if m["kind"] == "Cluster" and (problem := image_problem(m["spec"].get("imageName", "")))
    ]
    return violations


def image_problem(image: str) -> str | None:
    if DIGEST.search(image):
        return None
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return f"image {image!r} has no tag or digest"
    if tag == "latest":
        return f"image {image!r} floats on latest"
    return None


def plaintext_secret_violations(manifests: Sequence[Manifest]) -> list[str]:
    """Secrets are referenced, never written into the manifests."""
    violations = [f"{name_of(m)} is committed" for m in manifests if m["kind"] == "Secret"]
    for m in manifests:
        if m["kind"] == "ConfigMap":
            for key, value in m.get("data", {}).items():
                if SECRET_NAME.search(key):
                    violations.append(f"{name_of(m)} holds {key}, which belongs in a Secret")
                if URL_WITH_PASSWORD.search(str(value)):
                    violations.append(f"{name_of(m)} {key} is a URL with a password")
    for container in containers(manifests):
        for variable in container.spec.get("env", []):
            if "value" in variable and (
                SECRET_NAME.search(variable["name"]) or URL_WITH_PASSWORD.search(variable["value"])
            ):
                violations.append(f"{container.label} sets {variable['name']} in plain text")
        for argument in [*container.spec.get("command", []), *container.spec.get("args", [])]:
            flag, _, value = str(argument).partition("=")
            if (
                value
                and SECRET_NAME.search(flag.replace("-", "_"))
                and not ENV_REFERENCE.match(value)
            ):
                violations.append(f"{container.label} passes {flag} in plain text")
    return violations
