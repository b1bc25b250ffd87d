import pytest

from dunning.domain.policies import POLICIES, Policy, Step, policy_for

SEGMENTS = ("strategic", "reliable", "standard", "late_payer", "high_risk")


@pytest.mark.parametrize("segment", SEGMENTS)
def test_every_segment_has_its_own_policy(segment: str) -> None:
    assert policy_for(segment).name == segment


@pytest.mark.parametrize("segment", [None, "", "vip-gold"])
def test_a_customer_without_a_known_segment_gets_the_standard_policy(
    segment: str | None,
) -> None:
    assert policy_for(segment).name == "standard"


def test_the_standard_policy_reminds_friendly_then_second_then_final() -> None:
    steps = POLICIES["standard"].steps
    assert [(s.offset_days, s.name) for s in steps] == [
        (1, "friendly-reminder"),
        (8, "second-reminder"),
        (15, "final-notice"),
    ]


def test_high_risk_customers_are_reminded_three_days_before_the_due_date() -> None:
    first = POLICIES["high_risk"].steps[0]
    assert (first.offset_days, first.template) == (-3, "pre-due-reminder")


def test_strategic_accounts_get_a_single_late_gentle_reminder() -> None:
    [only] = POLICIES["strategic"].steps
    assert only.offset_days >= 7
    assert only.template == "friendly-reminder"


def test_templates_are_the_ones_delivery_renders() -> None:
    templates = {step.template for policy in POLICIES.values() for step in policy.steps}
    assert templates == {"pre-due-reminder", "friendly-reminder", "second-reminder", "final-notice"}


def test_a_policy_refuses_steps_out_of_order() -> None:
    with pytest.raises(ValueError, match="increasing offset"):
        Policy("odd", "", (Step(8, "b", "b", "email"), Step(1, "a", "a", "email")))


def test_steps_are_counted_from_one() -> None:
    policy = POLICIES["standard"]
    assert policy.step(1) == policy.steps[0]
    assert policy.step(0) is None
    assert policy.step(4) is None
