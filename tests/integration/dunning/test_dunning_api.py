from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from dunning.bootstrap import SERVICE, Components, DunningSettings
from settle_shared.clock import FixedClock
from settle_shared.events.delivery import DeliveryStatusChanged
from settle_shared.events.enrichment import CreditAssessment, CustomerEnriched
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.ingestion import CreditNoteIssued, InvoiceAmended, InvoiceIssued
from settle_shared.events.payments import InvoiceSettled
from settle_shared.money import Money
from settle_shared.registry import EventPayload
from settle_shared.testing.harness import ServiceHarness

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STEP_ONE_AT = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
KEYS = {"key-acme-0123456789": "acme-nl", "key-other-0123456789": "other-be"}
ACME = {"X-API-Key": "key-acme-0123456789"}
OTHER = {"X-API-Key": "key-other-0123456789"}


def invoice(number: int) -> InvoiceIssued:
    return InvoiceIssued(
        tenant="acme-nl",
        customer_id="C-1",
        invoice_id=f"INV-{number}",
        invoice_number=str(number),
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 11, 16),
        amount=Money.of(10000 * number, "EUR"),
        revision=1,
        received_at=NOW,
    )


async def receive(service: ServiceHarness, *events: EventPayload) -> None:
    for event in events:
        service.publish(event)
        await service.consume()


@pytest.fixture
async def service(fresh_database: str) -> AsyncIterator[ServiceHarness]:
    """Customer C-1 with three invoices: INV-1 reminded once (delivered), INV-2 paid, INV-3 open."""
    harness = await ServiceHarness.start(
        SERVICE, DunningSettings(database_url=fresh_database), FixedClock(NOW)
    )
    profile = CustomerEnriched.model_validate(
        {
            "tenant": "acme-nl",
            "customer_id": "C-1",
            "master": CUSTOMER_EXAMPLE["master"],
            "credit": CreditAssessment(status="not_requested").model_dump(),
            "revision": 1,
            "enriched_at": NOW,
        }
    )
    await receive(harness, profile, invoice(1), invoice(2), invoice(3))
    await receive(
        harness,
        InvoiceSettled(
            tenant="acme-nl",
            customer_id="C-1",
            invoice_id="INV-2",
            invoice_number="2",
            paid=Money.of(20000, "EUR"),
            payment_ids=["P-2"],
            settled_at=NOW,
        ),
    )
    harness.clock.advance(STEP_ONE_AT - NOW)
    state: Components = harness.wiring.state
    await state.scheduler.tick()
    async with harness.pool.acquire() as connection:
        action = await connection.fetchrow(
            "SELECT a.action_id, a.case_id FROM actions a JOIN cases c USING (case_id) "
            "WHERE c.invoice_id = 'INV-1'"
        )
    assert action is not None
    await receive(
        harness,
        DeliveryStatusChanged(
            tenant="acme-nl",
            customer_id="C-1",
            message_id="M-1",
            action_id=str(action["action_id"]),
            case_id=str(action["case_id"]),
            channel="email",
            status="delivered",
            provider="smtp",
            detail="250 OK",
            occurred_at=STEP_ONE_AT + timedelta(minutes=1),
        ),
    )
    yield harness
    await harness.close()


async def get(service: ServiceHarness, path: str, headers: dict[str, str]) -> httpx.Response:
    async with service.api(KEYS) as client:
        return await client.get(path, headers=headers)


async def case_id_of(service: ServiceHarness, invoice_id: str) -> str:
    response = await get(service, "/v1/cases", ACME)
    cases: list[dict[str, str]] = response.json()["items"]
    return next(c["case_id"] for c in cases if c["invoice_id"] == invoice_id)


async def test_cases_are_listed_by_status(service: ServiceHarness) -> None:
    open_cases = (await get(service, "/v1/cases?status=open", ACME)).json()
    closed_cases = (await get(service, "/v1/cases?status=closed", ACME)).json()

    assert [c["invoice_id"] for c in open_cases["items"]] == ["INV-1", "INV-3"]
    [paid] = closed_cases["items"]
    assert (paid["invoice_id"], paid["close_reason"]) == ("INV-2", "paid")
    assert open_cases["next_cursor"] is None


