"""Which open items a payment pays when it names none, or several: an exact search for the
combinations whose open amounts add up to it, bounded in size (5 invoices, 4 credit notes) and
steps (20,000) so one customer with hundreds of open items cannot stall a statement. A bounded
search that did not finish never claims a combination is the only one.

`combinations_paying(target, invoices, credits, tolerance=0, limit=2)` gives the combinations
found (positions in the invoices, then in the credits; invoices searched by descending amount)
and whether the search covered every one; it stops after `limit`, as two are enough to know a
payment is ambiguous. It runs compiled (services/payments/core/src/subsets.rs).
"""

from payments_core._native import SubsetSearch, combinations_paying

__all__ = ["SubsetSearch", "combinations_paying"]
