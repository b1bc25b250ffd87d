"""Matching a payment to the open items it pays, with the evidence for every decision.

What a payment says (structured references, invoice numbers in its text, the payment link it
came through, the payer's account and name) names candidate items; the decision rule then
applies a payment automatically only when the evidence is unambiguous:

- items named by a valid structured reference, a payment link or their invoice number, all of
  one customer, that the amount pays exactly, within tolerance, or (one invoice, named by its
  reference or link, or by number with the payer known) in part;
- else one item whose number the text gives with one typo or cut short, when the amount pays
  it (within tolerance) or the payer's account is known to be that customer's;
- else, for a payer whose account is known to belong to one customer only, the only
  combination of that customer's open invoices (less credit notes) that the amount pays exactly.

Anything else waits for a person, with ranked suggestions. Nothing here does I/O: candidates
come from an `OpenItems` index, which `apply` keeps current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from itertools import islice

from payments.domain.amounts import display, display_minor
from payments.domain.openitems import OpenItem, OpenItems
from payments.domain.references import check_reference, references_in_text
from payments.domain.remittance import (
    MAX_PARTS,
    WrittenKeys,
    keys_of_runs,
    name_key,
    nearness,
    text_runs,
)
from payments.domain.statement import CreditorReference
from payments.domain.subsets import combinations_paying
from settle_shared.money import Money

MAX_SUGGESTIONS = 5
MAX_REJECTED = 5
MAX_SEARCHED_ITEMS = 24


@dataclass(frozen=True)
class Tolerance:
    """How far a payment may fall short of, or go beyond, what is open and still settle it:
    the smaller of an absolute amount (in minor units) and a share of the open amount."""

    absolute_minor: int = 1000
    basis_points: int = 100

    def allowed(self, open_minor: int) -> int:
        return min(self.absolute_minor, open_minor * self.basis_points // 10_000)


@dataclass(frozen=True, slots=True)
class IncomingPayment:
    payment_id: str
    amount: Money
    payer_name: str | None
    payer_account: str | None
    remittance: tuple[str, ...]
    references: tuple[CreditorReference, ...]
    referred_documents: tuple[str, ...] = ()
    booked_on: date | None = None
    invoice_ids: tuple[str, ...] = ()


class Clues:
    """What a payment says about the items it may pay: its structured references (checked),
    the letter and digit runs of its text (invoice numbers are looked up by their last digit
    run, then compared run by run), and the payer's name."""

    def __init__(self, payment: IncomingPayment) -> None:
        stated = {check.key: check for check in map(check_reference, payment.references)}
        for reference in references_in_text(payment.remittance):
            check = check_reference(reference)
            stated.setdefault(check.key, check)
        self.references = tuple(stated.values())
        self.trusted_reference_keys = frozenset(c.key for c in self.references if c.trusted)
        self.runs = text_runs((*payment.remittance, *payment.referred_documents))
        # The digit runs of the text: the keys invoice numbers are looked up by.
        self.serials = frozenset(run for run in self.runs if run[0].isdigit())
        self.payer_name_key = name_key(payment.payer_name)
        self._number_keys: WrittenKeys | None = None

    @property
    def number_keys(self) -> WrittenKeys:
        """Every way the text may write an invoice number (see `keys_of_runs`), worked out
        only for a payment that nothing names exactly."""
        if self._number_keys is None:
            self._number_keys = WrittenKeys(keys_of_runs(self.runs))
        return self._number_keys


def clues_of(payment: IncomingPayment) -> Clues:
    return Clues(payment)


# What links a payment to an item


@dataclass(frozen=True, slots=True)
class Finding:
    signal: str
    says: str
    weight: float
    identifies: bool = False


@dataclass
class _Candidate:
    item: OpenItem
    findings: list[Finding] = field(default_factory=list)

    @property
    def names_it(self) -> bool:
        return any(f.identifies for f in self.findings)

    @property
    def strongly_named(self) -> bool:
        return any(f.signal in _STRONG for f in self.findings)

    @property
    def score(self) -> float:
        return round(min(1.0, sum(f.weight for f in self.findings)), 2)

    def signals(self) -> str:
        return " and ".join(f"the {f.signal}" for f in self.findings)

    def has(self, signal: str) -> bool:
        return any(f.signal == signal for f in self.findings)