async def test_cases_are_paged_with_a_cursor(service: ServiceHarness) -> None:
    first = (await get(service, "/v1/cases?limit=2", ACME)).json()
    rest = (await get(service, f"/v1/cases?limit=2&cursor={first['next_cursor']}", ACME)).json()

    assert [c["invoice_id"] for c in first["items"]] == ["INV-1", "INV-2"]
    assert [c["invoice_id"] for c in rest["items"]] == ["INV-3"]
    assert rest["next_cursor"] is None


async def test_a_forged_cursor_gets_a_problem_document(service: ServiceHarness) -> None:
    response = await get(service, "/v1/cases?cursor=bm90LWEtY3Vyc29y", ACME)

    assert response.status_code == 400
    assert response.json()["type"].endswith("/invalid-cursor")


async def test_a_case_shows_its_policy_steps_and_reminders_with_delivery(
    service: ServiceHarness,
) -> None:
    case_id = await case_id_of(service, "INV-1")
    body = (await get(service, f"/v1/cases/{case_id}", ACME)).json()

    assert body["case"]["status"] == "open"
    assert body["policy"]["name"] == "standard"
    assert [s["offset_days"] for s in body["policy"]["steps"]] == [1, 8, 15]
    assert [(s["step"], s["state"]) for s in body["steps"]] == [
        (1, "fired"),
        (2, "pending"),
        (3, "planned"),
    ]
    assert body["steps"][1]["planned_at"] == "2026-11-24T08:00:00Z"
    [action] = body["actions"]
    assert (action["step"], action["channel"], action["template"]) == (
        1,
        "email",
        "friendly-reminder",
    )
    assert action["amount_due"] == {"amount_minor": 10000, "currency": "EUR"}
    assert action["delivery"]["status"] == "delivered"


async def test_a_paid_case_shows_its_steps_cancelled(service: ServiceHarness) -> None:
    case_id = await case_id_of(service, "INV-2")
    body = (await get(service, f"/v1/cases/{case_id}", ACME)).json()

    assert body["case"]["close_reason"] == "paid"
    assert {s["state"] for s in body["steps"]} == {"cancelled"}
    assert body["actions"] == []


async def test_a_case_shows_the_invoice_revision_and_credits_behind_its_open_amount(
    service: ServiceHarness,
) -> None:
    amendment = invoice(3).model_dump() | {
        "amount": Money.of(35000, "EUR"),
        "revision": 2,
        "changes": ["amount"],
    }
    credit = CreditNoteIssued(
        tenant="acme-nl",
        customer_id="C-1",
        credit_note_id="CN-1",
        credit_note_number="CN-1",
        invoice_id="INV-3",
        issue_date=date(2026, 11, 10),
        amount=Money.of(5000, "EUR"),
        received_at=NOW,
    )
    await receive(service, InvoiceAmended.model_validate(amendment), credit)
    case_id = await case_id_of(service, "INV-3")

    case = (await get(service, f"/v1/cases/{case_id}", ACME)).json()["case"]

    assert case["invoice_revision"] == 2
    assert case["amount"] == {"amount_minor": 35000, "currency": "EUR"}
    assert case["credited"] == {"amount_minor": 5000, "currency": "EUR"}
    assert case["open_amount"] == {"amount_minor": 30000, "currency": "EUR"}


async def test_another_tenant_cannot_see_a_case(service: ServiceHarness) -> None:
    case_id = await case_id_of(service, "INV-1")

    response = await get(service, f"/v1/cases/{case_id}", OTHER)
    listing = (await get(service, "/v1/cases", OTHER)).json()

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert listing["items"] == []


@pytest.mark.parametrize("case_id", ["0b6f9a55-6c53-4f0e-a3e2-4f1b6f7f2a10", "not-a-uuid"])
async def test_an_unknown_case_is_not_found(service: ServiceHarness, case_id: str) -> None:
    response = await get(service, f"/v1/cases/{case_id}", ACME)

    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")


async def test_the_policies_in_force_are_listed(service: ServiceHarness) -> None:
    body = (await get(service, "/v1/policies", ACME)).json()

    assert body["default_policy"] == "standard"
    assert body["send_hour"] == 9
    assert body["business_days"] == "Monday to Friday"
    assert {p["name"] for p in body["policies"]} == {
        "strategic",
        "reliable",
        "standard",
        "late_payer",
        "high_risk",
    }


async def test_a_request_without_a_key_is_refused(service: ServiceHarness) -> None:
    response = await get(service, "/v1/cases", {})

    assert response.status_code == 401
    assert response.json()["type"].endswith("/unauthenticated")
