from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingestion.domain.customers import (
    CustomerChange,
    CustomerVersion,
    compare,
    customer_problems,
)
from ingestion.domain.fingerprint import fingerprint
from settle_shared.events.erp import CUSTOMER_EXAMPLE, ErpCustomerUpserted

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
EMAIL_CONTACT = {"role": "accounts_payable", "email": "ap@devries.example"}
PHONE_CONTACT = {"role": "accounts_payable", "phone": "+31612345678"}
ADDRESS = {"lines": ["Hoofdstraat 1"], "postal_code": "1234 AB", "city": "Utrecht", "country": "NL"}


def customer(updated_at: datetime = NOW, **master: Any) -> ErpCustomerUpserted:
    return ErpCustomerUpserted.model_validate(
        {
            **CUSTOMER_EXAMPLE,
            "master": {**CUSTOMER_EXAMPLE["master"], **master},
            "updated_at": updated_at,
        }
    )


def locations(record: ErpCustomerUpserted) -> list[str]:
    return [problem.location for problem in customer_problems(record, NOW)]


def test_the_contract_example_is_a_valid_customer() -> None:
    assert customer_problems(customer(), NOW) == []


def test_the_preferred_channel_must_be_consented_to() -> None:
    [problem] = customer_problems(
        customer(preferred_channel="sms", contacts=[PHONE_CONTACT], consented_channels=["email"]),
        NOW,
    )
    assert problem.location == "/master/preferred_channel"
    assert "sms is not among the consented channels (email)" in problem.message


def test_no_consent_at_all_is_named_as_such() -> None:
    [problem] = customer_problems(customer(consented_channels=[]), NOW)
    assert problem.message.endswith("(none)")


@pytest.mark.parametrize(
    ("channel", "contacts", "address"),
    [
        ("email", [EMAIL_CONTACT], None),
        ("sms", [PHONE_CONTACT], None),
        ("whatsapp", [EMAIL_CONTACT, PHONE_CONTACT], None),
        ("letter", [], ADDRESS),
    ],
)
def test_a_preferred_channel_someone_can_receive_is_accepted(
    channel: str, contacts: list[dict[str, str]], address: dict[str, Any] | None
) -> None:
    record = customer(
        preferred_channel=channel,
        consented_channels=[channel],
        contacts=contacts,
        postal_address=address,
    )
    assert customer_problems(record, NOW) == []


@pytest.mark.parametrize(
    ("channel", "contacts", "location", "needed"),
    [
        ("email", [PHONE_CONTACT], "/master/contacts", "a contact with an e-mail address"),
        ("sms", [EMAIL_CONTACT], "/master/contacts", "a contact with a phone number"),
        ("whatsapp", [], "/master/contacts", "a contact with a phone number"),
        ("letter", [EMAIL_CONTACT], "/master/postal_address", "a postal address"),
    ],
)
def test_a_preferred_channel_nobody_can_receive_is_refused(
    channel: str, contacts: list[dict[str, str]], location: str, needed: str
) -> None:
    record = customer(preferred_channel=channel, consented_channels=[channel], contacts=contacts)
    [problem] = customer_problems(record, NOW)
    assert problem.location == location
    assert problem.message == f"the preferred channel {channel} needs {needed}, and there is none"


def test_a_blank_name_is_refused() -> None:
    assert locations(customer(name="   ")) == ["/master/name"]


def test_a_version_stamped_more_than_a_day_ahead_is_refused() -> None:
    assert locations(customer(updated_at=NOW + timedelta(days=1, seconds=1))) == ["/updated_at"]
    assert locations(customer(updated_at=NOW + timedelta(days=1))) == []


def test_every_problem_is_reported_at_once() -> None:
    record = customer(
        updated_at=NOW + timedelta(days=30),
        name=" ",
        preferred_channel="letter",
        consented_channels=["email"],
    )
    assert locations(record) == [
        "/master/name",
        "/master/preferred_channel",
        "/master/postal_address",
        "/updated_at",
    ]


def version(minutes: int, content: str) -> CustomerVersion:
    return CustomerVersion(NOW + timedelta(minutes=minutes), fingerprint({"name": content}))


@pytest.mark.parametrize(
    ("incoming", "change"),
    [
        (version(-1, "A"), CustomerChange.STALE),
        (version(-1, "B"), CustomerChange.STALE),
        (version(0, "A"), CustomerChange.UNCHANGED),
        (version(5, "A"), CustomerChange.UNCHANGED),
        (version(0, "B"), CustomerChange.CHANGED),
        (version(5, "B"), CustomerChange.CHANGED),
    ],
)
def test_an_incoming_version_is_judged_against_the_stored_one(
    incoming: CustomerVersion, change: CustomerChange
) -> None:
    assert compare(version(0, "A"), incoming) is change


def test_the_fingerprint_of_a_customer_depends_on_its_content_only() -> None:
    a = CustomerVersion.of(customer(updated_at=NOW))
    b = CustomerVersion.of(customer(updated_at=NOW + timedelta(hours=1)))
    c = CustomerVersion.of(customer(updated_at=NOW, name="Bakkerij Jansen B.V."))
    assert a.content_hash == b.content_hash
    assert a.content_hash != c.content_hash


def test_a_fingerprint_ignores_key_order() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"b": [1, 2]}) != fingerprint({"b": [2, 1]})
