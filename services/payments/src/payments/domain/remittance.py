"""Finding invoice numbers and payer names in what people type: case, spaces, punctuation and
prefixes ('Inv.', 'Rechnung Nr') do not matter; the order of letters and digits does. A number
with one typo, or cut short, is recognised too, but only as a near mention.

- `compact`: 'Rechnung Nr. 2026-000123' -> 'RECHNUNGNR2026000123' (accents dropped, letters and
  digits kept in order); `number_key` is the compact invoice number, `name_key` a payer's name.
- `number_keys`: the invoice number as people write it: whole, and without its leading parts
  ('INV-2026-000123' is also '2026000123' and '000123'), each keeping a digit and at least four
  characters; the whole number first.
- `serial_keys`: what an invoice number is looked up by in a text: its last digit run, and that
  run glued to the digit runs before it ('000123', '2026000123'), since people drop the dashes
  as often as the prefix. `number_index_keys` gives the number's key and these in one pass.
- `text_runs`: the letter and digit runs of a text, in order; `keys_of_runs` (and `text_keys`
  from the text) every run of up to MAX_PARTS consecutive groups joined, keeping those with a
  digit and at least four characters.
- `nearness`: whether a text (its `WrittenKeys`) mentions a number of six characters or more
  with one typo (a letter changed, added, dropped or two swapped: "one typo") or cut short (its
  first 60 % or more, two letters or more missing: "cut short").

The rules run compiled, in the payments core (services/payments/core/src/text.rs).
"""

from payments_core._native import (
    MAX_PARTS,
    WrittenKeys,
    compact,
    keys_of_runs,
    name_key,
    nearness,
    number_index_keys,
    number_key,
    number_keys,
    serial_keys,
    text_keys,
    text_runs,
)

__all__ = [
    "MAX_PARTS",
    "WrittenKeys",
    "compact",
    "keys_of_runs",
    "name_key",
    "nearness",
    "number_index_keys",
    "number_key",
    "number_keys",
    "serial_keys",
    "text_keys",
    "text_runs",
]
