from datetime import UTC, datetime, timedelta

import pytest

from enrichment.domain.credit import (
    BureauReport,
    Company,
    Found,
    NotFound,
    Unavailable,
    assessment_of,
    is_fresh,
    same_assessment,
)
from settle_shared.events.common import CustomerMaster
from settle_shared.events.enrichment import CreditAssessment
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.money import Money

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
REPORT = BureauReport(
    score=72, rating="A", payment_days_average=4, recommended_limit=Money.of(2500000, "EUR")
)
LAST_KNOWN = CreditAssessment(
    status="found", bureau="bureau", score=40, fetched_at=NOW - timedelta(days=30)
)


def master(registration_number: str | None) -> CustomerMaster:
    return CustomerMaster.model_validate(
        {**CUSTOMER_EXAMPLE["master"], "registration_number": registration_number}
    )


def test_a_company_is_known_by_its_country_and_registration_number() -> None:
    assert Company.of(master(" 12345678 ")) == Company("NL", "12345678")


@pytest.mark.parametrize("number", [None, "", "   "])
def test_without_a_registration_number_there_is_no_company_to_look_up(
    number: str | None,
) -> None:
    assert Company.of(master(number)) is None


def test_a_found_report_becomes_an_assessment_with_its_limit_and_fetch_time() -> None:
    assessment = assessment_of(Found(REPORT), "bureau", NOW, None)

    assert assessment == CreditAssessment(
        status="found",
        bureau="bureau",
        score=72,
        rating="A",
        payment_days_average=4,
        recommended_limit=Money.of(2500000, "EUR"),
        fetched_at=NOW,
    )


def test_a_company_the_bureau_does_not_know_is_not_found_and_has_no_limit() -> None:
    assessment = assessment_of(NotFound(), "bureau", NOW, LAST_KNOWN)

    assert (assessment.status, assessment.recommended_limit) == ("not_found", None)
    assert assessment.fetched_at == NOW


def test_an_unreachable_bureau_without_an_earlier_answer_is_unavailable() -> None:
    assessment = assessment_of(Unavailable("timeout"), "bureau", NOW, None)

    assert (assessment.status, assessment.fetched_at) == ("unavailable", None)


def test_an_unreachable_bureau_keeps_the_last_known_answer_however_old() -> None:
    assert assessment_of(Unavailable("503"), "bureau", NOW, LAST_KNOWN) == LAST_KNOWN


@pytest.mark.parametrize(
    ("age", "fresh"),
    [(timedelta(0), True), (timedelta(hours=167, minutes=59), True), (timedelta(hours=168), False)],
)
def test_a_cached_answer_is_fresh_while_younger_than_the_cache_age(
    age: timedelta, fresh: bool
) -> None:
    cached = LAST_KNOWN.model_copy(update={"fetched_at": NOW - age})

    assert is_fresh(cached, NOW, timedelta(hours=168)) is fresh


def test_an_answer_never_fetched_is_never_fresh() -> None:
    assert not is_fresh(CreditAssessment(status="unavailable"), NOW, timedelta(hours=168))


def test_assessments_differing_only_in_fetch_time_are_the_same() -> None:
    refetched = LAST_KNOWN.model_copy(update={"fetched_at": NOW})

    assert same_assessment(LAST_KNOWN, refetched)
    assert not same_assessment(LAST_KNOWN, refetched.model_copy(update={"score": 41}))
