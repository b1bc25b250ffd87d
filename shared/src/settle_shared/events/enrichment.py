"""Customer profiles built by the enrichment service, and the credit alerts it raises."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from settle_shared.events.common import CustomerEvent, CustomerMaster
from settle_shared.events.erp import CUSTOMER_EXAMPLE
from settle_shared.events.topics import CREDIT_ALERTS, CUSTOMERS_ENRICHED, REGISTRY
from settle_shared.money import Money


class CreditAssessment(BaseModel):
    """What a credit bureau said about the customer, or why it said nothing."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: Literal["found", "not_found", "unavailable", "not_requested"]
    bureau: str | None = None
    score: int | None = Field(default=None, ge=0, le=100, description="0 = worst, 100 = best")
    rating: str | None = Field(default=None, examples=["A", "BB", "D"])
    payment_days_average: int | None = Field(
        default=None, description="Days beyond terms the company pays others, per the bureau"
    )
    recommended_limit: Money | None = None
    fetched_at: AwareDatetime | None = None


@REGISTRY.event("settle.customer.enriched", 1, CUSTOMERS_ENRICHED)
class CustomerEnriched(CustomerEvent):
    """A customer's profile changed: master data, bureau assessment or credit limit."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "master": CUSTOMER_EXAMPLE["master"],
                    "credit": {
                        "status": "found",
                        "bureau": "settle-bureau-sim",
                        "score": 72,
                        "rating": "A",
                        "payment_days_average": 4,
                        "recommended_limit": {"amount_minor": 2500000, "currency": "EUR"},
                        "fetched_at": "2026-11-02T09:15:03+00:00",
                    },
                    "credit_limit": {"amount_minor": 2500000, "currency": "EUR"},
                    "revision": 1,
                    "enriched_at": "2026-11-02T09:15:03+00:00",
                }
            ]
        }
    )

    master: CustomerMaster
    credit: CreditAssessment
    credit_limit: Money | None = Field(
        default=None, description="The limit in force: a manual limit, else the bureau's"
    )
    revision: int = Field(ge=1, description="Increases with every profile change")
    enriched_at: AwareDatetime

    def subject(self) -> str:
        return self.customer_id


@REGISTRY.event("settle.credit.limit-exceeded", 1, CREDIT_ALERTS)
class CreditLimitExceeded(CustomerEvent):
    """A customer's open exposure went above its credit limit."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "credit_limit": {"amount_minor": 2500000, "currency": "EUR"},
                    "exposure": {"amount_minor": 2712000, "currency": "EUR"},
                    "raised_at": "2026-11-12T10:00:00+00:00",
                }
            ]
        }
    )

    credit_limit: Money
    exposure: Money
    raised_at: AwareDatetime

    def subject(self) -> str:
        return self.customer_id
