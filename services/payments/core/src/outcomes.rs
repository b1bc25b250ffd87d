//! Decisions as Python sees them (see `payments.domain.matching`): a match with its allocations,
//! or a payment left for a person with ranked suggestions; each with its evidence.

use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyTuple;

use crate::decision::MatchedExplanation;
use crate::python::{dataclass_repr, money, AsDataclass};

#[pyclass(frozen, eq, hash, module = "payments_core._native")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Evidence {
    pub signals: Vec<String>,
    pub rejected: Vec<String>,
}

#[pymethods]
impl Evidence {
    #[new]
    fn new(signals: Vec<String>, rejected: Vec<String>) -> Self {
        Evidence { signals, rejected }
    }

    #[getter]
    fn signals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.signals)
    }

    #[getter]
    fn rejected<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.rejected)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let values = (self.signals(py)?, self.rejected(py)?).into_pyobject(py)?;
        dataclass_repr("Evidence", &["signals", "rejected"], &values)
    }
}

/// What a match applies to one item: a payment's share, or a credit note netted.
#[pyclass(frozen, eq, hash, module = "payments_core._native")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Allocation {
    #[pyo3(get)]
    pub invoice_id: String,
    #[pyo3(get)]
    pub invoice_number: String,
    #[pyo3(get)]
    pub customer_id: String,
    #[pyo3(get)]
    pub is_credit: bool,
    #[pyo3(get)]
    pub currency: String,
    #[pyo3(get)]
    pub amount_minor: i64,
    #[pyo3(get)]
    pub settles: bool,
    #[pyo3(get)]
    pub written_off_minor: i64,
}

#[pymethods]
impl Allocation {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        invoice_id: String,
        invoice_number: String,
        customer_id: String,
        is_credit: bool,
        currency: String,
        amount_minor: i64,
        settles: bool,
        written_off_minor: i64,
    ) -> Self {
        Allocation {
            invoice_id,
            invoice_number,
            customer_id,
            is_credit,
            currency,
            amount_minor,
            settles,
            written_off_minor,
        }
    }

    #[getter]
    fn amount(&self, py: Python<'_>) -> PyResult<PyObject> {
        money(py, self.amount_minor, &self.currency)
    }

    #[getter]
    fn written_off(&self, py: Python<'_>) -> PyResult<PyObject> {
        money(py, self.written_off_minor, &self.currency)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let values = (
            &self.invoice_id,
            &self.invoice_number,
            &self.customer_id,
            self.is_credit,
            &self.currency,
            self.amount_minor,
            self.settles,
            self.written_off_minor,
        );
        let fields = [
            "invoice_id",
            "invoice_number",
            "customer_id",
            "is_credit",
            "currency",
            "amount_minor",
            "settles",
            "written_off_minor",
        ];
        dataclass_repr("Allocation", &fields, &values.into_pyobject(py)?)
    }
}

/// How a match's evidence is put into words when first asked for.
pub enum Explanation {
    Callable(PyObject),
    Decision(Box<MatchedExplanation>),
}

/// An unambiguous match; its evidence is put into words when first asked for.
#[pyclass(frozen, module = "payments_core._native")]
pub struct Matched {
    #[pyo3(get)]
    pub customer_id: String,
    pub allocations: Vec<Allocation>,
    #[pyo3(get)]
    pub unapplied_minor: i64,
    #[pyo3(get)]
    pub currency: String,
    #[pyo3(get)]
    pub teaches_account: bool,
    explain: Mutex<Option<Explanation>>,
    evidence: GILOnceCell<Py<Evidence>>,
    python_allocations: GILOnceCell<Py<PyTuple>>,
}

impl Matched {
    pub fn new(
        customer_id: String,
        allocations: Vec<Allocation>,
        unapplied_minor: i64,
        currency: String,
        teaches_account: bool,
        explain: Explanation,
    ) -> Self {
        Matched {
            customer_id,
            allocations,
            unapplied_minor,
            currency,
            teaches_account,
            explain: Mutex::new(Some(explain)),
            evidence: GILOnceCell::new(),
            python_allocations: GILOnceCell::new(),
        }
    }

    /// Its evidence in words: a callable given is kept (it may be asked again if it fails), a
    /// decision is put into words once.
    fn explained(&self, py: Python<'_>) -> PyResult<Py<Evidence>> {
        let explanation = {
            let mut explain = self.explain.lock().map_err(|_| unexplainable())?;
            match &mut *explain {
                Some(Explanation::Callable(callable)) => {
                    Explanation::Callable(callable.clone_ref(py))
                }
                other => other.take().ok_or_else(unexplainable)?,
            }
        };
        match explanation {
            Explanation::Callable(explain) => {
                let evidence = explain.bind(py).call0()?;
                Ok(evidence.downcast_into::<Evidence>()?.unbind())
            }
            Explanation::Decision(decision) => {
                Py::new(py, decision.explain(py, &self.allocations)?)
            }
        }
    }
}

fn unexplainable() -> PyErr {
    PyRuntimeError::new_err("this match's evidence was asked for while it was put into words")
}

