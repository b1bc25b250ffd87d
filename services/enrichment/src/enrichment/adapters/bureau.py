"""The credit bureau's HTTP API: `GET /v1/companies/{country}/{number}/report`, bearer API key.

Server errors, rate limiting, timeouts and connection failures are retried with exponential
backoff; whatever still fails becomes `Unavailable`, so a bureau outage never stops the stream.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from enrichment.domain.credit import (
    BureauAnswer,
    BureauReport,
    Company,
    Found,
    NotFound,
    Unavailable,
)
from settle_shared.money import Money

log = logging.getLogger(__name__)

BACKOFF_MULTIPLIER_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 4.0


class ReportBody(BaseModel):
    """The parts of the bureau's report Settle uses."""

    model_config = ConfigDict(extra="ignore")

    score: int = Field(ge=0, le=100)
    rating: str
    payment_days_average: int
    recommended_limit: Money


class BureauBusy(Exception):
    """The bureau answered with a status worth asking again about (5xx, 429)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"bureau answered HTTP {status_code}")
        self.status_code = status_code


class BureauClient:
    def __init__(self, http: httpx.AsyncClient, name: str, attempts: int) -> None:
        self._http = http
        self.name = name
        self._attempts = attempts

    async def look_up(self, company: Company) -> BureauAnswer:
        path = (
            f"/v1/companies/{quote(company.country, safe='')}/"
            f"{quote(company.registration_number, safe='')}/report"
        )
        try:
            response = await self._get_with_retries(path)
        except (httpx.TransportError, BureauBusy) as error:
            log.warning("credit bureau unavailable", extra={"error": repr(error)})
            return Unavailable(repr(error))
        if response.status_code == httpx.codes.NOT_FOUND:
            return NotFound()
        if response.is_success:
            return self._found(response)
        # 401, 403, 400: our configuration or request is wrong; asking again will not help.
        log.error("credit bureau refused the request", extra={"status": response.status_code})
        return Unavailable(f"bureau answered HTTP {response.status_code}")

    async def _get_with_retries(self, path: str) -> httpx.Response:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((httpx.TransportError, BureauBusy)),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=BACKOFF_MULTIPLIER_SECONDS, max=BACKOFF_MAX_SECONDS),
            before_sleep=before_sleep_log(log, logging.INFO),
            reraise=True,
        ):
            with attempt:
                response = await self._http.get(path)
                if (
                    response.is_server_error
                    or response.status_code == httpx.codes.TOO_MANY_REQUESTS
                ):
                    raise BureauBusy(response.status_code)
        return response

    def _found(self, response: httpx.Response) -> BureauAnswer:
        try:
            body = ReportBody.model_validate_json(response.content)
        except ValidationError as error:
            log.error("credit bureau sent an unreadable report", extra={"error": str(error)})
            return Unavailable("unreadable report")
        return Found(
            BureauReport(
                score=body.score,
                rating=body.rating,
                payment_days_average=body.payment_days_average,
                recommended_limit=body.recommended_limit,
            )
        )
