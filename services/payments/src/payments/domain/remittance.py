"""Finding invoice numbers and payer names in what people type: case, spaces, punctuation and
prefixes ('Inv.', 'Rechnung Nr') do not matter; the order of letters and digits does."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MIN_NUMBER_LENGTH = 4
MAX_PARTS = 6
_RUNS = re.compile(r"[A-Z]+|[0-9]+")


def compact(text: str) -> str:
    """'Rechnung Nr. 2026-000123' -> 'RECHNUNGNR2026000123'."""
    return "".join(_RUNS.findall(_ascii_upper(text)))


def number_key(invoice_number: str) -> str:
    return compact(invoice_number)


def text_keys(lines: Iterable[str]) -> frozenset[str]:
    """Every run of up to MAX_PARTS consecutive letter or digit groups in the text, joined:
    'INV 2026-000123' yields '2026000123', 'INV2026000123' and '000123' among others. An invoice
    number is mentioned when its key is one of these. Keys without a digit or shorter than
    MIN_NUMBER_LENGTH are left out: they would match too much."""
    runs = _RUNS.findall(_ascii_upper(" ".join(lines)))
    keys: set[str] = set()
    for start in range(len(runs)):
        for end in range(start + 1, min(start + MAX_PARTS, len(runs)) + 1):
            key = "".join(runs[start:end])
            if len(key) >= MIN_NUMBER_LENGTH and any(ch.isdigit() for ch in key):
                keys.add(key)
    return frozenset(keys)


def name_key(name: str | None) -> str | None:
    """'Bakkerij de Vries B.V.' and 'BAKKERIJ DE VRIES BV' share a key."""
    key = compact(name) if name else ""
    return key or None


def _ascii_upper(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
