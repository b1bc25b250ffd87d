"""PSP webhook signatures: the right secret names the tenant; forgeries and replays fail."""

from datetime import UTC, datetime, timedelta

import pytest

from payments.domain.psp import BadSignature, StaleSignature, signature, verified_tenant

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BODY = b'{"event_id": "evt_1"}'
SECRETS = {"acme-nl": ["whsec_old", "whsec_new"], "other-be": ["whsec_other"]}
WINDOW = timedelta(seconds=300)


def header(secret: str, at: datetime = NOW, body: bytes = BODY) -> str:
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def test_the_secret_that_signed_names_the_tenant() -> None:
    assert verified_tenant(header("whsec_other"), BODY, SECRETS, NOW, WINDOW) == "other-be"


def test_both_secrets_of_a_rotation_are_accepted() -> None:
    for secret in ("whsec_old", "whsec_new"):
        assert verified_tenant(header(secret), BODY, SECRETS, NOW, WINDOW) == "acme-nl"


def test_a_body_changed_after_signing_is_refused() -> None:
    with pytest.raises(BadSignature, match="no signature matches"):
        verified_tenant(header("whsec_new"), BODY + b" ", SECRETS, NOW, WINDOW)


def test_a_signature_made_with_an_unknown_secret_is_refused() -> None:
    with pytest.raises(BadSignature, match="no signature matches"):
        verified_tenant(header("whsec_guess"), BODY, SECRETS, NOW, WINDOW)


@pytest.mark.parametrize(
    ("given", "why"),
    [
        (None, "no Settle-Signature header"),
        ("", "no Settle-Signature header"),
        ("v1=abc", "no single t="),
        ("t=soon,v1=abc", "no single t="),
        ("t=1,t=2,v1=abc", "no single t="),
        ("t=1763632800", "no v1 signature"),
    ],
)
def test_a_missing_or_garbled_header_is_refused(given: str | None, why: str) -> None:
    with pytest.raises(BadSignature, match=why):
        verified_tenant(given, BODY, SECRETS, NOW, WINDOW)


def test_a_replay_outside_the_window_is_stale() -> None:
    with pytest.raises(StaleSignature, match="more than 300 s"):
        verified_tenant(
            header("whsec_new", NOW - timedelta(seconds=301)), BODY, SECRETS, NOW, WINDOW
        )


def test_a_signature_within_the_window_either_side_is_accepted() -> None:
    for skew in (timedelta(seconds=-300), timedelta(seconds=300)):
        assert verified_tenant(header("whsec_new", NOW + skew), BODY, SECRETS, NOW, WINDOW) == (
            "acme-nl"
        )
