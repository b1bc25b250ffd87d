//! Invoice numbers and payer names in what people type (see `payments.domain.remittance`).

use std::collections::{HashMap, HashSet};

pub const MIN_NUMBER_LENGTH: usize = 4;
pub const MIN_NEAR_LENGTH: usize = 6;
pub const MAX_PARTS: usize = 6;

pub fn compact(text: &str) -> String {
    todo!("{text}")
}

pub fn number_key(invoice_number: &str) -> String {
    compact(invoice_number)
}

pub fn number_keys(invoice_number: &str) -> Vec<String> {
    todo!("{invoice_number}")
}

pub fn number_index_keys(invoice_number: &str) -> (String, Vec<String>) {
    todo!("{invoice_number}")
}

pub fn text_runs<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    todo!("{}", lines.len())
}

pub fn keys_of_runs(runs: &[String]) -> HashSet<String> {
    todo!("{}", runs.len())
}

pub struct WrittenKeys {
    pub keys: HashSet<String>,
    pub by_length: HashMap<usize, Vec<String>>,
}

impl WrittenKeys {
    pub fn new(keys: HashSet<String>) -> Self {
        todo!("{}", keys.len())
    }
}

/// "one typo" or "cut short".
pub fn nearness(whole_number_key: &str, written: &WrittenKeys) -> Option<&'static str> {
    todo!("{whole_number_key} {}", written.keys.len())
}

pub fn name_key(name: Option<&str>) -> Option<String> {
    todo!("{name:?}")
}
