//! What the reader hands to Python: the classes of `payments.domain.statement`, imported once,
//! and the refusals (`MalformedStatement`, `UnsupportedDocument`) with their problems.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDate, PyDict, PyList, PyString, PyTuple};

use super::source::Position;

pub struct Classes {
    pub location: Dataclass,
    pub balance: Dataclass,
    pub stated_total: Dataclass,
    pub transactions_summary: Dataclass,
    pub account: Dataclass,
    pub statement: Dataclass,
    pub party: Dataclass,
    pub creditor_reference: Dataclass,
    pub transaction_details: Dataclass,
    pub entry: Dataclass,
    pub money: PyObject,
    malformed: PyObject,
    unsupported: PyObject,
    problem: PyObject,
    decimal: PyObject,
    date: PyObject,
    datetime: PyObject,
}

static CLASSES: GILOnceCell<Classes> = GILOnceCell::new();

pub fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let statement = py.import("payments.domain.statement")?;
        let of = |name: &str| statement.getattr(name).map(Bound::unbind);
        let dataclass = |name: &str| Dataclass::new(&statement.getattr(name)?);
        let datetime = py.import("datetime")?;
        Ok(Classes {
            location: dataclass("Location")?,
            balance: dataclass("Balance")?,
            stated_total: dataclass("StatedTotal")?,
            transactions_summary: dataclass("TransactionsSummary")?,
            account: dataclass("Account")?,
            statement: dataclass("Statement")?,
            party: dataclass("Party")?,
            creditor_reference: dataclass("CreditorReference")?,
            transaction_details: dataclass("TransactionDetails")?,
            entry: dataclass("Entry")?,
            malformed: of("MalformedStatement")?,
            unsupported: of("UnsupportedDocument")?,
            money: py.import("settle_shared.money")?.getattr("Money")?.unbind(),
            problem: py
                .import("settle_shared.errors")?
                .getattr("Problem")?
                .unbind(),
            decimal: py.import("decimal")?.getattr("Decimal")?.unbind(),
            date: datetime.getattr("date")?.unbind(),
            datetime: datetime.getattr("datetime")?.unbind(),
        })
    })
}

/// A frozen dataclass of `payments.domain.statement`. Instances are made as unpickling makes
/// them: the fields are put into the instance's `__dict__`, without the generated `__init__`
/// (which sets each field through `object.__setattr__`, and costs more than all the rest of
/// reading an entry). So the classes must stay plain: no `__post_init__`, no `__slots__`.
pub struct Dataclass {
    class: PyObject,
    fields: Vec<Py<PyString>>,
}

impl Dataclass {
    fn new(class: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = class.py();
        let plain = !class.hasattr("__post_init__")? && class.hasattr("__dict__")?;
        if !plain {
            let name = class.getattr("__name__")?;
            return Err(PyTypeError::new_err(format!(
                "{name} must stay a plain dataclass for the statement reader"
            )));
        }
        let fields = py
            .import("dataclasses")?
            .call_method1("fields", (class,))?
            .try_iter()?
            .map(|field| {
                Ok(field?
                    .getattr("name")?
                    .downcast_into::<PyString>()?
                    .unbind())
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            class: class.clone().unbind(),
            fields,
        })
    }

    /// An instance with these values of its fields, in their order.
    pub fn call1<'py>(
        &self,
        py: Python<'py>,
        values: impl IntoPyObject<'py, Target = PyTuple, Output = Bound<'py, PyTuple>>,
    ) -> PyResult<PyObject> {
        let values = values.into_pyobject(py).map_err(Into::into)?;
        if values.len() != self.fields.len() {
            return Err(PyTypeError::new_err(format!(
                "{} has {} fields, the reader gave {}",
                self.class.bind(py).getattr("__name__")?,
                self.fields.len(),
                values.len()
            )));
        }
        let object = py.get_type::<PyAny>();
        let instance = object.call_method1(intern!(py, "__new__"), (&self.class,))?;
        let fields = instance.getattr(intern!(py, "__dict__"))?;
        let fields = fields.downcast::<PyDict>()?;
        for (name, value) in self.fields.iter().zip(values.iter()) {
            fields.set_item(name, value)?;
        }
        Ok(instance.unbind())
    }

    /// An instance with every field at its default.
    pub fn call0(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.class.call0(py)
    }
}

