"""Customer master data: what a usable record satisfies, and how a new version compares to the
stored one (versions are ordered by the ERP's updated_at)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ingestion.domain.fingerprint import fingerprint
from ingestion.domain.timestamps import updated_at_problems
from settle_shared.errors import Problem
from settle_shared.events.common import Channel, CustomerMaster
from settle_shared.events.erp import ErpCustomerUpserted

NEEDS: dict[Channel, str] = {
    "email": "a contact with an e-mail address",
    "sms": "a contact with a phone number",
    "whatsapp": "a contact with a phone number",
    "letter": "a postal address",
}


def customer_problems(customer: ErpCustomerUpserted, now: datetime) -> list[Problem]:
    """Everything wrong with a customer record beyond its schema, all at once."""
    return [
        *_name_problems(customer.master),
        *_channel_problems(customer.master),
        *updated_at_problems(customer.updated_at, now),
    ]


def can_reach(master: CustomerMaster, channel: Channel) -> bool:
    if channel == "letter":
        return master.postal_address is not None
    if channel == "email":
        return any(contact.email for contact in master.contacts)
    return any(contact.phone for contact in master.contacts)


def _name_problems(master: CustomerMaster) -> list[Problem]:
    if master.name.strip():
        return []
    return [Problem("/master/name", "the customer's name is blank")]


def _channel_problems(master: CustomerMaster) -> list[Problem]:
    preferred = master.preferred_channel
    problems = []
    if preferred not in master.consented_channels:
        consented = ", ".join(master.consented_channels) or "none"
        problems.append(
            Problem(
                "/master/preferred_channel",
                f"the preferred channel {preferred} is not among the consented channels "
                f"({consented})",
            )
        )
    if not can_reach(master, preferred):
        problems.append(
            Problem(
                "/master/postal_address" if preferred == "letter" else "/master/contacts",
                f"the preferred channel {preferred} needs {NEEDS[preferred]}, and there is none",
            )
        )
    return problems


class CustomerChange(StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass(frozen=True)
class CustomerVersion:
    updated_at: datetime
    content_hash: str

    @classmethod
    def of(cls, customer: ErpCustomerUpserted) -> CustomerVersion:
        return cls(customer.updated_at, master_fingerprint(customer.master))


def master_fingerprint(master: CustomerMaster) -> str:
    return fingerprint(master.model_dump(mode="json"))


def compare(stored: CustomerVersion, incoming: CustomerVersion) -> CustomerChange:
    """What an incoming version is to the stored one. Older is stale even when identical; a
    version stamped at the same instant but with other content is a change (last one wins)."""
    if incoming.updated_at < stored.updated_at:
        return CustomerChange.STALE
    if incoming.content_hash == stored.content_hash:
        return CustomerChange.UNCHANGED
    return CustomerChange.CHANGED
