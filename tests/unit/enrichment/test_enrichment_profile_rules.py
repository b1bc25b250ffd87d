from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from enrichment.domain.profile import CustomerProfile, InvalidCreditLimit, check_manual_limit
from settle_shared.events.common import CustomerMaster
from settle_shared.events.enrichment import CreditAssessment
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.money import Money

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BUREAU_LIMIT = Money.of(2500000, "EUR")
FOUND = CreditAssessment(status="found", score=72, recommended_limit=BUREAU_LIMIT, fetched_at=NOW)


def profile(credit: CreditAssessment = FOUND, manual_limit: Money | None = None) -> CustomerProfile:
    return CustomerProfile(
        tenant="acme-nl",
        customer_id="C-1",
        master=CustomerMaster.model_validate(CUSTOMER_EXAMPLE["master"]),
        master_revision=3,
        credit=credit,
        manual_limit=manual_limit,
        revision=5,
        enriched_at=NOW,
    )


def test_a_manual_limit_wins_over_the_bureau() -> None:
    manual = profile(manual_limit=Money.of(100000, "EUR"))

    assert (manual.credit_limit, manual.credit_limit_source) == (Money.of(100000, "EUR"), "manual")


def test_without_a_manual_limit_the_bureau_recommendation_applies() -> None:
    assert (profile().credit_limit, profile().credit_limit_source) == (BUREAU_LIMIT, "bureau")


def test_without_either_there_is_no_limit() -> None:
    unassessed = profile(credit=CreditAssessment(status="not_requested"))

    assert (unassessed.credit_limit, unassessed.credit_limit_source) == (None, None)


@pytest.mark.parametrize(("revision", "stale"), [(2, True), (3, True), (4, False)])
def test_master_data_no_newer_than_the_stored_revision_is_stale(revision: int, stale: bool) -> None:
    assert profile().is_stale(revision) is stale


def test_a_refetched_but_identical_assessment_tells_subscribers_nothing_new() -> None:
    refetched = profile(credit=FOUND.model_copy(update={"fetched_at": NOW + timedelta(days=8)}))

    assert refetched.tells_the_same_as(profile())


@pytest.mark.parametrize(
    "changed",
    [
        profile(credit=FOUND.model_copy(update={"score": 30})),
        profile(manual_limit=Money.of(1, "EUR")),
        replace(
            profile(),
            master=CustomerMaster.model_validate(
                {**CUSTOMER_EXAMPLE["master"], "name": "Renamed B.V."}
            ),
        ),
    ],
    ids=["assessment", "limit", "master data"],
)
def test_a_changed_assessment_limit_or_master_data_is_news(changed: CustomerProfile) -> None:
    assert not changed.tells_the_same_as(profile())


def test_a_manual_limit_equal_to_the_bureau_limit_is_no_news() -> None:
    assert profile(manual_limit=BUREAU_LIMIT).tells_the_same_as(profile())


def test_each_announcement_carries_the_next_revision() -> None:
    later = NOW + timedelta(hours=1)

    announced = profile().announced(later)

    assert (announced.revision, announced.enriched_at) == (6, later)


def test_a_negative_manual_limit_is_refused() -> None:
    check_manual_limit(Money.of(0, "EUR"))
    with pytest.raises(InvalidCreditLimit):
        check_manual_limit(Money.of(-1, "EUR"))
