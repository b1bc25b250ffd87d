"""What customers owe, as matching sees it: open invoices and unused credit notes, looked up by
reference, number, customer and open amount, and the payer accounts learned for each customer.

One `OpenItems` holds whatever the caller loaded: the few hundred items a chunk of a statement
may touch (the service), or a whole portfolio (the benchmark). Applying a match updates it, so
the next payment of the same statement sees what the previous one left open.
"""

from __future__ import annotations

from typing import Literal

from payments_core._native import OpenItem, OpenItems, StoredItem

__all__ = ["ItemKind", "ItemStatus", "OpenItem", "OpenItems", "StoredItem"]

ItemKind = Literal["invoice", "credit"]
ItemStatus = Literal["open", "settled", "cancelled"]
