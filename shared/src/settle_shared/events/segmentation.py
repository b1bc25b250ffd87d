"""Segment decisions made by the segmentation service."""

from __future__ import annotations

from pydantic import AwareDatetime, ConfigDict, Field

from settle_shared.events.common import CustomerEvent
from settle_shared.events.topics import CUSTOMERS_SEGMENTED, REGISTRY


@REGISTRY.event("settle.customer.segmented", 1, CUSTOMERS_SEGMENTED)
class CustomerSegmented(CustomerEvent):
    """A customer was put in a segment (or confirmed in it), with the reasons why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "acme-nl",
                    "customer_id": "C-1001",
                    "segment": "reliable",
                    "previous_segment": None,
                    "rule": "bureau-score-v1",
                    "reasons": ["bureau score 72 is at least 60", "no late payments on record"],
                    "decided_at": "2026-11-02T09:15:04+00:00",
                    "revision": 1,
                }
            ]
        }
    )

    segment: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    previous_segment: str | None = None
    rule: str = Field(description="Identifier of the rule set that decided")
    reasons: list[str] = Field(min_length=1, description="Human-readable explanation, in order")
    decided_at: AwareDatetime
    revision: int = Field(ge=1)

    def subject(self) -> str:
        return self.customer_id
