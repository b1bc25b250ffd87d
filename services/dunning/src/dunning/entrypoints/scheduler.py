"""The scheduler: claims due timers and fires them. Any number of replicas may run it.

Each tick claims one batch of due timers, with their cases, in one transaction (FOR UPDATE SKIP
LOCKED, so replicas share the work instead of repeating it). Each timer then fires inside its own
savepoint: its reminder, outbox event and next timer commit together with the batch, or, if that
timer fails, not at all: the failure is counted on the timer, which is retried after a backoff
while the others go on.
"""

from __future__ import annotations

import logging

from dunning.adapters.repository import DueTimer, DunningRepository
from dunning.handlers import DunningHandlers
from settle_shared.clock import sleep_or_clock_move
from settle_shared.db import Database, Transaction
from settle_shared.health import Heartbeat
from settle_shared.runtime import BackgroundLoop

log = logging.getLogger(__name__)


class TimerScheduler:
    def __init__(
        self,
        db: Database,
        handlers: DunningHandlers,
        *,
        batch_size: int,
        tick_seconds: float,
    ) -> None:
        self._db = db
        self._handlers = handlers
        self._batch_size = batch_size
        self._tick_seconds = tick_seconds

    async def tick(self) -> int:
        """Fire the timers due now, one batch at most; returns how many were claimed."""
        async with self._db.transaction() as tx:
            repository = DunningRepository(tx.connection)
            timers = await repository.claim_due_timers(tx.clock.now(), self._batch_size)
            for timer in timers:
                await self._fire(tx, repository, timer)
        return len(timers)

    async def _fire(self, tx: Transaction, repository: DunningRepository, timer: DueTimer) -> None:
        try:
            async with tx.connection.transaction():
                await self._handlers.fire_timer(tx, timer)
        except Exception as error:
            log.exception(
                "timer failed; it will be retried",
                extra={"case_id": str(timer.case_id), "step": timer.step},
            )
            await repository.record_timer_failure(timer.timer_id, repr(error), tx.clock.now())

    async def run(self, heartbeat: Heartbeat) -> None:
        while True:
            try:
                claimed = await self.tick()
            except Exception:
                # No beat: a scheduler that keeps failing turns the service unready.
                log.exception("scheduler tick failed")
                claimed = 0
            else:
                heartbeat.beat()
            if claimed < self._batch_size:
                await sleep_or_clock_move(self._db.clock, self._tick_seconds)

    def loop(self) -> BackgroundLoop:
        return BackgroundLoop(
            name="dunning scheduler",
            role="scheduler",
            run=self.run,
            max_silence_seconds=max(60.0, 4 * self._tick_seconds),
        )
