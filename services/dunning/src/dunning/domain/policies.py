"""Dunning policies: per customer segment, the ordered reminder steps relative to the due date.

Segments come from segmentation (strategic, reliable, standard, late_payer, high_risk). A customer
without a segment yet, or in a segment this service does not know, gets the standard policy.
Template names are the ones delivery renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from settle_shared.events.common import Channel

DEFAULT_POLICY = "standard"


@dataclass(frozen=True)
class Step:
    offset_days: int
    name: str
    template: str
    channel: Channel

    @property
    def before_due(self) -> bool:
        return self.offset_days < 0


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        offsets = [step.offset_days for step in self.steps]
        if not self.steps or offsets != sorted(set(offsets)):
            raise ValueError(f"policy {self.name} needs steps in strictly increasing offset order")

    def step(self, number: int) -> Step | None:
        """Step `number`, counted from 1, or None past the last step."""
        return self.steps[number - 1] if 1 <= number <= len(self.steps) else None


PRE_DUE = "pre-due-reminder"
FRIENDLY = "friendly-reminder"
SECOND = "second-reminder"
FINAL = "final-notice"

POLICIES: Mapping[str, Policy] = {
    policy.name: policy
    for policy in (
        Policy(
            "strategic",
            "Key accounts: one courteous reminder, late, so the relationship comes first.",
            (Step(7, "courtesy-reminder", FRIENDLY, "email"),),
        ),
        Policy(
            "reliable",
            "Customers who pay on time: a nudge a few days late, then a second reminder.",
            (Step(3, FRIENDLY, FRIENDLY, "email"), Step(14, SECOND, SECOND, "email")),
        ),
        Policy(
            "standard",
            "Friendly reminder the day after the due date, a second after a week, then a final notice.",
            (
                Step(1, FRIENDLY, FRIENDLY, "email"),
                Step(8, SECOND, SECOND, "email"),
                Step(15, FINAL, FINAL, "letter"),
            ),
        ),
        Policy(
            "late_payer",
            "Customers who habitually pay late: a faster rhythm, escalating to text and letter.",
            (
                Step(1, FRIENDLY, FRIENDLY, "email"),
                Step(5, SECOND, SECOND, "sms"),
                Step(10, FINAL, FINAL, "letter"),
            ),
        ),
        Policy(
            "high_risk",
            "High credit risk: a reminder before the due date, then a short escalation.",
            (
                Step(-3, PRE_DUE, PRE_DUE, "email"),
                Step(1, FRIENDLY, FRIENDLY, "email"),
                Step(5, SECOND, SECOND, "sms"),
                Step(10, FINAL, FINAL, "letter"),
            ),
        ),
    )
}


def policy_for(segment: str | None) -> Policy:
    """The policy of a segment; the standard policy without a segment or for an unknown one."""
    return POLICIES.get(segment or DEFAULT_POLICY, POLICIES[DEFAULT_POLICY])
