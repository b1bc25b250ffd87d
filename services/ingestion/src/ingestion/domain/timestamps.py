"""ERP timestamps that cannot be true."""

from __future__ import annotations

from datetime import datetime, timedelta

from settle_shared.errors import Problem

CLOCK_SKEW = timedelta(days=1)


def updated_at_problems(updated_at: datetime, now: datetime) -> list[Problem]:
    """A version stamped in the future would make every later, real change look stale."""
    if updated_at > now + CLOCK_SKEW:
        return [
            Problem(
                "/updated_at",
                f"updated_at {updated_at.isoformat()} is more than a day after now "
                f"({now.isoformat()}); a version from the future would hide every later change",
            )
        ]
    return []
