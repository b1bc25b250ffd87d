"""An invoice's life as the ERP tells it: issued, amended any number of times, perhaps cancelled.

Versions of one invoice are ordered by the ERP's `updated_at`:
- the first version received issues the invoice (an amendment that overtook its issue carries the
  whole invoice, so it issues it too);
- a later version with other content is an amendment, whether the ERP sent it as
  `erp.invoice.amended.v1` or issued the invoice again (an ERP that only knows "upsert" re-issues);
- the same content again is a duplicate, and an older version than the one held is stale: neither
  changes anything or is announced;
- other content under the same `updated_at` is a conflict: nothing says which version is newer;
- a cancellation is final whatever its stamp (an ERP cannot amend a cancelled invoice, so a
  cancellation never is stale), and a later amendment of a cancelled invoice is refused.
An invoice never moves to another customer or currency: that is a cancellation and a new invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from ingestion.domain.invoices import InvoiceContent, changed_fields, differences
from settle_shared.errors import Problem

InvoiceStatus = Literal["open", "cancelled"]


class Outcome(StrEnum):
    """What became of one invoice or credit note sent by the ERP. Only the first three are
    announced; a duplicate or a stale version changes nothing."""

    ISSUED = "issued"
    AMENDED = "amended"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"
    STALE = "stale"


@dataclass(frozen=True)
class Refusal:
    """Why a record cannot be accepted: `invalid` input, or a `conflict` with what is held."""

    kind: Literal["invalid", "conflict"]
    slug: str
    title: str
    reason: str
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class InvoiceState:
    content: InvoiceContent
    erp_updated_at: datetime
    revision: int
    status: InvoiceStatus
    received_before_customer: bool
    received_at: datetime
    cancel_reason: str | None = None

    @property
    def content_hash(self) -> str:
        return self.content.fingerprint()


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    state: InvoiceState
    changes: tuple[str, ...] = ()


def receive_version(
    held: InvoiceState | None,
    invoice_id: str,
    content: InvoiceContent,
    updated_at: datetime,
    *,
    customer_known: bool,
    now: datetime,
) -> Decision | Refusal:
    """Decide what an issue or amendment (the whole invoice as it now is) does."""
    if held is None:
        return Decision(
            Outcome.ISSUED,
            InvoiceState(content, updated_at, 1, "open", not customer_known, now),
        )
    if updated_at < held.erp_updated_at:
        return Decision(Outcome.STALE, held)
    if content == held.content:
        if held.status == "cancelled" or updated_at == held.erp_updated_at:
            return Decision(Outcome.DUPLICATE, held)
        # Remember the later stamp, so versions older than it are recognised as stale.
        return Decision(Outcome.DUPLICATE, replace(held, erp_updated_at=updated_at))
    if held.status == "cancelled":
        return _amending_cancelled(invoice_id, held)
    if updated_at == held.erp_updated_at:
        return _same_stamp_other_content(invoice_id, held, content)
    moved = _moved(held.content, content)
    if moved:
        return Refusal(
            "conflict",
            "invoice-moved",
            "An invoice cannot change customer or currency",
            f"invoice {invoice_id} cannot change its customer or currency; cancel it and issue "
            "a new invoice instead",
            tuple(moved),
        )
    amended = replace(
        held,
        content=content,
        erp_updated_at=updated_at,
        revision=held.revision + 1,
        received_at=now,
    )
    return Decision(Outcome.AMENDED, amended, tuple(changed_fields(held.content, content)))


def receive_cancellation(
    held: InvoiceState | None,
    invoice_id: str,
    customer_id: str,
    updated_at: datetime,
    reason: str | None,
    *,
    now: datetime,
) -> Decision | Refusal:
    """Decide what a cancellation does. It is final, so it is never stale."""
    if held is None:
        return Refusal(
            "conflict",
            "invoice-not-issued",
            "The invoice was never issued",
            f"invoice {invoice_id} was never received, so it cannot be cancelled; send its issue "
            "first",
            (Problem("/invoice_id", f"no invoice {invoice_id} was received"),),
        )
    if held.content.customer_id != customer_id:
        return Refusal(
            "conflict",
            "invoice-moved",
            "The invoice belongs to another customer",
            f"invoice {invoice_id} was issued to customer {held.content.customer_id}, not "
            f"{customer_id}",
            (Problem("/customer_id", f"the invoice belongs to {held.content.customer_id}"),),
        )
    if held.status == "cancelled":
        return Decision(Outcome.DUPLICATE, held)
    cancelled = replace(
        held,
        status="cancelled",
        revision=held.revision + 1,
        erp_updated_at=max(updated_at, held.erp_updated_at),
        received_at=now,
        cancel_reason=reason,
    )
    return Decision(Outcome.CANCELLED, cancelled)


def _amending_cancelled(invoice_id: str, held: InvoiceState) -> Refusal:
    return Refusal(
        "conflict",
        "invoice-cancelled",
        "A cancelled invoice cannot be amended",
        f"invoice {invoice_id} was cancelled (revision {held.revision}, "
        f"{held.erp_updated_at.isoformat()}); a cancelled invoice cannot be amended: issue a "
        "new invoice instead",
    )


def _same_stamp_other_content(
    invoice_id: str, held: InvoiceState, content: InvoiceContent
) -> Refusal:
    return Refusal(
        "conflict",
        "conflict",
        "Other content under the same version",
        f"invoice {invoice_id} is held with other content under the same updated_at "
        f"({held.erp_updated_at.isoformat()}); send a change with a later updated_at",
        tuple(differences(held.content, content)),
    )


def _moved(held: InvoiceContent, incoming: InvoiceContent) -> list[Problem]:
    problems = []
    if incoming.customer_id != held.customer_id:
        problems.append(
            Problem("/customer_id", f"issued to {held.customer_id}, now {incoming.customer_id}")
        )
    if incoming.amount.currency != held.amount.currency:
        problems.append(
            Problem(
                "/amount/currency",
                f"issued in {held.amount.currency}, now {incoming.amount.currency}",
            )
        )
    return problems
