"""Use cases: record each requested reminder, rendered, once; then claim, settle and expire sends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

from delivery.adapters.repository import DeliveryRepository, NewMessage, Settlement, StoredMessage
from delivery.domain.messages import MessageStatus, SendFailed, SendReceipt
from delivery.domain.rendering import ReminderValues, TemplateRenderer, UnknownTemplate
from delivery.domain.retry import GiveUp, after_failure
from settle_shared.consumer import Received
from settle_shared.db import Transaction
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.common import Channel
from settle_shared.events.delivery import DeliveryStatus, DeliveryStatusChanged
from settle_shared.events.dunning import CaseClosed, ReminderRequested

# The statuses other services hear about; `queued` again (a retry) is not news.
_ANNOUNCED: dict[MessageStatus, DeliveryStatus] = {
    "sent": "sent",
    "failed": "failed",
    "unknown": "unknown",
}


async def reminder_requested(
    renderer: TemplateRenderer, tx: Transaction, received: Received[ReminderRequested]
) -> None:
    """Render the reminder and queue it; a second request for the same action changes nothing.
    If its case closed already (the closure overtook the request), it is cancelled at once."""
    event = received.payload
    try:
        rendered = renderer.render(event.template, event.language, reminder_values(event))
    except UnknownTemplate as error:
        raise InvalidMessage(str(error), [Problem("/template", str(error))]) from error
    repository = DeliveryRepository(tx.connection)
    await repository.add(
        NewMessage(
            message_id=uuid4(),
            tenant=event.tenant,
            customer_id=event.customer_id,
            action_id=event.action_id,
            case_id=event.case_id,
            invoice_id=event.invoice_id,
            channel=event.channel,
            template=event.template,
            requested_language=event.language,
            language=rendered.language,
            recipient=event.recipient,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            requested_at=event.requested_at,
        ),
        tx.clock.now(),
    )
    await _cancel_if_case_closed(tx, repository, event.tenant, event.case_id)


async def case_closed(tx: Transaction, received: Received[CaseClosed]) -> None:
    """Nothing more goes out for a closed case: its queued messages are cancelled."""
    event = received.payload
    repository = DeliveryRepository(tx.connection)
    await repository.record_case_closed(event.tenant, event.case_id, event.reason, event.closed_at)
    await _cancel_if_case_closed(tx, repository, event.tenant, event.case_id)


async def _cancel_if_case_closed(
    tx: Transaction, repository: DeliveryRepository, tenant: str, case_id: str
) -> None:
    for message in await repository.cancel_queued_of_closed_case(tenant, case_id, tx.clock.now()):
        provider = message.provider or "none"
        await tx.publish(status_changed(message, "cancelled", provider, None, message.detail))


def reminder_values(event: ReminderRequested) -> ReminderValues:
    return ReminderValues(
        customer_name=event.customer_name,
        recipient_name=event.recipient.name,
        invoice_number=event.invoice_number,
        amount_due=event.amount_due,
        due_date=event.due_date,
        payment_reference=event.payment_reference,
    )


async def claim_next(tx: Transaction, lease: timedelta) -> StoredMessage | None:
    now = tx.clock.now()
    return await DeliveryRepository(tx.connection).claim_next_due(now, now + lease)


async def record_receipt(
    tx: Transaction, message: StoredMessage, provider: str, receipt: SendReceipt
) -> None:
    settlement = Settlement(
        status="sent",
        outcome="sent",
        provider=provider,
        detail=receipt.detail,
        provider_message_id=receipt.provider_message_id,
    )
    await _settle(tx, message, settlement)


async def record_failure(
    tx: Transaction, message: StoredMessage, provider: str, failure: SendFailed, max_attempts: int
) -> None:
    now = tx.clock.now()
    decision = after_failure(failure.kind, failure.detail, message.attempts, max_attempts, now)
    if isinstance(decision, GiveUp):
        settlement = Settlement(decision.status, failure.kind, provider, decision.detail)
    else:
        settlement = Settlement("queued", failure.kind, provider, failure.detail, decision.at)
    await _settle(tx, message, settlement)


async def expire_leases(
    tx: Transaction, provider_of: Callable[[Channel], str], limit: int = 100
) -> int:
    """A message still `sending` after its lease was being sent by a process that died: it may
    or may not have gone out, so it becomes `unknown` and is NEVER sent again automatically.
    Never sending a reminder twice beats sending every reminder."""
    now = tx.clock.now()
    expired = await DeliveryRepository(tx.connection).expire_leases(now, limit)
    for message in expired:
        await tx.publish(
            status_changed(message, "unknown", provider_of(message.channel), None, message.detail)
        )
    return len(expired)


async def _settle(tx: Transaction, message: StoredMessage, settlement: Settlement) -> None:
    settled = await DeliveryRepository(tx.connection).settle_attempt(
        message, settlement, tx.clock.now()
    )
    announced = _ANNOUNCED.get(settled.status) if settled else None
    if settled is None or announced is None:
        return
    await tx.publish(
        status_changed(
            settled,
            announced,
            settlement.provider,
            settled.provider_message_id,
            settlement.detail,
        )
    )


def status_changed(
    message: StoredMessage,
    status: DeliveryStatus,
    provider: str,
    provider_message_id: str | None,
    detail: str | None,
) -> DeliveryStatusChanged:
    return DeliveryStatusChanged(
        tenant=message.tenant,
        customer_id=message.customer_id,
        message_id=str(message.message_id),
        action_id=message.action_id,
        case_id=message.case_id,
        channel=message.channel,
        status=status,
        provider=provider,
        provider_message_id=provider_message_id,
        detail=detail,
        occurred_at=message.updated_at,
    )
