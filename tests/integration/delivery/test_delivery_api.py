from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from delivery.bootstrap import SERVICE, DeliverySettings
from settle_shared.clock import FixedClock
from settle_shared.events.dunning import Recipient, ReminderRequested
from settle_shared.money import Money
from settle_shared.testing.harness import ServiceHarness
from settle_simulators.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
KEYS = {"key-acme-0123456789": "acme-nl", "key-other-0123456789": "other-be"}
ACME = {"X-API-Key": "key-acme-0123456789"}
OTHER = {"X-API-Key": "key-other-0123456789"}


def reminder(action_id: str, case_id: str) -> ReminderRequested:
    return ReminderRequested(
        tenant="acme-nl",
        customer_id="C-1001",
        action_id=action_id,
        case_id=case_id,
        invoice_id="INV-1",
        invoice_number="2026-000123",
        step=1,
        step_name="friendly-reminder",
        channel="email",
        template="friendly-reminder",
        language="de",
        recipient=Recipient(name="Jürgen Müller", email="jm@mueller.example"),
        customer_name="Müller GmbH",
        amount_due=Money.of(123450, "EUR"),
        due_date=date(2026, 11, 16),
        requested_at=NOW,
    )


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    async with SmtpSink() as sink:
        harness = await ServiceHarness.start(
            SERVICE,
            DeliverySettings(database_url=fresh_database, smtp_port=sink.smtp_port),
            FixedClock(NOW),
        )
        harness.publish(reminder("A-1", "case-1"))
        harness.publish(reminder("A-2", "case-1"))
        harness.publish(reminder("A-3", "case-2"))
        await harness.consume()
        await harness.wiring.state.dispatcher.tick()
        yield harness
        await harness.close()


async def get(service: ServiceHarness, path: str, headers: dict[str, str]) -> Any:
    async with service.api(KEYS) as client:
        return await client.get(path, headers=headers)


async def test_a_message_shows_its_status_attempts_and_subject(service: ServiceHarness) -> None:
    listing = (await get(service, "/v1/messages?action_id=A-1", ACME)).json()
    [summary] = listing["messages"]

    response = await get(service, f"/v1/messages/{summary['message_id']}", ACME)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "sent"
    assert body["subject"] == "Zahlungserinnerung: Rechnung 2026-000123"
    assert (body["language"], body["requested_language"]) == ("de", "de")
    assert body["provider_message_id"] == "<A-1@settle.delivery>"
    [attempt] = body["attempt_history"]
    assert (attempt["attempt"], attempt["outcome"]) == (1, "sent")
    assert attempt["detail"].startswith("250")


async def test_messages_are_found_by_case_and_by_action(service: ServiceHarness) -> None:
    by_case = (await get(service, "/v1/messages?case_id=case-1", ACME)).json()["messages"]
    by_both = (await get(service, "/v1/messages?case_id=case-1&action_id=A-2", ACME)).json()

    assert sorted(m["action_id"] for m in by_case) == ["A-1", "A-2"]
    assert [m["action_id"] for m in by_both["messages"]] == ["A-2"]
    assert all(m["status"] == "sent" and m["attempts"] == 1 for m in by_case)


async def test_another_tenant_sees_none_of_the_messages(service: ServiceHarness) -> None:
    [summary] = (await get(service, "/v1/messages?action_id=A-1", ACME)).json()["messages"]

    single = await get(service, f"/v1/messages/{summary['message_id']}", OTHER)
    listing = await get(service, "/v1/messages?case_id=case-1", OTHER)

    assert single.status_code == 404
    assert single.headers["content-type"] == "application/problem+json"
    assert listing.json() == {"messages": []}


async def test_a_malformed_message_id_gets_a_problem_document(service: ServiceHarness) -> None:
    response = await get(service, "/v1/messages/not-a-uuid", ACME)

    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation-failed")


async def test_a_request_without_a_key_is_refused(service: ServiceHarness) -> None:
    response = await get(service, "/v1/messages?case_id=case-1", {})

    assert response.status_code == 401


async def test_a_template_preview_renders_subject_text_and_html(service: ServiceHarness) -> None:
    async with service.api(KEYS) as client:
        response = await client.post(
            "/v1/templates/preview",
            headers=ACME,
            json={
                "template": "final-notice",
                "language": "fr-BE",
                "values": {
                    "customer_name": "Dupont & Fils",
                    "recipient_name": None,
                    "invoice_number": "F-77",
                    "amount_due": {"amount_minor": 99, "currency": "EUR"},
                    "due_date": "2026-10-01",
                    "payment_reference": None,
                },
            },
        )

    assert response.status_code == 200
    body = response.json()
    assert (body["language"], body["requested_language"]) == ("fr", "fr-BE")
    assert body["subject"] == "Dernier rappel : facture F-77"
    assert body["text"].startswith("Madame, Monsieur,")
    assert "0,99\u00a0€" in body["text"]
    assert "Dupont &amp; Fils" in body["html"]


async def test_a_preview_without_values_uses_sample_values(service: ServiceHarness) -> None:
    async with service.api(KEYS) as client:
        response = await client.post(
            "/v1/templates/preview",
            headers=ACME,
            json={"template": "pre-due-reminder", "language": "nl"},
        )

    assert response.status_code == 200
    assert "Anna de Vries" in response.json()["text"]


async def test_previewing_an_unknown_template_is_a_422_problem(service: ServiceHarness) -> None:
    async with service.api(KEYS) as client:
        response = await client.post(
            "/v1/templates/preview", headers=ACME, json={"template": "nope", "language": "en"}
        )

    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/unknown-template")
    assert "friendly-reminder" in body["errors"][0]["message"]


async def test_the_template_catalogue_lists_each_template_with_its_languages(
    service: ServiceHarness,
) -> None:
    response = await get(service, "/v1/templates", ACME)

    assert response.json()["templates"]["second-reminder"] == ["de", "en", "fr", "nl"]
