from dataclasses import dataclass
from datetime import UTC, date, datetime

from dunning.domain.calendar import SendingRules
from dunning.domain.policies import POLICIES
from dunning.domain.schedule import TimerRecord, next_steps, overview, planned_at

RULES = SendingRules(send_hour=9)
AMSTERDAM = RULES.calendar("Europe/Amsterdam")
NEW_YORK = RULES.calendar("America/New_York")
STANDARD = POLICIES["standard"]
HIGH_RISK = POLICIES["high_risk"]
MONDAY_DUE = date(2026, 11, 16)
FRIDAY_DUE = date(2026, 11, 20)
LONG_BEFORE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_step_fires_at_the_send_hour_in_the_debtors_time_zone() -> None:
    friendly = STANDARD.steps[0]
    assert planned_at(friendly, MONDAY_DUE, AMSTERDAM) == utc(2026, 11, 17, 8, 0)
    assert planned_at(friendly, MONDAY_DUE, NEW_YORK) == utc(2026, 11, 17, 14, 0)


def test_the_send_hour_follows_daylight_saving_time() -> None:
    summer_due = date(2026, 7, 13)
    assert planned_at(STANDARD.steps[0], summer_due, AMSTERDAM) == utc(2026, 7, 14, 7, 0)


def test_a_debtor_without_a_known_time_zone_is_planned_in_utc() -> None:
    assert planned_at(STANDARD.steps[0], MONDAY_DUE, RULES.calendar(None)) == utc(
        2026, 11, 17, 9, 0
    )


def test_a_step_falling_on_a_weekend_moves_to_monday() -> None:
    saturday_step = STANDARD.steps[0]  # due Friday + 1 day
    assert planned_at(saturday_step, FRIDAY_DUE, AMSTERDAM) == utc(2026, 11, 23, 8, 0)


def test_a_pre_due_step_on_a_sunday_moves_to_monday() -> None:
    wednesday_due = date(2026, 11, 25)  # minus 3 days is Sunday the 22nd
    assert planned_at(HIGH_RISK.steps[0], wednesday_due, AMSTERDAM) == utc(2026, 11, 23, 8, 0)


@dataclass(frozen=True)
class WithHoliday:
    holiday: date

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day != self.holiday

    def describe(self) -> str:
        return "weekdays except one holiday"


def test_a_holiday_calendar_plugs_in_and_moves_steps_off_holidays() -> None:
    rules = SendingRules(send_hour=9, business_days=WithHoliday(date(2026, 11, 17)))
    calendar = rules.calendar("Europe/Amsterdam")
    assert planned_at(STANDARD.steps[0], MONDAY_DUE, calendar) == utc(2026, 11, 18, 8, 0)


def test_the_first_timer_of_a_new_case_is_its_first_step() -> None:
    plan = next_steps(STANDARD, 1, MONDAY_DUE, AMSTERDAM, LONG_BEFORE, None)
    assert plan.skipped == ()
    assert plan.timer is not None
    assert (plan.timer.step, plan.timer.due_at) == (1, utc(2026, 11, 17, 8, 0))


def test_an_overdue_step_fires_at_the_next_send_time_not_in_the_past() -> None:
    tuesday_afternoon = utc(2026, 11, 24, 14, 0)
    plan = next_steps(STANDARD, 1, MONDAY_DUE, AMSTERDAM, tuesday_afternoon, None)
    assert plan.timer is not None
    assert plan.timer.due_at == utc(2026, 11, 25, 8, 0)


def test_a_case_gets_at_most_one_reminder_per_send_time() -> None:
    reminded = utc(2026, 12, 1, 8, 0)  # step 1 went out late; step 2 is overdue too
    plan = next_steps(STANDARD, 2, MONDAY_DUE, AMSTERDAM, reminded, reminded)
    assert plan.timer is not None
    assert (plan.timer.step, plan.timer.due_at) == (2, utc(2026, 12, 2, 8, 0))


def test_a_pre_due_step_that_can_only_go_out_after_the_due_date_is_skipped() -> None:
    after_due = utc(2026, 11, 17, 10, 0)
    plan = next_steps(HIGH_RISK, 1, MONDAY_DUE, AMSTERDAM, after_due, None)
    [skipped] = plan.skipped
    assert skipped.step == 1
    assert "due date" in skipped.reason
    assert plan.timer is not None
    assert plan.timer.step == 2


def test_after_the_last_step_there_is_no_timer() -> None:
    plan = next_steps(STANDARD, 4, MONDAY_DUE, AMSTERDAM, LONG_BEFORE, None)
    assert plan.timer is None


def test_the_overview_shows_what_happened_and_what_is_planned() -> None:
    timers = [
        TimerRecord(
            1, "friendly-reminder", utc(2026, 11, 17, 8), "fired", None, utc(2026, 11, 17, 8)
        ),
        TimerRecord(2, "second-reminder", utc(2026, 11, 24, 8), "cancelled", "rescheduled", None),
        TimerRecord(2, "second-reminder", utc(2026, 11, 25, 8), "pending", None, None),
    ]
    steps = overview(STANDARD, MONDAY_DUE, AMSTERDAM, timers, None)
    assert [(s.step, s.state) for s in steps] == [(1, "fired"), (2, "pending"), (3, "planned")]
    assert steps[1].planned_at == utc(2026, 11, 25, 8)
    assert steps[2].planned_at == utc(2026, 12, 1, 8)


def test_the_overview_of_a_closed_case_shows_unplanned_steps_cancelled() -> None:
    steps = overview(STANDARD, MONDAY_DUE, AMSTERDAM, [], "case closed (paid)")
    assert {s.state for s in steps} == {"cancelled"}
    assert steps[0].reason == "case closed (paid)"


def test_a_due_date_moved_later_plans_the_pending_step_from_the_new_due_date() -> None:
    reminded = utc(2026, 11, 17, 8, 0)  # step 1 went out for the old due date
    later_due = date(2026, 11, 30)
    plan = next_steps(STANDARD, 2, later_due, AMSTERDAM, utc(2026, 11, 18, 10, 0), reminded)
    assert plan.timer is not None
    assert (plan.timer.step, plan.timer.due_at) == (2, utc(2026, 12, 8, 8, 0))


def test_a_due_date_moved_earlier_sends_the_overdue_steps_one_send_time_apart() -> None:
    earlier_due = date(2026, 11, 9)  # steps 1 and 2 (10th, 17th) are now in the past
    wednesday = utc(2026, 11, 18, 10, 0)
    first = next_steps(STANDARD, 1, earlier_due, AMSTERDAM, wednesday, None)
    assert first.timer is not None
    assert (first.timer.step, first.timer.due_at) == (1, utc(2026, 11, 19, 8, 0))
    second = next_steps(STANDARD, 2, earlier_due, AMSTERDAM, first.timer.due_at, first.timer.due_at)
    assert second.timer is not None
    assert (second.timer.step, second.timer.due_at) == (2, utc(2026, 11, 20, 8, 0))
