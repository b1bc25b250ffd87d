"""The committed contract files and the six services, failing (never skipping) when either is
missing."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from settle_local import contracts
from settle_shared.runtime import ServiceDefinition

ReadContract = Callable[[str], str]


@pytest.fixture(scope="session")
def read_contract() -> ReadContract:
    """The committed text of a file under contracts/."""

    def read(path: str) -> str:
        target = contracts.contracts_dir() / path
        if not target.is_file():
            pytest.fail(f"contracts/{path} is missing; generate it: {contracts.REGENERATE}")
        return target.read_text(encoding="utf-8")

    return read


@pytest.fixture(scope="session")
def read_json_contract(read_contract: ReadContract) -> Callable[[str], Any]:
    return lambda path: json.loads(read_contract(path))


@pytest.fixture(scope="session")
def services() -> list[ServiceDefinition[Any]]:
    """All six services' definitions."""
    try:
        return contracts.load_services()
    except contracts.ContractsError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def load_service() -> Callable[[str], ServiceDefinition[Any]]:
    """One service's definition, by package name."""

    def load(package: str) -> ServiceDefinition[Any]:
        try:
            return contracts.load_services([package])[0]
        except contracts.ContractsError as error:
            pytest.fail(str(error))

    return load
