"""A simulated credit bureau: a small HTTP API in the style of the real ones.

`GET /v1/companies/{country}/{registration_number}/report` with `Authorization: Bearer <api key>`
answers with a company report: name, score (0 = worst, 100 = best), rating A..D, how many days
beyond terms the company pays others, and a recommended credit limit in the country's currency.
Reports are derived from a hash of (country, registration number), so tests can compute them with
`company_report()`; numbers ending in "0000" are unknown to the bureau (404). Errors are RFC 9457
problem documents: 401 without the right key, 404 for unknown companies, 503 while failing.

Knobs make it misbehave like real bureaus do: the first `fail_first` report requests are answered
with 503, and every answer can be delayed by `latency_seconds`. `requests_served` counts report
requests, whatever they were answered.

Run on its own: `python -m settle_simulators.bureau --port 8090 --api-key <key>`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal

from babel.numbers import get_territory_currencies
from fastapi import FastAPI, Header, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from settle_shared.clock import Clock, SystemClock
from settle_shared.money import Money, currency_exponent
from settle_simulators.serving import BackgroundServer, serve_until_signalled

UNKNOWN_SUFFIX = "0000"
PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://bureau.example/problems/"

Rating = Literal["A", "B", "C", "D"]

_NAME_STEMS = ("Noord", "Delta", "Rijnland", "Alpen", "Atlas", "Loire", "Vega", "Hansa")
_NAME_TRADES = ("Trading", "Logistics", "Foods", "Print", "Installations", "Holding")
_LEGAL_FORMS = {
    "NL": "B.V.",
    "BE": "BV",
    "DE": "GmbH",
    "AT": "GmbH",
    "CH": "AG",
    "FR": "SAS",
    "ES": "S.L.",
    "IT": "S.r.l.",
    "GB": "Ltd",
}


class CompanyReport(BaseModel):
    company_name: str
    registration_number: str
    country: str
    score: int
    rating: Rating
    payment_days_average: int
    recommended_limit: Money
    report_date: date


def company_report(
    country: str, registration_number: str, report_date: date
) -> CompanyReport | None:
    """The report the bureau gives for a company, or None if the bureau does not know it."""
    if registration_number.endswith(UNKNOWN_SUFFIX):
        return None
    digest = hashlib.sha256(f"{country}:{registration_number}".encode()).digest()
    score = int.from_bytes(digest[:2], "big") % 101
    currency = _currency_of(country)
    return CompanyReport(
        company_name=(
            f"{_NAME_STEMS[digest[2] % len(_NAME_STEMS)]} "
            f"{_NAME_TRADES[digest[3] % len(_NAME_TRADES)]} {_LEGAL_FORMS.get(country, 'Ltd')}"
        ),
        registration_number=registration_number,
        country=country,
        score=score,
        rating=rating_for(score),
        payment_days_average=(100 - score) * 3 // 10 + digest[4] % 4,
        recommended_limit=Money.of(
            # Score squared times five, in whole 500s of the currency's major unit.
            score * score * 5 // 500 * 500 * 10 ** currency_exponent(currency),
            currency,
        ),
        report_date=report_date,
    )


def rating_for(score: int) -> Rating:
    if score >= 75:
        return "A"
    if score >= 50:
        return "B"
    if score >= 25:
        return "C"
    return "D"


def _currency_of(country: str) -> str:
    currencies = get_territory_currencies(country, tender=True)
    return currencies[0] if currencies else "EUR"


class BureauSimulator:
    def __init__(
        self,
        api_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        fail_first: int = 0,
        latency_seconds: float = 0.0,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._api_key = api_key
        self._failures_left = fail_first
        self._latency_seconds = latency_seconds
        self._clock = clock or SystemClock()
        self._served = 0
        self._http = BackgroundServer(self._app(), host, port)

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def requests_served(self) -> int:
        return self._served

    async def start(self) -> None:
        await self._http.start()

    async def stop(self) -> None:
        await self._http.stop()

    async def __aenter__(self) -> BureauSimulator:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _answer(
        self, country: str, registration_number: str, authorization: str | None
    ) -> JSONResponse:
        self._served += 1
        if self._latency_seconds:
            await asyncio.sleep(self._latency_seconds)
        if not self._authorized(authorization):
            return problem(
                401,
                "unauthorized",
                "Missing or wrong API key",
                headers={"WWW-Authenticate": 'Bearer realm="bureau"'},
            )
        if self._failures_left > 0:
            self._failures_left -= 1
            return problem(
                503, "unavailable", "Report service temporarily unavailable", {"Retry-After": "1"}
            )
        report = company_report(country, registration_number, self._clock.now().date())
        if report is None:
            return problem(404, "company-not-found", "No company with this registration number")
        return JSONResponse(report.model_dump(mode="json"))

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, presented = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), self._api_key.encode()
        )

    def _app(self) -> FastAPI:
        app = FastAPI(title="Settle credit bureau simulator", description=__doc__)

        @app.get("/v1/companies/{country}/{registration_number}/report")
        async def report(
            country: Annotated[str, Path(pattern=r"^[A-Z]{2}$")],
            registration_number: str,
            authorization: Annotated[str | None, Header()] = None,
        ) -> JSONResponse:
            return await self._answer(country, registration_number, authorization)

        @app.get("/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}

        return app


def problem(
    status: int, slug: str, title: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m settle_simulators.bureau")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-key", required=True, help="the key callers must present")
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N with 503")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    bureau = BureauSimulator(args.api_key, args.host, args.port, args.fail_first, args.latency)
    asyncio.run(serve_until_signalled([bureau], [f"credit bureau at {args.host}:{args.port}"]))


if __name__ == "__main__":
    main()
