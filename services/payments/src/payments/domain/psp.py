"""Webhook signatures of payment service providers: HMAC-SHA256 over `timestamp.body`, sent as
`Settle-Signature: t=<unix seconds>,v1=<hex>` (several v1 while a secret is rotated)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


class BadSignature(Exception):
    """The signature is missing, garbled, or made with none of the configured secrets."""


class StaleSignature(Exception):
    """The signature is right but its timestamp lies outside the tolerance window."""


@dataclass(frozen=True)
class SignatureHeader:
    timestamp: int
    signatures: tuple[str, ...]

    @classmethod
    def parse(cls, header: str | None) -> SignatureHeader:
        if not header:
            raise BadSignature("no Settle-Signature header")
        timestamps: list[str] = []
        signatures: list[str] = []
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key == "t":
                timestamps.append(value)
            elif key == "v1":
                signatures.append(value.lower())
        if len(timestamps) != 1 or not timestamps[0].isdigit():
            raise BadSignature("the Settle-Signature header has no single t=<unix seconds>")
        if not signatures:
            raise BadSignature("the Settle-Signature header has no v1 signature")
        return cls(int(timestamps[0]), tuple(signatures))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verified_tenant(
    header: str | None,
    body: bytes,
    secrets_by_tenant: Mapping[str, Sequence[str]],
    now: datetime,
    tolerance: timedelta,
) -> str:
    """The tenant whose secret signed the body; the timestamp is checked once the signature
    is known to be right, so a stale replay is told apart from a forgery."""
    parsed = SignatureHeader.parse(header)
    tenant = _signer(parsed, body, secrets_by_tenant)
    signed_at = datetime.fromtimestamp(parsed.timestamp, now.tzinfo)
    if abs(now - signed_at) > tolerance:
        raise StaleSignature(
            f"signed at {signed_at.isoformat()}, more than {int(tolerance.total_seconds())} s "
            f"from now ({now.isoformat()})"
        )
    return tenant


def _signer(
    parsed: SignatureHeader, body: bytes, secrets_by_tenant: Mapping[str, Sequence[str]]
) -> str:
    for tenant, secrets in secrets_by_tenant.items():
        for secret in secrets:
            expected = signature(secret, parsed.timestamp, body)
            if any(hmac.compare_digest(expected, given) for given in parsed.signatures):
                return tenant
    raise BadSignature("no signature matches a secret configured for this provider")
