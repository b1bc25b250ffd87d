"""A simulated ERP: a deterministic portfolio of customers and invoices, published to the ERP
topics as CloudEvents exactly as an integrator's ERP connector would."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from stdnum.iso7064 import mod_97_10

from settle_shared.clock import Clock
from settle_shared.events.common import Contact, CustomerMaster, PostalAddress
from settle_shared.events.erp import ErpCustomerUpserted, ErpInvoiceIssued
from settle_shared.messaging import OutgoingRecord, Publisher
from settle_shared.money import Money
from settle_shared.publishing import envelope, to_record
from settle_shared.registry import EventPayload

SOURCE = "/erp/simulator"


@dataclass(frozen=True)
class Country:
    code: str
    languages: tuple[str, ...]
    time_zone: str
    trades: tuple[str, ...]
    surnames: tuple[str, ...]
    legal_form: str
    city: str


COUNTRIES = (
    Country(
        "NL",
        ("nl",),
        "Europe/Amsterdam",
        ("Bakkerij", "Installatiebedrijf", "Transport", "Drukkerij"),
        ("de Vries", "Jansen", "Bakker", "Visser", "Smit"),
        "B.V.",
        "Utrecht",
    ),
    Country(
        "BE",
        ("nl", "fr"),
        "Europe/Brussels",
        ("Brouwerij", "Boulangerie", "Garage", "Imprimerie"),
        ("Peeters", "Dubois", "Maes", "Lambert", "Claes"),
        "BV",
        "Gent",
    ),
    Country(
        "DE",
        ("de",),
        "Europe/Berlin",
        ("Bäckerei", "Spedition", "Elektro", "Druckerei"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber"),
        "GmbH",
        "Köln",
    ),
    Country(
        "FR",
        ("fr",),
        "Europe/Paris",
        ("Boulangerie", "Transports", "Électricité", "Imprimerie"),
        ("Martin", "Bernard", "Dubois", "Moreau", "Laurent"),
        "SARL",
        "Lyon",
    ),
)


def rf_reference(invoice_number: str) -> str:
    """An ISO 11649 creditor reference (RF + two check digits) for an invoice number."""
    body = "".join(ch for ch in invoice_number.upper() if ch.isalnum())
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


@dataclass(frozen=True)
class Portfolio:
    customers: list[ErpCustomerUpserted]
    invoices: list[ErpInvoiceIssued]

    def events(self) -> list[EventPayload]:
        return [*self.customers, *self.invoices]


def customer(
    tenant: str,
    customer_id: str,
    country: Country,
    rng: random.Random,
    updated_at: datetime,
) -> ErpCustomerUpserted:
    surname = rng.choice(country.surnames)
    name = f"{rng.choice(country.trades)} {surname} {country.legal_form}"
    slug = "".join(ch for ch in surname.lower() if ch.isascii() and ch.isalnum()) or "firma"
    domain = f"{slug}-{customer_id.lower()}.example"
    phone = f"+{rng.choice(['31', '32', '49', '33'])}6{rng.randrange(10_000_000, 99_999_999)}"
    # About one company in ten is unknown to the bureau simulator (numbers ending in 0000).
    unknown_to_the_bureau = rng.random() < 0.1
    suffix = "0000" if unknown_to_the_bureau else str(rng.randrange(1001, 9999))
    registration = f"{rng.randrange(1000, 9999)}{suffix}"
    return ErpCustomerUpserted(
        tenant=tenant,
        customer_id=customer_id,
        master=CustomerMaster(
            name=name,
            country=country.code,
            language=rng.choice(country.languages),
            time_zone=country.time_zone,
            registration_number=registration,
            contacts=[
                Contact(
                    role="accounts_payable",
                    name=f"Accounts payable {surname}",
                    email=f"ap@{domain}",
                    phone=phone,
                ),
                Contact(role="buyer", name=f"{surname}", email=f"purchasing@{domain}"),
            ],
            preferred_channel="email",
            consented_channels=["email", "sms"] if rng.random() < 0.5 else ["email"],
            postal_address=PostalAddress(
                lines=[f"{rng.randrange(1, 200)} Hoofdstraat"],
                postal_code="1234",
                city=country.city,
                country=country.code,
            ),
            strategic_account=rng.random() < 0.05,
            codes={
                "sector": rng.choice(["food", "logistics", "construction", "print"]),
                "size": rng.choice(["small", "medium"]),
            },
        ),
        updated_at=updated_at,
    )


def invoice(
    tenant: str,
    customer_id: str,
    number: str,
    issued: date,
    payment_days: int,
    amount_minor: int,
    updated_at: datetime,
) -> ErpInvoiceIssued:
    return ErpInvoiceIssued(
        tenant=tenant,
        customer_id=customer_id,
        invoice_id=f"INV-{number}",
        invoice_number=number,
        issue_date=issued,
        due_date=issued + timedelta(days=payment_days),
        amount=Money.of(amount_minor, "EUR"),
        payment_reference=rf_reference(number),
        updated_at=updated_at,
    )


def portfolio(tenant: str, customers: int, today: date, seed: int = 7) -> Portfolio:
    """Customers across four countries, each with one to four invoices issued recently."""
    rng = random.Random(seed)
    stamp = datetime.combine(today, time(8, 0), UTC)
    made_customers: list[ErpCustomerUpserted] = []
    made_invoices: list[ErpInvoiceIssued] = []
    for index in range(1, customers + 1):
        customer_id = f"C-{index:05d}"
        made_customers.append(customer(tenant, customer_id, rng.choice(COUNTRIES), rng, stamp))
        for _ in range(rng.randint(1, 4)):
            number = f"{today.year}-{len(made_invoices) + 1:06d}"
            issued = today - timedelta(days=rng.randrange(0, 20))
            amount = round(10 ** rng.uniform(4, 6.4))
            made_invoices.append(
                invoice(tenant, customer_id, number, issued, rng.choice([14, 30]), amount, stamp)
            )
    return Portfolio(made_customers, made_invoices)


def journey(tenant: str, today: date, now: datetime) -> Portfolio:
    """The walking skeleton's debtor: one Dutch customer, one invoice due in 14 days."""
    rng = random.Random(1)
    the_customer = customer(tenant, "C-JOURNEY", COUNTRIES[0], rng, now)
    master = the_customer.master.model_copy(
        update={"language": "nl", "registration_number": "27312152", "strategic_account": False}
    )
    the_customer = the_customer.model_copy(update={"master": master})
    the_invoice = invoice(tenant, "C-JOURNEY", f"{today.year}-900001", today, 14, 123_450, now)
    return Portfolio([the_customer], [the_invoice])


class ErpConnector:
    """Publishes ERP events through a publisher (Kafka in the stack, memory in tests)."""

    def __init__(self, publisher: Publisher, clock: Clock) -> None:
        self._publisher = publisher
        self._clock = clock

    async def publish(self, payloads: Sequence[EventPayload]) -> list[str]:
        events = [envelope(payload, source=SOURCE, time=self._clock.now()) for payload in payloads]
        await self._publisher.publish(
            [to_record(p, e) for p, e in zip(payloads, events, strict=True)]
        )
        return [event.id for event in events]

    async def publish_malformed(self, topic: str, key: str) -> None:
        """A record a broken connector might send: CloudEvents headers, but the body is not JSON."""
        valid = envelope(
            ErpInvoiceIssued.model_validate(ErpInvoiceIssued.event_type.examples()[0]),
            source=SOURCE,
            time=self._clock.now(),
        )
        await self._publisher.publish(
            [OutgoingRecord(topic, key.encode(), b"{'amount': 12.50,", valid.to_headers())]
        )
