"""The deploy tier's shared, session-wide inputs: the fetched tools and the rendered overlays."""

from __future__ import annotations

import pytest

from tests.deploy.tooling import (
    OVERLAYS,
    CustomResourceSchemas,
    DeployTools,
    Manifest,
    fetch_deploy_tools,
    render,
)


@pytest.fixture(scope="session")
def deploy_tools() -> DeployTools:
    return fetch_deploy_tools()


@pytest.fixture(scope="session")
def rendered(deploy_tools: DeployTools) -> dict[str, list[Manifest]]:
    """Every overlay under k8s/overlays, rendered once per session."""
    return {overlay: render(deploy_tools.kubectl, overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def custom_resource_schemas(deploy_tools: DeployTools) -> CustomResourceSchemas:
    return CustomResourceSchemas(deploy_tools.crds)
