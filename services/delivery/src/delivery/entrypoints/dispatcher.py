"""The dispatcher loop: sends queued messages whose attempt is due, one at a time.

Per message: claim it and mark it `sending` under a lease, COMMIT, send, then record the outcome and
its status event in one transaction. The commit before sending is what makes a crash visible: a
message found still `sending` after its lease is `unknown`, never sent again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from delivery import handlers
from delivery.adapters.channels import ChannelSender, ChannelSenders
from delivery.adapters.repository import StoredMessage
from delivery.domain.messages import OutgoingMessage, SendFailed, SendReceipt
from settle_shared.clock import sleep_or_clock_move
from settle_shared.consumer import TRANSIENT_ERRORS
from settle_shared.db import Database, Transaction
from settle_shared.health import Heartbeat

SEND_ATTEMPTS = Counter(
    "settle_delivery_send_attempts_total",
    "Attempts to hand a message to its provider, by channel and outcome",
    ["channel", "outcome"],
)


@dataclass(frozen=True)
class DispatchPolicy:
    tick_seconds: float
    max_attempts: int
    sending_lease: timedelta
    batch_size: int = 20


@dataclass(frozen=True)
class TickReport:
    dispatched: int
    expired: int


class Dispatcher:
    def __init__(self, db: Database, senders: ChannelSenders, policy: DispatchPolicy) -> None:
        self._db = db
        self._senders = senders
        self._policy = policy

    async def run(self, heartbeat: Heartbeat) -> None:
        while True:
            report = await self.tick(on_progress=heartbeat.beat)
            if report.dispatched < self._policy.batch_size:
                await sleep_or_clock_move(self._db.clock, self._policy.tick_seconds)

    async def tick(self, on_progress: Callable[[], None] = lambda: None) -> TickReport:
        """Expire stale leases, then send up to `batch_size` due messages, reporting progress
        after each."""
        async with self._db.transaction() as tx:
            expired = await handlers.expire_leases(
                tx, lambda channel: self._senders.for_channel(channel).provider
            )
        on_progress()
        dispatched = 0
        while dispatched < self._policy.batch_size and await self._dispatch_next():
            dispatched += 1
            on_progress()
        return TickReport(dispatched, expired)

    async def _dispatch_next(self) -> bool:
        async with self._db.transaction() as tx:
            message = await handlers.claim_next(tx, self._policy.sending_lease)
        if message is None:
            return False
        # Committed: from here on a crash leaves the message `sending` until its lease expires.
        sender = self._senders.for_channel(message.channel)
        outcome = await _send(sender, message)
        if isinstance(outcome, SendFailed):
            SEND_ATTEMPTS.labels(message.channel, outcome.kind).inc()
            await self._record(
                lambda tx: handlers.record_failure(
                    tx, message, sender.provider, outcome, self._policy.max_attempts
                )
            )
        else:
            SEND_ATTEMPTS.labels(message.channel, "sent").inc()
            await self._record(
                lambda tx: handlers.record_receipt(tx, message, sender.provider, outcome)
            )
        return True

    async def _record(self, record: Callable[[Transaction], Awaitable[None]]) -> None:
        """Record an outcome, riding out a brief database outage: the send cannot be undone,
        and an outcome lost here would leave the message `unknown`."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            stop=stop_after_attempt(6),
            wait=wait_exponential(multiplier=0.5, max=10),
            reraise=True,
        ):
            with attempt:
                async with self._db.transaction() as tx:
                    await record(tx)


async def _send(sender: ChannelSender, message: StoredMessage) -> SendReceipt | SendFailed:
    try:
        return await sender.send(outgoing(message))
    except SendFailed as failure:
        return failure


def outgoing(message: StoredMessage) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=str(message.message_id),
        tenant=message.tenant,
        action_id=message.action_id,
        case_id=message.case_id,
        channel=message.channel,
        recipient=message.recipient,
        language=message.language,
        subject=message.subject,
        text=message.text,
        html=message.html,
        attempt=message.attempts,
        attempted_at=message.updated_at,
    )
