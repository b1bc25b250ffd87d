"""The first segment rule set: payment history when there is enough of it, else the bureau.

Segments, gentlest first: strategic, reliable, standard, late_payer, high_risk. Dunning keys its
policies on these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from segmentation.domain.behaviour import PaymentBehaviour

RULE_SET = "behaviour-v1"
SEGMENTS = ("strategic", "reliable", "standard", "late_payer", "high_risk")
HISTORY_NEEDED = 3
RELIABLE_SCORE = 60
RISKY_SCORE = 30
RELIABLE_DAYS_LATE = 2.0
LATE_PAYER_DAYS_LATE = 15.0


@dataclass(frozen=True)
class RiskProfile:
    strategic_account: bool
    bureau_score: int | None
    bureau_rating: str | None


@dataclass(frozen=True)
class SegmentDecision:
    segment: str
    reasons: tuple[str, ...]
    rule: str = RULE_SET


def decide(profile: RiskProfile, behaviour: PaymentBehaviour) -> SegmentDecision:
    if profile.strategic_account:
        return SegmentDecision("strategic", ("marked as a strategic account in the ERP",))
    if behaviour.settled_invoices >= HISTORY_NEEDED:
        return _by_history(behaviour)
    return _by_bureau(profile, behaviour)


def _by_history(behaviour: PaymentBehaviour) -> SegmentDecision:
    average = behaviour.average_days_late or 0.0
    history = (
        f"{behaviour.settled_invoices} invoices paid, {behaviour.settled_late} late, "
        f"on average {average:.1f} days after the due date"
    )
    if average <= RELIABLE_DAYS_LATE:
        return SegmentDecision(
            "reliable", (history, f"average lateness at most {RELIABLE_DAYS_LATE:g} days")
        )
    if average <= LATE_PAYER_DAYS_LATE:
        return SegmentDecision(
            "standard", (history, f"average lateness at most {LATE_PAYER_DAYS_LATE:g} days")
        )
    return SegmentDecision(
        "late_payer", (history, f"average lateness above {LATE_PAYER_DAYS_LATE:g} days")
    )


def _by_bureau(profile: RiskProfile, behaviour: PaymentBehaviour) -> SegmentDecision:
    history = (
        f"only {behaviour.settled_invoices} paid invoice(s): too little history, using the bureau"
    )
    score = profile.bureau_score
    if score is None:
        return SegmentDecision("standard", (history, "no bureau score available"))
    if score < RISKY_SCORE:
        return SegmentDecision(
            "high_risk", (history, f"bureau score {score} is below {RISKY_SCORE}")
        )
    if score >= RELIABLE_SCORE:
        return SegmentDecision(
            "reliable", (history, f"bureau score {score} is at least {RELIABLE_SCORE}")
        )
    return SegmentDecision(
        "standard", (history, f"bureau score {score} is between {RISKY_SCORE} and {RELIABLE_SCORE}")
    )
