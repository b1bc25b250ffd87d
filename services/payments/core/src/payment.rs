//! What a payment says (see `payments.domain.matching`): the payment as the bank gave it, the
//! tolerance it is held to, and its clues (checked references, text runs, payer name key).

use std::collections::HashSet;

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDate, PyFrozenSet, PyTuple};

use crate::dates::Day;
use crate::python::{dataclass_repr, money_parts, AsDataclass};
use crate::references::{
    self, check_reference, reference_of, references_in_text, PyReferenceCheck, Reference,
};
use crate::text::{keys_of_runs, name_key, text_runs, WrittenKeys};

/// How far a payment may fall short of, or go beyond, what is open and still settle it.
#[pyclass(frozen, eq, hash, module = "payments_core._native")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tolerance {
    #[pyo3(get)]
    pub absolute_minor: i64,
    #[pyo3(get)]
    pub basis_points: i64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            absolute_minor: 1000,
            basis_points: 100,
        }
    }
}

#[pymethods]
impl Tolerance {
    #[new]
    #[pyo3(signature = (absolute_minor=1000, basis_points=100))]
    fn new(absolute_minor: i64, basis_points: i64) -> Self {
        Tolerance {
            absolute_minor,
            basis_points,
        }
    }

    pub fn allowed(&self, open_minor: i64) -> i64 {
        self.absolute_minor
            .min((open_minor * self.basis_points).div_euclid(10_000))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let values = (self.absolute_minor, self.basis_points).into_pyobject(py)?;
        dataclass_repr("Tolerance", &["absolute_minor", "basis_points"], &values)
    }
}

#[pyclass(frozen, module = "payments_core._native")]
pub struct IncomingPayment {
    #[pyo3(get)]
    pub payment_id: String,
    #[pyo3(get)]
    amount: PyObject,
    #[pyo3(get)]
    pub payer_name: Option<String>,
    #[pyo3(get)]
    pub payer_account: Option<String>,
    remittance: Vec<String>,
    references: Py<PyTuple>,
    referred_documents: Vec<String>,
    pub booked_on: Option<Day>,
    pub invoice_ids: Vec<String>,
    pub amount_minor: i64,
    pub currency: String,
    stated: Vec<(Reference, PyObject)>,
}

impl AsDataclass for IncomingPayment {
    const FIELDS: &'static [&'static str] = &[
        "payment_id",
        "amount",
        "payer_name",
        "payer_account",
        "remittance",
        "references",
        "referred_documents",
        "booked_on",
        "invoice_ids",
    ];

    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let booked_on = self.booked_on.as_ref().map(|day| day.object(py).clone());
        PyTuple::new(
            py,
            [
                self.payment_id.as_str().into_pyobject(py)?.into_any(),
                self.amount.bind(py).clone(),
                self.payer_name.as_deref().into_pyobject(py)?.into_any(),
                self.payer_account.as_deref().into_pyobject(py)?.into_any(),
                self.remittance(py)?.into_any(),
                self.references.bind(py).clone().into_any(),
                self.referred_documents(py)?.into_any(),
                booked_on.into_pyobject(py)?.into_any(),
                self.py_invoice_ids(py)?.into_any(),
            ],
        )
    }
}

#[pymethods]
impl IncomingPayment {
    #[new]
    #[pyo3(signature = (
        payment_id, amount, payer_name, payer_account, remittance, references,
        referred_documents=Vec::new(), booked_on=None, invoice_ids=Vec::new()
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        payment_id: String,
        amount: &Bound<'_, PyAny>,
        payer_name: Option<String>,
        payer_account: Option<String>,
        remittance: Vec<String>,
        references: Vec<Bound<'_, PyAny>>,
        referred_documents: Vec<String>,
        booked_on: Option<Bound<'_, PyDate>>,
        invoice_ids: Vec<String>,
    ) -> PyResult<Self> {
        let py = amount.py();
        let (amount_minor, currency) = money_parts(amount)?;
        let stated = references
            .iter()
            .map(|reference| Ok((reference_of(reference)?, reference.clone().unbind())))
            .collect::<PyResult<_>>()?;
        Ok(IncomingPayment {
            payment_id,
            amount: amount.clone().unbind(),
            payer_name,
            payer_account,
            remittance,
            references: PyTuple::new(py, references)?.unbind(),
            referred_documents,
            booked_on: booked_on.as_ref().map(Day::of),
            invoice_ids,
            amount_minor,
            currency,
            stated,
        })
    }

    #[getter]
    fn remittance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.remittance)
    }

    #[getter]
    fn references<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        self.references.bind(py).clone()
    }

    #[getter]
    fn referred_documents<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.referred_documents)
    }

    #[getter(booked_on)]
    fn py_booked_on<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyDate>> {
        self.booked_on.as_ref().map(|day| day.object(py).clone())
    }

    #[getter(invoice_ids)]
    fn py_invoice_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.invoice_ids)
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

