//! Invoice numbers and payer names in what people type (see `payments.domain.remittance`): case,
//! spaces, punctuation and prefixes do not matter; the order of letters and digits does.

use std::collections::{HashMap, HashSet};

use pyo3::prelude::*;
use pyo3::types::{PyFrozenSet, PyTuple};
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

pub const MIN_NUMBER_LENGTH: usize = 4;
pub const MIN_NEAR_LENGTH: usize = 6;
pub const MAX_PARTS: usize = 6;

/// Upper case without accents: 'Café' -> 'CAFE' (as Python's NFKD, combining marks dropped).
fn ascii_upper(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_uppercase();
    }
    text.nfkd()
        .filter(|&c| canonical_combining_class(c) == 0)
        .collect::<String>()
        .to_uppercase()
}

/// The runs of ASCII capitals and of ASCII digits in an upper-cased text, in order.
fn runs_of(upper: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run = String::new();
    let mut run_is_digits = false;
    for c in upper.chars() {
        let kind = match c {
            'A'..='Z' => Some(false),
            '0'..='9' => Some(true),
            _ => None,
        };
        match kind {
            Some(digits) if !run.is_empty() && digits == run_is_digits => run.push(c),
            Some(digits) => {
                if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
                run.push(c);
                run_is_digits = digits;
            }
            None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

fn starts_with_digit(run: &str) -> bool {
    run.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

pub fn compact(text: &str) -> String {
    runs_of(&ascii_upper(text)).concat()
}

pub fn number_key(invoice_number: &str) -> String {
    compact(invoice_number)
}

/// The number whole and without its leading parts, each keeping a digit and at least
/// MIN_NUMBER_LENGTH characters; the whole number first.
pub fn number_keys(invoice_number: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut key = String::new();
    let mut has_digit = false;
    for run in runs_of(&ascii_upper(invoice_number)).iter().rev() {
        key.insert_str(0, run);
        has_digit = has_digit || starts_with_digit(run);
        if has_digit && key.len() >= MIN_NUMBER_LENGTH {
            keys.push(key.clone());
        }
    }
    if !key.is_empty() && keys.last() != Some(&key) {
        keys.push(key);
    }
    keys.reverse();
    keys
}

/// The number's key and its serial keys: its last digit run, glued to the digit runs before it.
pub fn number_index_keys(invoice_number: &str) -> (String, Vec<String>) {
    let runs = runs_of(&ascii_upper(invoice_number));
    let mut keys = Vec::new();
    let mut tail = String::new();
    for run in runs.iter().rev() {
        if !starts_with_digit(run) {
            break;
        }
        tail.insert_str(0, run);
        keys.push(tail.clone());
    }
    (runs.concat(), keys)
}

pub fn text_runs<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    let joined: Vec<&str> = lines.iter().map(AsRef::as_ref).collect();
    runs_of(&ascii_upper(&joined.join(" ")))
}

/// Every run of up to MAX_PARTS consecutive groups, joined, with a digit and at least
/// MIN_NUMBER_LENGTH characters.
pub fn keys_of_runs(runs: &[String]) -> HashSet<String> {
    let mut keys = HashSet::new();
    for start in 0..runs.len() {
        let mut key = String::new();
        let mut has_digit = false;
        for run in &runs[start..runs.len().min(start + MAX_PARTS)] {
            key.push_str(run);
            has_digit = has_digit || starts_with_digit(run);
            if has_digit && key.len() >= MIN_NUMBER_LENGTH {
                keys.insert(key.clone());
            }
        }
    }
    keys
}

/// The keys of a text grouped by length, so a number is only compared with keys it could be a
/// typo or a cut of.
#[pyclass(module = "payments_core._native", frozen)]
pub struct WrittenKeys {
    pub keys: HashSet<String>,
    pub by_length: HashMap<usize, Vec<String>>,
}

impl WrittenKeys {
    pub fn new(keys: HashSet<String>) -> Self {
        let mut by_length: HashMap<usize, Vec<String>> = HashMap::new();
        for key in &keys {
            by_length.entry(key.len()).or_default().push(key.clone());
        }
        WrittenKeys { keys, by_length }
    }
}

#[pymethods]
impl WrittenKeys {
    #[new]
    fn py_new(keys: HashSet<String>) -> Self {
        WrittenKeys::new(keys)
    }

    #[getter(keys)]
    fn py_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
        PyFrozenSet::new(py, &self.keys)
    }
}

/// Whether two different keys are one edit apart: a letter changed, added or dropped, or two
/// neighbours swapped (Damerau-Levenshtein distance 1).
fn one_edit_apart(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    match long.len() - short.len() {
        0 => {
            let rest = |from: usize| short[from..] == long[from..];
            prefix == short.len()
                || rest(prefix + 1)
                || (prefix + 1 < short.len()
                    && short[prefix] == long[prefix + 1]
                    && short[prefix + 1] == long[prefix]
                    && rest(prefix + 2))
        }
        1 => short[prefix..] == long[prefix + 1..],
        _ => false,
    }
}

/// "one typo" or "cut short" (its first 60 % or more, two letters or more missing), else None.
pub fn nearness(whole_number_key: &str, written: &WrittenKeys) -> Option<&'static str> {
    let length = whole_number_key.len();
    if length < MIN_NEAR_LENGTH {
        return None;
    }
    let whole = whole_number_key.as_bytes();
    for size in [length - 1, length, length + 1] {
        let keys = written
            .by_length
            .get(&size)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if keys
            .iter()
            .any(|key| key.as_bytes() != whole && one_edit_apart(key.as_bytes(), whole))
        {
            return Some("one typo");
        }
    }
    let shortest_cut = MIN_NEAR_LENGTH.max((length * 3).div_ceil(5));
    (shortest_cut..length.saturating_sub(1))
        .any(|size| written.keys.contains(&whole_number_key[..size]))
        .then_some("cut short")
}

/// The text without the whitespace Python's `str.strip()` removes (Unicode white space, and the
/// separators U+001C to U+001F).
pub fn py_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

pub fn name_key(name: Option<&str>) -> Option<String> {
    let key = name.map(compact).unwrap_or_default();
    (!key.is_empty()).then_some(key)
}

#[pyfunction]
#[pyo3(name = "number_key")]
fn py_number_key(invoice_number: &str) -> String {
    number_key(invoice_number)
}

#[pyfunction]
#[pyo3(name = "serial_keys")]
fn py_serial_keys<'py>(py: Python<'py>, invoice_number: &str) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, number_index_keys(invoice_number).1)
}

#[pyfunction]
#[pyo3(name = "text_keys")]
fn py_text_keys<'py>(py: Python<'py>, lines: Vec<String>) -> PyResult<Bound<'py, PyFrozenSet>> {
    PyFrozenSet::new(py, keys_of_runs(&text_runs(&lines)))
}

#[pyfunction]
#[pyo3(name = "nearness")]
fn py_nearness(whole_number_key: &str, written: &WrittenKeys) -> Option<&'static str> {
    nearness(whole_number_key, written)
}

#[pyfunction]
#[pyo3(name = "name_key", signature = (name))]
fn py_name_key(name: Option<&str>) -> Option<String> {
    name_key(name)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<WrittenKeys>()?;
    m.add_function(wrap_pyfunction!(py_number_key, m)?)?;
    m.add_function(wrap_pyfunction!(py_serial_keys, m)?)?;
    m.add_function(wrap_pyfunction!(py_text_keys, m)?)?;
    m.add_function(wrap_pyfunction!(py_nearness, m)?)?;
    m.add_function(wrap_pyfunction!(py_name_key, m)?)?;
    Ok(())
}
