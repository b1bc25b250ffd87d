"""Finding invoice numbers and payer names in what people type: case, spaces, punctuation and
prefixes ('Inv.', 'Rechnung Nr') do not matter; the order of letters and digits does. A number
with one typo, or cut short, is recognised too, but only as a near mention.

- Texts are compared compacted: 'Rechnung Nr. 2026-000123' -> 'RECHNUNGNR2026000123' (accents
  dropped, letters and digits kept in order); `number_key` is the compact invoice number,
  `name_key` a payer's name.
- An invoice number is also written without its leading parts ('INV-2026-000123' is also
  '2026000123' and '000123'), each keeping a digit and at least four characters.
- `serial_keys`: what an invoice number is looked up by in a text: its last digit run, and that
  run glued to the digit runs before it ('000123', '2026000123'), since people drop the dashes
  as often as the prefix.
- `text_keys`: every run of up to six consecutive letter or digit groups of a text, joined,
  keeping those with a digit and at least four characters.
- `nearness`: whether a text (its `WrittenKeys`) mentions a number of six characters or more
  with one typo (a letter changed, added, dropped or two swapped: "one typo") or cut short (its
  first 60 % or more, two letters or more missing: "cut short").

The rules run compiled, in the payments core (services/payments/core/src/text.rs).
"""

from payments_core._native import (
    WrittenKeys,
    name_key,
    nearness,
    number_key,
    serial_keys,
    text_keys,
)

__all__ = [
    "WrittenKeys",
    "name_key",
    "nearness",
    "number_key",
    "serial_keys",
    "text_keys",
]
