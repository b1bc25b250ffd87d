//! ISO 20022 camt.053 statements (001.02, .03, .04, .08) and camt.054 notifications (001.02,
//! .04, .08), read as a stream into `payments.domain.statement`'s classes (see
//! `payments.adapters.camt053`). Only the part being read is held: memory stays flat however
//! long the file.

use pyo3::prelude::*;

mod names;
mod parts;
mod python;
mod source;
mod statements;
mod tree;
mod xml;

use source::Source;
use statements::{Outline, Step};
use xml::{Token, Xml};

/// The statements of a file object opened for reading bytes, each followed by its entries.
#[pyclass(module = "payments_core._native")]
pub struct CamtReader {
    xml: Xml,
    outline: Outline,
    done: bool,
}

#[pymethods]
impl CamtReader {
    #[new]
    fn new(file: PyObject) -> Self {
        Self {
            xml: Xml::new(Source::new(file)),
            outline: Outline::new(),
            done: false,
        }
    }

    fn __iter__(this: PyRef<'_, Self>) -> PyRef<'_, Self> {
        this
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<PyObject>> {
        if self.done {
            return Ok(None);
        }
        let next = self.advance(py);
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next
    }
}

impl CamtReader {
    fn advance(&mut self, py: Python<'_>) -> PyResult<Option<PyObject>> {
        if let Some(tag) = self.outline.pending_entry() {
            return self.outline.entry(py, &mut self.xml, tag).map(Some);
        }
        loop {
            let token = match self.xml.next() {
                Ok(token) => token,
                Err(error) => return Err(statements::refused(py, &mut self.xml, &error)),
            };
            let step = match token {
                Token::Open(tag) => self.outline.opened(py, &mut self.xml, tag)?,
                Token::Close => self.outline.closed(py)?,
                Token::Text(_) => Step::Continue,
                Token::End => {
                    self.outline.finish(py)?;
                    return Ok(None);
                }
            };
            match step {
                Step::Continue => {}
                Step::Hand(item) => return Ok(Some(item)),
                Step::ReadEntry(tag) => {
                    return self.outline.entry(py, &mut self.xml, tag).map(Some)
                }
            }
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CamtReader>()?;
    Ok(())
}