/// What a payment says about the items it may pay.
#[pyclass(frozen, module = "payments_core._native")]
pub struct Clues {
    /// Each check, with the reference object the payment stated (None if found in its text).
    pub checks: Vec<(references::ReferenceCheck, Option<PyObject>)>,
    pub trusted_keys: Vec<String>,
    pub runs: Vec<String>,
    pub serials: HashSet<String>,
    pub payer_name_key: Option<String>,
    written: GILOnceCell<Py<WrittenKeys>>,
    python_checks: GILOnceCell<Py<PyTuple>>,
}

impl Clues {
    pub fn of(py: Python<'_>, payment: &IncomingPayment) -> Clues {
        let checks = checked_references(py, payment);
        let trusted_keys = checks
            .iter()
            .filter(|(check, _)| check.trusted())
            .map(|(check, _)| check.key.clone())
            .collect();
        let lines: Vec<&str> = payment
            .remittance
            .iter()
            .chain(&payment.referred_documents)
            .map(String::as_str)
            .collect();
        let runs = text_runs(&lines);
        let serials = runs
            .iter()
            .filter(|run| starts_with_digit(run))
            .cloned()
            .collect();
        Clues {
            checks,
            trusted_keys,
            runs,
            serials,
            payer_name_key: name_key(payment.payer_name.as_deref()),
            written: GILOnceCell::new(),
            python_checks: GILOnceCell::new(),
        }
    }

    /// Every way the text may write an invoice number, worked out only for a payment that
    /// nothing names exactly.
    pub fn written_keys(&self, py: Python<'_>) -> PyResult<&Py<WrittenKeys>> {
        self.written.get_or_try_init(py, || {
            Py::new(py, WrittenKeys::new(keys_of_runs(&self.runs)))
        })
    }

    pub fn notes(&self) -> impl Iterator<Item = String> + '_ {
        self.checks.iter().map(|(check, _)| check.describe())
    }
}

pub fn starts_with_digit(run: &str) -> bool {
    run.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

/// The stated references checked, then those found in the text, one per key: a key stated
/// twice keeps its first place and its last check; one found in the text adds nothing new.
fn checked_references(
    py: Python<'_>,
    payment: &IncomingPayment,
) -> Vec<(references::ReferenceCheck, Option<PyObject>)> {
    let mut checks: Vec<(references::ReferenceCheck, Option<PyObject>)> = Vec::new();
    for (reference, object) in &payment.stated {
        let check = check_reference(reference);
        let object = Some(object.clone_ref(py));
        match checks.iter_mut().find(|(known, _)| known.key == check.key) {
            Some(known) => *known = (check, object),
            None => checks.push((check, object)),
        }
    }
    for reference in references_in_text(&payment.remittance) {
        let check = check_reference(&reference);
        if !checks.iter().any(|(known, _)| known.key == check.key) {
            checks.push((check, None));
        }
    }
    checks
}

#[pymethods]
impl Clues {
    #[new]
    fn new(py: Python<'_>, payment: &Bound<'_, IncomingPayment>) -> Self {
        Clues::of(py, payment.get())
    }

    #[getter]
    fn references<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let checks = self.python_checks.get_or_try_init(py, || {
            let wrapped = self.checks.iter().map(|(check, stated)| {
                let stated = stated.as_ref().map(|stated| stated.clone_ref(py));
                Py::new(py, PyReferenceCheck::new(py, check.clone(), stated)?)
            });
            PyTuple::new(py, wrapped.collect::<PyResult<Vec<_>>>()?).map(Bound::unbind)
        })?;
        Ok(checks.bind(py).clone())
    }

    #[getter]
    fn trusted_reference_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
        PyFrozenSet::new(py, &self.trusted_keys)
    }

    #[getter(runs)]
    fn py_runs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.runs)
    }

    #[getter(serials)]
    fn py_serials<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
        PyFrozenSet::new(py, &self.serials)
    }

    #[getter(payer_name_key)]
    fn py_payer_name_key(&self) -> Option<&str> {
        self.payer_name_key.as_deref()
    }

    #[getter]
    fn number_keys(&self, py: Python<'_>) -> PyResult<Py<WrittenKeys>> {
        Ok(self.written_keys(py)?.clone_ref(py))
    }
}

#[pyfunction]
pub fn clues_of(py: Python<'_>, payment: &Bound<'_, IncomingPayment>) -> Clues {
    Clues::of(py, payment.get())
}
