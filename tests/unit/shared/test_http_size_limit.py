"""Every service refuses a body whose declared size is over its limit before reading it."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request

from settle_shared.auth import ApiKeys
from settle_shared.http import create_app

LIMIT = 100


def _app(bodies_read: list[bytes]) -> httpx.AsyncClient:
    router = APIRouter()

    @router.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        body = await request.body()
        bodies_read.append(body)
        return {"length": len(body)}

    app = create_app(
        title="t",
        description="d",
        routers=[router],
        api_keys=ApiKeys({}),
        test_mode=False,
        max_body_bytes=LIMIT,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_declared_length_over_the_limit_is_refused_before_the_route_runs() -> None:
    bodies_read: list[bytes] = []
    async with _app(bodies_read) as client:
        response = await client.post("/echo", content=b"x" * (LIMIT + 1))

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/payload-too-large")
    assert problem["detail"] == f"{LIMIT + 1} bytes declared; the limit is {LIMIT} bytes"
    assert problem["instance"] == "/echo"
    assert bodies_read == []


async def test_a_body_within_the_limit_reaches_the_route_whole() -> None:
    bodies_read: list[bytes] = []
    async with _app(bodies_read) as client:
        response = await client.post("/echo", content=b"x" * LIMIT)

    assert response.status_code == 200
    assert response.json() == {"length": LIMIT}
    assert bodies_read == [b"x" * LIMIT]
