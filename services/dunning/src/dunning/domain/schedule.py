"""When each step of a case's policy fires.

A step is planned at the send time of (due date + offset) in the debtor's calendar. Steps fire one
after another: the next step's timer is created when the previous one fires, so a case has at most
one pending timer. Two rules keep a late or rescheduled case decent:
- a step whose planned time has passed fires at the next send time instead, never in the past;
- a case gets at most one reminder per send time: after a reminder, the next step waits for the
  following send time even if it is overdue.
A before-due step that could only go out on or after the due date is skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from dunning.domain.calendar import SendCalendar
from dunning.domain.policies import Policy, Step

TimerState = Literal["pending", "fired", "skipped", "cancelled"]
StepState = Literal["planned", "pending", "fired", "skipped", "cancelled"]


@dataclass(frozen=True)
class TimerPlan:
    step: int
    step_name: str
    due_at: datetime


@dataclass(frozen=True)
class SkippedStep:
    step: int
    step_name: str
    reason: str


@dataclass(frozen=True)
class NextSteps:
    """What to record for a case from a given step on: steps skipped, then the timer to set."""

    skipped: tuple[SkippedStep, ...]
    timer: TimerPlan | None


def planned_at(step: Step, due_date: date, calendar: SendCalendar) -> datetime:
    return calendar.slot_on(due_date + timedelta(days=step.offset_days))


def next_steps(
    policy: Policy,
    from_step: int,
    due_date: date,
    calendar: SendCalendar,
    now: datetime,
    last_reminder_at: datetime | None,
) -> NextSteps:
    """The timer for step `from_step` (or a later one, when steps must be skipped)."""
    not_before = calendar.first_slot_from(now)
    if last_reminder_at is not None:
        not_before = max(not_before, calendar.first_slot_after(last_reminder_at))
    skipped: list[SkippedStep] = []
    for number in range(from_step, len(policy.steps) + 1):
        step = policy.steps[number - 1]
        due_at = max(planned_at(step, due_date, calendar), not_before)
        if step.before_due and calendar.local_date(due_at) >= due_date:
            reason = f"{step.name} is a before-due step and the due date {due_date} has come"
            skipped.append(SkippedStep(number, step.name, reason))
            continue
        return NextSteps(tuple(skipped), TimerPlan(number, step.name, due_at))
    return NextSteps(tuple(skipped), None)


@dataclass(frozen=True)
class TimerRecord:
    """A timer as stored: one per step scheduled, fired, skipped or cancelled."""

    step: int
    step_name: str
    due_at: datetime
    state: TimerState
    reason: str | None
    fired_at: datetime | None


@dataclass(frozen=True)
class StepOverview:
    step: int
    name: str
    planned_at: datetime | None
    state: StepState
    reason: str | None
    fired_at: datetime | None


def overview(
    policy: Policy,
    due_date: date,
    calendar: SendCalendar,
    timers: Sequence[TimerRecord],
    closed_because: str | None,
) -> list[StepOverview]:
    """Every step of a case: what happened to it, or when it is planned (closed: cancelled)."""
    by_step: dict[int, TimerRecord] = {}
    for timer in timers:
        current = by_step.get(timer.step)
        if current is None or current.state == "cancelled":
            by_step[timer.step] = timer
    numbers = sorted({*range(1, len(policy.steps) + 1), *by_step})
    return [
        _step_overview(number, policy, due_date, calendar, by_step, closed_because)
        for number in numbers
    ]


def _step_overview(
    number: int,
    policy: Policy,
    due_date: date,
    calendar: SendCalendar,
    by_step: dict[int, TimerRecord],
    closed_because: str | None,
) -> StepOverview:
    timer = by_step.get(number)
    if timer is not None:
        return StepOverview(
            number, timer.step_name, timer.due_at, timer.state, timer.reason, timer.fired_at
        )
    step = policy.steps[number - 1]
    if closed_because is not None:
        return StepOverview(number, step.name, None, "cancelled", closed_because, None)
    return StepOverview(
        number, step.name, planned_at(step, due_date, calendar), "planned", None, None
    )
