"""What a credit bureau said about a company, how long that stays good, and what to believe when
the bureau cannot be reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from settle_shared.events.common import CustomerMaster
from settle_shared.events.enrichment import CreditAssessment
from settle_shared.money import Money

NOT_REQUESTED = CreditAssessment(status="not_requested")


@dataclass(frozen=True)
class Company:
    """How a bureau knows a company: the country of its registry and its number there."""

    country: str
    registration_number: str

    @classmethod
    def of(cls, master: CustomerMaster) -> Company | None:
        """The company to look up, or None when the ERP gave no registration number."""
        number = (master.registration_number or "").strip()
        return cls(master.country, number) if number else None


@dataclass(frozen=True)
class BureauReport:
    score: int
    rating: str
    payment_days_average: int
    recommended_limit: Money


@dataclass(frozen=True)
class Found:
    report: BureauReport


@dataclass(frozen=True)
class NotFound:
    pass


@dataclass(frozen=True)
class Unavailable:
    reason: str


BureauAnswer = Found | NotFound | Unavailable


def assessment_of(
    answer: BureauAnswer, bureau: str, fetched_at: datetime, last_known: CreditAssessment | None
) -> CreditAssessment:
    """The bureau's answer as an assessment. When the bureau could not be reached, the last answer
    we have for the company, however old, says more than 'unavailable'."""
    match answer:
        case Found(report):
            return CreditAssessment(
                status="found",
                bureau=bureau,
                score=report.score,
                rating=report.rating,
                payment_days_average=report.payment_days_average,
                recommended_limit=report.recommended_limit,
                fetched_at=fetched_at,
            )
        case NotFound():
            return CreditAssessment(status="not_found", bureau=bureau, fetched_at=fetched_at)
        case Unavailable():
            return last_known or CreditAssessment(status="unavailable", bureau=bureau)


def is_fresh(cached: CreditAssessment, now: datetime, max_age: timedelta) -> bool:
    return cached.fetched_at is not None and now - cached.fetched_at < max_age


def same_assessment(first: CreditAssessment, second: CreditAssessment) -> bool:
    """Equal in everything a subscriber acts on; when each was fetched does not count."""
    return first.model_copy(update={"fetched_at": None}) == second.model_copy(
        update={"fetched_at": None}
    )
