"""What the HTTP routes reach through `request.app.state.service`, built by bootstrap()."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from ingestion.adapters.outbox import EventSink
from ingestion.adapters.tokens import TokenVerifier
from settle_shared.db import Database


@dataclass(frozen=True)
class Components:
    db: Database
    outbox: EventSink
    tokens: TokenVerifier | None
    idempotency_keys_kept_for: timedelta


async def _components(request: Request) -> Components:
    # A coroutine so that FastAPI does not hand it to a worker thread on every request.
    components: Components = request.app.state.service
    return components


Service = Annotated[Components, Depends(_components)]
