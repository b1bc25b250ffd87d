"""Structured creditor references: which scheme a reference follows and whether its check digits
hold. Only a valid reference is trusted; any other is reported, never relied on.

Schemes are tried in order; the Belgian, Finnish, Dutch and Norwegian national references slot in
as further `ReferenceScheme`s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stdnum import iso11649
from stdnum.ch import esr

from payments.domain.remittance import compact
from payments.domain.statement import CreditorReference


@dataclass(frozen=True)
class ReferenceScheme:
    name: str
    follows: Callable[[CreditorReference, str], bool]
    is_valid: Callable[[str], bool]


def _is_rf(reference: CreditorReference, key: str) -> bool:
    return key.startswith("RF")


def _is_qr_reference(reference: CreditorReference, key: str) -> bool:
    return reference.code == "QRR" or (len(key) == 27 and key.isdigit())


SCHEMES = (
    ReferenceScheme("ISO 11649 RF", _is_rf, iso11649.is_valid),
    ReferenceScheme("Swiss QR/ISR reference", _is_qr_reference, esr.is_valid),
)


@dataclass(frozen=True)
class ReferenceCheck:
    reference: CreditorReference
    key: str
    scheme: str | None
    valid: bool

    @property
    def trusted(self) -> bool:
        return self.scheme is not None and self.valid

    def describe(self) -> str:
        stated = self._stated()
        if self.scheme is None:
            not_rf = ", a SCOR reference that is not ISO 11649 RF," if self._scor else ""
            return (
                f"structured reference {stated}{not_rf} follows no known check-digit scheme: "
                "not trusted"
            )
        if not self.valid:
            return f"structured reference {stated} has a bad {self.scheme} check digit: not trusted"
        return f"structured reference {self.key} is a valid {self.scheme}"

    @property
    def _scor(self) -> bool:
        return self.reference.code == "SCOR"

    def _stated(self) -> str:
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
    for scheme in SCHEMES:
        if scheme.follows(reference, key):
            return ReferenceCheck(reference, key, scheme.name, bool(scheme.is_valid(key)))
    return ReferenceCheck(reference, key, None, False)


def reference_key(text: str) -> str:
    """How references are compared: upper case, spaces and punctuation dropped."""
    return compact(text)
