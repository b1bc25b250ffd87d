"""Forgets expired idempotency keys, so the table holds a day of keys, not all of them."""

from __future__ import annotations

import logging

from ingestion.adapters.idempotency import IdempotencyKeys
from settle_shared.clock import sleep_or_clock_move
from settle_shared.db import Database
from settle_shared.health import Heartbeat
from settle_shared.runtime import BackgroundLoop

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 600.0


def expired_keys_pruning(db: Database) -> BackgroundLoop:
    async def run(heartbeat: Heartbeat) -> None:
        while True:
            async with db.pool.acquire() as connection:
                pruned = await IdempotencyKeys(connection).prune(db.clock.now())
            if pruned:
                log.info("expired idempotency keys pruned", extra={"pruned": pruned})
            heartbeat.beat()
            await sleep_or_clock_move(db.clock, PRUNE_EVERY_SECONDS)

    return BackgroundLoop(
        "idempotency key expiry", "worker", run, max_silence_seconds=PRUNE_EVERY_SECONDS * 2
    )
