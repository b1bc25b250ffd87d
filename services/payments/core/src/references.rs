//! Structured creditor references (see `payments.domain.references`): which scheme a reference
//! follows and whether its check digits hold. Only a valid reference is trusted.

use std::sync::LazyLock;

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyTuple, PyType};
use regex::Regex;

use crate::text::compact;

pub const FOUND_IN_TEXT: &str = "text";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub value: String,
    pub code: Option<String>,
    pub issuer: Option<String>,
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn digit_values(digits: &str) -> impl DoubleEndedIterator<Item = u32> + '_ {
    digits.bytes().map(|b| u32::from(b - b'0'))
}

/// Finnish viitenumero: 4 to 20 digits; weights 7, 3, 1 from the right (check digit left out).
pub fn is_finnish_reference(digits: &str) -> bool {
    if !(4..=20).contains(&digits.len()) || !all_digits(digits) {
        return false;
    }
    let (body, check) = digits.split_at(digits.len() - 1);
    let total: u32 = digit_values(body)
        .rev()
        .zip([7, 3, 1].iter().cycle())
        .map(|(d, w)| d * w)
        .sum();
    (10 - total % 10) % 10 == check.parse::<u32>().unwrap_or(10)
}

const DUTCH_WEIGHTS: [u32; 10] = [2, 4, 8, 5, 10, 9, 7, 3, 6, 1];

/// NL betalingskenmerk: 7 digits carry no check digit; 16 digits are a check digit and 15 more;
/// 9 to 14 digits are a check digit, a length digit and the digits after it.
pub fn is_dutch_payment_reference(digits: &str) -> bool {
    if !all_digits(digits) {
        return false;
    }
    let length = digits.len();
    if length == 7 {
        return true;
    }
    if length != 16 && !(9..=14).contains(&length) {
        return false;
    }
    let values: Vec<u32> = digit_values(digits).collect();
    if length != 16 && values[1] as usize != (length - 2) % 10 {
        return false;
    }
    let total: u32 = values[1..]
        .iter()
        .rev()
        .zip(DUTCH_WEIGHTS.iter().cycle())
        .map(|(d, w)| d * w)
        .sum();
    let check = match 11 - total % 11 {
        10 => 1,
        11 => 0,
        other => other,
    };
    check == values[0]
}

fn is_luhn(digits: &str) -> bool {
    let total: u32 = digit_values(digits)
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                d
            } else {
                (d * 2) / 10 + (d * 2) % 10
            }
        })
        .sum();
    all_digits(digits) && total.is_multiple_of(10)
}

/// Norwegian KID: 2 to 25 digits ending in a MOD10 (Luhn) or MOD11 check digit.
pub fn is_norwegian_kid(digits: &str) -> bool {
    if !(2..=25).contains(&digits.len()) || !all_digits(digits) {
        return false;
    }
    if is_luhn(digits) {
        return true;
    }
    let (body, check) = digits.split_at(digits.len() - 1);
    let total: u32 = digit_values(body)
        .rev()
        .enumerate()
        .map(|(i, d)| d * (2 + i as u32 % 6))
        .sum();
    let expected = 11 - total % 11;
    expected != 10 && expected % 11 == check.parse::<u32>().unwrap_or(11)
}

/// Belgian OGM/VCS: 12 digits, the last two the first ten mod 97 (97 for 0), as python-stdnum.
fn is_ogm(key: &str) -> bool {
    if key.len() != 12 || !all_digits(key) || key.bytes().all(|b| b == b'0') {
        return false;
    }
    let first: u64 = key[..10].parse().unwrap_or(0);
    let check = match first % 97 {
        0 => 97,
        other => other,
    };
    key[10..].parse::<u64>() == Ok(check)
}

/// Swiss QR/ISR reference: up to 27 digits (leading zeros aside) with a recursive mod 10 check
/// digit, as python-stdnum's `ch.esr`.
fn is_qrr(key: &str) -> bool {
    const TABLE: [u32; 10] = [0, 9, 4, 6, 8, 2, 7, 1, 3, 5];
    let number = key.trim_start_matches('0');
    if number.len() > 27 || !all_digits(number) {
        return false;
    }
    let (body, check) = number.split_at(number.len() - 1);
    let carry = digit_values(body).fold(0, |c, d| TABLE[((d + c) % 10) as usize]);
    (10 - carry) % 10 == check.parse::<u32>().unwrap_or(10)
}

