"""Structured creditor references: which scheme a reference follows and whether its check digits
hold. Only a valid reference is trusted; any other is reported, never relied on.

Schemes, with the rules the payments core (services/payments/core/src/references.rs) applies:
- ISO 11649 RF: 'RF', two check digits and up to 21 letters or digits; moved to the end and read
  as a number (A=10 ... Z=35) it leaves 1 modulo 97 (held to `stdnum.iso11649` by a test);
- Belgian OGM/VCS: 12 digits, the last two the first ten modulo 97 (97 for 0), as
  `stdnum.be.ogm_vcs`;
- Swiss QR/ISR reference: up to 27 digits with a recursive modulo 10 check digit, as
  `stdnum.ch.esr`;
- Finnish viitenumero: 4 to 20 digits; weights 7, 3, 1 from the right (check digit left out);
  check = (10 - sum mod 10) mod 10;
- Dutch betalingskenmerk (Betaalvereniging): 7 digits carry no check digit; 16 digits are a
  check digit and 15 more; 9 to 14 digits are a check digit, a length digit (the number of digits
  after it, mod 10) and those digits. Check = 11 - (weighted sum mod 11), weights 2, 4, 8, 5, 10,
  9, 7, 3, 6, 1 from the rightmost digit; 10 is written 1 and 11 is 0;
- Norwegian KID: 2 to 25 digits ending in a MOD10 (Luhn) or MOD11 check digit (weights 2 to 7
  from the right; 11 - sum mod 11, 11 is 0, 10 cannot be a KID).

Which schemes a reference may follow comes from how it is stated (type code, issuer) and else
from its shape; it is trusted when one of them holds. `references_in_text` finds the references
people and banks write into free text (an RF reference, a Belgian +++123/4567/89012+++, a Dutch
'BETALINGSKENM.' or Norwegian 'KID' followed by digits, a 27-digit Swiss QR reference grouped by
five or not), each noted with the issuer its form implies.
"""

from payments_core._native import (
    ReferenceCheck,
    check_reference,
    is_dutch_payment_reference,
    is_finnish_reference,
    is_norwegian_kid,
    reference_key,
    references_in_text,
)

__all__ = [
    "ReferenceCheck",
    "check_reference",
    "is_dutch_payment_reference",
    "is_finnish_reference",
    "is_norwegian_kid",
    "reference_key",
    "references_in_text",
]
