"""Structured creditor references: which scheme a reference follows and whether its check digits
hold. Only a valid reference is trusted; any other is reported, never relied on.

Schemes: ISO 11649 RF, Belgian OGM/VCS, Swiss QR/ISR reference (python-stdnum), Finnish
viitenumero, Dutch betalingskenmerk and Norwegian KID (python-stdnum has none of these three;
their rules are the published ones, see each function). Which schemes a reference may follow
comes from how it is stated (type code, issuer) and else from its shape; it is trusted when one
of them holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stdnum import luhn
from stdnum.be import ogm_vcs
from stdnum.ch import esr

from payments.domain.remittance import compact
from payments.domain.statement import CreditorReference

FOUND_IN_TEXT = "text"


def is_finnish_reference(digits: str) -> bool:
    """Finnish viitenumero: 4 to 20 digits; weights 7, 3, 1 from the right (check digit left
    out); check = (10 - sum mod 10) mod 10."""
    if not (4 <= len(digits) <= 20 and digits.isdigit()):
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (7, 3, 1)[i % 3] for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


_DUTCH_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)


def is_dutch_payment_reference(digits: str) -> bool:
    """NL betalingskenmerk (Betaalvereniging): 7 digits carry no check digit; 16 digits are a
    check digit and 15 more; 9 to 14 digits are a check digit, a length digit (the number of
    digits after it, mod 10) and those digits. Check = 11 - (weighted sum mod 11), weights
    2, 4, 8, 5, 10, 9, 7, 3, 6, 1 from the rightmost digit; 10 is written 1 and 11 is 0."""
    if not digits.isdigit():
        return False
    length = len(digits)
    if length == 7:
        return True
    if length != 16 and not 9 <= length <= 14:
        return False
    if length != 16 and int(digits[1]) != (length - 2) % 10:
        return False
    body = digits[1:]
    total = sum(
        int(d) * _DUTCH_WEIGHTS[i % len(_DUTCH_WEIGHTS)] for i, d in enumerate(reversed(body))
    )
    check = 11 - total % 11
    return {10: 1, 11: 0}.get(check, check) == int(digits[0])


def is_norwegian_kid(digits: str) -> bool:
    """Norwegian KID: 2 to 25 digits ending in a MOD10 (Luhn) or MOD11 check digit (weights
    2 to 7 from the right; 11 - sum mod 11, 11 is 0, 10 cannot be a KID)."""
    if not (2 <= len(digits) <= 25 and digits.isdigit()):
        return False
    if luhn.is_valid(digits):
        return True
    body = digits[:-1]
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(body)))
    check = 11 - total % 11
    return check != 10 and check % 11 == int(digits[-1])


def _is_ogm(key: str) -> bool:
    return bool(ogm_vcs.is_valid(key))


def _is_rf(key: str) -> bool:
    """ISO 11649: 'RF', two check digits and up to 21 letters or digits; moved to the end and
    read as a number (A=10 ... Z=35), it leaves 1 modulo 97 (ISO 7064 mod 97-10). The same rule
    as `stdnum.iso11649`, which a test holds it to, written out because statements are checked
    line by line and python-stdnum's validation costs some 17 microseconds a reference."""
    if not (5 <= len(key) <= 25 and key.startswith("RF") and key[2:4].isdigit()):
        return False
    body = key[4:]
    if not body.isalnum() or not body.isascii():
        return False
    return int((body + key[:4]).translate(_LETTERS_AS_NUMBERS)) % 97 == 1


_LETTERS_AS_NUMBERS = str.maketrans({chr(65 + i): str(10 + i) for i in range(26)})


def _is_qrr(key: str) -> bool:
    return bool(esr.is_valid(key))


@dataclass(frozen=True)
class ReferenceScheme:
    name: str
    is_valid: Callable[[str], bool]
    lengths: frozenset[int] = frozenset()

    def fits(self, key: str) -> bool:
        """Whether a reference has this scheme's shape (digits only, of its lengths)."""
        return not self.lengths or (key.isdigit() and len(key) in self.lengths)


RF = ReferenceScheme("ISO 11649 RF", _is_rf)
OGM = ReferenceScheme("Belgian OGM/VCS", _is_ogm, frozenset({12}))
QRR = ReferenceScheme("Swiss QR/ISR reference", _is_qrr, frozenset(range(2, 28)))
FINNISH = ReferenceScheme("Finnish reference", is_finnish_reference, frozenset(range(4, 21)))
DUTCH = ReferenceScheme(
    "Dutch betalingskenmerk", is_dutch_payment_reference, frozenset({7, *range(9, 15), 16})
)
KID = ReferenceScheme("Norwegian KID", is_norwegian_kid, frozenset(range(2, 26)))

_BY_ISSUER = {"BBA": (OGM,), "CUR": (DUTCH,), "KID": (KID,), "ISO": (RF,)}
_SWISS_CODES = frozenset({"QRR", "ESR", "ISR"})
_OGM_WRITTEN = re.compile(r"^[+*]{3}\d{3}/\d{4}/\d{5}[+*]{3}$")


