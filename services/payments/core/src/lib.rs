//! The payments service's compiled core. Matching: what a payment's text says (invoice numbers,
//! payer names, structured references), which combinations of open amounts it pays, the index of
//! open items and the decision with its evidence; Python calls it from `payments.domain`. And
//! reading: camt statements into `payments.domain.statement`'s classes (called from
//! `payments.adapters.camt053`, reading only the file object it is handed), amounts as banks
//! write them, and statements as the canonical JSON their fingerprints are taken of. No other
//! I/O: no files opened, no network, no database.

use pyo3::prelude::*;

pub mod amounts;
pub mod camt;
pub mod canonical;
pub mod references;
pub mod subsets;
pub mod text;

mod dates;
mod decision;
mod items;
mod outcomes;
mod payment;
mod python;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    amounts::register(m)?;
    camt::register(m)?;
    canonical::register(m)?;
    references::register(m)?;
    text::register(m)?;
    add_matching(m)?;
    Ok(())
}

/// The index of open items and the decision (`payments.domain.openitems`, `.matching`).
fn add_matching(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<items::OpenItem>()?;
    m.add_class::<items::StoredItem>()?;
    m.add_class::<items::OpenItems>()?;
    m.add_class::<payment::Tolerance>()?;
    m.add_class::<payment::IncomingPayment>()?;
    m.add_class::<payment::Clues>()?;
    m.add_class::<outcomes::Evidence>()?;
    m.add_class::<outcomes::Allocation>()?;
    m.add_class::<outcomes::Matched>()?;
    m.add_class::<outcomes::Suggestion>()?;
    m.add_class::<outcomes::Unmatched>()?;
    m.add_function(wrap_pyfunction!(payment::clues_of, m)?)?;
    m.add_function(wrap_pyfunction!(decision::decide, m)?)?;
    m.add_function(wrap_pyfunction!(decision::apply, m)?)?;
    Ok(())
}