REFERENCE = "structured reference"
PAYMENT_LINK = "payment link"
NUMBER = "invoice number"
NEAR_NUMBER = "near invoice number"
ACCOUNT = "payer account"
NAME = "payer name"
AMOUNT = "amount"
CLOSE_AMOUNT = "close amount"
DATE = "due date"
_STRONG = frozenset({REFERENCE, PAYMENT_LINK})


# Decisions


@dataclass(frozen=True, slots=True)
class Evidence:
    signals: tuple[str, ...]
    rejected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Allocation:
    """What a match applies to one item: a payment's share, or a credit note netted."""

    invoice_id: str
    invoice_number: str
    customer_id: str
    is_credit: bool
    currency: str
    amount_minor: int
    settles: bool
    written_off_minor: int

    @property
    def amount(self) -> Money:
        return Money.of(self.amount_minor, self.currency)

    @property
    def written_off(self) -> Money:
        return Money.of(self.written_off_minor, self.currency)


@dataclass(frozen=True)
class Matched:
    """An unambiguous match. Its evidence is put into words when first asked for: matching a
    statement line by line needs the decision, publishing it needs the words."""

    customer_id: str
    allocations: tuple[Allocation, ...]
    unapplied_minor: int
    currency: str
    teaches_account: bool
    explain: Callable[[], Evidence] = field(repr=False, compare=False)

    @cached_property
    def evidence(self) -> Evidence:
        return self.explain()

    @property
    def unapplied(self) -> Money:
        return Money.of(self.unapplied_minor, self.currency)

    @property
    def invoices(self) -> tuple[Allocation, ...]:
        return tuple(a for a in self.allocations if not a.is_credit)


@dataclass(frozen=True, slots=True)
class Suggestion:
    customer_id: str
    items: tuple[tuple[str, str], ...]
    score: float
    reason: str

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return tuple(invoice_id for invoice_id, _ in self.items)


@dataclass(frozen=True, slots=True)
class Unmatched:
    reason: str
    suggestions: tuple[Suggestion, ...]
    evidence: Evidence


Decision = Matched | Unmatched


@dataclass(frozen=True)
class _Plan:
    """Items to apply the payment to (invoices first, then credits netted) and why."""

    invoices: tuple[OpenItem, ...]
    credits: tuple[OpenItem, ...]
    verdict: str


def decide(
    payment: IncomingPayment,
    items: OpenItems,
    tolerance: Tolerance = Tolerance(),
    clues: Clues | None = None,
) -> Decision:
    """The decision for a payment; `clues` are the payment's, if the caller has them already
    (from looking up its candidates)."""
    return _Decision(payment, items, tolerance, clues or clues_of(payment)).decide()


def apply(items: OpenItems, payment: IncomingPayment, decision: Decision) -> None:
    """Bring the index up to date with a decision (a match reduces what is open)."""
    if not isinstance(decision, Matched):
        return
    for allocation in decision.allocations:
        item = items.get(allocation.invoice_id)
        if item is not None:
            items.reduce(item, allocation.amount_minor, allocation.settles)
    if decision.teaches_account and payment.payer_account:
        items.learn_account(payment.payer_account, decision.customer_id)


