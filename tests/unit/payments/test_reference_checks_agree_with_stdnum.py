"""The compiled reference checks hold to python-stdnum where it has the scheme: for any digits,
a reference stated as that scheme is trusted exactly when stdnum calls it valid."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from stdnum import iso11649, luhn
from stdnum.be import ogm_vcs
from stdnum.ch import esr

from payments.domain.references import check_reference, is_norwegian_kid
from payments.domain.statement import CreditorReference

DIGITS = st.text("0123456789", min_size=1, max_size=30)


@given(st.text("0123456789", min_size=10, max_size=10))
@example("0000000097")  # a multiple of 97: its check digits are 97, not 00
def test_belgian_ogm_agrees_for_every_pair_of_check_digits(body: str) -> None:
    for check in range(100):
        value = f"{body}{check:02d}"
        trusted = check_reference(CreditorReference(value, issuer="BBA")).trusted
        assert trusted == ogm_vcs.is_valid(value), value


@given(DIGITS)
def test_swiss_qr_reference_agrees(value: str) -> None:
    trusted = check_reference(CreditorReference(value, "QRR")).trusted
    fits = 2 <= len(value) <= 27
    assert trusted == (fits and esr.is_valid(value))


@given(st.text("0123456789", min_size=1, max_size=26))
def test_swiss_qr_reference_with_its_own_check_digit_is_trusted(body: str) -> None:
    value = body + esr.calc_check_digit(body)
    trusted = check_reference(CreditorReference(value, "QRR")).trusted
    assert trusted == (len(value) <= 27 and esr.is_valid(value))
    assert trusted or len(value) > 27 or not value.strip("0")


@given(st.text("0123456789", min_size=2, max_size=25))
def test_norwegian_kid_takes_every_luhn_number(value: str) -> None:
    if luhn.is_valid(value):
        assert is_norwegian_kid(value)


@given(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21))
def test_rf_reference_agrees_for_every_pair_of_check_digits(body: str) -> None:
    verdicts = [
        (check_reference(CreditorReference(value)).trusted, iso11649.is_valid(value))
        for value in (f"RF{check:02d}{body}" for check in range(100))
    ]
    assert all(ours == theirs for ours, theirs in verdicts)
    assert any(ours for ours, _ in verdicts)
