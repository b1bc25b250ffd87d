"""docker-compose.yml is a valid Compose file that runs the whole system the way the services
expect: one database each, healthy infrastructure first, settings the services actually read."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from settle_local.stack import SERVICES
from tests.deploy import settings_env
from tests.deploy.policies import image_problem
from tests.deploy.tooling import REPO, DeployTools, compose_validator

COMPOSE_FILE = REPO / "docker-compose.yml"
INFRASTRUCTURE = {"kafka", "postgres", "simulators", "topics"}
_NAMED = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:?-(.*))?", re.S)

Compose = dict[str, Any]


@pytest.fixture(scope="module")
def raw_compose() -> Compose:
    compose: Compose = yaml.safe_load(COMPOSE_FILE.read_text())
    return compose


@pytest.fixture(scope="module")
def compose(raw_compose: Compose) -> Compose:
    """The file as Compose sees it with nothing set in the environment: defaults interpolated."""
    interpolated: Compose = interpolate(raw_compose)
    return interpolated


def interpolate(value: Any) -> Any:
    """Compose's interpolation with every variable unset: `${X:-default}` (braces may nest, as
    compose-go allows), `${X-default}`, `${X}` and `$X`, and `$$` for a literal dollar."""
    if isinstance(value, str):
        return _interpolate_text(value)
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    return value


def _interpolate_text(text: str) -> str:
    parts, index = [], 0
    while index < len(text):
        if text.startswith("$$", index):
            parts.append("$")
            index += 2
        elif text.startswith("${", index):
            end = _closing_brace(text, index + 1)
            braced = _BRACED.fullmatch(text[index + 2 : end])
            if braced is None:
                raise ValueError(f"unsupported interpolation in {text!r}")
            parts.append(_interpolate_text(braced[3] or ""))
            index = end + 1
        elif named := _NAMED.match(text, index):
            index = named.end()
        else:
            parts.append(text[index])
            index += 1
    return "".join(parts)


def _closing_brace(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise ValueError(f"unclosed ${{ in {text!r}")


def test_the_compose_file_is_valid_against_the_compose_specification(
    deploy_tools: DeployTools, raw_compose: Compose
) -> None:
    validator = compose_validator(deploy_tools.compose_spec)
    errors = [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(raw_compose)
    ]
    assert errors == []


def test_the_compose_schema_check_rejects_an_unknown_service_key(
    deploy_tools: DeployTools,
) -> None:
    broken: Compose = {"services": {"kafka": {"image": "apache/kafka:4.1.1", "helthcheck": {}}}}
    assert not compose_validator(deploy_tools.compose_spec).is_valid(broken)


def test_it_runs_the_six_services_with_kafka_postgres_and_the_simulators(compose: Compose) -> None:
    assert set(compose["services"]) == {*SERVICES, *INFRASTRUCTURE}


def test_third_party_images_are_the_official_ones_pinned(compose: Compose) -> None:
    services = compose["services"]
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert re.fullmatch(r"postgres:15\.\d+", services["postgres"]["image"])
    assert [image_problem(s["image"]) for s in services.values() if image_problem(s["image"])] == []


def test_services_and_simulators_share_one_image_built_from_the_dockerfile(
    compose: Compose,
) -> None:
    settle_images = {
        (compose["services"][name]["image"], compose["services"][name]["build"]["dockerfile"])
        for name in [*SERVICES, "simulators", "topics"]
    }
    assert settle_images == {("settle:local", "deploy/docker/Dockerfile")}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_runs_all_roles_once_kafka_postgres_and_the_topics_are_there(
    compose: Compose, service: str
) -> None:
    definition = compose["services"][service]
    assert definition["command"] == [service, "all"]
    assert definition["depends_on"]["kafka"] == {"condition": "service_healthy"}
    assert definition["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert definition["depends_on"]["topics"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_is_healthy_only_when_ready(compose: Compose, service: str) -> None:
    check = " ".join(compose["services"][service]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/health/ready" in check
    assert check.startswith("CMD python -c import urllib.request")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_container_is_read_only_and_unprivileged(compose: Compose, service: str) -> None:
    definition = compose["services"][service]
    assert definition["read_only"] is True
    assert definition["tmpfs"] == ["/tmp"]
    assert definition["cap_drop"] == ["ALL"]


def test_each_service_has_its_own_database_on_the_one_server(compose: Compose) -> None:
    urls = {
        service: urlsplit(compose["services"][service]["environment"]["DATABASE_URL"])
        for service in SERVICES
    }
    assert {service: url.path for service, url in urls.items()} == {
        service: f"/{service}" for service in SERVICES
    }
    assert {url.hostname for url in urls.values()} == {"postgres"}


def test_services_reach_kafka_where_it_advertises_itself(compose: Compose) -> None:
    kafka = compose["services"]["kafka"]["environment"]
    advertised = kafka["KAFKA_ADVERTISED_LISTENERS"].removeprefix("PLAINTEXT://")
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert {compose["services"][s]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] for s in SERVICES} == {
        advertised
    }


def test_the_bureau_and_smtp_settings_point_at_the_simulators(compose: Compose) -> None:
    arguments = dict(
        argument.removeprefix("--").split("=", 1)
        for argument in compose["services"]["simulators"]["command"]
        if argument.startswith("--")
    )
    enrichment = compose["services"]["enrichment"]["environment"]
    delivery = compose["services"]["delivery"]["environment"]
    bureau = urlsplit(enrichment["BUREAU_URL"])
    assert (bureau.hostname, bureau.port) == ("simulators", int(arguments["bureau-port"]))
    assert enrichment["BUREAU_API_KEY"] == arguments["bureau-api-key"]
    assert (delivery["SMTP_HOST"], delivery["SMTP_PORT"]) == ("simulators", arguments["smtp-port"])
    assert arguments["host"] == "0.0.0.0"


def test_local_credentials_are_only_accepted_because_services_run_in_test_mode(
    compose: Compose,
) -> None:
    assert {compose["services"][s]["environment"]["SETTLE_TEST_MODE"] for s in SERVICES} == {"true"}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_is_given_only_variables_its_settings_read(
    compose: Compose, service: str
) -> None:
    names = compose["services"][service]["environment"]
    settings = settings_env.settings_type(service)
    assert settings_env.unknown_names(settings, names) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_settings_load_from_its_compose_environment(
    compose: Compose, service: str
) -> None:
    environment = {k: str(v) for k, v in compose["services"][service]["environment"].items()}
    settings = settings_env.load(settings_env.settings_type(service), environment)
    assert settings.database_url.endswith(f"/{service}")
    assert settings.http_host == "0.0.0.0"


def test_interpolation_uses_defaults_and_keeps_escaped_dollars() -> None:
    assert interpolate("a ${X:-one} ${Y-two} ${Z} $$W $V.") == "a one two  $W ."
    assert interpolate('${K:-{"key": "tenant"}}') == '{"key": "tenant"}'


def test_local_api_keys_can_be_overridden_from_the_environment(raw_compose: Compose) -> None:
    keys = {raw_compose["services"][s]["environment"]["SETTLE_API_KEYS"] for s in SERVICES}
    assert len(keys) == 1
    assert keys.pop().startswith("${SETTLE_API_KEYS:-")


def test_the_topics_container_creates_the_registry_topics_on_the_broker(compose: Compose) -> None:
    topics = compose["services"]["topics"]
    script = " ".join(topics["command"])
    compile(script, "<topics command>", "exec")
    advertised = compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert topics["entrypoint"] == ["python", "-c"]
    assert "REGISTRY.topics()" in script
    assert f"create_topics('{advertised.removeprefix('PLAINTEXT://')}'" in script
    assert compose["services"]["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
