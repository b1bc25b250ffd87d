"""Time as an injected dependency.

Every component that reads the time takes a `Clock`. Production uses `SystemClock`; a service in test
mode uses `ShiftableClock`, which a test can move forward over HTTP (the Kill Bill test-clock model);
unit tests use `FixedClock`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ClockMovedBackwards(ValueError):
    pass


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        _require_aware(start)
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ClockMovedBackwards(f"cannot move a clock backwards by {delta}")
        self._now += delta
        return self._now


class ShiftableClock:
    """Real time plus an offset that only grows; waiters learn when the offset changes."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset = timedelta(0)
        self._moved = asyncio.Event()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ClockMovedBackwards(f"cannot move a clock backwards by {delta}")
        self._offset += delta
        self._wake_waiters()
        return self.now()

    def move_to(self, instant: datetime) -> datetime:
        _require_aware(instant)
        return self.advance(instant - self.now())

    async def wait_moved(self, seconds: float) -> None:
        """Sleep for `seconds` or until the clock is moved, whichever comes first."""
        try:
            await asyncio.wait_for(self._moved.wait(), seconds)
        except TimeoutError:
            return

    def _wake_waiters(self) -> None:
        self._moved.set()
        self._moved = asyncio.Event()


async def sleep_or_clock_move(clock: Clock, seconds: float) -> None:
    """Pause a polling loop; a test clock that moves ends the pause early."""
    if isinstance(clock, ShiftableClock):
        await clock.wait_moved(seconds)
    else:
        await asyncio.sleep(seconds)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None:
        raise ValueError(f"instant {instant.isoformat()} has no time zone")
