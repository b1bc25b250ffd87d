//! Amounts put into words for evidence and error messages: 'EUR 1234.50' (see
//! `payments.domain.amounts`). How many decimals a currency has is `settle_shared.money`'s to
//! say; it is asked once per currency.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;

static EXPONENTS: LazyLock<RwLock<HashMap<String, u32>>> = LazyLock::new(Default::default);
static CURRENCY_EXPONENT: GILOnceCell<PyObject> = GILOnceCell::new();

fn exponent(currency: &str) -> u32 {
    if let Some(&known) = EXPONENTS.read().expect("not poisoned").get(currency) {
        return known;
    }
    let asked = Python::with_gil(|py| -> PyResult<u32> {
        let ask = CURRENCY_EXPONENT.import(py, "settle_shared.money", "currency_exponent")?;
        ask.call1((currency,))?.extract()
    })
    .expect("settle_shared.money.currency_exponent answers for any currency code");
    EXPONENTS
        .write()
        .expect("not poisoned")
        .insert(currency.to_owned(), asked);
    asked
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_display_minor, m)?)?;
    Ok(())
}
