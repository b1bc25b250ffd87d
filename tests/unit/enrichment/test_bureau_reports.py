from datetime import date

import pytest

from settle_simulators.bureau import company_report, rating_for

TODAY = date(2026, 11, 2)


def test_the_same_company_always_gets_the_same_report() -> None:
    assert company_report("NL", "12345678", TODAY) == company_report("NL", "12345678", TODAY)
    assert company_report("NL", "12345678", TODAY) != company_report("BE", "12345678", TODAY)


def test_registration_numbers_ending_in_0000_are_unknown() -> None:
    assert company_report("NL", "12340000", TODAY) is None


@pytest.mark.parametrize(
    ("country", "currency"), [("NL", "EUR"), ("GB", "GBP"), ("JP", "JPY"), ("XX", "EUR")]
)
def test_the_recommended_limit_is_in_the_country_currency(country: str, currency: str) -> None:
    report = company_report(country, "12345678", TODAY)

    assert report is not None
    assert report.recommended_limit.currency == currency
    assert report.recommended_limit.amount_minor >= 0


@pytest.mark.parametrize(
    ("score", "rating"),
    [(100, "A"), (75, "A"), (74, "B"), (50, "B"), (49, "C"), (25, "C"), (0, "D")],
)
def test_the_rating_follows_the_score(score: int, rating: str) -> None:
    assert rating_for(score) == rating


def test_scores_and_limits_stay_in_range_across_many_companies() -> None:
    reports = [company_report("DE", f"HRB {n}", TODAY) for n in range(1, 300)]

    assert all(r is not None and 0 <= r.score <= 100 for r in reports)
    assert len({r.score for r in reports if r is not None}) > 50
