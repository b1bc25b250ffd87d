"""The `Idempotency-Key` request header (IETF httpapi draft "The Idempotency-Key HTTP Header
Field"): a client retrying a request after a timeout sends the same key and gets the first
response again instead of a second effect.

- Keys are scoped to the caller's tenant and kept for `INGESTION_IDEMPOTENCY_KEY_HOURS` (24 by
  default) after first use; after that the key is forgotten and may be used again.
- The same key with the same request (method, path and JSON body, whatever its formatting and key
  order) replays the stored status and body, marked `Idempotent-Replayed: true`.
- The same key with another request is refused with 422 (the draft's "key reused" error).
- A request with the key still running holds it: the retry waits and then replays its response.
- Only successful responses are kept: a refused request (4xx) changed nothing, so its retry runs
  again and gets the same answer, or a better one once the cause is fixed.
The key, the effect and the stored response commit in one transaction: nothing is half done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse

from ingestion.adapters.idempotency import IdempotencyKeys, StoredReply
from ingestion.domain.fingerprint import fingerprint
from settle_shared.db import Database, Transaction
from settle_shared.errors import Problem
from settle_shared.problems import ProblemError, documented_problem

REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Makes a retry safe: the same key with the same request replays the first "
        "response (kept 24 hours by default, per tenant); with another request it is a 422",
    ),
]

IDEMPOTENCY_PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: documented_problem(
        "The request is not valid, or its Idempotency-Key was used for another request"
    ),
}


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: dict[str, Any]


async def respond_once(
    db: Database,
    tenant: str,
    key: str | None,
    request: Callable[[], dict[str, Any]],
    keep_for: timedelta,
    run: Callable[[Transaction], Awaitable[Reply]],
) -> JSONResponse:
    """Run the request in a transaction, or replay the reply its key already got. `request`
    describes what the key is bound to; it is only built when a key was given."""
    async with db.transaction() as tx:
        if key is None:
            reply = await run(tx)
            return JSONResponse(reply.body, reply.status_code)
        keys = IdempotencyKeys(tx.connection)
        await keys.lock(tenant, key)
        request_hash = fingerprint(request())
        stored = await keys.find(tenant, key, tx.clock.now())
        if stored is not None:
            return _replay(stored, request_hash)
        reply = await run(tx)
        await keys.remember(
            tenant,
            key,
            StoredReply(request_hash, reply.status_code, reply.body),
            tx.clock.now(),
            keep_for,
        )
        return JSONResponse(reply.body, reply.status_code)


def _replay(stored: StoredReply, request_hash: str) -> JSONResponse:
    if stored.request_hash != request_hash:
        raise ProblemError(
            422,
            "idempotency-key-reused",
            "Idempotency-Key already used for another request",
            "this Idempotency-Key was used for a request with another method, path or body; "
            "use a new key for a new request",
            [Problem("/headers/Idempotency-Key", "already used for another request")],
        )
    return JSONResponse(stored.body, stored.status_code, headers={REPLAYED_HEADER: "true"})
