from datetime import UTC, datetime, timedelta

import pytest

from delivery.domain.retry import GiveUp, RetryLater, after_failure, backoff, failure_kind_of_reply

NOW = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def test_the_wait_doubles_after_each_attempt_up_to_an_hour() -> None:
    waits = [backoff(attempt) for attempt in range(1, 10)]

    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-1] == timedelta(hours=1)
    assert waits == sorted(waits)


def test_a_transient_failure_is_retried_after_the_backoff() -> None:
    decision = after_failure("transient", "451 try later", attempt=2, max_attempts=5, now=NOW)

    assert decision == RetryLater(NOW + timedelta(seconds=60))


def test_a_transient_failure_on_the_last_attempt_gives_up_as_failed() -> None:
    decision = after_failure("transient", "451 try later", attempt=5, max_attempts=5, now=NOW)

    assert isinstance(decision, GiveUp)
    assert decision.status == "failed"
    assert decision.detail == "gave up after 5 attempts; last: 451 try later"


def test_a_permanent_failure_is_never_retried() -> None:
    decision = after_failure("permanent", "550 user unknown", attempt=1, max_attempts=5, now=NOW)

    assert decision == GiveUp("failed", "550 user unknown")


def test_an_ambiguous_failure_is_never_retried_and_stays_unknown() -> None:
    decision = after_failure("ambiguous", "connection lost", attempt=1, max_attempts=5, now=NOW)

    assert decision == GiveUp("unknown", "connection lost")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (421, "transient"),
        (451, "transient"),
        (452, "transient"),
        (535, "permanent"),
        (550, "permanent"),
        (554, "permanent"),
    ],
)
def test_4xx_replies_are_transient_and_5xx_replies_permanent(code: int, kind: str) -> None:
    assert failure_kind_of_reply(code) == kind
