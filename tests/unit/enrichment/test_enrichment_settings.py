import pytest
from pydantic import ValidationError

from enrichment.bootstrap import EnrichmentSettings

BUREAU_URL = "http://127.0.0.1:8090"


@pytest.mark.parametrize("key", ["changeme", "secret", "short-key"])
def test_a_placeholder_bureau_key_is_refused_outside_test_mode(key: str) -> None:
    with pytest.raises(ValidationError, match="BUREAU_API_KEY"):
        EnrichmentSettings(bureau_url=BUREAU_URL, bureau_api_key=key)


def test_test_mode_accepts_any_bureau_key() -> None:
    settings = EnrichmentSettings(
        bureau_url=BUREAU_URL, bureau_api_key="test", settle_test_mode=True
    )

    assert settings.bureau_api_key.get_secret_value() == "test"


def test_the_bureau_settings_come_from_the_environment_with_sensible_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUREAU_URL", BUREAU_URL)
    monkeypatch.setenv("BUREAU_API_KEY", "a-real-bureau-key-123")
    monkeypatch.setenv("BUREAU_TIMEOUT_SECONDS", "2.5")

    settings = EnrichmentSettings()

    assert settings.bureau_url == BUREAU_URL
    assert settings.bureau_timeout_seconds == 2.5
    assert (settings.bureau_cache_hours, settings.bureau_retry_attempts) == (168, 3)
