"""Reading the story back from the topics: what was issued, reminded, paid and settled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from settle_shared.testing.topic_recorder import Seen


@dataclass(frozen=True)
class Snapshot:
    day: int
    open_invoices: int
    open_minor: int
    reminders: int
    payments: int
    settled: int


class Ledger:
    def __init__(self, seen: Sequence[Seen]) -> None:
        """`seen` is read on every question, so a recorder's growing list keeps it current."""
        self._seen = seen

    def of(self, ce_type: str) -> list[Seen]:
        return [seen for seen in self._seen if seen.ce_type == ce_type]

    def on(self, topic: str) -> list[Seen]:
        return [seen for seen in self._seen if seen.topic == topic]

    def count(self, ce_type: str) -> int:
        return len(self.of(ce_type))

    def open_balances(self) -> dict[str, int]:
        """Open amount per invoice, in minor units, after every payment seen so far."""
        balances = {
            s.data()["invoice_id"]: s.data()["amount"]["amount_minor"]
            for s in self.of("settle.invoice.issued.v1")
        }
        for seen in self._seen:
            if seen.ce_type == "settle.invoice.partially-paid.v1":
                balances[seen.data()["invoice_id"]] = seen.data()["open_amount"]["amount_minor"]
            elif seen.ce_type == "settle.invoice.settled.v1":
                balances[seen.data()["invoice_id"]] = 0
        return balances

    def snapshot(self, day: int) -> Snapshot:
        balances = self.open_balances()
        return Snapshot(
            day=day,
            open_invoices=sum(1 for minor in balances.values() if minor > 0),
            open_minor=sum(balances.values()),
            reminders=self.count("settle.dunning.reminder-requested.v1"),
            payments=self.count("settle.payment.received.v1"),
            settled=self.count("settle.invoice.settled.v1"),
        )

    def latest_segments(self) -> Counter[str]:
        latest = {
            s.data()["customer_id"]: s.data()["segment"]
            for s in self.of("settle.customer.segmented.v1")
        }
        return Counter(latest.values())

    def reminders_by_step(self) -> Counter[tuple[str, str]]:
        return Counter(
            (s.data()["step_name"], s.data()["channel"])
            for s in self.of("settle.dunning.reminder-requested.v1")
        )

    def delivery_outcomes(self) -> Counter[tuple[str, str]]:
        return Counter(
            (s.data()["channel"], s.data()["status"])
            for s in self.of("settle.delivery.status-changed.v1")
        )

    def credit_statuses(self) -> Counter[str]:
        latest = {
            s.data()["customer_id"]: s.data()["credit"]["status"]
            for s in self.of("settle.customer.enriched.v1")
        }
        return Counter(latest.values())

    def reminders_after_settlement(self) -> list[str]:
        """Invoices reminded after payments said they were settled: must always be empty.
        Compares the services' own (test-clock) timestamps."""
        settled_at = {
            s.data()["invoice_id"]: s.data()["settled_at"]
            for s in self.of("settle.invoice.settled.v1")
        }
        return [
            s.data()["invoice_id"]
            for s in self.of("settle.dunning.reminder-requested.v1")
            if s.data()["invoice_id"] in settled_at
            and datetime.fromisoformat(s.data()["requested_at"])
            > datetime.fromisoformat(settled_at[s.data()["invoice_id"]])
        ]
