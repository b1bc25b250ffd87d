"""Who is calling: an ERP client with an API key or an OAuth2 bearer token (JWT), each bound to
one tenant. The routes only ever read and write that tenant's records.

`settle_shared.auth.CallerTenant` knows API keys only; this accepts both, on the same headers:
`Authorization: Bearer <API key or JWT>` or `X-API-Key: <API key>`. A bearer credential shaped like
a JWT is verified as a token; anything else is looked up as an API key.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from ingestion.adapters.tokens import InvalidToken, TokenVerifier
from settle_shared.auth import ApiKeys
from settle_shared.problems import ProblemError

_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")

_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    bearerFormat="JWT",
    description="An OAuth2 access token (JWT) from the ERP's identity provider, carrying the "
    "tenant in a claim, or an API key bound to one tenant",
)
_API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key bound to one tenant",
)


async def erp_tenant(
    request: Request,
    _bearer: Annotated[object, Depends(_BEARER)] = None,
    _header: Annotated[object, Depends(_API_KEY_HEADER)] = None,
) -> str:
    """The tenant the caller acts for. The two security dependencies document both ways."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else ""
    if bearer and _JWT_SHAPE.fullmatch(bearer):
        return await _token_tenant(request, bearer)
    key = bearer or request.headers.get("x-api-key", "")
    api_keys: ApiKeys = request.app.state.api_keys
    tenant = api_keys.tenant_for(key) if key else None
    if tenant is None:
        raise _unauthenticated(
            "Send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>', or an "
            "OAuth2 access token as 'Authorization: Bearer <token>'",
            'Bearer realm="settle"',
        )
    return tenant


async def _token_tenant(request: Request, token: str) -> str:
    verifier: TokenVerifier | None = request.app.state.service.tokens
    if verifier is None:
        raise _unauthenticated(
            "Bearer tokens are not accepted here: no token issuer is configured; use an API key",
            'Bearer realm="settle", error="invalid_token"',
        )
    try:
        return await verifier.tenant_of(token)
    except InvalidToken as error:
        raise _unauthenticated(
            f"The access token is not valid: {error}",
            'Bearer realm="settle", error="invalid_token"',
        ) from error


def _unauthenticated(detail: str, challenge: str) -> ProblemError:
    return ProblemError(
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": challenge},
    )


ErpTenant = Annotated[str, Depends(erp_tenant)]
