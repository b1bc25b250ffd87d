//! Money as Python has it (`settle_shared.money.Money`), imported when first used.

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyString, PyTuple, PyType};
use pyo3::{PyClass, PyTypeInfo};

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

/// The text as Python's `repr` writes it: for error messages that quote what a file said.
pub fn repr(py: Python<'_>, text: &str) -> String {
    PyString::new(py, text)
        .repr()
        .map(|written| written.to_string())
        .unwrap_or_else(|_| format!("{text:?}"))
}

/// A class that compares, hashes and writes itself as a frozen dataclass of these fields does.
pub trait AsDataclass: PyClass<Frozen = pyo3::pyclass::boolean_struct::True> + Sync {
    const FIELDS: &'static [&'static str];

    /// The fields' values, in the order of `FIELDS`.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>>;

    /// `==`: the fields of both, in order, if both are of one class.
    fn equals(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let Ok(other) = other.downcast::<Self>() else {
            return Ok(py.NotImplemented());
        };
        let same = self.fields(py)?.eq(other.get().fields(py)?)?;
        Ok(PyBool::new(py, same).to_owned().into_any().unbind())
    }

    fn hashed(&self, py: Python<'_>) -> PyResult<isize> {
        self.fields(py)?.hash()
    }

    fn written(&self, py: Python<'_>) -> PyResult<String> {
        dataclass_repr(<Self as PyTypeInfo>::NAME, Self::FIELDS, &self.fields(py)?)
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
