import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from settle_shared.clock import FixedClock
from settle_simulators.bureau import BureauSimulator, company_report

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KEY = "bureau-key-0123456789"
AUTHORIZED = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def bureau() -> AsyncIterator[BureauSimulator]:
    async with BureauSimulator(KEY, clock=FixedClock(NOW)) as simulator:
        yield simulator


async def get_report(
    bureau: BureauSimulator, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=bureau.url) as client:
        return await client.get(path, headers=AUTHORIZED if headers is None else headers)


async def test_a_known_company_gets_its_report(bureau: BureauSimulator) -> None:
    response = await get_report(bureau, "/v1/companies/DE/HRB%2012345/report")

    assert response.status_code == 200
    expected = company_report("DE", "HRB 12345", NOW.date())
    assert expected is not None
    assert response.json() == expected.model_dump(mode="json")
    assert response.json()["report_date"] == "2026-11-02"


async def test_a_registration_number_ending_in_0000_is_unknown(bureau: BureauSimulator) -> None:
    response = await get_report(bureau, "/v1/companies/NL/12340000/report")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", f"Basic {KEY}"])
async def test_a_request_without_the_right_key_is_refused(
    bureau: BureauSimulator, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await get_report(bureau, "/v1/companies/NL/12345678/report", headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_first_requests_fail_when_told_to() -> None:
    async with BureauSimulator(KEY, fail_first=2) as flaky:
        statuses = [
            (await get_report(flaky, "/v1/companies/NL/12345678/report")).status_code
            for _ in range(3)
        ]

    assert statuses == [503, 503, 200]


async def test_latency_delays_every_answer() -> None:
    async with BureauSimulator(KEY, latency_seconds=0.3) as slow:
        started = time.monotonic()
        response = await get_report(slow, "/v1/companies/NL/12345678/report")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_every_report_request_is_counted(bureau: BureauSimulator) -> None:
    await get_report(bureau, "/v1/companies/NL/12345678/report")
    await get_report(bureau, "/v1/companies/NL/12340000/report")
    await get_report(bureau, "/v1/companies/NL/12345678/report", headers={})
    await get_report(bureau, "/health")

    assert bureau.requests_served == 3
