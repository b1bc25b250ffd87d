import pytest

from settle_local.demo import _delivery_outcome


@pytest.mark.parametrize(
    ("status", "told"),
    [
        ("cancelled", "not sent: cancelled, the case closed first"),
        ("delivered", "delivered"),
        (None, "not sent yet"),
    ],
)
def test_a_reminder_without_a_sent_email_says_what_became_of_it(
    status: str | None, told: str
) -> None:
    assert _delivery_outcome(status) == told
