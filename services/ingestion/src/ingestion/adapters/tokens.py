"""OAuth2 bearer tokens (JWT access tokens) from the ERP's identity provider, each naming the
tenant it acts for in a claim.

The signature is checked against the provider's published keys (a JWKS file, or its URL, fetched
and cached), with asymmetric algorithms only (RS256, ES256: a shared-secret HS256 token or `none`
is refused), then the issuer, the audience and the tenant claim; expiry and not-before are checked
against the service's clock, so a test clock moves token lifetimes with everything else.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import jwt

from settle_shared.clock import Clock
from settle_shared.settings import TENANT_PATTERN

ALGORITHMS = ("RS256", "ES256")
LEEWAY = timedelta(seconds=30)


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why, without echoing the token."""


class SigningKeys(Protocol):
    async def key_for(self, token: str) -> jwt.PyJWK: ...


class JwksFile:
    """Keys from a JWKS document on disk, read once."""

    def __init__(self, path: Path) -> None:
        self._keys = jwt.PyJWKSet.from_dict(json.loads(path.read_text(encoding="utf-8"))).keys

    async def key_for(self, token: str) -> jwt.PyJWK:
        key_id = jwt.get_unverified_header(token).get("kid")
        matching = [key for key in self._keys if key_id is None or key.key_id == key_id]
        if key_id is None and len(matching) != 1:
            raise InvalidToken("the token names no key (kid) and the key set has several")
        if not matching:
            raise InvalidToken(f"no published key has the id {key_id!r}")
        return matching[0]


class JwksUrl:
    """Keys from the provider's JWKS endpoint, cached; a new key id triggers a refetch."""

    def __init__(self, url: str) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)

    async def key_for(self, token: str) -> jwt.PyJWK:
        # PyJWKClient fetches with urllib; keep the blocking call off the event loop.
        return await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)


class TokenVerifier:
    def __init__(
        self, keys: SigningKeys, issuer: str, audience: str, tenant_claim: str, clock: Clock
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._tenant_claim = tenant_claim
        self._clock = clock

    async def tenant_of(self, token: str) -> str:
        """The tenant a valid token acts for, or `InvalidToken` saying what is wrong."""
        try:
            key = await self._keys.key_for(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp", "iss", "aud"],
                },
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        self._check_lifetime(claims)
        return self._tenant(claims)

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        now = self._clock.now()
        expires = _instant(claims, "exp")
        if expires is None or now >= expires + LEEWAY:
            raise InvalidToken("the token has expired")
        not_before = _instant(claims, "nbf")
        if not_before is not None and now < not_before - LEEWAY:
            raise InvalidToken("the token is not valid yet")

    def _tenant(self, claims: dict[str, Any]) -> str:
        tenant = claims.get(self._tenant_claim)
        if not isinstance(tenant, str) or not TENANT_PATTERN.fullmatch(tenant):
            raise InvalidToken(f"the token has no valid {self._tenant_claim!r} claim")
        return tenant


def _instant(claims: dict[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise InvalidToken(f"the {name!r} claim is not a number of seconds")
    return datetime.fromtimestamp(value, UTC)
