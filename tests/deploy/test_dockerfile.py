"""deploy/docker/Dockerfile cannot be built here (no Docker engine), so its promises are checked
statically: pinned bases, a frozen sync from the lock, a runtime stage with nothing but the
virtual environment, a numeric non-root user, a read-only-friendly runtime, no secrets."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.policies import SECRET_NAME, image_problem
from tests.deploy.tooling import REPO

DOCKERFILE = REPO / "deploy/docker/Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def arguments_of(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]


def instructions(dockerfile: Path) -> list[Instruction]:
    logical = re.sub(r"\\\n", " ", dockerfile.read_text())
    return [
        Instruction(keyword.upper(), arguments.strip())
        for line in logical.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
        for keyword, _, arguments in [line.strip().partition(" ")]
    ]


def stages(dockerfile: Path) -> list[Stage]:
    """The build stages, with global ARG defaults substituted into their FROM images."""
    defaults: dict[str, str] = {}
    parsed: list[Stage] = []
    for instruction in instructions(dockerfile):
        if instruction.keyword == "FROM":
            image, _, name = instruction.arguments.partition(" AS ")
            for variable, value in defaults.items():
                image = image.replace(f"${{{variable}}}", value)
            parsed.append(Stage(image.strip(), name.strip() or None))
        elif not parsed and instruction.keyword == "ARG":
            variable, _, value = instruction.arguments.partition("=")
            defaults[variable] = value
        elif parsed:
            parsed[-1].instructions.append(instruction)
    return parsed


@pytest.fixture(scope="module")
def build_stages() -> list[Stage]:
    return stages(DOCKERFILE)


@pytest.fixture(scope="module")
def runtime(build_stages: list[Stage]) -> Stage:
    return build_stages[-1]


def test_every_base_image_is_pinned_to_a_version(build_stages: list[Stage]) -> None:
    names = {stage.name for stage in build_stages}
    external = [stage.image for stage in build_stages if stage.image not in names]
    assert [image_problem(image) for image in external if image_problem(image)] == []
    assert all(re.search(r":\d+\.\d+\.\d+", image) for image in external)


def test_python_is_the_slim_311_image_in_both_stages(build_stages: list[Stage]) -> None:
    pythons = {stage.image for stage in build_stages if stage.image.startswith("python:")}
    assert len(pythons) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", pythons.pop())


def test_uv_is_the_version_setup_pins(build_stages: list[Stage]) -> None:
    pinned = re.search(r"^UV_VERSION=(\S+)", (REPO / "scripts/setup.sh").read_text(), re.M)
    assert pinned is not None
    assert f"ghcr.io/astral-sh/uv:{pinned[1]}" in {stage.image for stage in build_stages}


def test_dependencies_come_from_the_lock_without_dev_tools(build_stages: list[Stage]) -> None:
    syncs = [run for stage in build_stages for run in stage.arguments_of("RUN") if "uv sync" in run]
    assert syncs
    for sync in syncs:
        assert {"--frozen", "--no-dev", "--all-packages", "--no-editable"} <= set(sync.split())


def test_the_build_copies_every_workspace_member(build_stages: list[Stage]) -> None:
    workspace = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    members = [path for pattern in workspace["members"] for path in REPO.glob(pattern)]
    copied = {
        Path(source)
        for stage in build_stages[:-1]
        for copy in stage.arguments_of("COPY")
        if not copy.startswith("--from")
        for source in copy.split()[:-1]
    }
    missing = [m for m in members if not any(m.relative_to(REPO).is_relative_to(c) for c in copied)]
    assert missing == []


def test_the_runtime_stage_has_only_the_virtual_environment(runtime: Stage) -> None:
    assert runtime.arguments_of("COPY") == ["--from=build /app/.venv /app/.venv"]
    installs = [
        run
        for run in runtime.arguments_of("RUN")
        if re.search(r"apt-get|apk |pip |uv |gcc|build-essential", run)
    ]
    assert installs == []


def test_the_runtime_runs_as_a_numeric_non_root_user(runtime: Stage) -> None:
    users = runtime.arguments_of("USER")
    assert users
    ids = users[-1].split(":")
    assert all(part.isdigit() for part in ids)
    assert 0 not in {int(part) for part in ids}


def test_nothing_is_written_outside_tmp_at_run_time(build_stages: list[Stage]) -> None:
    environment = " ".join(a for s in build_stages for a in s.arguments_of("ENV"))
    assert "UV_COMPILE_BYTECODE=1" in environment
    assert "PYTHONDONTWRITEBYTECODE=1" in environment
    assert "HOME=/tmp" in environment


def test_the_entrypoint_runs_a_module_named_by_the_command(runtime: Stage) -> None:
    entrypoints = runtime.arguments_of("ENTRYPOINT")
    assert [json.loads(e) for e in entrypoints] == [["python", "-m"]]


def test_no_secret_is_baked_into_the_image(build_stages: list[Stage]) -> None:
    settings = [
        argument
        for stage in build_stages
        for keyword in ("ENV", "ARG")
        for argument in stage.arguments_of(keyword)
        if SECRET_NAME.search(argument)
    ]
    copied_env_files = [
        copy for stage in build_stages for copy in stage.arguments_of("COPY") if ".env" in copy
    ]
    assert settings == []
    assert copied_env_files == []


def test_the_build_context_is_an_allowlist_that_keeps_env_files_out() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    assert "**/.env" in patterns
    included = [p.removeprefix("!") for p in patterns if p.startswith("!")]
    for source in ("pyproject.toml", "uv.lock", "shared", "services", "simulators", "deploy/local"):
        assert any(fnmatch.fnmatch(source, pattern) for pattern in included), source