/// ISO 11649: 'RF', two check digits and up to 21 letters or digits; moved to the end and read as
/// a number (A=10 ... Z=35), it leaves 1 modulo 97.
pub fn is_rf(key: &str) -> bool {
    let bytes = key.as_bytes();
    if !(5..=25).contains(&key.len()) || !key.starts_with("RF") || !all_digits(&key[2..4]) {
        return false;
    }
    if !bytes[4..]
        .iter()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    let rotated = bytes[4..].iter().chain(&bytes[..4]);
    let remainder = rotated.fold(0u32, |rest, &b| {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            _ => u32::from(b - b'A') + 10,
        };
        let shift = if value >= 10 { 100 } else { 10 };
        (rest * shift + value) % 97
    });
    remainder == 1
}

#[derive(Clone, Copy, Debug)]
pub struct Scheme {
    pub name: &'static str,
    is_valid: fn(&str) -> bool,
    lengths: Option<(usize, usize, &'static [usize])>,
}

impl Scheme {
    /// Whether a reference has this scheme's shape (digits only, of its lengths).
    fn fits(&self, key: &str) -> bool {
        match self.lengths {
            None => true,
            Some((low, high, also)) => {
                all_digits(key) && ((low..=high).contains(&key.len()) || also.contains(&key.len()))
            }
        }
    }
}

const RF: Scheme = Scheme {
    name: "ISO 11649 RF",
    is_valid: is_rf,
    lengths: None,
};
const OGM: Scheme = Scheme {
    name: "Belgian OGM/VCS",
    is_valid: is_ogm,
    lengths: Some((12, 12, &[])),
};
const QRR: Scheme = Scheme {
    name: "Swiss QR/ISR reference",
    is_valid: is_qrr,
    lengths: Some((2, 27, &[])),
};
const FINNISH: Scheme = Scheme {
    name: "Finnish reference",
    is_valid: is_finnish_reference,
    lengths: Some((4, 20, &[])),
};
const DUTCH: Scheme = Scheme {
    name: "Dutch betalingskenmerk",
    is_valid: is_dutch_payment_reference,
    lengths: Some((9, 14, &[7, 16])),
};
const KID: Scheme = Scheme {
    name: "Norwegian KID",
    is_valid: is_norwegian_kid,
    lengths: Some((2, 25, &[])),
};

const BY_ISSUER: [(&str, Scheme); 4] = [("BBA", OGM), ("CUR", DUTCH), ("KID", KID), ("ISO", RF)];
const SWISS_CODES: [&str; 3] = ["QRR", "ESR", "ISR"];

static OGM_WRITTEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[+*]{3}\d{3}/\d{4}/\d{5}[+*]{3}$").expect("pattern"));

/// The schemes a reference may follow, from its type and issuer first, else its shape.
fn schemes_for(reference: &Reference, key: &str) -> Vec<Scheme> {
    if key.starts_with("RF") {
        return vec![RF];
    }
    let upper = |part: &Option<String>| part.as_deref().unwrap_or("").to_uppercase();
    let stated = [upper(&reference.code), upper(&reference.issuer)];
    if stated.iter().any(|s| SWISS_CODES.contains(&s.as_str())) {
        return if QRR.fits(key) { vec![QRR] } else { vec![] };
    }
    if let Some((_, scheme)) = BY_ISSUER
        .iter()
        .find(|(issuer, _)| stated.iter().any(|s| s == issuer))
    {
        return if scheme.fits(key) {
            vec![*scheme]
        } else {
            vec![]
        };
    }
    if OGM_WRITTEN.is_match(&reference.value.replace(' ', "")) {
        return vec![OGM];
    }
    by_shape(key)
}

fn by_shape(key: &str) -> Vec<Scheme> {
    if !all_digits(key) {
        return vec![];
    }
    let length = key.len();
    if length == 27 {
        return vec![QRR];
    }
    let mut shaped = Vec::new();
    if length == 12 {
        shaped.push(OGM);
    }
    if length == 7 || length == 16 || (9..=14).contains(&length) {
        shaped.push(DUTCH);
    }
    if (4..=20).contains(&length) {
        shaped.push(FINNISH);
    }
    if (2..=25).contains(&length) {
        shaped.push(KID);
    }
    shaped
}

#[derive(Clone, Debug)]
pub struct ReferenceCheck {
    pub reference: Reference,
    pub key: String,
    pub schemes: Vec<&'static str>,
    pub valid_as: Option<&'static str>,
}

impl ReferenceCheck {
    pub fn trusted(&self) -> bool {
        self.valid_as.is_some()
    }

    /// The scheme it holds under, else the one it was stated or shaped as (if only one).
    pub fn scheme(&self) -> Option<&'static str> {
        self.valid_as.or(if self.schemes.len() == 1 {
            Some(self.schemes[0])
        } else {
            None
        })
    }

