from dunning.domain.channels import CustomerProfile, Delivery, Unreachable, choose_delivery
from settle_shared.events.common import Channel, Contact, PostalAddress

ADDRESS = PostalAddress(
    lines=["Dorpsstraat 1"], postal_code="1234 AB", city="Utrecht", country="NL"
)
AP = Contact(role="accounts_payable", name="Anna", email="ap@example.nl", phone="+31612345678")


def profile(
    *,
    contacts: tuple[Contact, ...] = (AP,),
    preferred: Channel = "email",
    consented: tuple[Channel, ...] = ("email",),
    address: PostalAddress | None = None,
) -> CustomerProfile:
    return CustomerProfile(
        name="De Vries B.V.",
        language="nl",
        time_zone="Europe/Amsterdam",
        contacts=contacts,
        preferred_channel=preferred,
        consented_channels=consented,
        postal_address=address,
    )


def delivered(result: Delivery | Unreachable) -> Delivery:
    assert isinstance(result, Delivery), result
    return result


def test_the_steps_channel_is_used_when_consented_and_reachable() -> None:
    result = delivered(choose_delivery("sms", profile(consented=("email", "sms"))))
    assert result.channel == "sms"
    assert result.recipient.phone == "+31612345678"
    assert result.recipient.email is None


def test_without_consent_for_the_steps_channel_the_preferred_channel_is_used() -> None:
    result = delivered(choose_delivery("sms", profile(preferred="email", consented=("email",))))
    assert result.channel == "email"
    assert result.recipient.email == "ap@example.nl"
    assert result.recipient.name == "Anna"


def test_when_neither_reaches_any_consented_reachable_channel_is_used() -> None:
    no_phone = Contact(role="buyer", email="buyer@example.nl")
    result = delivered(
        choose_delivery(
            "sms",
            profile(
                contacts=(no_phone,), preferred="whatsapp", consented=("whatsapp", "sms", "email")
            ),
        )
    )
    assert result.channel == "email"
    assert result.recipient.name == "De Vries B.V."


def test_a_letter_goes_to_the_postal_address() -> None:
    result = delivered(choose_delivery("letter", profile(consented=("letter",), address=ADDRESS)))
    assert result.channel == "letter"
    assert result.recipient.postal_address == ADDRESS


def test_the_accounts_payable_contact_comes_before_others_and_its_language_wins() -> None:
    buyer = Contact(role="buyer", email="buyer@example.nl")
    ap = Contact(role="accounts_payable", email="ap@example.be", language="fr-BE")
    result = delivered(choose_delivery("email", profile(contacts=(buyer, ap))))
    assert result.recipient.email == "ap@example.be"
    assert result.language == "fr-BE"


def test_no_reachable_channel_gives_a_reason_per_channel() -> None:
    result = choose_delivery(
        "letter", profile(contacts=(), preferred="email", consented=("email", "sms"))
    )
    assert isinstance(result, Unreachable)
    assert "letter: no consent" in result.reason
    assert "email: no contact with an e-mail address" in result.reason
    assert "sms: no contact with a phone number" in result.reason
