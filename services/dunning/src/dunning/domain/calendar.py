"""The business calendar: reminders go out at the send hour, local time, on business days.

Which days are business days is a `BusinessDays` rule: weekends off today; a country's holiday
calendar plugs in as another implementation of the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

_SEARCH_LIMIT_DAYS = 366


class BusinessDays(Protocol):
    def is_business_day(self, day: date) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class WeekendsOff:
    """Monday to Friday are business days."""

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5

    def describe(self) -> str:
        return "Monday to Friday"


@dataclass(frozen=True)
class SendCalendar:
    """When reminders may go out for one debtor: `send_hour` o'clock in its zone, business days."""

    zone: ZoneInfo
    send_hour: int
    business_days: BusinessDays

    def business_day_from(self, day: date) -> date:
        """`day` itself if it is a business day, else the next one."""
        for shift in range(_SEARCH_LIMIT_DAYS):
            candidate = day + timedelta(days=shift)
            if self.business_days.is_business_day(candidate):
                return candidate
        raise ValueError(f"no business day within a year of {day}")

    def slot_on(self, day: date) -> datetime:
        """The send time on `day`, moved forward to the next business day when needed, in UTC."""
        local = datetime.combine(self.business_day_from(day), time(self.send_hour), self.zone)
        return local.astimezone(UTC)

    def first_slot_from(self, instant: datetime) -> datetime:
        """The earliest send time at or after `instant`."""
        today = instant.astimezone(self.zone).date()
        slot = self.slot_on(today)
        return slot if slot >= instant else self.slot_on(today + timedelta(days=1))

    def first_slot_after(self, instant: datetime) -> datetime:
        """The earliest send time strictly after `instant`."""
        return self.first_slot_from(instant + timedelta(microseconds=1))

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()


@dataclass(frozen=True)
class SendingRules:
    """The service-wide sending rules; each debtor gets a calendar in its own time zone."""

    send_hour: int = 9
    business_days: BusinessDays = field(default_factory=WeekendsOff)

    def calendar(self, time_zone: str | None) -> SendCalendar:
        """The debtor's calendar; UTC while its time zone is not known."""
        return SendCalendar(ZoneInfo(time_zone or "UTC"), self.send_hour, self.business_days)