    pub fn describe(&self) -> String {
        let stated = self.stated();
        if self.schemes.is_empty() {
            let not_rf = if self.reference.code.as_deref() == Some("SCOR") {
                ", a SCOR reference that is not ISO 11649 RF,"
            } else {
                ""
            };
            return format!(
                "structured reference {stated}{not_rf} follows no known check-digit scheme: not trusted"
            );
        }
        match self.valid_as {
            None => format!(
                "structured reference {stated} has a bad {} check digit: not trusted",
                self.schemes.join(" or ")
            ),
            Some(scheme) => format!("structured reference {} is a valid {scheme}", self.key),
        }
    }

    fn stated(&self) -> String {
        let reference = &self.reference;
        if reference.code.as_deref() == Some(FOUND_IN_TEXT) {
            return format!("{} (found in the remittance text)", reference.value);
        }
        let issuer = reference
            .issuer
            .as_deref()
            .filter(|i| !i.is_empty())
            .map(|i| format!("issuer {i}"));
        let code = reference.code.clone().filter(|c| !c.is_empty());
        let kind: Vec<String> = code.into_iter().chain(issuer).collect();
        if kind.is_empty() {
            reference.value.clone()
        } else {
            format!("{} ({})", reference.value, kind.join(", "))
        }
    }
}

pub fn check_reference(reference: &Reference) -> ReferenceCheck {
    let key = reference_key(&reference.value);
    let schemes = schemes_for(reference, &key);
    let valid_as = schemes.iter().find(|s| (s.is_valid)(&key)).map(|s| s.name);
    ReferenceCheck {
        reference: reference.clone(),
        key,
        schemes: schemes.iter().map(|s| s.name).collect(),
        valid_as,
    }
}

pub fn reference_key(text: &str) -> String {
    compact(text)
}

static MAY_HOLD_REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"RF\d\d|[+*]{3}|KENM|KID|\d{5} ?\d{5} ?\d{5}").expect("pattern"));
static RF_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bRF\d{2}(?:[A-Z0-9]{5,21}\b|(?: [A-Z0-9]{1,4}\b){1,6}|[A-Z0-9]{1,4}\b)")
        .expect("pattern")
});
static IN_TEXT: LazyLock<[(Regex, &str); 3]> = LazyLock::new(|| {
    let pattern = |p: &str| Regex::new(p).expect("pattern");
    [
        (pattern(r"[+*]{3}\d{3}/\d{4}/\d{5}[+*]{3}"), "BBA"),
        (
            pattern(r"\bBETALINGSKENM(?:ERK)?\.?:?\s*(\d{7,16})\b"),
            "CUR",
        ),
        (pattern(r"\bKID(?:-?NR\.?)?:?\s*(\d{2,25})\b"), "KID"),
    ]
});
/// A Swiss QR reference: 27 digits, grouped by five or not, with no ASCII digit either side
/// (checked by hand: the regex crate has no look-around).
static QRR_AT_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{2}(?: ?\d{5}){5}").expect("pattern"));

/// Structured references people and banks write into free text, each with the issuer its form
/// implies, in the order first found; one per key.
pub fn references_in_text<S: AsRef<str>>(lines: &[S]) -> Vec<Reference> {
    let joined: Vec<&str> = lines.iter().map(AsRef::as_ref).collect();
    let text = joined.join(" ").to_uppercase();
    let mut found: Vec<(String, Reference)> = Vec::new();
    if !MAY_HOLD_REFERENCE.is_match(&text) {
        return vec![];
    }
    let mut note = |value: &str, issuer: Option<&str>| {
        let key = reference_key(value);
        if !found.iter().any(|(k, _)| *k == key) {
            let reference = Reference {
                value: value.to_owned(),
                code: Some(FOUND_IN_TEXT.to_owned()),
                issuer: issuer.map(str::to_owned),
            };
            found.push((key, reference));
        }
    };
    for written in RF_IN_TEXT.find_iter(&text) {
        note(&longest_valid_rf(written.as_str()), None);
    }
    for (pattern, issuer) in IN_TEXT.iter() {
        for captures in pattern.captures_iter(&text) {
            let group = captures
                .get(1)
                .or_else(|| captures.get(0))
                .expect("a match");
            note(group.as_str().trim(), Some(issuer));
        }
    }
    for value in swiss_references(&text) {
        note(value.trim(), Some("QRR"));
    }
    found.into_iter().map(|(_, reference)| reference).collect()
}

fn swiss_references(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let after_digit = text[..at]
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_digit());
        let here = if after_digit {
            None
        } else {
            QRR_AT_START.find(&text[at..])
        };
        let end = here.map(|m| at + m.end());
        match end {
            Some(end)
                if !text[end..]
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_digit()) =>
            {
                found.push(&text[at..end]);
                at = end;
            }
            _ => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// 'RF18 5390 0754 7034 X' is RF18539007547034 followed by other text: the longest run of groups