def schemes_for(reference: CreditorReference, key: str) -> tuple[ReferenceScheme, ...]:
    """The schemes a reference may follow, from its type and issuer first, else its shape."""
    if key.startswith("RF"):
        return (RF,)
    stated = {(reference.code or "").upper(), (reference.issuer or "").upper()}
    if stated & _SWISS_CODES:
        return (QRR,) if QRR.fits(key) else ()
    for issuer, schemes in _BY_ISSUER.items():
        if issuer in stated:
            return tuple(scheme for scheme in schemes if scheme.fits(key))
    if _OGM_WRITTEN.match(reference.value.replace(" ", "")):
        return (OGM,)
    return _by_shape(key)


def _by_shape(key: str) -> tuple[ReferenceScheme, ...]:
    if not key.isdigit():
        return ()
    length = len(key)
    if length == 27:
        return (QRR,)
    shaped: list[ReferenceScheme] = []
    if length == 12:
        shaped.append(OGM)
    if length in (7, 16) or 9 <= length <= 14:
        shaped.append(DUTCH)
    if 4 <= length <= 20:
        shaped.append(FINNISH)
    if 2 <= length <= 25:
        shaped.append(KID)
    return tuple(shaped)


@dataclass(frozen=True)
class ReferenceCheck:
    reference: CreditorReference
    key: str
    schemes: tuple[str, ...]
    valid_as: str | None

    @property
    def trusted(self) -> bool:
        return self.valid_as is not None

    @property
    def scheme(self) -> str | None:
        """The scheme it holds under, else the one it was stated or shaped as (if only one)."""
        if self.valid_as is not None:
            return self.valid_as
        return self.schemes[0] if len(self.schemes) == 1 else None

    def describe(self) -> str:
        stated = self._stated()
        if not self.schemes:
            not_rf = ", a SCOR reference that is not ISO 11649 RF," if self._scor else ""
            return (
                f"structured reference {stated}{not_rf} follows no known check-digit scheme: "
                "not trusted"
            )
        if self.valid_as is None:
            names = " or ".join(self.schemes)
            return f"structured reference {stated} has a bad {names} check digit: not trusted"
        return f"structured reference {self.key} is a valid {self.valid_as}"

    @property
    def _scor(self) -> bool:
        return self.reference.code == "SCOR"

    def _stated(self) -> str:
        if self.reference.code == FOUND_IN_TEXT:
            return f"{self.reference.value} (found in the remittance text)"
        kind = ", ".join(
            part
            for part in (
                self.reference.code,
                f"issuer {self.reference.issuer}" if self.reference.issuer else None,
            )
            if part
        )
        return f"{self.reference.value} ({kind})" if kind else self.reference.value


def check_reference(reference: CreditorReference) -> ReferenceCheck:
    key = reference_key(reference.value)
    schemes = schemes_for(reference, key)
    valid = next((scheme.name for scheme in schemes if scheme.is_valid(key)), None)
    return ReferenceCheck(reference, key, tuple(scheme.name for scheme in schemes), valid)


def reference_key(text: str) -> str:
    """How references are compared: upper case, spaces and punctuation dropped."""
    return compact(text)


_MAY_HOLD_REFERENCE = re.compile(r"RF\d\d|[+*]{3}|KENM|KID|\d{5} ?\d{5} ?\d{5}")
_RF_IN_TEXT = re.compile(r"\bRF\d{2}(?:[A-Z0-9]{5,21}\b|(?: [A-Z0-9]{1,4}\b){1,6}|[A-Z0-9]{1,4}\b)")
_IN_TEXT = (
    (re.compile(r"[+*]{3}\d{3}/\d{4}/\d{5}[+*]{3}"), "BBA"),
    (re.compile(r"\bBETALINGSKENM(?:ERK)?\.?:?\s*(\d{7,16})\b"), "CUR"),
    (re.compile(r"\bKID(?:-?NR\.?)?:?\s*(\d{2,25})\b"), "KID"),
    (re.compile(r"(?<![0-9])(\d{2}(?: ?\d{5}){5})(?![0-9])"), "QRR"),
)


def references_in_text(lines: Iterable[str]) -> tuple[CreditorReference, ...]:
    """Structured references people and banks write into free text: an RF reference, a Belgian
    +++123/4567/89012+++, a Dutch 'BETALINGSKENM.' or Norwegian 'KID' followed by digits, a
    27-digit Swiss QR reference (grouped by five or not). Each is noted with the issuer its
    form implies, so it is checked against that scheme only."""
    found: dict[str, CreditorReference] = {}
    text = " ".join(lines).upper()
    if not _MAY_HOLD_REFERENCE.search(text):
        return ()
    for match in _RF_IN_TEXT.finditer(text):
        value = _longest_valid_rf(match.group(0))
        found.setdefault(reference_key(value), CreditorReference(value, FOUND_IN_TEXT))
    for pattern, issuer in _IN_TEXT:
        for match in pattern.finditer(text):
            value = match.group(match.lastindex or 0).strip()
            found.setdefault(reference_key(value), CreditorReference(value, FOUND_IN_TEXT, issuer))
    return tuple(found.values())


def _longest_valid_rf(written: str) -> str:
    """'RF18 5390 0754 7034 X' is RF18539007547034 followed by other text: the longest run of
    groups that holds, else all of it (to be flagged)."""
    groups = written.split(" ")
    for end in range(len(groups), 1, -1):
        candidate = " ".join(groups[:end])
        if _is_rf(reference_key(candidate)):
            return candidate
    return written
