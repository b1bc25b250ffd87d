//! Money as Python has it (`settle_shared.money.Money`), imported when first used.

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyTuple, PyType};

static MONEY: GILOnceCell<Py<PyType>> = GILOnceCell::new();

/// `settle_shared.money.Money.of(amount_minor, currency)`.
pub fn money(py: Python<'_>, amount_minor: i64, currency: &str) -> PyResult<PyObject> {
    let class = MONEY.import(py, "settle_shared.money", "Money")?;
    Ok(class.call_method1("of", (amount_minor, currency))?.unbind())
}

/// The amount of a `Money`, in minor units, and its currency.
pub fn money_parts(money: &Bound<'_, PyAny>) -> PyResult<(i64, String)> {
    let py = money.py();
    let amount_minor = money
        .getattr(pyo3::intern!(py, "amount_minor"))?
        .extract()?;
    let currency = money.getattr(pyo3::intern!(py, "currency"))?.extract()?;
    Ok((amount_minor, currency))
}

/// `==` as a frozen dataclass has it: the fields of both, in order, if both are of one class.
pub fn fields_equal(
    py: Python<'_>,
    mine: &Bound<'_, PyTuple>,
    theirs: Option<&Bound<'_, PyTuple>>,
) -> PyResult<PyObject> {
    match theirs {
        None => Ok(py.NotImplemented()),
        Some(theirs) => Ok(PyBool::new(py, mine.eq(theirs)?)
            .to_owned()
            .into_any()
            .unbind()),
    }
}

/// `repr` as a dataclass writes it: `Name(field=repr(value), ...)`.
pub fn dataclass_repr(
    name: &str,
    fields: &[&str],
    values: &Bound<'_, PyTuple>,
) -> PyResult<String> {
    let shown = fields.iter().zip(values.iter()).map(|(field, value)| {
        let value = value.repr()?;
        Ok(format!("{field}={value}"))
    });
    Ok(format!(
        "{name}({})",
        shown.collect::<PyResult<Vec<_>>>()?.join(", ")
    ))
}