/// that holds, else all of it (to be flagged).
fn longest_valid_rf(written: &str) -> String {
    let groups: Vec<&str> = written.split(' ').collect();
    (2..=groups.len())
        .rev()
        .map(|end| groups[..end].join(" "))
        .find(|candidate| is_rf(&reference_key(candidate)))
        .unwrap_or_else(|| written.to_owned())
}

/// A reference check as Python sees it: `reference` is the `CreditorReference` it was made from.
#[pyclass(name = "ReferenceCheck", module = "payments_core._native", frozen)]
pub struct PyReferenceCheck {
    pub check: ReferenceCheck,
    reference: PyObject,
}

static CREDITOR_REFERENCE: GILOnceCell<Py<PyType>> = GILOnceCell::new();

/// `payments.domain.statement.CreditorReference`, the type statements carry references in.
fn creditor_reference_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    CREDITOR_REFERENCE.import(py, "payments.domain.statement", "CreditorReference")
}

pub fn reference_of(stated: &Bound<'_, PyAny>) -> PyResult<Reference> {
    Ok(Reference {
        value: stated.getattr("value")?.extract()?,
        code: stated.getattr("code")?.extract()?,
        issuer: stated.getattr("issuer")?.extract()?,
    })
}

pub fn python_reference(py: Python<'_>, reference: &Reference) -> PyResult<PyObject> {
    let made = creditor_reference_type(py)?.call1((
        &reference.value,
        reference.code.as_deref(),
        reference.issuer.as_deref(),
    ))?;
    Ok(made.unbind())
}

impl PyReferenceCheck {
    /// The check of a reference; `stated` is the Python object it came from, if there is one.
    pub fn new(py: Python<'_>, check: ReferenceCheck, stated: Option<PyObject>) -> PyResult<Self> {
        let reference = match stated {
            Some(stated) => stated,
            None => python_reference(py, &check.reference)?,
        };
        Ok(PyReferenceCheck { check, reference })
    }
}

#[pymethods]
impl PyReferenceCheck {
    #[getter]
    fn reference(&self, py: Python<'_>) -> PyObject {
        self.reference.clone_ref(py)
    }

    #[getter]
    fn key(&self) -> &str {
        &self.check.key
    }

    #[getter]
    fn schemes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.check.schemes)
    }

    #[getter]
    fn valid_as(&self) -> Option<&'static str> {
        self.check.valid_as
    }

    #[getter]
    fn trusted(&self) -> bool {
        self.check.trusted()
    }

    #[getter]
    fn scheme(&self) -> Option<&'static str> {
        self.check.scheme()
    }

    fn describe(&self) -> String {
        self.check.describe()
    }
}

#[pyfunction]
#[pyo3(name = "check_reference")]
fn py_check_reference(stated: &Bound<'_, PyAny>) -> PyResult<PyReferenceCheck> {
    let check = check_reference(&reference_of(stated)?);
    PyReferenceCheck::new(stated.py(), check, Some(stated.clone().unbind()))
}

#[pyfunction]
#[pyo3(name = "references_in_text")]
fn py_references_in_text<'py>(
    py: Python<'py>,
    lines: Vec<String>,
) -> PyResult<Bound<'py, PyTuple>> {
    let found: PyResult<Vec<PyObject>> = references_in_text(&lines)
        .iter()
        .map(|r| python_reference(py, r))
        .collect();
    PyTuple::new(py, found?)
}

#[pyfunction]
#[pyo3(name = "reference_key")]
fn py_reference_key(text: &str) -> String {
    reference_key(text)
}

#[pyfunction]
#[pyo3(name = "is_finnish_reference")]
fn py_is_finnish_reference(digits: &str) -> bool {
    is_finnish_reference(digits)
}

#[pyfunction]
#[pyo3(name = "is_dutch_payment_reference")]
fn py_is_dutch_payment_reference(digits: &str) -> bool {
    is_dutch_payment_reference(digits)
}

#[pyfunction]
#[pyo3(name = "is_norwegian_kid")]
fn py_is_norwegian_kid(digits: &str) -> bool {
    is_norwegian_kid(digits)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyReferenceCheck>()?;
    m.add_function(wrap_pyfunction!(py_check_reference, m)?)?;
    m.add_function(wrap_pyfunction!(py_references_in_text, m)?)?;
    m.add_function(wrap_pyfunction!(py_reference_key, m)?)?;
    m.add_function(wrap_pyfunction!(py_is_finnish_reference, m)?)?;
    m.add_function(wrap_pyfunction!(py_is_dutch_payment_reference, m)?)?;
    m.add_function(wrap_pyfunction!(py_is_norwegian_kid, m)?)?;
    Ok(())
}