/// Where something was read: `Location(path, line)`, and how it describes itself.
#[derive(Clone)]
pub struct At {
    pub path: String,
    pub line: u32,
}

impl At {
    pub fn describe(&self) -> String {
        format!("{} (line {})", self.path, self.line)
    }

    pub fn to_python(&self, py: Python<'_>) -> PyResult<PyObject> {
        classes(py)?
            .location
            .call1(py, (self.path.as_str(), self.line))
    }
}

pub fn malformed(py: Python<'_>, reason: &str, problems: &[(&str, &str)]) -> PyErr {
    refusal(py, false, reason, problems)
}

pub fn unsupported(py: Python<'_>, reason: &str, problems: &[(&str, &str)]) -> PyErr {
    refusal(py, true, reason, problems)
}

fn refusal(py: Python<'_>, unsupported: bool, reason: &str, problems: &[(&str, &str)]) -> PyErr {
    let built = || -> PyResult<PyErr> {
        let classes = classes(py)?;
        let problems = problems
            .iter()
            .map(|&(location, message)| classes.problem.call1(py, (location, message)))
            .collect::<PyResult<Vec<_>>>()?;
        let class = if unsupported {
            &classes.unsupported
        } else {
            &classes.malformed
        };
        let error = class.call1(py, (reason, PyList::new(py, problems)?))?;
        Ok(PyErr::from_value(error.into_bound(py)))
    };
    built().unwrap_or_else(|failed| failed)
}

/// The file is not well-formed XML: why, and at which line and column.
pub fn not_well_formed(py: Python<'_>, message: &str, at: Position) -> PyErr {
    let location = format!("line {}, column {}", at.line, at.column);
    malformed(
        py,
        &format!("the file is not well-formed XML (truncated or damaged): {message}"),
        &[(&location, message)],
    )
}

/// The part at `at` lacks `path`.
pub fn missing(py: Python<'_>, at: &At, path: &str, message: &str) -> PyErr {
    let location = format!("{}/{path}", at.path);
    malformed(
        py,
        &format!("{message} ({location} is missing)"),
        &[(&location, message)],
    )
}

/// `path` of the part at `at` holds what it must not.
pub fn wrong(py: Python<'_>, at: &At, path: &str, message: &str) -> PyErr {
    let location = format!("{}/{path}", at.path);
    malformed(
        py,
        &format!("{location} (line {}): {message}", at.line),
        &[(&location, message)],
    )
}

/// `date.fromisoformat`, without a call into Python for the plain `YYYY-MM-DD`.
pub fn iso_date(py: Python<'_>, text: &str) -> PyResult<PyObject> {
    let bytes = text.as_bytes();
    let plain = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
    if plain {
        let year = text[..4].parse().expect("four digits");
        let month = text[5..7].parse().expect("two digits");
        let day = text[8..].parse().expect("two digits");
        return Ok(PyDate::new(py, year, month, day)?.into_any().unbind());
    }
    classes(py)?.date.call_method1(py, "fromisoformat", (text,))
}

/// `datetime.fromisoformat(text).date()`.
pub fn iso_datetime_date(py: Python<'_>, text: &str) -> PyResult<PyObject> {
    iso_datetime(py, text)?.call_method0(py, "date")
}

pub fn iso_datetime(py: Python<'_>, text: &str) -> PyResult<PyObject> {
    classes(py)?
        .datetime
        .call_method1(py, "fromisoformat", (text,))
}

/// `int(text)`, for digits of any length.
pub fn integer(py: Python<'_>, text: &str) -> PyResult<PyObject> {
    Ok(py.get_type::<pyo3::types::PyInt>().call1((text,))?.unbind())
}

pub fn decimal(py: Python<'_>, text: &str) -> PyResult<PyObject> {
    classes(py)?.decimal.call1(py, (text,))
}

/// The values, converted, as one tuple of arguments (`call1` takes at most 12 in a Rust tuple).
#[macro_export]
macro_rules! arguments {
    ($py:expr; $($value:expr),+ $(,)?) => {
        pyo3::types::PyTuple::new($py, [$(pyo3::IntoPyObjectExt::into_py_any($value, $py)?),+])?
    };
}

pub fn tuple(py: Python<'_>, items: Vec<PyObject>) -> PyResult<PyObject> {
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}
