"""Finding invoice numbers and payer names in what people type: case, spaces, punctuation and
prefixes ('Inv.', 'Rechnung Nr') do not matter; the order of letters and digits does. A number
with one typo, or cut short, is recognised too, but only as a near mention."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

from rapidfuzz.distance import DamerauLevenshtein

MIN_NUMBER_LENGTH = 4
MIN_NEAR_LENGTH = 6
MAX_PARTS = 6
_RUNS = re.compile(r"[A-Z]+|[0-9]+")

Nearness = Literal["one typo", "cut short"]


def compact(text: str) -> str:
    """'Rechnung Nr. 2026-000123' -> 'RECHNUNGNR2026000123'."""
    return "".join(_RUNS.findall(_ascii_upper(text)))


def number_key(invoice_number: str) -> str:
    return compact(invoice_number)


def number_keys(invoice_number: str) -> tuple[str, ...]:
    """The invoice number as people write it: whole, and without its leading parts
    ('INV-2026-000123' is also '2026000123' and '000123'), each keeping a digit and at least
    MIN_NUMBER_LENGTH characters. The first key is the whole number."""
    keys: list[str] = []
    key = ""
    has_digit = False
    for run in reversed(_RUNS.findall(_ascii_upper(invoice_number))):
        key = run + key
        has_digit = has_digit or run[0].isdigit()
        if has_digit and len(key) >= MIN_NUMBER_LENGTH:
            keys.append(key)
    if key and (not keys or keys[-1] != key):
        keys.append(key)
    keys.reverse()
    return tuple(keys)


def serial_keys(invoice_number: str) -> tuple[str, ...]:
    """What an invoice number is looked up by in a text: its last digit run, and that run
    glued to the digit runs before it ('INV-2026-000123' -> '000123', '2026000123'), since
    people drop the dashes ('INV2026000123') as often as the prefix."""
    return number_index_keys(invoice_number)[1]


def number_index_keys(invoice_number: str) -> tuple[str, tuple[str, ...]]:
    """The number's key (see `number_key`) and its serial keys (see `serial_keys`), read in
    one pass for indexing."""
    runs: list[str] = _RUNS.findall(_ascii_upper(invoice_number))
    keys: list[str] = []
    tail = ""
    for run in reversed(runs):
        if not run[0].isdigit():
            break
        tail = run + tail
        keys.append(tail)
    return "".join(runs), tuple(keys)


def text_runs(lines: Iterable[str]) -> tuple[str, ...]:
    """The letter and digit runs of a text, in order: 'Inv. 2026-000123' -> INV, 2026, 000123."""
    return tuple(_RUNS.findall(_ascii_upper(" ".join(lines))))


def text_keys(lines: Iterable[str]) -> frozenset[str]:
    """Every run of up to MAX_PARTS consecutive letter or digit groups in the text, joined:
    'INV 2026-000123' yields '2026000123', 'INV2026000123' and '000123' among others. Keys
    without a digit or shorter than MIN_NUMBER_LENGTH are left out: they would match too much."""
    return keys_of_runs(text_runs(lines))


def keys_of_runs(runs: tuple[str, ...]) -> frozenset[str]:
    keys: set[str] = set()
    for start in range(len(runs)):
        key = ""
        has_digit = False
        for end in range(start, min(start + MAX_PARTS, len(runs))):
            run = runs[end]
            key += run
            has_digit = has_digit or run[0].isdigit()
            if has_digit and len(key) >= MIN_NUMBER_LENGTH:
                keys.add(key)
    return frozenset(keys)


class WrittenKeys:
    """The keys of a text (see `keys_of_runs`), grouped by length so that a number is only
    compared with the keys it could be a typo or a cut of."""

    def __init__(self, keys: frozenset[str]) -> None:
        self.keys = keys
        self.by_length: dict[int, list[str]] = {}
        for key in keys:
            self.by_length.setdefault(len(key), []).append(key)


def nearness(whole_number_key: str, written: WrittenKeys) -> Nearness | None:
    """Whether the text mentions the number with one typo (a letter changed, added, dropped or
    two swapped) or cut short (its first 60 % or more, and two letters or more missing: one
    missing is a typo). Short numbers never come near."""
    length = len(whole_number_key)
    if length < MIN_NEAR_LENGTH:
        return None
    for size in (length - 1, length, length + 1):
        for key in written.by_length.get(size, ()):
            if key != whole_number_key and (
                DamerauLevenshtein.distance(key, whole_number_key, score_cutoff=1) <= 1
            ):
                return "one typo"
    shortest_cut = max(MIN_NEAR_LENGTH, (length * 3 + 4) // 5)
    for size in range(shortest_cut, length - 1):
        if whole_number_key[:size] in written.keys:
            return "cut short"
    return None


def name_key(name: str | None) -> str | None:
    """'Bakkerij de Vries B.V.' and 'BAKKERIJ DE VRIES BV' share a key."""
    key = compact(name) if name else ""
    return key or None


def _ascii_upper(text: str) -> str:
    if text.isascii():
        return text.upper()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
