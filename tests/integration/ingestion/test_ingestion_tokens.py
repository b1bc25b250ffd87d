import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from ingestion.bootstrap import SERVICE, IngestionSettings
from settle_shared.clock import FixedClock
from settle_shared.events.erp import ErpInvoiceIssued
from settle_shared.testing.harness import ServiceHarness

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
ISSUER = "https://login.erp.example/"
AUDIENCE = "settle-ingestion"
KEYS = {"key-acme-0123456789": "acme-nl"}
INVOICE = {k: v for k, v in ErpInvoiceIssued.event_type.examples()[0].items() if k != "tenant"}
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
UNPUBLISHED_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    keys = [
        {**RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"},
        {**ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"},
    ]
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": keys}))
    return path


@pytest.fixture
async def service(fresh_database: str, jwks_file: Path) -> AsyncIterator[ServiceHarness]:
    settings = IngestionSettings(
        database_url=fresh_database,
        ingestion_jwt_jwks_file=jwks_file,
        ingestion_jwt_issuer=ISSUER,
        ingestion_jwt_audience=AUDIENCE,
    )
    harness = await ServiceHarness.start(SERVICE, settings, FixedClock(NOW))
    yield harness
    await harness.close()


@pytest.fixture
async def client(service: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with service.api(KEYS) as api:
        yield api


def token(
    tenant: str | None = "acme-nl",
    *,
    key: Any = RSA_KEY,
    algorithm: str = "RS256",
    kid: str = "rsa-1",
    expires_in: timedelta = timedelta(minutes=10),
    **claims: Any,
) -> dict[str, str]:
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + expires_in).timestamp()),
        **({"tenant": tenant} if tenant else {}),
        **claims,
    }
    encoded = jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid})
    return {"Authorization": f"Bearer {encoded}"}


async def put_invoice(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.put("/v1/invoices/INV-2026-000123", json=INVOICE, headers=headers)


@pytest.mark.parametrize(
    "credentials",
    [
        token(),
        token(key=EC_KEY, algorithm="ES256", kid="ec-1"),
        {"X-API-Key": "key-acme-0123456789"},
        {"Authorization": "Bearer key-acme-0123456789"},
    ],
    ids=["rs256-token", "es256-token", "api-key-header", "api-key-bearer"],
)
async def test_an_erp_client_authenticates_with_a_token_or_an_api_key(
    client: httpx.AsyncClient, credentials: dict[str, str]
) -> None:
    response = await put_invoice(client, credentials)

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        (token(expires_in=timedelta(minutes=-5)), "expired"),
        (token(aud="another-api"), "Audience"),
        (token(iss="https://evil.example/"), "issuer"),
        (token(None), "'tenant' claim"),
        (token("not a tenant!"), "'tenant' claim"),
        (token(key=UNPUBLISHED_KEY), "Signature verification failed"),
        (token(kid="unknown-key"), "no published key"),
        (token(key="a-shared-secret-of-32-bytes-long!", algorithm="HS256"), "alg"),
    ],
    ids=["expired", "audience", "issuer", "no-tenant", "bad-tenant", "signature", "kid", "hs256"],
)
async def test_an_untrustworthy_token_is_refused_with_the_reason(
    client: httpx.AsyncClient, credentials: dict[str, str], reason: str
) -> None:
    response = await put_invoice(client, credentials)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert reason in response.json()["detail"]


async def test_token_lifetime_follows_the_service_clock(
    service: ServiceHarness, client: httpx.AsyncClient
) -> None:
    credentials = token(expires_in=timedelta(minutes=10))
    assert (await put_invoice(client, credentials)).status_code == 201

    service.clock.advance(timedelta(minutes=11))

    assert (await put_invoice(client, credentials)).status_code == 401


async def test_a_token_for_another_tenant_neither_reads_nor_writes_this_tenants_data(
    client: httpx.AsyncClient,
) -> None:
    await put_invoice(client, token("acme-nl"))
    theirs = token("other-be")

    assert (await client.get("/v1/invoices/INV-2026-000123", headers=theirs)).status_code == 404
    cancel = await client.post(
        "/v1/invoices/INV-2026-000123/cancellation",
        json={"customer_id": "C-1001", "updated_at": "2026-11-03T08:00:00Z"},
        headers=theirs,
    )
    assert cancel.status_code == 409
    ours = await client.get("/v1/invoices/INV-2026-000123", headers=token("acme-nl"))
    assert ours.json()["status"] == "open"


async def test_without_a_configured_issuer_tokens_are_refused_and_api_keys_work(
    fresh_database: str,
) -> None:
    harness = await ServiceHarness.start(
        SERVICE, IngestionSettings(database_url=fresh_database), FixedClock(NOW)
    )
    try:
        async with harness.api(KEYS) as api:
            refused = await put_invoice(api, token())
            accepted = await put_invoice(api, {"X-API-Key": "key-acme-0123456789"})
    finally:
        await harness.close()

    assert refused.status_code == 401
    assert "no token issuer is configured" in refused.json()["detail"]
    assert accepted.status_code == 201


def test_token_settings_are_all_or_nothing(jwks_file: Path) -> None:
    with pytest.raises(ValueError, match="INGESTION_JWT_ISSUER"):
        IngestionSettings(ingestion_jwt_jwks_file=jwks_file)
