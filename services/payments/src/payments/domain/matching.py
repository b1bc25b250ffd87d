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

from payments_core._native import (
    Allocation,
    Clues,
    Evidence,
    IncomingPayment,
    Matched,
    Suggestion,
    Tolerance,
    Unmatched,
    apply,
    clues_of,
    decide,
)

__all__ = [
    "Allocation",
    "Clues",
    "Decision",
    "Evidence",
    "IncomingPayment",
    "Matched",
    "Suggestion",
    "Tolerance",
    "Unmatched",
    "apply",
    "clues_of",
    "decide",
]

Decision = Matched | Unmatched
