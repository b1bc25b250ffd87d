"""RFC 9457 problem details for every HTTP error, machine-readable and precise."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from settle_shared.errors import Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://settle.dev/problems/"


class ProblemDocument(BaseModel):
    """An RFC 9457 problem details document."""

    type: str = Field(description="URI identifying the problem type")
    title: str
    status: int
    instance: str = Field(description="The request path")
    detail: str | None = None
    errors: list[dict[str, str]] | None = Field(
        default=None,
        description="Every problem found: {location: JSON pointer, CSV line:column or XML path, "
        "message}",
    )


def documented_problem(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a problem document, for a route's `responses=`."""
    schema = ProblemDocument.model_json_schema()
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


COMMON_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: documented_problem("No API key, or an unknown one"),
    422: documented_problem("The request is not valid; every problem is listed with its location"),
}


class ProblemError(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        errors: Sequence[Problem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = headers


def problem_response(request: Request, error: ProblemError) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.slug,
        "title": error.title,
        "status": error.status,
        "instance": request.url.path,
    }
    if error.detail:
        body["detail"] = error.detail
    if error.errors:
        body["errors"] = [problem.as_dict() for problem in error.errors]
    return JSONResponse(
        body, status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers
    )


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ProblemError)
        return problem_response(request, error)

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = [_validation_problem(detail) for detail in error.errors()]
        return problem_response(
            request,
            ProblemError(
                422,
                "validation-failed",
                "The request is not valid",
                f"{len(problems)} problem(s) found",
                problems,
            ),
        )

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return problem_response(
            request,
            ProblemError(
                error.status_code,
                _slug(error.status_code),
                str(error.detail),
                headers=dict(error.headers) if error.headers else None,
            ),
        )

    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(
            request, ProblemError(500, "internal-error", "Internal error", "The error was logged")
        )

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _validation_problem(detail: dict[str, Any]) -> Problem:
    pointer = "".join(f"/{part}" for part in detail.get("loc", ()))
    return Problem(location=pointer or "/", message=str(detail.get("msg", "invalid")))


def _slug(status: int) -> str:
    return {
        400: "bad-request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        409: "conflict",
        413: "payload-too-large",
        415: "unsupported-media-type",
    }.get(status, f"http-{status}")
