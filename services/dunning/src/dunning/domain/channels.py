"""Which channel a reminder goes through, and to whom.

The step's preferred channel if the customer consented to it and it can reach them, else the
customer's preferred channel, else any consented channel that reaches them. E-mail needs a contact
with an address, text messages a contact with a phone number, a letter a postal address. When
nothing reaches the customer the step is skipped, and the reason says why for each channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from settle_shared.events.common import Channel, Contact, ContactRole, PostalAddress
from settle_shared.events.dunning import Recipient

CONTACT_ORDER: tuple[ContactRole, ...] = ("accounts_payable", "buyer", "other", "legal")


@dataclass(frozen=True)
class CustomerProfile:
    name: str
    language: str
    time_zone: str
    contacts: tuple[Contact, ...]
    preferred_channel: Channel
    consented_channels: tuple[Channel, ...]
    postal_address: PostalAddress | None


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    recipient: Recipient
    language: str


@dataclass(frozen=True)
class Unreachable:
    reason: str


def choose_delivery(preference: Channel, profile: CustomerProfile) -> Delivery | Unreachable:
    candidates = dict.fromkeys((preference, profile.preferred_channel, *profile.consented_channels))
    refusals: list[str] = []
    for channel in candidates:
        if channel not in profile.consented_channels:
            refusals.append(f"{channel}: no consent")
            continue
        delivery = _reach(channel, profile)
        if isinstance(delivery, Delivery):
            return delivery
        refusals.append(f"{channel}: {delivery.reason}")
    return Unreachable("no channel reaches the customer (" + "; ".join(refusals) + ")")


def _reach(channel: Channel, profile: CustomerProfile) -> Delivery | Unreachable:
    if channel == "letter":
        if profile.postal_address is None:
            return Unreachable("no postal address")
        recipient = Recipient(name=profile.name, postal_address=profile.postal_address)
        return Delivery(channel, recipient, profile.language)
    by_email = channel == "email"
    contact = _first_contact(profile, by_email)
    if contact is None:
        return Unreachable(
            "no contact with an e-mail address" if by_email else "no contact with a phone number"
        )
    recipient = Recipient(
        name=contact.name or profile.name,
        email=contact.email if by_email else None,
        phone=None if by_email else contact.phone,
    )
    return Delivery(channel, recipient, contact.language or profile.language)


def _first_contact(profile: CustomerProfile, by_email: bool) -> Contact | None:
    """The highest-ranked contact with an e-mail address (or a phone number)."""
    ranked = sorted(profile.contacts, key=lambda contact: CONTACT_ORDER.index(contact.role))
    return next(
        (c for c in ranked if (c.email if by_email else c.phone) is not None),
        None,
    )