class _Decision:
    def __init__(
        self, payment: IncomingPayment, items: OpenItems, tolerance: Tolerance, clues: Clues
    ) -> None:
        self.payment = payment
        self.items = items
        self.tolerance = tolerance
        self.amount = payment.amount.amount_minor
        self.currency = payment.amount.currency
        self.clues = clues
        self.candidates: dict[str, _Candidate] = {}
        self.rejected: list[str] = []
        self.combinations: list[Suggestion] = []
        self.closed_named: list[OpenItem] = []
        # Customers the payer's account is known to pay for.
        self.by_account = items.customers_paying_from(payment.payer_account)
        self._by_name: frozenset[str] | None = None

    @property
    def by_name(self) -> frozenset[str]:
        """Customers with the payer's name, looked up when first asked for."""
        if self._by_name is None:
            self._by_name = self.items.customers_named(self.clues.payer_name_key)
        return self._by_name

    def _notes(self) -> list[str]:
        return [check.describe() for check in self.clues.references]

    # The decision

    def decide(self) -> Decision:
        if self.amount <= 0:
            return self._unmatched("the amount is zero: nothing to apply")
        named = self._named()
        decision: Decision | None = None
        if named:
            decision = self._from_named(named)
            if isinstance(decision, Matched) or any(c.strongly_named for c in named):
                return decision
        near = self._near(exclude=named)
        if self._names_own_closed_item():
            # The payer's own invoice, paid already or cancelled: a payment made twice, most
            # likely. Looking further would find something else for it to pay.
            first = self.closed_named[0]
            return self._unmatched(
                f"it names {first.label} of customer {first.customer_id}, on which nothing is "
                "open any more (paid twice?)"
            )
        if near:
            return self._from_near(near)
        if isinstance(decision, Unmatched):
            return decision
        if len(self.by_account) == 1:
            return self._from_known_payer(next(iter(self.by_account)))
        self._add_similar()
        if self.clues.trusted_reference_keys:
            keys = ", ".join(sorted(self.clues.trusted_reference_keys))
            return self._unmatched(
                f"structured reference {keys} is valid but no open item carries it"
            )
        return self._unmatched(
            "no valid structured reference, payment link or open invoice number in the payment"
        )

    def _from_named(self, named: list[_Candidate]) -> Decision:
        customers = {c.item.customer_id for c in named}
        if len(customers) > 1 and len(self.by_account) == 1:
            payer = next(iter(self.by_account))
            named = self._keep_payers(named, payer)
            customers = {payer} if named else customers
        if len(customers) > 1:
            numbers = ", ".join(c.item.invoice_number for c in named)
            return self._unmatched(
                f"the payment names items of {len(customers)} customers ({numbers})"
            )
        customer = next(iter(customers))
        if self.by_account and customer not in self.by_account:
            return self._unmatched(
                f"it names items of customer {customer}, but account {self.payment.payer_account} "
                f"is known to pay for {', '.join(sorted(self.by_account))}"
            )
        plan = self._plan_for_named(customer, named)
        if isinstance(plan, str):
            return self._unmatched(plan)
        return self._matched(customer, plan, teaches=True)

    def _plan_for_named(self, customer: str, named: list[_Candidate]) -> _Plan | str:
        invoices = [c.item for c in named if not c.item.is_credit]
        credits = [c.item for c in named if c.item.is_credit]
        if not invoices:
            return "it names only credit notes"
        exact = self._combination(invoices, credits, all_named=True)
        if exact is not None:
            return exact
        if len(invoices) == 1 and not credits:
            return self._single(named[0] if not named[0].item.is_credit else named[-1])
        return (
            f"pays {display(self.payment.amount)}, but no combination of the named items "
            f"({', '.join(i.invoice_number for i in [*invoices, *credits])}) adds up to it"
        )

    def _combination(
        self, invoices: list[OpenItem], credits: list[OpenItem], all_named: bool
    ) -> _Plan | None:
        """All named items, else the only combination of them (netting the customer's other
        credit notes if that is what makes the amount add up)."""
        open_invoices = sum(i.open_minor for i in invoices)
        open_credits = sum(c.open_minor for c in credits)
        slack = self.tolerance.allowed(open_invoices - open_credits)
        if all_named and abs(open_invoices - open_credits - self.amount) <= slack:
            several = len(invoices) + len(credits) > 1
            return _Plan(tuple(invoices), tuple(credits), "pays every item it names" * several)
        others = [c for c in self._customer_credits(invoices[0].customer_id) if c not in credits]
        if len(invoices) == 1 and not others:
            return None
        search = combinations_paying(
            self.amount + open_credits,
            [i.open_minor for i in invoices],
            [c.open_minor for c in others],
        )
        unique = search.unique
        if unique is None:
            return None
        chosen = tuple(invoices[i] for i in unique[0])
        netted = (*credits, *(others[i] for i in unique[1]))
        left_out = [i.invoice_number for i in invoices if i not in chosen]
        verdict = "the only combination of the named items that adds up to the amount"
        if left_out:
            verdict += f" (leaving out {', '.join(left_out)})"
        return _Plan(chosen, netted, verdict)

    def _single(self, candidate: _Candidate) -> _Plan | str:
        item = candidate.item
        difference = self.amount - item.open_minor
        if abs(difference) <= self.tolerance.allowed(item.open_minor):
            return _Plan((item,), (), "")
        if difference > 0:
            return (
                f"pays {display(self.payment.amount)} but only {display(item.open_amount)} is "
                f"open on {item.label} (overpayment)"
            )
        payer_known = item.customer_id in self.by_account or item.customer_id in self.by_name
        if candidate.strongly_named or payer_known:
            return _Plan((item,), (), "")
        return (
            f"pays {display(self.payment.amount)} of the {display(item.open_amount)} open on "
            f"{item.label}, named by its number only and from a payer not known to be "
            f"customer {item.customer_id}: a partial payment needs a person"
        )

    def _from_near(self, near: list[_Candidate]) -> Decision:
        if len(near) > 1:
            numbers = ", ".join(c.item.invoice_number for c in near)
            return self._unmatched(f"the text comes near {len(near)} invoice numbers ({numbers})")
        [candidate] = near
        item = candidate.item
        difference = self.amount - item.open_minor
        fits = abs(difference) <= self.tolerance.allowed(item.open_minor)
        known_payer = item.customer_id in self.by_account
        if self.by_account and not known_payer:
            return self._unmatched(
                f"the text comes near {item.label} of customer {item.customer_id}, but account "
                f"{self.payment.payer_account} pays for {', '.join(sorted(self.by_account))}"
            )
        if fits or (known_payer and difference < 0):
            return self._matched(item.customer_id, _Plan((item,), (), ""), teaches=False)
        return self._unmatched(
            f"the text comes near {item.label}, but the amount {display(self.payment.amount)} "
            f"does not pay its open {display(item.open_amount)} and the payer is not known"
        )

    def _from_known_payer(self, customer: str) -> Decision:
        invoices = [
            i
            for i in self.items.of_customer(customer)
            if not i.is_credit and i.currency == self.currency and self._issued_by_then(i)
        ]
        credits = self._customer_credits(customer)
        for item in [*invoices, *credits]:
            self._candidate(item).findings.append(self._account_finding(customer))
        if not invoices:
            return self._unmatched(
                f"account {self.payment.payer_account} pays for customer {customer}, who has "
                f"nothing open in {self.currency}"
            )
        if len(invoices) > MAX_SEARCHED_ITEMS:
            self._add_similar()
            return self._unmatched(
                f"nothing names an item, and customer {customer} has {len(invoices)} open "
                f"invoices: too many to tell which ones this pays"
            )
        search = combinations_paying(
            self.amount, [i.open_minor for i in invoices], [c.open_minor for c in credits]
        )
        unique = search.unique
        if unique is None:
            self._suggest_combinations(customer, invoices, credits, search.found)
            reason = (
                "several combinations of its open items add up to the amount"
                if len(search.found) > 1
                else "no combination of its open items adds up to the amount"
            )
            return self._unmatched(
                f"account {self.payment.payer_account} pays for customer {customer}, but "
                f"nothing names an item and {reason}"
            )
        chosen = tuple(invoices[i] for i in unique[0])
        netted = tuple(credits[i] for i in unique[1])
        verdict = (
            f"the only combination of customer {customer}'s open items that adds up to the amount"
        )
        return self._matched(customer, _Plan(chosen, netted, verdict), teaches=False)

    # Candidates

    def _named(self) -> list[_Candidate]:
        named: dict[str, _Candidate] = {}
        for key in self.clues.trusted_reference_keys:
            for item in self.items.by_reference(key):
                self._name(
                    named,
                    item,
                    REFERENCE,
                    f"structured reference {key} is the payment reference of {item.label}",
                    0.6,
                )
        for invoice_id in self.payment.invoice_ids:
            linked = self.items.get(invoice_id)
            if linked is not None:
                self._name(
                    named,
                    linked,
                    PAYMENT_LINK,
                    f"it was paid through the payment link of {linked.label}",
                    0.6,
                )
        runs = self.clues.runs
        for end, run in enumerate(runs):
            if not run[0].isdigit():
                continue
            tail = "".join(runs[max(0, end - MAX_PARTS + 1) : end + 1])
            for item in self.items.by_serial(run):
                mention = _mention(tail, item.number_keys)
                if mention is not None:
                    whole = mention == item.number_key
                    says = (
                        f"{item.label} appears in the remittance information"
                        if whole
                        else f"{item.label} appears in the remittance information as {mention}"
                    )
                    self._name(named, item, NUMBER, says, 0.5 if whole else 0.45)
        usable = []
        for candidate in named.values():
            reason = self._unusable(candidate.item)
            if reason is None:
                usable.append(candidate)
            else:
                self.closed_named.append(candidate.item)
                self.rejected.append(
                    f"{candidate.item.label}: named by {candidate.signals()}, but {reason}"
                )
        return sorted(usable, key=lambda c: c.item.invoice_id)

    def _name(
        self, named: dict[str, _Candidate], item: OpenItem, signal: str, says: str, weight: float
    ) -> None:
        candidate = named.get(item.invoice_id)
        if candidate is None:
            candidate = named[item.invoice_id] = self._candidate(item)
        if not candidate.has(signal):
            candidate.findings.append(Finding(signal, says, weight, identifies=True))

    def _unusable(self, item: OpenItem) -> str | None:
        if item.status == "cancelled":
            return "it is cancelled"
        if not item.is_open:
            return "nothing is open on it any more (already paid or credited)"
        if item.currency != self.currency:
            return f"it is open in {item.currency} and the payment is in {self.currency}"
        return None

    def _near(self, exclude: list[_Candidate]) -> list[_Candidate]:
        """Items whose number the text gives with a typo or cut short, among the payer's
        customers' items and those the amount would pay (not among all items: a typo comes
        near too many numbers). A number named exactly but not applicable is not near."""
        if not self.clues.serials:
            return []
        pool: dict[str, OpenItem] = {}
        for customer in self.by_account | self.by_name:
            for item in self.items.of_customer(customer):
                pool[item.invoice_id] = item
        for item in self.items.with_open_amount(self.payment.amount):
            pool[item.invoice_id] = item
        for candidate in exclude:
            pool.pop(candidate.item.invoice_id, None)
        near = []
        for item in pool.values():
            how = nearness(item.number_key, self.clues.number_keys)
            if how is not None and self._unusable(item) is None:
                candidate = self._candidate(item)
                candidate.findings.append(
                    Finding(
                        NEAR_NUMBER,
                        f"the remittance gives {item.label} {how}",
                        0.35,
                        identifies=True,
                    )
                )
                near.append(candidate)
        return sorted(near, key=lambda c: c.item.invoice_id)

    def _add_similar(self) -> None:
        for item in self.items.with_open_amount(self.payment.amount):
            self._candidate(item)
        for customer in self.by_account | self.by_name:
            for item in self.items.of_customer(customer):
                if item.currency == self.currency:
                    self._candidate(item)
        for candidate in self.candidates.values():
            self._add_corroboration(candidate.item.customer_id, only=candidate)

    def _add_corroboration(self, customer: str, only: _Candidate | None = None) -> None:
        for candidate in [only] if only else self.candidates.values():
            item = candidate.item
            if item.customer_id != customer:
                continue
            if customer in self.by_account and not candidate.has(ACCOUNT):
                candidate.findings.append(self._account_finding(customer))
            if customer in self.by_name and not candidate.has(NAME):
                candidate.findings.append(
                    Finding(
                        NAME, f"the payer {self.payment.payer_name} is customer {customer}", 0.2
                    )
                )
            self._add_amount_and_date(candidate)

    def _add_amount_and_date(self, candidate: _Candidate) -> None:
        item = candidate.item
        if item.is_credit or candidate.has(DATE) or candidate.has(AMOUNT):
            return
        if item.open_minor == self.amount and item.currency == self.currency:
            candidate.findings.append(
                Finding(
                    AMOUNT,
                    f"the amount {display_minor(self.amount, self.currency)} equals what is "
                    f"open on {item.label}",
                    0.3,
                )
            )
        elif not candidate.has(CLOSE_AMOUNT) and abs(
            item.open_minor - self.amount
        ) <= self.tolerance.allowed(item.open_minor):
            candidate.findings.append(
                Finding(
                    CLOSE_AMOUNT,
                    f"the amount is within tolerance of what is open on {item.label}",
                    0.2,
                )
            )
        booked = self.payment.booked_on
        if item.due_date and booked and abs((booked - item.due_date).days) <= 30:
            candidate.findings.append(
                Finding(
                    DATE,
                    f"{item.label} fell due on {item.due_date}, within 30 days of the payment",
                    0.05,
                )
            )

    def _account_finding(self, customer: str) -> Finding:
        return Finding(
            ACCOUNT,
            f"account {self.payment.payer_account} is known to pay for customer {customer}",
            0.3,
        )

    def _candidate(self, item: OpenItem) -> _Candidate:
        candidate = self.candidates.get(item.invoice_id)
        if candidate is None:
            candidate = self.candidates[item.invoice_id] = _Candidate(item)
        return candidate

    def _customer_credits(self, customer: str) -> list[OpenItem]:
        return [
            item
            for item in self.items.of_customer(customer)
            if item.is_credit and item.currency == self.currency
        ]

    def _keep_payers(self, named: list[_Candidate], payer: str) -> list[_Candidate]:
        kept = []
        for candidate in named:
            if candidate.item.customer_id == payer:
                kept.append(candidate)
            else:
                self.rejected.append(
                    f"{candidate.item.label}: named by {candidate.signals()}, but it is "
                    f"customer {candidate.item.customer_id}'s and account "
                    f"{self.payment.payer_account} pays for customer {payer}"
                )
        return kept

    def _names_own_closed_item(self) -> bool:
        """Named items that cannot take a payment, unless all belong to another customer than
        the one the payer's account is known for (then the number is more likely a typo)."""
        if not self.closed_named:
            return False
        if len(self.by_account) != 1:
            return True
        return any(item.customer_id in self.by_account for item in self.closed_named)

    def _issued_by_then(self, item: OpenItem) -> bool:
        booked = self.payment.booked_on
        return item.issue_date is None or booked is None or item.issue_date <= booked

    def _suggest_combinations(
        self,
        customer: str,
        invoices: Sequence[OpenItem],
        credits: Sequence[OpenItem],
        found: Iterable[tuple[tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        for chosen, netted in found:
            items = [*(invoices[i] for i in chosen), *(credits[i] for i in netted)]
            self.combinations.append(
                Suggestion(
                    customer,
                    tuple((i.invoice_id, i.invoice_number) for i in items),
                    0.5,
                    f"account {self.payment.payer_account} pays for customer {customer}, and "
                    f"{', '.join(i.invoice_number for i in items)} add up to the amount",
                )
            )

    # Outcomes

    def _matched(self, customer: str, plan: _Plan, teaches: bool) -> Matched:
        left = self.amount + sum(c.open_minor for c in plan.credits)
        allocations: list[Allocation] = []
        for position, item in enumerate(plan.invoices):
            last = position == len(plan.invoices) - 1
            applied = min(item.open_minor, left)
            short = item.open_minor - applied
            settles = short <= (self.tolerance.allowed(item.open_minor) if last else 0)
            left -= applied
            allocations.append(self._allocation(item, applied, settles, short if settles else 0))
        for credit in plan.credits:
            allocations.append(self._allocation(credit, credit.open_minor, True, 0))
        before = {i.invoice_id: i.open_minor for i in (*plan.invoices, *plan.credits)}
        return Matched(
            customer,
            tuple(allocations),
            left,
            self.currency,
            teaches,
            lambda: self._matched_evidence(plan, allocations, before, left),
        )

    def _matched_evidence(
        self,
        plan: _Plan,
        allocations: Sequence[Allocation],
        open_before: dict[str, int],
        unapplied: int,
    ) -> Evidence:
        self._add_corroboration(allocations[0].customer_id)
        verdicts = [
            self._verdict(a, open_before[a.invoice_id]) for a in allocations if not a.is_credit
        ]
        verdicts.extend(
            f"credit note {a.invoice_number} of {display_minor(a.amount_minor, a.currency)} "
            "is netted"
            for a in allocations
            if a.is_credit
        )
        if unapplied:
            verdicts.append(
                f"{display_minor(unapplied, self.currency)} more than is open stays "
                "unapplied, within tolerance"
            )
        chosen = set(open_before)
        found = [
            f.says
            for item_id in sorted(chosen)
            if (c := self.candidates.get(item_id)) is not None
            for f in c.findings
            if f.identifies or f.signal == ACCOUNT
        ]
        rejected = [
            *self.rejected,
            *islice(
                (
                    f"{c.item.label}: {c.signals()} "
                    f"{'agree' if len(c.findings) > 1 else 'agrees'}, "
                    "but nothing in the payment names it"
                    for c in self._ranked()
                    if c.item.invoice_id not in chosen and c.findings
                ),
                MAX_REJECTED,
            ),
        ][:MAX_REJECTED]
        signals = (*self._notes(), *found, *([plan.verdict] if plan.verdict else ()), *verdicts)
        return Evidence(tuple(signals), tuple(rejected))

    def _allocation(
        self, item: OpenItem, applied: int, settles: bool, written_off: int
    ) -> Allocation:
        return Allocation(
            invoice_id=item.invoice_id,
            invoice_number=item.invoice_number,
            customer_id=item.customer_id,
            is_credit=item.is_credit,
            currency=item.currency,
            amount_minor=applied,
            settles=settles,
            written_off_minor=written_off,
        )

    def _verdict(self, allocation: Allocation, open_before: int) -> str:
        label = f"invoice {allocation.invoice_number}"
        currency = allocation.currency
        was_open = display_minor(open_before, currency)
        paid = display_minor(allocation.amount_minor, currency)
        if allocation.settles and allocation.written_off_minor:
            return (
                f"pays {paid} of the {was_open} open on {label}: settled, "
                f"{display_minor(allocation.written_off_minor, currency)} short is within tolerance"
            )
        if allocation.settles:
            return f"pays the full open amount {was_open}: {label} settled"
        remaining = display_minor(open_before - allocation.amount_minor, currency)
        return (
            f"pays {paid} of the {was_open} open: partial payment of {label}, "
            f"{remaining} stays open"
        )

    def _unmatched(self, reason: str) -> Unmatched:
        for candidate in list(self.candidates.values()):
            self._add_corroboration(candidate.item.customer_id, only=candidate)
        ranked = self._ranked()
        found = [f.says for c in ranked for f in c.findings if f.identifies]
        rejected = [
            *self.rejected,
            *islice(
                (
                    f"{c.item.label}: named by {c.signals()}, not applied: {reason}"
                    if c.names_it
                    else f"{c.item.label}: {c.signals()} "
                    f"{'agree' if len(c.findings) > 1 else 'agrees'}, not enough to match"
                    for c in ranked
                    if c.findings
                ),
                MAX_REJECTED,
            ),
        ][:MAX_REJECTED]
        singles = [
            Suggestion(
                c.item.customer_id,
                ((c.item.invoice_id, c.item.invoice_number),),
                c.score,
                "; ".join(f.says for f in c.findings),
            )
            for c in ranked
            if c.findings and not c.item.is_credit
        ]
        suggestions = sorted(
            [*self.combinations, *singles], key=lambda s: (-s.score, s.invoice_ids)
        )[:MAX_SUGGESTIONS]
        return Unmatched(
            reason, tuple(suggestions), Evidence((*self._notes(), *found), tuple(rejected))
        )

    def _ranked(self) -> list[_Candidate]:
        booked = self.payment.booked_on
        return sorted(
            self.candidates.values(),
            key=lambda c: (
                -c.score,
                abs((booked - c.item.due_date).days) if booked and c.item.due_date else 0,
                c.item.invoice_id,
            ),
        )


def _mention(tail: str, keys: tuple[str, ...]) -> str | None:
    """The key of the number (whole, else without its leading parts) the compacted text ends
    with; digits glued to more digits before them are part of another number."""
    for key in keys:
        if tail.endswith(key):
            before = len(tail) - len(key) - 1
            if before < 0 or not (key[0].isdigit() and tail[before].isdigit()):
                return key
    return None
