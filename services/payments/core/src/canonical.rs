//! Statements and entries as canonical JSON, the text their fingerprints and digests are taken
//! of (see `payments.domain.identity`): a dataclass is an object of its fields but those left
//! out, Money is `[amount_minor, currency]`, a date its ISO form, a Decimal its normalized
//! digits, keys sorted. The bytes are exactly those of Python's `json.dumps(...,
//! sort_keys=True, ensure_ascii=False)`, so fingerprints stored before stay the same.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyBytes, PyDate, PyFrozenSet, PyInt, PyList, PyString, PyTuple, PyType};

static MONEY: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static DECIMAL: GILOnceCell<Py<PyType>> = GILOnceCell::new();

/// One field of a dataclass that is content, and whether it is left out when it is None.
struct Field {
    name: Py<PyString>,
    key: String,
    only_when_set: bool,
}

type ContentFields = Option<Arc<Vec<Field>>>;

/// Writes values as canonical JSON; `leave_out` names fields that are never content,
/// `only_when_set` fields that are left out when None.
#[pyclass(module = "payments_core._native", frozen)]
pub struct CanonicalWriter {
    leave_out: Py<PyFrozenSet>,
    only_when_set: Py<PyFrozenSet>,
    /// A class's content fields sorted by name, `None` for a class that is no dataclass; the
    /// class is held so that its address names it for as long as the writer lives.
    fields: Mutex<HashMap<usize, (Py<PyType>, ContentFields)>>,
}

#[pymethods]
impl CanonicalWriter {
    #[new]
    fn new(leave_out: Py<PyFrozenSet>, only_when_set: Py<PyFrozenSet>) -> Self {
        Self {
            leave_out,
            only_when_set,
            fields: Mutex::new(HashMap::new()),
        }
    }

    /// The value as UTF-8 JSON; `compact` writes `,` and `:` without the spaces.
    fn json<'py>(&self, value: &Bound<'py, PyAny>, compact: bool) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = String::new();
        let separators = if compact { (",", ":") } else { (", ", ": ") };
        self.write(value, separators, &mut out)?;
        Ok(PyBytes::new(value.py(), out.as_bytes()))
    }
}

impl CanonicalWriter {
    fn write(
        &self,
        value: &Bound<'_, PyAny>,
        separators: (&str, &str),
        out: &mut String,
    ) -> PyResult<()> {
        let py = value.py();
        if value.is_none() {
            out.push_str("null");
        } else if let Ok(text) = value.downcast::<PyString>() {
            write_string(&text.to_cow()?, out);
        } else if let Ok(flag) = value.downcast::<PyBool>() {
            out.push_str(if flag.is_true() { "true" } else { "false" });
        } else if value.is_instance_of::<PyInt>() {
            out.push_str(&value.str()?.to_cow()?);
        } else if let Some(fields) = self.content_fields(value)? {
            self.write_fields(value, &fields, separators, out)?;
        } else if value.is_instance(MONEY.import(py, "settle_shared.money", "Money")?)? {
            let (amount_minor, currency) = crate::python::money_parts(value)?;
            let _ = write!(out, "[{amount_minor}{}", separators.0);
            write_string(&currency, out);
            out.push(']');
        } else if value.is_instance_of::<PyDate>() {
            let written = value.call_method0(pyo3::intern!(py, "isoformat"))?;
            write_string(&written.downcast::<PyString>()?.to_cow()?, out);
        } else if value.is_instance(DECIMAL.import(py, "decimal", "Decimal")?)? {
            let normalized = value.call_method0(pyo3::intern!(py, "normalize"))?.str()?;
            write_string(&normalized.to_cow()?, out);
        } else if value.is_instance_of::<PyTuple>() || value.is_instance_of::<PyList>() {
            out.push('[');
            for (index, item) in value.try_iter()?.enumerate() {
                if index > 0 {
                    out.push_str(separators.0);
                }
                self.write(&item?, separators, out)?;
            }
            out.push(']');
        } else {
            let kind = value.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "Object of type {kind} is not JSON serializable"
            )));
        }
        Ok(())
    }

    fn write_fields(
        &self,
        value: &Bound<'_, PyAny>,
        fields: &[Field],
        separators: (&str, &str),
        out: &mut String,
    ) -> PyResult<()> {
        out.push('{');
        let mut first = true;
        for field in fields {
            let content = value.getattr(field.name.bind(value.py()))?;
            if field.only_when_set && content.is_none() {
                continue;
            }
            if !first {
                out.push_str(separators.0);
            }
            first = false;
            write_string(&field.key, out);
            out.push_str(separators.1);
            self.write(&content, separators, out)?;
        }
        out.push('}');
        Ok(())
    }

    fn content_fields(&self, value: &Bound<'_, PyAny>) -> PyResult<ContentFields> {
        let kind = value.get_type();
        let id = kind.as_ptr() as usize;
        if let Some((_, known)) = self.fields.lock().expect("not poisoned").get(&id) {
            return Ok(known.clone());
        }
        let found = self.read_fields(&kind)?.map(Arc::new);
        self.fields
            .lock()
            .expect("not poisoned")
            .insert(id, (kind.unbind(), found.clone()));
        Ok(found)
    }

    fn read_fields(&self, kind: &Bound<'_, PyType>) -> PyResult<Option<Vec<Field>>> {
        let py = kind.py();
        if !kind.hasattr(pyo3::intern!(py, "__dataclass_fields__"))? {
            return Ok(None);
        }
        let (leave_out, only_when_set) = (self.leave_out.bind(py), self.only_when_set.bind(py));
        let mut fields = Vec::new();
        for field in py
            .import("dataclasses")?
            .call_method1("fields", (kind,))?
            .try_iter()?
        {
            let name = field?.getattr("name")?.downcast_into::<PyString>()?;
            if leave_out.contains(&name)? {
                continue;
            }
            fields.push(Field {
                key: name.to_cow()?.into_owned(),
                only_when_set: only_when_set.contains(&name)?,
                name: name.unbind(),
            });
        }
        fields.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Some(fields))
    }
}

/// A JSON string as Python's `json` writes it with `ensure_ascii=False`.
fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CanonicalWriter>()
}
