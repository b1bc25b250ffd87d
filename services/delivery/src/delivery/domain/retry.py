"""What happens after a send attempt fails: try again later, or stop and say so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from delivery.domain.messages import FailureKind

FIRST_RETRY_DELAY = timedelta(seconds=30)
LONGEST_RETRY_DELAY = timedelta(hours=1)


@dataclass(frozen=True)
class RetryLater:
    at: datetime


@dataclass(frozen=True)
class GiveUp:
    status: Literal["failed", "unknown"]
    detail: str


def failure_kind_of_reply(code: int) -> FailureKind:
    """An SMTP reply code: 4xx asks to try again later, anything else refuses the message."""
    return "transient" if 400 <= code < 500 else "permanent"


def backoff(attempt: int) -> timedelta:
    """30 s after the first attempt, doubling after each next one, never more than an hour."""
    doublings = min(max(attempt - 1, 0), 16)  # 30 s * 2**16 is far past the cap already
    return min(FIRST_RETRY_DELAY * (1 << doublings), LONGEST_RETRY_DELAY)


def after_failure(
    kind: FailureKind, detail: str, attempt: int, max_attempts: int, now: datetime
) -> RetryLater | GiveUp:
    if kind == "ambiguous":
        # The provider may have accepted it: never sending twice beats completeness.
        return GiveUp("unknown", detail)
    if kind == "permanent":
        return GiveUp("failed", detail)
    if attempt >= max_attempts:
        return GiveUp("failed", f"gave up after {attempt} attempts; last: {detail}")
    return RetryLater(now + backoff(attempt))
