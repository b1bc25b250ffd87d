//! What customers owe, as matching sees it (see `payments.domain.openitems`): open invoices and
//! unused credit notes, indexed by reference, serial, customer and open amount.

use std::collections::{BTreeSet, HashMap, HashSet};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDate, PyFrozenSet, PyIterator, PyList, PyTuple};

use crate::dates::Day;
use crate::python::{dataclass_repr, money, money_parts};
use crate::references::reference_key;
use crate::text::{name_key, number_index_keys, number_key, number_keys};

pub type Item = Py<OpenItem>;

/// `ItemKind` of `payments.domain.openitems`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Invoice,
    Credit,
}

/// `ItemStatus` of `payments.domain.openitems`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Open,
    Settled,
    Cancelled,
}

impl Kind {
    fn parse(kind: &str) -> PyResult<Kind> {
        match kind {
            "invoice" => Ok(Kind::Invoice),
            "credit" => Ok(Kind::Credit),
            _ => Err(PyValueError::new_err(format!("{kind:?} is no item kind"))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::Credit => "credit",
        }
    }
}

impl Status {
    fn parse(status: &str) -> PyResult<Status> {
        match status {
            "open" => Ok(Status::Open),
            "settled" => Ok(Status::Settled),
            "cancelled" => Ok(Status::Cancelled),
            _ => Err(PyValueError::new_err(format!(
                "{status:?} is no item status"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Settled => "settled",
            Status::Cancelled => "cancelled",
        }
    }
}

#[pyclass(module = "payments_core._native")]
pub struct OpenItem {
    #[pyo3(get, set)]
    pub invoice_id: String,
    #[pyo3(get, set)]
    pub invoice_number: String,
    #[pyo3(get, set)]
    pub customer_id: String,
    #[pyo3(get, set)]
    pub currency: String,
    #[pyo3(get, set)]
    pub amount_minor: i64,
    #[pyo3(get, set)]
    pub open_minor: i64,
    #[pyo3(get, set)]
    pub payment_reference: Option<String>,
    pub issue_date: Option<Day>,
    pub due_date: Option<Day>,
    pub kind: Kind,
    pub status: Status,
    #[pyo3(get, set)]
    pub known_number_key: Option<String>,
    number_keys: Option<Vec<String>>,
}

impl OpenItem {
    pub fn is_open(&self) -> bool {
        self.status == Status::Open && self.open_minor > 0
    }

    pub fn is_credit(&self) -> bool {
        self.kind == Kind::Credit
    }

    pub fn label(&self) -> String {
        let kind = if self.is_credit() {
            "credit note"
        } else {
            "invoice"
        };
        format!("{kind} {}", self.invoice_number)
    }

    /// The keys its number is written as, worked out when first needed.
    pub fn written_keys(&mut self) -> &[String] {
        self.number_keys
            .get_or_insert_with(|| number_keys(&self.invoice_number))
    }

    /// The whole number as compared, given when built or worked out when first needed.
    pub fn whole_key(&mut self) -> &str {
        self.known_number_key
            .get_or_insert_with(|| number_key(&self.invoice_number))
    }
}

#[pymethods]
impl OpenItem {
    #[new]
    #[pyo3(signature = (
        invoice_id, invoice_number, customer_id, currency, amount_minor, open_minor,
        payment_reference=None, issue_date=None, due_date=None, kind="invoice",
        status="open", known_number_key=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        invoice_id: String,
        invoice_number: String,
        customer_id: String,
        currency: String,
        amount_minor: i64,
        open_minor: i64,
        payment_reference: Option<String>,
        issue_date: Option<Bound<'_, PyDate>>,
        due_date: Option<Bound<'_, PyDate>>,
        kind: &str,
        status: &str,
        known_number_key: Option<String>,
    ) -> PyResult<Self> {
        Ok(OpenItem {
            invoice_id,
            invoice_number,
            customer_id,
            currency,
            amount_minor,
            open_minor,
            payment_reference,
            issue_date: issue_date.as_ref().map(Day::of),
            due_date: due_date.as_ref().map(Day::of),
            kind: Kind::parse(kind)?,
            status: Status::parse(status)?,
            known_number_key,
            number_keys: None,
        })
    }

    #[getter(kind)]
    fn py_kind(&self) -> &'static str {
        self.kind.name()
    }

    #[setter(kind)]
    fn set_kind(&mut self, kind: &str) -> PyResult<()> {
        self.kind = Kind::parse(kind)?;
        Ok(())
    }

    #[getter(status)]
    fn py_status(&self) -> &'static str {
        self.status.name()
    }

