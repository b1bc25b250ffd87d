"""Callers authenticate with an API key bound to one tenant; a tenant sees only its own data.
A key may also name who holds it, so that what a person does by hand (a manual match, say)
says who did it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from settle_shared.problems import ProblemError


@dataclass(frozen=True)
class Caller:
    tenant: str
    holder: str | None = None

    def describe(self) -> str:
        """Who acted, in words for evidence and reasons."""
        return self.holder or f"a credit manager of {self.tenant}"


class ApiKeys:
    def __init__(self, callers_by_key: Mapping[str, str | Caller]) -> None:
        self._caller_by_digest = {
            _digest(key): caller if isinstance(caller, Caller) else Caller(caller)
            for key, caller in callers_by_key.items()
        }

    def caller_for(self, key: str) -> Caller | None:
        presented = _digest(key)
        for digest, caller in self._caller_by_digest.items():
            if hmac.compare_digest(digest, presented):
                return caller
        return None

    def tenant_for(self, key: str) -> str | None:
        caller = self.caller_for(key)
        return caller.tenant if caller else None


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


async def caller(
    request: Request,
    _bearer: Annotated[object, Depends(_BEARER)] = None,
    _header: Annotated[object, Depends(_API_KEY_HEADER)] = None,
) -> Caller:
    """The tenant, and holder if named, of the presented key. The two security dependencies
    document both ways. A coroutine although it awaits nothing: FastAPI runs a plain function
    in a worker thread."""
    keys: ApiKeys = request.app.state.api_keys
    key = _presented_key(request)
    found = keys.caller_for(key) if key else None
    if found is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            "Send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": 'Bearer realm="settle"'},
        )
    return found


async def caller_tenant(who: Annotated[Caller, Depends(caller)]) -> str:
    return who.tenant


CallerIdentity = Annotated[Caller, Depends(caller)]
CallerTenant = Annotated[str, Depends(caller_tenant)]


def require_tenant(caller: str, tenant: str) -> None:
    """A tenant in the path must be the caller's own; others' data does not exist for it."""
    if caller != tenant:
        raise ProblemError(404, "not-found", "Not found")
