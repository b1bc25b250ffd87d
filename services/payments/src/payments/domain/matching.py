"""Matching a payment to the open invoice it pays, with the evidence for every decision.

The payment's clues (structured references, invoice numbers in its text, payer name) say which
open items to look at; each signal rule then says what links the payment to each candidate. Only
an unambiguous match is applied: exactly one invoice identified (by a valid structured reference
or its number in the remittance text), nothing pointing elsewhere, same currency, and no more
than is open. Everything else waits for a person, with ranked suggestions.

More signals (payer account learned from earlier matches, fuzzy numbers, dates, batches) are
further `SignalRule`s and candidate lookups; the decision rule stays the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from payments.domain.amounts import display
from payments.domain.references import ReferenceCheck, check_reference, reference_key
from payments.domain.remittance import name_key, number_key, text_keys
from payments.domain.statement import CreditorReference
from settle_shared.money import Money

MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class OpenItem:
    invoice_id: str
    invoice_number: str
    customer_id: str
    customer_name: str | None
    payment_reference: str | None
    amount: Money
    open_amount: Money


@dataclass(frozen=True)
class IncomingPayment:
    payment_id: str
    amount: Money
    payer_name: str | None
    payer_account: str | None
    remittance: tuple[str, ...]
    references: tuple[CreditorReference, ...]
    referred_documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clues:
    """What a payment says about the invoices it may pay: the keys to look candidates up by."""

    references: tuple[ReferenceCheck, ...]
    number_keys: frozenset[str]
    payer_name_key: str | None

    @property
    def trusted_reference_keys(self) -> frozenset[str]:
        return frozenset(check.key for check in self.references if check.trusted)


def clues_of(payment: IncomingPayment) -> Clues:
    return Clues(
        references=tuple(check_reference(reference) for reference in payment.references),
        number_keys=text_keys((*payment.remittance, *payment.referred_documents)),
        payer_name_key=name_key(payment.payer_name),
    )


@dataclass(frozen=True)
class Finding:
    """One thing that links a payment to a candidate invoice."""

    signal: str
    says: str
    identifies: bool
    weight: float


SignalRule = Callable[[IncomingPayment, Clues, OpenItem], Finding | None]


def _structured_reference(payment: IncomingPayment, clues: Clues, item: OpenItem) -> Finding | None:
    if item.payment_reference is None:
        return None
    key = reference_key(item.payment_reference)
    for check in clues.references:
        if check.trusted and check.key == key:
            return Finding(
                "structured reference",
                f"structured reference {check.key} is the payment reference of invoice "
                f"{item.invoice_number}",
                identifies=True,
                weight=0.6,
            )
    return None


def _invoice_number(payment: IncomingPayment, clues: Clues, item: OpenItem) -> Finding | None:
    if number_key(item.invoice_number) not in clues.number_keys:
        return None
    return Finding(
        "invoice number",
        f"invoice number {item.invoice_number} appears in the remittance information",
        identifies=True,
        weight=0.5,
    )


def _same_amount(payment: IncomingPayment, clues: Clues, item: OpenItem) -> Finding | None:
    if payment.amount != item.open_amount:
        return None
    return Finding(
        "amount",
        f"the amount {display(payment.amount)} equals the open amount of invoice "
        f"{item.invoice_number}",
        identifies=False,
        weight=0.3,
    )


def _payer_name(payment: IncomingPayment, clues: Clues, item: OpenItem) -> Finding | None:
    if clues.payer_name_key is None or name_key(item.customer_name) != clues.payer_name_key:
        return None
    return Finding(
        "payer name",
        f"the payer {payment.payer_name} is customer {item.customer_id}",
        identifies=False,
        weight=0.2,
    )


SIGNALS: tuple[SignalRule, ...] = (
    _structured_reference,
    _invoice_number,
    _same_amount,
    _payer_name,
)


@dataclass(frozen=True)
class Evidence:
    signals: tuple[str, ...]
    rejected: tuple[str, ...]


@dataclass(frozen=True)
class Matched:
    invoice: OpenItem
    applied: Money
    settles: bool
    evidence: Evidence


@dataclass(frozen=True)
class Suggestion:
    invoice: OpenItem
    score: float
    reason: str


@dataclass(frozen=True)
class Unmatched:
    reason: str
    suggestions: tuple[Suggestion, ...]
    evidence: Evidence


Decision = Matched | Unmatched


@dataclass(frozen=True)
class _Assessment:
    item: OpenItem
    findings: tuple[Finding, ...]

    @property
    def identifies(self) -> bool:
        return any(finding.identifies for finding in self.findings)

    @property
    def score(self) -> float:
        return round(min(1.0, sum(finding.weight for finding in self.findings)), 2)

    def signals(self) -> str:
        return " and ".join(f"the {finding.signal}" for finding in self.findings)

    def agreeing(self) -> str:
        return f"{self.signals()} {'agrees' if len(self.findings) == 1 else 'agree'}"


def decide(payment: IncomingPayment, candidates: Iterable[OpenItem]) -> Decision:
    clues = clues_of(payment)
    notes = tuple(check.describe() for check in clues.references)
    assessed = _assess(payment, clues, candidates)
    identified = [assessment for assessment in assessed if assessment.identifies]
    reason = _why_not_matched(payment, clues, identified)
    if reason is None:
        return _matched(payment, identified[0], assessed, notes)
    return _unmatched(reason, assessed, notes)


def _assess(
    payment: IncomingPayment, clues: Clues, candidates: Iterable[OpenItem]
) -> list[_Assessment]:
    unique = {item.invoice_id: item for item in candidates}
    assessed = []
    for item in unique.values():
        findings = tuple(
            finding for rule in SIGNALS if (finding := rule(payment, clues, item)) is not None
        )
        if findings:
            assessed.append(_Assessment(item, findings))
    return sorted(assessed, key=lambda a: (-a.score, a.item.invoice_id))


def _why_not_matched(
    payment: IncomingPayment, clues: Clues, identified: Sequence[_Assessment]
) -> str | None:
    if payment.amount.amount_minor <= 0:
        return "the amount is zero: nothing to apply"
    if not identified:
        if clues.trusted_reference_keys:
            keys = ", ".join(sorted(clues.trusted_reference_keys))
            return f"structured reference {keys} is valid but no open invoice carries it"
        return "no valid structured reference and no open invoice's number in the remittance"
    if len(identified) > 1:
        numbers = ", ".join(a.item.invoice_number for a in identified)
        return f"the payment points at {len(identified)} open invoices ({numbers})"
    return _why_not_this_one(payment, clues, identified[0].item)


def _why_not_this_one(payment: IncomingPayment, clues: Clues, item: OpenItem) -> str | None:
    stray = clues.trusted_reference_keys - {reference_key(item.payment_reference or "")}
    if stray:
        return (
            f"invoice {item.invoice_number} is named, but structured reference "
            f"{', '.join(sorted(stray))} belongs to no open invoice"
        )
    if payment.amount.currency != item.open_amount.currency:
        return (
            f"paid in {payment.amount.currency} but invoice {item.invoice_number} is open in "
            f"{item.open_amount.currency}"
        )
    if payment.amount.amount_minor > item.open_amount.amount_minor:
        return (
            f"pays {display(payment.amount)} but only {display(item.open_amount)} is open on "
            f"invoice {item.invoice_number} (overpayment)"
        )
    return None


def _matched(
    payment: IncomingPayment,
    chosen: _Assessment,
    assessed: Sequence[_Assessment],
    notes: tuple[str, ...],
) -> Matched:
    item = chosen.item
    settles = payment.amount == item.open_amount
    if settles:
        verdict = f"pays the full open amount {display(item.open_amount)}: invoice settled"
    else:
        remaining = item.open_amount - payment.amount
        verdict = (
            f"pays {display(payment.amount)} of the {display(item.open_amount)} open: "
            f"partial payment, {display(remaining)} stays open"
        )
    found = tuple(f.says for f in chosen.findings if f.identifies)
    rejected = tuple(
        f"invoice {a.item.invoice_number}: {a.agreeing()}, but nothing in the payment names it"
        for a in assessed
        if a is not chosen
    )
    return Matched(item, payment.amount, settles, Evidence((*notes, *found, verdict), rejected))


def _unmatched(reason: str, assessed: Sequence[_Assessment], notes: tuple[str, ...]) -> Unmatched:
    found = tuple(f.says for a in assessed for f in a.findings if f.identifies)
    rejected = tuple(
        f"invoice {a.item.invoice_number}: named by {a.signals()}, not applied: {reason}"
        if a.identifies
        else f"invoice {a.item.invoice_number}: {a.agreeing()}, not enough to match"
        for a in assessed
    )
    suggestions = tuple(
        Suggestion(a.item, a.score, "; ".join(f.says for f in a.findings))
        for a in assessed[:MAX_SUGGESTIONS]
    )
    return Unmatched(reason, suggestions, Evidence((*notes, *found), rejected))