    #[setter(status)]
    fn set_status(&mut self, status: &str) -> PyResult<()> {
        self.status = Status::parse(status)?;
        Ok(())
    }

    #[getter(issue_date)]
    fn py_issue_date<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyDate>> {
        self.issue_date.as_ref().map(|day| day.object(py).clone())
    }

    #[setter(issue_date)]
    fn set_issue_date(&mut self, date: Option<Bound<'_, PyDate>>) {
        self.issue_date = date.as_ref().map(Day::of);
    }

    #[getter(due_date)]
    fn py_due_date<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyDate>> {
        self.due_date.as_ref().map(|day| day.object(py).clone())
    }

    #[setter(due_date)]
    fn set_due_date(&mut self, date: Option<Bound<'_, PyDate>>) {
        self.due_date = date.as_ref().map(Day::of);
    }

    #[getter(number_keys)]
    fn py_number_keys<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.written_keys())
    }

    #[getter(number_key)]
    fn py_number_key(&mut self) -> String {
        self.whole_key().to_string()
    }

    #[getter(is_open)]
    fn py_is_open(&self) -> bool {
        self.is_open()
    }

    #[getter(is_credit)]
    fn py_is_credit(&self) -> bool {
        self.is_credit()
    }

    #[getter]
    fn open_amount(&self, py: Python<'_>) -> PyResult<PyObject> {
        money(py, self.open_minor, &self.currency)
    }

    #[getter]
    fn amount(&self, py: Python<'_>) -> PyResult<PyObject> {
        money(py, self.amount_minor, &self.currency)
    }

    #[getter(label)]
    fn py_label(&self) -> String {
        self.label()
    }

    /// A copy, as `copy.copy` of the dataclass made one.
    fn __copy__(&self, py: Python<'_>) -> Self {
        OpenItem {
            invoice_id: self.invoice_id.clone(),
            invoice_number: self.invoice_number.clone(),
            customer_id: self.customer_id.clone(),
            currency: self.currency.clone(),
            amount_minor: self.amount_minor,
            open_minor: self.open_minor,
            payment_reference: self.payment_reference.clone(),
            issue_date: self.issue_date.as_ref().map(|day| day.clone_ref(py)),
            due_date: self.due_date.as_ref().map(|day| day.clone_ref(py)),
            kind: self.kind,
            status: self.status,
            known_number_key: self.known_number_key.clone(),
            number_keys: self.number_keys.clone(),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let values = (
            &self.invoice_id,
            &self.invoice_number,
            &self.customer_id,
            &self.currency,
            self.amount_minor,
            self.open_minor,
            &self.payment_reference,
            self.py_issue_date(py),
            self.py_due_date(py),
            self.kind.name(),
            self.status.name(),
        );
        let fields = [
            "invoice_id",
            "invoice_number",
            "customer_id",
            "currency",
            "amount_minor",
            "open_minor",
            "payment_reference",
            "issue_date",
            "due_date",
            "kind",
            "status",
        ];
        dataclass_repr("OpenItem", &fields, &values.into_pyobject(py)?)
    }
}

/// An item as loaded, with the reference key and serial keys stored with it.
#[pyclass(frozen, module = "payments_core._native")]
pub struct StoredItem {
    #[pyo3(get)]
    item: Item,
    #[pyo3(get)]
    reference: Option<String>,
    #[pyo3(get)]
    serials: Option<PyObject>,
}

#[pymethods]
impl StoredItem {
    #[new]
    #[pyo3(signature = (item, reference, serials))]
    fn new(item: Item, reference: Option<String>, serials: Option<PyObject>) -> Self {
        StoredItem {
            item,
            reference,
            serials,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let values = (&self.item, &self.reference, &self.serials).into_pyobject(py)?;
        dataclass_repr("StoredItem", &["item", "reference", "serials"], &values)
    }
}

/// An index of open items; `apply` keeps it current as payments are matched.
#[pyclass(module = "payments_core._native")]
#[derive(Default)]
pub struct OpenItems {
    by_id: HashMap<String, Item>,
    in_order: Vec<Item>,
    by_reference: HashMap<String, Vec<Item>>,
    by_serial: HashMap<String, Vec<Item>>,
    by_customer: HashMap<String, Vec<Item>>,
    by_open_amount: HashMap<String, HashMap<i64, Vec<Item>>>,
    accounts: HashMap<String, HashMap<String, i64>>,
    names: HashMap<String, HashSet<String>>,
    customer_names: HashMap<String, String>,
    later: HashMap<String, Vec<PyObject>>,
}

fn copies(py: Python<'_>, items: Option<&Vec<Item>>) -> Vec<Item> {
    items.map_or_else(Vec::new, |items| {
        items.iter().map(|i| i.clone_ref(py)).collect()
    })
}

impl OpenItems {
    pub fn add_item(
        &mut self,
        item: &Bound<'_, OpenItem>,
        reference: Option<String>,
        serials: Option<Vec<String>>,
    ) {
        let mut it = item.borrow_mut();
        if self.by_id.contains_key(&it.invoice_id) {
            return;
        }
        self.by_id
            .insert(it.invoice_id.clone(), item.clone().unbind());
        self.in_order.push(item.clone().unbind());
        if let Some(written) = it.payment_reference.as_deref().filter(|r| !r.is_empty()) {
            let key = reference
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| reference_key(written));
            self.by_reference
                .entry(key)
                .or_default()
                .push(item.clone().unbind());
        }
        let serials = serials.unwrap_or_else(|| {
            let (whole, serials) = number_index_keys(&it.invoice_number);
            it.known_number_key = Some(whole);
            serials
        });
        for key in serials {
            self.by_serial
                .entry(key)
                .or_default()
                .push(item.clone().unbind());
        }
        let customer = self.by_customer.entry(it.customer_id.clone()).or_default();
        customer.push(item.clone().unbind());
        self.enter_amount_bucket(&it, item);
    }

