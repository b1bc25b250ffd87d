"""A customer's profile: master data, the bureau's assessment and the credit limit in force."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from enrichment.domain.credit import same_assessment
from settle_shared.events.common import CustomerMaster
from settle_shared.events.enrichment import CreditAssessment
from settle_shared.money import Money

LimitSource = Literal["manual", "bureau"]


class InvalidCreditLimit(ValueError):
    pass


@dataclass(frozen=True)
class CustomerProfile:
    tenant: str
    customer_id: str
    master: CustomerMaster
    master_revision: int
    credit: CreditAssessment
    manual_limit: Money | None = None
    revision: int = 0
    enriched_at: datetime | None = None

    @property
    def credit_limit(self) -> Money | None:
        """A manual limit wins; else the bureau's recommendation, if it made one."""
        if self.manual_limit is not None:
            return self.manual_limit
        return self.credit.recommended_limit

    @property
    def credit_limit_source(self) -> LimitSource | None:
        if self.manual_limit is not None:
            return "manual"
        if self.credit.recommended_limit is not None:
            return "bureau"
        return None

    def is_stale(self, master_revision: int) -> bool:
        """True for master data no newer than what the profile already holds."""
        return master_revision <= self.master_revision

    def tells_the_same_as(self, other: CustomerProfile) -> bool:
        """True when announcing this profile would tell subscribers nothing new."""
        return (
            self.master == other.master
            and same_assessment(self.credit, other.credit)
            and self.credit_limit == other.credit_limit
        )

    def announced(self, at: datetime) -> CustomerProfile:
        """The profile as its next announcement carries it."""
        return replace(self, revision=self.revision + 1, enriched_at=at)


def check_manual_limit(limit: Money) -> None:
    if limit.amount_minor < 0:
        raise InvalidCreditLimit("a credit limit cannot be negative")
