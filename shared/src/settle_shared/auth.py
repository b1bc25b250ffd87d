"""Callers authenticate with an API key bound to one tenant; a tenant sees only its own data."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from settle_shared.problems import ProblemError


class ApiKeys:
    def __init__(self, tenant_by_key: dict[str, str]) -> None:
        self._tenant_by_digest = {_digest(key): tenant for key, tenant in tenant_by_key.items()}

    def tenant_for(self, key: str) -> str | None:
        presented = _digest(key)
        for digest, tenant in self._tenant_by_digest.items():
            if hmac.compare_digest(digest, presented):
                return tenant
        return None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return request.headers.get("x-api-key")


_BEARER = HTTPBearer(auto_error=False, description="API key bound to one tenant")
_API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The same API key, as a header"
)


async def caller_tenant(
    request: Request,
    _bearer: Annotated[object, Depends(_BEARER)] = None,
    _header: Annotated[object, Depends(_API_KEY_HEADER)] = None,
) -> str:
    """The tenant of the presented key. The two security dependencies document both ways.
    A coroutine although it awaits nothing: FastAPI runs a plain function in a worker thread."""
    keys: ApiKeys = request.app.state.api_keys
    key = _presented_key(request)
    tenant = keys.tenant_for(key) if key else None
    if tenant is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            "Send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": 'Bearer realm="settle"'},
        )
    return tenant


CallerTenant = Annotated[str, Depends(caller_tenant)]


def require_tenant(caller: str, tenant: str) -> None:
    """A tenant in the path must be the caller's own; others' data does not exist for it."""
    if caller != tenant:
        raise ProblemError(404, "not-found", "Not found")
