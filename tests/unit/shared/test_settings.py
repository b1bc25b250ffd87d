import pytest
from pydantic import ValidationError

from settle_shared.auth import ApiKeys, Caller
from settle_shared.settings import ServiceSettings


def test_placeholder_api_keys_are_refused_outside_test_mode() -> None:
    with pytest.raises(ValidationError, match="SETTLE_API_KEYS must be a real secret"):
        ServiceSettings(settle_api_keys={"changeme": "acme-nl"})


def test_test_mode_accepts_short_local_keys() -> None:
    settings = ServiceSettings(settle_api_keys={"local": "acme-nl"}, settle_test_mode=True)
    assert settings.settle_api_keys == {"local": "acme-nl"}


def test_an_api_key_must_name_a_valid_tenant() -> None:
    with pytest.raises(ValidationError, match="no valid tenant"):
        ServiceSettings(
            settle_api_keys={"a-long-enough-real-key": "acme:nl"}, settle_test_mode=True
        )


def test_an_api_key_may_name_who_holds_it() -> None:
    settings = ServiceSettings(
        settle_api_keys={
            "key-of-ann-0123456789": {"tenant": "acme-nl", "holder": "Ann de Wit"},
            "key-of-the-erp-0123": "acme-nl",
        }
    )

    keys = ApiKeys(settings.api_callers)

    ann = keys.caller_for("key-of-ann-0123456789")
    erp = keys.caller_for("key-of-the-erp-0123")
    assert ann == Caller("acme-nl", "Ann de Wit")
    assert ann.describe() == "Ann de Wit"
    assert erp == Caller("acme-nl")
    assert erp.describe() == "a credit manager of acme-nl"
    assert keys.tenant_for("key-of-ann-0123456789") == "acme-nl"
    assert keys.caller_for("key-of-nobody-01234") is None


@pytest.mark.parametrize(
    ("grant", "refusal"),
    [
        ({"tenant": "acme:nl", "holder": "Ann"}, "no valid tenant"),
        ({"tenant": "acme-nl", "holder": " "}, "holder"),
        ({"tenant": "acme-nl"}, "holder"),
        ({"tenant": "acme-nl", "holder": "Ann", "role": "admin"}, "role"),
    ],
)
def test_a_named_holder_needs_a_valid_tenant_and_a_name(
    grant: dict[str, str], refusal: str
) -> None:
    with pytest.raises(ValidationError, match=refusal):
        ServiceSettings(settle_api_keys={"a-long-enough-real-key": grant})


def test_a_named_holders_key_must_be_a_real_secret_too() -> None:
    with pytest.raises(ValidationError, match="SETTLE_API_KEYS must be a real secret"):
        ServiceSettings(settle_api_keys={"changeme": {"tenant": "acme-nl", "holder": "Ann"}})


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_MECHANISM"):
        ServiceSettings(kafka_security_protocol="SASL_SSL")


def test_settings_come_from_the_standard_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/dunning?sslmode=require")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv(
        "SETTLE_API_KEYS",
        '{"key-of-the-erp-0123": "acme-nl",'
        ' "key-of-ann-0123456789": {"tenant": "acme-nl", "holder": "Ann de Wit"}}',
    )
    settings = ServiceSettings()
    assert settings.kafka_bootstrap_servers == "kafka-0:9092,kafka-1:9092"
    assert settings.database_url.endswith("sslmode=require")
    assert settings.http_port == 9000
    assert settings.api_callers == {
        "key-of-the-erp-0123": Caller("acme-nl"),
        "key-of-ann-0123456789": Caller("acme-nl", "Ann de Wit"),
    }


def test_the_pool_opens_all_its_connections_unless_told_fewer() -> None:
    assert ServiceSettings(database_pool_max=6).opened_pool_connections == 6
    assert ServiceSettings(database_pool_max=6, database_pool_min=2).opened_pool_connections == 2


def test_a_pool_minimum_above_its_maximum_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"DATABASE_POOL_MIN \(8\) exceeds DATABASE_POOL_MAX"):
        ServiceSettings(database_pool_max=4, database_pool_min=8)
