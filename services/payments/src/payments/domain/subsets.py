"""Which open items a payment pays when it names none, or several: an exact search for the
combinations whose open amounts add up to it, bounded in size and steps so one customer with
hundreds of open items cannot stall a statement. A bounded search that did not finish never
claims a combination is the only one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

MAX_ITEMS = 5
MAX_STEPS = 20_000
MAX_CREDITS = 4


@dataclass(frozen=True)
class SubsetSearch:
    """Combinations found (as positions in the invoices, then in the credits) and whether the
    search covered every combination up to its size bound."""

    found: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    complete: bool

    @property
    def unique(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        return self.found[0] if self.complete and len(self.found) == 1 else None


def combinations_paying(
    target: int,
    invoices: Sequence[int],
    credits: Sequence[int] = (),
    *,
    tolerance: int = 0,
    limit: int = 2,
) -> SubsetSearch:
    """Sets of invoices, less a set of credits, whose open amounts come within `tolerance` of
    `target`; stops after `limit` (two are enough to know a payment is ambiguous)."""
    found: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    complete = len(credits) <= MAX_CREDITS
    steps = 0
    usable_credits = range(min(len(credits), MAX_CREDITS))
    for size in range(len(usable_credits) + 1):
        for chosen_credits in combinations(usable_credits, size):
            netted = target + sum(credits[i] for i in chosen_credits)
            search = _Search(invoices, netted, tolerance, limit - len(found), MAX_STEPS - steps)
            for subset in search.run():
                found.append((subset, chosen_credits))
            steps += search.steps
            complete = complete and search.complete
            if len(found) >= limit:
                return SubsetSearch(tuple(found), complete)
    return SubsetSearch(tuple(found), complete)


class _Search:
    """Depth-first over invoices by descending amount; a branch stops once it overshoots."""

    def __init__(
        self, amounts: Sequence[int], target: int, tolerance: int, limit: int, budget: int
    ) -> None:
        self._order = sorted(range(len(amounts)), key=lambda i: -amounts[i])
        self._amounts = [amounts[i] for i in self._order]
        self._low = target - tolerance
        self._high = target + tolerance
        self._limit = limit
        self._budget = budget
        self.steps = 0
        self.complete = True
        self._found: list[tuple[int, ...]] = []
        self._suffix = [0] * (len(self._amounts) + 1)
        for i in range(len(self._amounts) - 1, -1, -1):
            self._suffix[i] = self._suffix[i + 1] + self._amounts[i]

    def run(self) -> list[tuple[int, ...]]:
        if self._limit > 0 and self._high > 0:
            self._visit(0, 0, [])
        return self._found

    def _visit(self, start: int, total: int, chosen: list[int]) -> None:
        for i in range(start, len(self._amounts)):
            if len(self._found) >= self._limit:
                return
            self.steps += 1
            if self.steps > self._budget:
                self.complete = False
                return
            if total + self._suffix[i] < self._low:
                return
            candidate = total + self._amounts[i]
            if candidate > self._high:
                continue
            chosen.append(i)
            if candidate >= self._low:
                self._found.append(tuple(sorted(self._order[j] for j in chosen)))
            if len(chosen) < MAX_ITEMS:
                self._visit(i + 1, candidate, chosen)
            chosen.pop()