impl AsDataclass for Matched {
    const FIELDS: &'static [&'static str] = &[
        "customer_id",
        "allocations",
        "unapplied_minor",
        "currency",
        "teaches_account",
    ];

    /// Its fields as the dataclass compares them (not how it explains itself).
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let allocations = self.allocations(py)?;
        let fields = (
            &self.customer_id,
            allocations,
            self.unapplied_minor,
            &self.currency,
            self.teaches_account,
        );
        fields.into_pyobject(py)
    }
}

#[pymethods]
impl Matched {
    #[new]
    #[pyo3(signature = (customer_id, allocations, unapplied_minor, currency, teaches_account, explain))]
    fn py_new(
        customer_id: String,
        allocations: Vec<Allocation>,
        unapplied_minor: i64,
        currency: String,
        teaches_account: bool,
        explain: PyObject,
    ) -> Self {
        let explain = Explanation::Callable(explain);
        Matched::new(
            customer_id,
            allocations,
            unapplied_minor,
            currency,
            teaches_account,
            explain,
        )
    }

    #[getter]
    fn allocations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let made = self.python_allocations.get_or_try_init(py, || {
            let objects = self.allocations.iter().map(|a| Py::new(py, a.clone()));
            PyTuple::new(py, objects.collect::<PyResult<Vec<_>>>()?).map(Bound::unbind)
        })?;
        Ok(made.bind(py).clone())
    }

    #[getter]
    fn invoices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let all = self.allocations(py)?;
        let invoices = all
            .iter()
            .filter(|a| a.downcast::<Allocation>().is_ok_and(|a| !a.get().is_credit));
        PyTuple::new(py, invoices.collect::<Vec<_>>())
    }

    #[getter]
    fn evidence(&self, py: Python<'_>) -> PyResult<Py<Evidence>> {
        Ok(self
            .evidence
            .get_or_try_init(py, || self.explained(py))?
            .clone_ref(py))
    }

    #[getter]
    fn unapplied(&self, py: Python<'_>) -> PyResult<PyObject> {
        money(py, self.unapplied_minor, &self.currency)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.equals(py, other)
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.hashed(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.written(py)
    }
}

#[pyclass(frozen, eq, hash, module = "payments_core._native")]
#[derive(Clone, PartialEq)]
pub struct Suggestion {
    #[pyo3(get)]
    pub customer_id: String,
    pub items: Vec<(String, String)>,
    #[pyo3(get)]
    pub score: f64,
    #[pyo3(get)]
    pub reason: String,
}

impl Hash for Suggestion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (
            &self.customer_id,
            &self.items,
            self.score.to_bits(),
            &self.reason,
        )
            .hash(state);
    }
}

impl Suggestion {
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(invoice_id, _)| invoice_id.as_str())
    }
}

#[pymethods]
impl Suggestion {
    #[new]
    fn new(customer_id: String, items: Vec<(String, String)>, score: f64, reason: String) -> Self {
        Suggestion {
            customer_id,
            items,
            score,
            reason,
        }
    }

    #[getter]
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(
            py,
            self.items
                .iter()
                .map(|(id, number)| (id.as_str(), number.as_str())),
        )
    }

    #[getter]
    fn invoice_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.ids().collect::<Vec<_>>())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let values = (&self.customer_id, self.items(py)?, self.score, &self.reason);
        let fields = ["customer_id", "items", "score", "reason"];
        dataclass_repr("Suggestion", &fields, &values.into_pyobject(py)?)
    }
}

#[pyclass(frozen, module = "payments_core._native")]
pub struct Unmatched {
    #[pyo3(get)]
    pub reason: String,
    suggestions: Py<PyTuple>,
    #[pyo3(get)]
    evidence: Py<Evidence>,
}

impl Unmatched {
    pub fn new(
        py: Python<'_>,
        reason: String,
        suggestions: Vec<Suggestion>,
        evidence: Evidence,
    ) -> PyResult<Self> {
        let suggestions = suggestions.into_iter().map(|s| Py::new(py, s));
        let suggestions = PyTuple::new(py, suggestions.collect::<PyResult<Vec<_>>>()?)?;
        Ok(Unmatched {
            reason,
            suggestions: suggestions.unbind(),
            evidence: Py::new(py, evidence)?,
        })
    }
}

impl AsDataclass for Unmatched {
    const FIELDS: &'static [&'static str] = &["reason", "suggestions", "evidence"];

    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (
            &self.reason,
            self.suggestions.bind(py),
            self.evidence.bind(py),
        )
            .into_pyobject(py)
    }
}

#[pymethods]
impl Unmatched {
    #[new]
    fn py_new(
        reason: String,
        suggestions: &Bound<'_, PyAny>,
        evidence: Py<Evidence>,
    ) -> PyResult<Self> {
        let suggestions = PyTuple::new(
            suggestions.py(),
            suggestions.try_iter()?.collect::<PyResult<Vec<_>>>()?,
        )?;
        Ok(Unmatched {
            reason,
            suggestions: suggestions.unbind(),
            evidence,
        })
    }

    #[getter]
    fn suggestions<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        self.suggestions.bind(py).clone()
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.equals(py, other)
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.hashed(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.written(py)
    }
}
