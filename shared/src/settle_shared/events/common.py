"""Field types shared by the event contracts."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from settle_shared.registry import EventPayload
from settle_shared.settings import TENANT_PATTERN


def _iana_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{name!r} is not an IANA time zone") from error
    return name


TenantId = Annotated[
    str,
    StringConstraints(pattern=f"^{TENANT_PATTERN.pattern}$"),
    Field(description="Legal entity / company code the ERP invoices from", examples=["acme-nl"]),
]
EntityId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s\x00-\x1f][^\x00-\x1f]*$"),
]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"), Field(examples=["NL"])]
LanguageTag = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$"),
    Field(description="BCP 47 language tag: language, optionally region", examples=["nl", "fr-BE"]),
]
TimeZoneName = Annotated[
    str,
    AfterValidator(_iana_zone),
    Field(description="IANA time zone", examples=["Europe/Amsterdam"]),
]
EmailAddress = Annotated[
    str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
PhoneNumber = Annotated[
    str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$"), Field(description="E.164 number")
]
Channel = Literal["email", "sms", "whatsapp", "letter"]
ContactRole = Literal["accounts_payable", "buyer", "legal", "other"]


def _email_only() -> list[Channel]:
    return ["email"]


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    role: ContactRole
    name: str | None = None
    email: EmailAddress | None = None
    phone: PhoneNumber | None = None
    language: LanguageTag | None = Field(
        default=None, description="Overrides the customer's language for this contact"
    )


class PostalAddress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    lines: list[str] = Field(min_length=1, max_length=4)
    postal_code: str
    city: str
    country: CountryCode


class CustomerMaster(BaseModel):
    """Customer master data as the ERP keeps it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    country: CountryCode
    language: LanguageTag
    time_zone: TimeZoneName
    registration_number: str | None = Field(
        default=None, description="Chamber of commerce / company registry number"
    )
    vat_number: str | None = None
    contacts: list[Contact] = Field(default_factory=list)
    preferred_channel: Channel = "email"
    consented_channels: list[Channel] = Field(default_factory=_email_only)
    postal_address: PostalAddress | None = None
    strategic_account: bool = False
    codes: dict[str, str] = Field(
        default_factory=dict, description="Internal codes, e.g. sector, size, region"
    )


class CustomerEvent(EventPayload):
    """An event about one customer: keyed by tenant and customer so its events stay in order."""

    tenant: TenantId
    customer_id: EntityId

    def partition_key(self) -> str:
        return f"{self.tenant}:{self.customer_id}"