    fn add_stored_item(&mut self, py: Python<'_>, stored: &StoredItem) -> PyResult<()> {
        let serials = match &stored.serials {
            None => None,
            Some(serials) => Some(strings(serials.bind(py))?),
        };
        self.add_item(stored.item.bind(py), stored.reference.clone(), serials);
        Ok(())
    }

    pub fn item(&self, py: Python<'_>, invoice_id: &str) -> Option<Item> {
        self.by_id.get(invoice_id).map(|item| item.clone_ref(py))
    }

    pub fn with_reference(&self, py: Python<'_>, key: &str) -> Vec<Item> {
        copies(py, self.by_reference.get(key))
    }

    pub fn with_serial(&self, py: Python<'_>, digits: &str) -> Vec<Item> {
        copies(py, self.by_serial.get(digits))
    }

    pub fn open_for(&self, py: Python<'_>, currency: &str, amount_minor: i64) -> Vec<Item> {
        copies(
            py,
            self.by_open_amount
                .get(currency)
                .and_then(|b| b.get(&amount_minor)),
        )
    }

    /// The customer's open items, indexing those added for later first.
    pub fn open_of_customer(slf: &Bound<'_, OpenItems>, customer_id: &str) -> PyResult<Vec<Item>> {
        let py = slf.py();
        let later = {
            let mut index = slf.borrow_mut();
            let pending = !index.later.is_empty();
            pending.then(|| index.later.remove(customer_id)).flatten()
        };
        for items in later.unwrap_or_default() {
            for stored in items.bind(py).call0()?.try_iter()? {
                let stored = stored?;
                let stored = stored.downcast::<StoredItem>()?;
                slf.borrow_mut().add_stored_item(py, stored.get())?;
            }
        }
        let index = slf.borrow();
        let all = index.by_customer.get(customer_id).into_iter().flatten();
        Ok(all
            .filter(|item| item.borrow(py).is_open())
            .map(|i| i.clone_ref(py))
            .collect())
    }

    pub fn paying_from(&self, account: Option<&str>) -> BTreeSet<String> {
        let known = account.and_then(|account| self.accounts.get(account));
        known.map_or_else(BTreeSet::new, |known| known.keys().cloned().collect())
    }

    pub fn named(&self, payer_name_key: Option<&str>) -> BTreeSet<String> {
        let known = payer_name_key.and_then(|key| self.names.get(key));
        known.map_or_else(BTreeSet::new, |known| known.iter().cloned().collect())
    }

    pub fn learn(&mut self, account: &str, customer_id: &str, confirmations: i64) {
        let Some(known) = self.accounts.get_mut(account) else {
            let known = HashMap::from([(customer_id.to_string(), confirmations)]);
            self.accounts.insert(account.to_string(), known);
            return;
        };
        match known.get_mut(customer_id) {
            Some(count) => *count += confirmations,
            None => {
                known.insert(customer_id.to_string(), confirmations);
            }
        }
    }

    /// Take `by_minor` off what is open (a payment applied, a credit netted).
    pub fn reduce_item(&mut self, item: &Bound<'_, OpenItem>, by: i64, closes: bool) {
        let mut it = item.borrow_mut();
        self.leave_amount_bucket(&it, item);
        it.open_minor = (it.open_minor - by).max(0);
        if closes || it.open_minor == 0 {
            it.open_minor = 0;
            it.status = Status::Settled;
        }
        self.enter_amount_bucket(&it, item);
    }

