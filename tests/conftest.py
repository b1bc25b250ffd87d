"""Test tiers by directory, no silent skips in CI, and the real servers the tiers run against."""

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from settle_local.kafka import Kafka, kafka_from_env
from settle_local.postgres import Postgres, postgres_from_env

TIERS = ("unit", "integration", "stream", "contract", "e2e", "deploy")
_TESTS_ROOT = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier, which is the first directory under tests/."""
    for item in items:
        tier = _tier_of(item.path)
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))


def _tier_of(path: Path) -> str | None:
    try:
        top_directory = path.relative_to(_TESTS_ROOT).parts[0]
    except ValueError:
        return None
    return top_directory if top_directory in TIERS else None


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("SETTLE_FORBID_SKIPS") == "1":
        config.pluginmanager.register(SkipsAreFailures(), "settle-skips-are-failures")


class SkipsAreFailures:
    """In CI a skipped tier is a hidden failure: any skip or xfail fails the run."""

    def __init__(self) -> None:
        self.hidden: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._record_if_hidden(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._record_if_hidden(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.hidden and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.hidden:
            return
        terminalreporter.section("skips and xfails fail this run (CI or SETTLE_FORBID_SKIPS=1)")
        terminalreporter.line("A skipped tier is a hidden failure; make these tests run:")
        for line in self.hidden:
            terminalreporter.line(f"  {line}", red=True)

    def _record_if_hidden(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if hasattr(report, "wasxfail"):
            outcome = "xpassed" if report.passed else "xfailed"
            self.hidden.append(f"{report.nodeid}: {outcome} ({report.wasxfail})")
        elif report.skipped:
            self.hidden.append(f"{report.nodeid}: skipped ({_skip_reason(report)})")


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    # A skip's longrepr is the (path, line, reason) of the skip call.
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason.removeprefix("Skipped: ")


# Real servers, started on first use and shared by the whole session.


@pytest.fixture(scope="session")
async def postgres(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Postgres]:
    """$SETTLE_POSTGRES_URL's server, else a local PostgreSQL started for this session."""
    async with postgres_from_env(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session")
async def kafka(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Kafka]:
    """$SETTLE_KAFKA_BOOTSTRAP_SERVERS's cluster, else a local broker started for this session."""
    async with kafka_from_env(tmp_path_factory.mktemp("kafka")) as cluster:
        yield cluster


@pytest.fixture
async def fresh_database(postgres: Postgres) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    await postgres.create_database(name)
    yield postgres.url(name)
    await postgres.drop_database(name)
