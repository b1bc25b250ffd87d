//! The payments service's matching core: what a payment's text says (invoice numbers, payer
//! names, structured references), which combinations of open amounts it pays, the index of open
//! items and the decision with its evidence. Pure: no I/O; Python calls it from `payments.domain`.

use pyo3::prelude::*;

pub mod amounts;
pub mod references;
pub mod subsets;
pub mod text;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    amounts::register(m)?;
    references::register(m)?;
    subsets::register(m)?;
    text::register(m)?;
    Ok(())
}