    fn leave_amount_bucket(&mut self, it: &OpenItem, item: &Bound<'_, OpenItem>) {
        let bucket = self.by_open_amount.get_mut(&it.currency);
        if let Some(bucket) = bucket.and_then(|b| b.get_mut(&it.open_minor)) {
            if let Some(at) = bucket.iter().position(|i| i.as_ptr() == item.as_ptr()) {
                bucket.remove(at);
            }
        }
    }

    fn enter_amount_bucket(&mut self, it: &OpenItem, item: &Bound<'_, OpenItem>) {
        if it.is_open() && !it.is_credit() {
            let buckets = self.by_open_amount.entry(it.currency.clone()).or_default();
            buckets
                .entry(it.open_minor)
                .or_default()
                .push(item.clone().unbind());
        }
    }
}

fn strings(values: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    values.try_iter()?.map(|value| value?.extract()).collect()
}

#[pymethods]
impl OpenItems {
    #[new]
    fn new() -> Self {
        OpenItems::default()
    }

    #[pyo3(signature = (item, reference=None, serials=None))]
    fn add(
        &mut self,
        item: &Bound<'_, OpenItem>,
        reference: Option<String>,
        serials: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let serials = serials.as_ref().map(strings).transpose()?;
        self.add_item(item, reference, serials);
        Ok(())
    }

    fn add_stored(&mut self, py: Python<'_>, stored: &Bound<'_, StoredItem>) -> PyResult<()> {
        self.add_stored_item(py, stored.get())
    }

    fn add_later(&mut self, customer_id: String, items: PyObject) {
        self.later.entry(customer_id).or_default().push(items);
    }

    #[pyo3(signature = (customer_id, name))]
    fn add_customer(&mut self, customer_id: String, name: Option<&str>) {
        let Some(key) = name_key(name) else { return };
        if self.customer_names.get(&customer_id).map(String::as_str) == name {
            return;
        }
        self.customer_names
            .insert(customer_id.clone(), name.unwrap_or_default().to_string());
        self.names.entry(key).or_default().insert(customer_id);
    }

    #[pyo3(signature = (account, customer_id, confirmations=1))]
    fn learn_account(&mut self, account: &str, customer_id: &str, confirmations: i64) {
        self.learn(account, customer_id, confirmations);
    }

    fn forget_account(&mut self, account: &str, customer_id: &str) {
        if let Some(known) = self.accounts.get_mut(account) {
            known.remove(customer_id);
        }
    }

    fn get(&self, py: Python<'_>, invoice_id: &str) -> Option<Item> {
        self.item(py, invoice_id)
    }

    fn by_reference(&self, py: Python<'_>, key: &str) -> Vec<Item> {
        self.with_reference(py, key)
    }

    fn by_serial(&self, py: Python<'_>, digits: &str) -> Vec<Item> {
        self.with_serial(py, digits)
    }

    fn of_customer<'py>(
        slf: &Bound<'py, OpenItems>,
        customer_id: &str,
    ) -> PyResult<Bound<'py, PyIterator>> {
        let open = OpenItems::open_of_customer(slf, customer_id)?;
        PyIterator::from_object(PyList::new(slf.py(), open)?.as_any())
    }

    fn with_open_amount(&self, py: Python<'_>, amount: &Bound<'_, PyAny>) -> PyResult<Vec<Item>> {
        let (amount_minor, currency) = money_parts(amount)?;
        Ok(self.open_for(py, &currency, amount_minor))
    }

    #[pyo3(signature = (account))]
    fn customers_paying_from<'py>(
        &self,
        py: Python<'py>,
        account: Option<&str>,
    ) -> PyResult<Bound<'py, PyFrozenSet>> {
        PyFrozenSet::new(py, self.paying_from(account))
    }

    #[pyo3(signature = (payer_name_key))]
    fn customers_named<'py>(
        &self,
        py: Python<'py>,
        payer_name_key: Option<&str>,
    ) -> PyResult<Bound<'py, PyFrozenSet>> {
        PyFrozenSet::new(py, self.named(payer_name_key))
    }

    fn customer_name(&self, customer_id: &str) -> Option<String> {
        self.customer_names.get(customer_id).cloned()
    }

    fn __len__(&self) -> usize {
        self.by_id.len()
    }

    fn items(&self, py: Python<'_>) -> Vec<Item> {
        copies(py, Some(&self.in_order))
    }

    fn reduce(&mut self, item: &Bound<'_, OpenItem>, by_minor: i64, closes: bool) {
        self.reduce_item(item, by_minor, closes);
    }
}
