from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ConfigDict

from settle_local import contracts
from settle_shared.events import REGISTRY
from settle_shared.events.common import CustomerEvent
from settle_shared.registry import CUSTOMER_KEY, EventRegistry, Topic
from settle_shared.runtime import ServiceDefinition


def test_the_committed_contracts_are_what_the_code_generates(
    services: list[ServiceDefinition[Any]],
) -> None:
    drifts = contracts.drifted(contracts.generate(services), contracts.contracts_dir())

    assert not drifts, (
        f"contracts/ drifted from the code; regenerate it with `{contracts.REGENERATE}`:\n"
        + "\n".join(drift.report() for drift in drifts)
    )


@pytest.fixture
def segmentation_files(load_service: Callable[[str], ServiceDefinition[Any]]) -> dict[str, str]:
    return contracts.generate([load_service("segmentation")])


def test_a_changed_file_is_reported_with_its_diff(
    segmentation_files: dict[str, str], tmp_path: Path
) -> None:
    contracts.write(segmentation_files, tmp_path, ["segmentation"])
    schema = tmp_path / contracts.schema_path("settle.invoice.issued.v1")
    schema.write_text(schema.read_text().replace("An invoice was accepted", "An invoice arrived"))

    [drift] = contracts.drifted(segmentation_files, tmp_path, ["segmentation"])

    assert drift.path == "schemas/settle.invoice.issued.v1.json"
    assert '-  "description": "An invoice arrived and is open.",' in drift.diff
    assert '+  "description": "An invoice was accepted and is open.",' in drift.diff


def test_missing_and_stale_files_are_reported(
    segmentation_files: dict[str, str], tmp_path: Path
) -> None:
    contracts.write(segmentation_files, tmp_path, ["segmentation"])
    (tmp_path / contracts.example_path("settle.customer.segmented.v1")).unlink()
    (tmp_path / "schemas" / "settle.customer.segmented.v0.json").write_text("{}")

    drifts = contracts.drifted(segmentation_files, tmp_path, ["segmentation"])

    assert [(d.path, d.problem) for d in drifts] == [
        ("examples/settle.customer.segmented.v1.json", "missing"),
        ("schemas/settle.customer.segmented.v0.json", "stale: not generated"),
    ]


def test_writing_removes_stale_files_but_not_other_services_documents(
    segmentation_files: dict[str, str], tmp_path: Path
) -> None:
    stale = tmp_path / "schemas" / "settle.customer.segmented.v0.json"
    other_service = tmp_path / contracts.openapi_path("payments")
    for path in (stale, other_service):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")

    contracts.write(segmentation_files, tmp_path, ["segmentation"])

    assert not stale.exists()
    assert other_service.exists()
    assert contracts.drifted(segmentation_files, tmp_path, ["segmentation"]) == []


def test_an_event_type_without_a_golden_example_stops_the_generator() -> None:
    registry = EventRegistry()
    topic = registry.topic(Topic("nameless.v1", "segmentation", 1, CUSTOMER_KEY, "A topic."))

    @registry.event("settle.nameless.happened", 1, topic)
    class NamelessHappened(CustomerEvent):
        """Something happened."""

        model_config = ConfigDict(json_schema_extra={"examples": []})

    with pytest.raises(contracts.ContractsError, match=r"settle\.nameless\.happened\.v1 has no"):
        contracts.generate([], registry)


def test_a_service_that_cannot_be_imported_is_named() -> None:
    with pytest.raises(contracts.ContractsError, match="no_such_service"):
        contracts.load_services(["segmentation", "no_such_service"])


def test_every_registered_event_type_gets_a_schema_and_an_example(
    segmentation_files: dict[str, str],
) -> None:
    for event_type in REGISTRY.event_types():
        assert contracts.schema_path(event_type.ce_type) in segmentation_files
        assert contracts.example_path(event_type.ce_type) in segmentation_files
