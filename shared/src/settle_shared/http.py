"""The FastAPI application every service serves: its own routes plus health, metrics, problem
details, a request size limit and, in test mode only, the test clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from settle_shared.auth import ApiKeys
from settle_shared.clock import ClockMovedBackwards, ShiftableClock
from settle_shared.db import Database
from settle_shared.health import Health
from settle_shared.problems import (
    COMMON_PROBLEMS,
    ProblemError,
    install_problem_handlers,
    problem_response,
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


async def service_database(request: Request) -> Database:
    """The database of the service's components, which every bootstrap exposes as `.db`
    (a coroutine so that FastAPI does not hand it to a worker thread)."""
    db: Database = request.app.state.service.db
    return db


DatabaseDependency = Annotated[Database, Depends(service_database)]


def create_app(
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    api_keys: ApiKeys,
    test_mode: bool,
    lifespan: Lifespan | None = None,
    max_body_bytes: int = 10 * 1024 * 1024,
) -> FastAPI:
    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.api_keys = api_keys
    app.state.health = Health()
    install_problem_handlers(app)
    app.add_middleware(DeclaredSizeLimit, max_bytes=max_body_bytes)
    app.include_router(_operations_router())
    if test_mode:
        app.include_router(_test_clock_router())
    for router in routers:
        app.include_router(router, responses=COMMON_PROBLEMS)
    return app


class DeclaredSizeLimit:
    """Refuses a request whose declared Content-Length is over the limit before its body is
    read. A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` costs a task group and a
    response stream on every request."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _declared_length(scope) if scope["type"] == "http" else None
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            refusal = ProblemError(
                413,
                "payload-too-large",
                "Request body too large",
                f"{declared} bytes declared; the limit is {self.max_bytes} bytes",
            )
            await problem_response(Request(scope), refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _declared_length(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return bytes(value).decode("latin-1")
    return None


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live", summary="The process is alive")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/health/ready", summary="Consumers, relay and schedulers are making progress")
    async def ready(request: Request) -> JSONResponse:
        health: Health = request.app.state.health
        report = health.report()
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class ClockMove(BaseModel):
    advance_seconds: float | None = Field(default=None, ge=0)
    to: AwareDatetime | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ClockMove:
        if (self.advance_seconds is None) == (self.to is None):
            raise ValueError("give exactly one of advance_seconds or to")
        return self


class ClockReading(BaseModel):
    now: datetime
    offset_seconds: float


def _test_clock_router() -> APIRouter:
    router = APIRouter(prefix="/test/clock", tags=["test mode"])

    def clock_of(request: Request) -> ShiftableClock:
        clock = getattr(request.app.state, "clock", None)
        if not isinstance(clock, ShiftableClock):
            raise ProblemError(409, "clock-not-shiftable", "This service's clock cannot be moved")
        return clock

    @router.get("", summary="Read the service's clock (test mode only)")
    async def read(request: Request) -> ClockReading:
        clock = clock_of(request)
        return ClockReading(now=clock.now(), offset_seconds=clock.offset.total_seconds())

    @router.post("", summary="Move the service's clock forward (test mode only)")
    async def move(request: Request, body: ClockMove) -> ClockReading:
        clock = clock_of(request)
        try:
            if body.to is not None:
                clock.move_to(body.to)
            else:
                clock.advance(timedelta(seconds=body.advance_seconds or 0))
        except ClockMovedBackwards as error:
            raise ProblemError(
                409, "clock-moved-backwards", "Clocks only move forward", str(error)
            ) from error
        return ClockReading(now=clock.now(), offset_seconds=clock.offset.total_seconds())

    return router
