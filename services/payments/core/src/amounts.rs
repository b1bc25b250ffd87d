//! Amounts as banks write them ('1234.5') read into minor units exactly, and amounts put into
//! words for evidence and error messages ('EUR 1234.50'); see `payments.domain.amounts`. Which
//! currencies are in use, and how many decimals each has, is `settle_shared.money`'s to say; it
//! is asked once per currency.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyType;

/// ISO 20022 amounts: a non-negative xs:decimal with at most 18 digits in all.
pub const MAX_DIGITS: usize = 18;

static EXPONENTS: LazyLock<RwLock<HashMap<String, Option<u32>>>> = LazyLock::new(Default::default);
static IN_USE: GILOnceCell<PyObject> = GILOnceCell::new();
static CURRENCY_EXPONENT: GILOnceCell<PyObject> = GILOnceCell::new();

/// How many decimals a currency in use has; `None` for a code that is no currency in use.
fn exponent_in_use(currency: &str) -> Option<u32> {
    if let Some(&known) = EXPONENTS.read().expect("not poisoned").get(currency) {
        return known;
    }
    let asked = Python::with_gil(|py| -> PyResult<Option<u32>> {
        let in_use = IN_USE.import(py, "settle_shared.money", "ISO_4217_IN_USE")?;
        if !in_use.contains(currency)? {
            return Ok(None);
        }
        let ask = CURRENCY_EXPONENT.import(py, "settle_shared.money", "currency_exponent")?;
        Ok(Some(ask.call1((currency,))?.extract()?))
    })
    .expect("settle_shared.money knows the currencies in use and their decimals");
    EXPONENTS
        .write()
        .expect("not poisoned")
        .insert(currency.to_owned(), asked);
    asked
}

fn exponent(currency: &str) -> u32 {
    exponent_in_use(currency).unwrap_or_else(|| {
        Python::with_gil(|py| -> PyResult<u32> {
            let ask = CURRENCY_EXPONENT.import(py, "settle_shared.money", "currency_exponent")?;
            ask.call1((currency,))?.extract()
        })
        .expect("settle_shared.money.currency_exponent answers for any currency code")
    })
}

/// Why a bank's amount text cannot be read; `Display` writes it as `AmountError` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    /// Not digits with an optional decimal point: the text as written, as Python's `repr`.
    NotPlain(String),
    TooManyDigits(String),
    UnknownCurrency(String),
    TooManyDecimals {
        currency: String,
        amount: String,
        exponent: u32,
    },
}

impl AmountError {
    /// The message, with `repr` writing a text as Python does.
    pub fn message(&self, repr: impl Fn(&str) -> String) -> String {
        match self {
            Self::NotPlain(text) => format!("{} is not a plain decimal amount", repr(text)),
            Self::TooManyDigits(amount) => format!("{amount} has more than {MAX_DIGITS} digits"),
            Self::UnknownCurrency(code) => {
                format!("{} is not an ISO 4217 currency code", repr(code))
            }
            Self::TooManyDecimals {
                currency,
                amount,
                exponent,
            } => format!("{currency} {amount} has more decimals than {currency}'s {exponent}"),
        }
    }
}

/// '1234.5' EUR -> 123450. Refuses signs, exponents and more decimals than the currency has
/// (a trailing zero beyond them is fine: '105.750' EUR is 10575); no float is involved.
pub fn minor_units(text: &str, currency: &str) -> Result<i128, AmountError> {
    let stripped = crate::text::py_strip(text);
    let (whole, fraction) = match stripped.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (stripped, ""),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (stripped.contains('.') && !digits(fraction)) {
        return Err(AmountError::NotPlain(text.to_owned()));
    }
    let significant = whole.len() + fraction.len()
        - format!("{whole}{fraction}")
            .bytes()
            .take_while(|&b| b == b'0')
            .count();
    if significant > MAX_DIGITS {
        return Err(AmountError::TooManyDigits(stripped.to_owned()));
    }
    let exponent =
        exponent_in_use(currency).ok_or_else(|| AmountError::UnknownCurrency(currency.into()))?;
    let places = exponent as usize;
    let (kept, beyond) = fraction.split_at(fraction.len().min(places));
    if beyond.bytes().any(|b| b != b'0') {
        return Err(AmountError::TooManyDecimals {
            currency: currency.to_owned(),
            amount: stripped.to_owned(),
            exponent,
        });
    }
    let shifted = format!("{whole}{kept:0<places$}");
    Ok(shifted
        .parse::<i128>()
        .expect("18 significant digits, shifted by an exponent, fit an i128"))
}

/// 'EUR 1234.50', 'JPY -500'.
pub fn display_minor(amount_minor: i64, currency: &str) -> String {
    let places = exponent(currency);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let scale = 10u64.pow(places);
    let (whole, fraction) = (
        amount_minor.unsigned_abs() / scale,
        amount_minor.unsigned_abs() % scale,
    );
    if places == 0 {
        format!("{currency} {sign}{whole}")
    } else {
        format!(
            "{currency} {sign}{whole}.{fraction:0width$}",
            width = places as usize
        )
    }
}

#[pyfunction]
#[pyo3(name = "display_minor")]
fn py_display_minor(amount_minor: i64, currency: &str) -> String {
    display_minor(amount_minor, currency)
}

static PY_AMOUNT_ERROR: GILOnceCell<Py<PyType>> = GILOnceCell::new();

/// `payments.domain.amounts.AmountError` with the message.
pub fn py_amount_error(py: Python<'_>, error: &AmountError) -> PyErr {
    let message = error.message(|text| crate::python::repr(py, text));
    match PY_AMOUNT_ERROR.import(py, "payments.domain.amounts", "AmountError") {
        Ok(class) => PyErr::from_type(class.clone(), message),
        Err(failed) => failed,
    }
}

#[pyfunction]
#[pyo3(name = "minor_units")]
fn py_minor_units(py: Python<'_>, text: &str, currency: &str) -> PyResult<i128> {
    minor_units(text, currency).map_err(|error| py_amount_error(py, &error))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_display_minor, m)?)?;
    m.add_function(wrap_pyfunction!(py_minor_units, m)?)?;
    Ok(())
}
