"""A payment made through a payment link, as its provider's webhook reports it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, cast

from payments import handlers
from payments.adapters.statements import StatementRepository, WebhookRepository
from payments.domain.matching import IncomingPayment, Matched, Tolerance
from settle_shared.db import Transaction
from settle_shared.events.payments import PaymentSource
from settle_shared.money import Money


@dataclass(frozen=True)
class ProviderPayment:
    provider: str
    event_id: str
    psp_payment_id: str
    amount: Money
    paid_at: datetime
    payer_name: str | None
    payer_account: str | None
    invoice_reference: str | None


_Status = Literal["matched", "unmatched", "already_received"]


@dataclass(frozen=True)
class WebhookOutcome:
    payment_id: str
    status: _Status


@dataclass(frozen=True)
class _PspArrival:
    payment: ProviderPayment
    source: PaymentSource = "psp"
    account: str | None = None
    statement_id: str | None = None

    @property
    def value_date(self) -> date | None:
        return self.payment.paid_at.date()

    @property
    def end_to_end_id(self) -> str | None:
        return self.payment.psp_payment_id

    @property
    def bank_reference(self) -> str | None:
        return self.payment.event_id


async def provider_payment(
    tx: Transaction, tenant: str, reported: ProviderPayment, tolerance: Tolerance
) -> WebhookOutcome:
    """Receive the payment once per provider event, and once per provider payment: the first
    delivery claims the event row (a concurrent redelivery waits on it, then answers the same)."""
    payment_id = f"psp-{reported.provider}-{reported.psp_payment_id}"
    webhooks = WebhookRepository(tx.connection)
    if not await webhooks.claim(
        tenant, reported.provider, reported.event_id, payment_id, tx.clock.now()
    ):
        first_payment_id, first_status = await webhooks.outcome(
            tenant, reported.provider, reported.event_id
        )
        return WebhookOutcome(first_payment_id, cast(_Status, first_status))
    if await StatementRepository(tx.connection).payment(tenant, payment_id) is not None:
        outcome = WebhookOutcome(payment_id, "already_received")
    else:
        decision = await handlers.receive(
            tx, tenant, _incoming(payment_id, reported), _PspArrival(reported), tolerance
        )
        matched = isinstance(decision, Matched)
        outcome = WebhookOutcome(payment_id, "matched" if matched else "unmatched")
    await webhooks.record_outcome(tenant, reported.provider, reported.event_id, outcome.status)
    return outcome


def _incoming(payment_id: str, reported: ProviderPayment) -> IncomingPayment:
    return IncomingPayment(
        payment_id=payment_id,
        amount=reported.amount,
        payer_name=reported.payer_name,
        payer_account=reported.payer_account,
        remittance=(reported.invoice_reference,) if reported.invoice_reference else (),
        references=(),
        booked_on=reported.paid_at.date(),
    )
