//! Which items a payment names, comes near or may pay, and what else speaks for each.

use std::collections::HashSet;

use pyo3::prelude::*;

use super::{sorted_by_id, Candidate, Decision, Finding, Signal, COMBINATION_SCORE};
use crate::items::{Item, OpenItem, OpenItems, Status};
use crate::outcomes::Suggestion;
use crate::payment::starts_with_digit;
use crate::subsets::Combination;
use crate::text::{nearness, MAX_PARTS};

impl Decision {
    pub(super) fn named(&mut self, py: Python<'_>) -> PyResult<Vec<usize>> {
        let index = self.index(py);
        let clues = self.clues.clone_ref(py);
        let clues = clues.get();
        let mut named = Vec::new();
        for key in &clues.trusted_keys {
            let carrying = index.borrow().with_reference(py, key);
            for item in carrying {
                let finding = Finding::Reference { key: key.clone() };
                self.name(py, &mut named, item, finding);
            }
        }
        let payment = self.payment.clone_ref(py);
        for invoice_id in &payment.get().invoice_ids {
            let linked = index.borrow().item(py, invoice_id);
            if let Some(linked) = linked {
                self.name(py, &mut named, linked, Finding::PaymentLink);
            }
        }
        let runs = &clues.runs;
        for (end, run) in runs.iter().enumerate() {
            if !starts_with_digit(run) {
                continue;
            }
            let tail = runs[end.saturating_sub(MAX_PARTS - 1)..=end].concat();
            let ending = index.borrow().with_serial(py, run);
            for item in ending {
                if let Some(finding) = self.number_finding(py, &item, &tail) {
                    self.name(py, &mut named, item, finding);
                }
            }
        }
        let mut usable = Vec::new();
        for at in named {
            let reason = self.unusable(&self.candidates[at].item.borrow(py));
            match reason {
                None => usable.push((self.id_of(py, at), at)),
                Some(reason) => {
                    let item = self.candidates[at].item.clone_ref(py);
                    let label = item.borrow(py).label();
                    let signals = self.candidates[at].signals();
                    self.closed_named.push(item);
                    self.rejected
                        .push(format!("{label}: named by {signals}, but {reason}"));
                }
            }
        }
        Ok(sorted_by_id(&mut usable))
    }

    /// How the text gives the number of an item it ends with, if it does.
    pub(super) fn number_finding(
        &self,
        py: Python<'_>,
        item: &Item,
        tail: &str,
    ) -> Option<Finding> {
        let mut it = item.borrow_mut(py);
        let mention = mention(tail, it.written_keys())?.to_string();
        let whole = mention == it.whole_key();
        Some(Finding::Number {
            mention: (!whole).then_some(mention),
        })
    }

    pub(super) fn name(
        &mut self,
        py: Python<'_>,
        named: &mut Vec<usize>,
        item: Item,
        finding: Finding,
    ) {
        let at = self.candidate(py, &item);
        if !named.contains(&at) {
            named.push(at);
        }
        if !self.candidates[at].has(finding.signal()) {
            self.candidates[at].findings.push(finding);
        }
    }

    pub(super) fn unusable(&self, item: &OpenItem) -> Option<String> {
        if item.status == Status::Cancelled {
            return Some("it is cancelled".to_string());
        }
        if !item.is_open() {
            return Some("nothing is open on it any more (already paid or credited)".to_string());
        }
        if item.currency != self.currency {
            return Some(format!(
                "it is open in {} and the payment is in {}",
                item.currency, self.currency
            ));
        }
        None
    }

    /// Items whose number the text gives with a typo or cut short, among the payer's customers'
    /// items and those the amount would pay (not among all items: a typo comes near too many
    /// numbers). A number named exactly but not applicable is not near.
    pub(super) fn near(&mut self, py: Python<'_>, exclude: &[usize]) -> PyResult<Vec<usize>> {
        let clues = self.clues.clone_ref(py);
        let clues = clues.get();
        if clues.serials.is_empty() {
            return Ok(Vec::new());
        }
        let index = self.index(py);
        let mut pool = Vec::new();
        for customer in self.payers(py) {
            pool.extend(OpenItems::open_of_customer(&index, &customer)?);
        }
        pool.extend(index.borrow().open_for(py, &self.currency, self.amount));
        let excluded = exclude.iter().map(|&at| self.candidates[at].item.as_ptr());
        // Items are looked up in one index, which holds one item per invoice id.
        let mut seen: HashSet<*mut pyo3::ffi::PyObject> = excluded.collect();
        let mut near = Vec::new();
        for item in pool {
            if !seen.insert(item.as_ptr()) {
                continue;
            }
            let how = nearness(
                item.borrow_mut(py).whole_key(),
                clues.written_keys(py)?.get(),
            );
            let Some(how) = how else { continue };
            if self.unusable(&item.borrow(py)).is_none() {
                let invoice_id = item.borrow(py).invoice_id.clone();
                let at = self.candidate(py, &item);
                self.candidates[at]
                    .findings
                    .push(Finding::NearNumber { how });
                near.push((invoice_id, at));
            }
        }
        Ok(sorted_by_id(&mut near))
    }

    pub(super) fn add_similar(&mut self, py: Python<'_>) -> PyResult<()> {
        let index = self.index(py);
        let paid_in_full = index.borrow().open_for(py, &self.currency, self.amount);
        for item in paid_in_full {
            self.candidate(py, &item);
        }
        for customer in self.payers(py) {
            for item in OpenItems::open_of_customer(&index, &customer)? {
                if item.borrow(py).currency == self.currency {
                    self.candidate(py, &item);
                }
            }
        }
        self.corroborate_each(py);
        Ok(())
    }

    /// Each candidate, with what else speaks for it as an item of its own customer.
    pub(super) fn corroborate_each(&mut self, py: Python<'_>) {
        for at in 0..self.candidates.len() {
            let customer = self.customer_of(py, at);
            self.corroborate(py, &customer, at);
        }
    }

    /// The candidates of one customer, with what else speaks for them.
    pub(super) fn corroborate_customer(&mut self, py: Python<'_>, customer: &str) {
        for at in 0..self.candidates.len() {
            self.corroborate(py, customer, at);
        }
    }

    /// The payer's account and name known for the customer, the amount and the due date.
    pub(super) fn corroborate(&mut self, py: Python<'_>, customer: &str, at: usize) {
        if self.customer_of(py, at) != customer {
            return;
        }
        if self.by_account.contains(customer) && !self.candidates[at].has(Signal::Account) {
            self.candidates[at].findings.push(Finding::Account);
        }
        if self.by_name(py).contains(customer) && !self.candidates[at].has(Signal::Name) {
            self.candidates[at].findings.push(Finding::Name);
        }
        self.add_amount_and_date(py, at);
    }

    pub(super) fn add_amount_and_date(&mut self, py: Python<'_>, at: usize) {
        let candidate = &self.candidates[at];
        let it = candidate.item.borrow(py);
        if it.is_credit() || candidate.has(Signal::DueDate) || candidate.has(Signal::Amount) {
            return;
        }
        let mut found = Vec::new();
        if it.open_minor == self.amount && it.currency == self.currency {
            found.push(Finding::Amount);
        } else if !candidate.has(Signal::CloseAmount)
            && (it.open_minor - self.amount).abs() <= self.tolerance.allowed(it.open_minor)
        {
            found.push(Finding::CloseAmount);
        }
        if let (Some(due), Some(booked)) = (&it.due_date, &self.payment().booked_on) {
            if booked.days_since(due).abs() <= 30 {
                found.push(Finding::DueDate);
            }
        }
        drop(it);
        self.candidates[at].findings.extend(found);
    }

    /// Where the item is among the candidates, added if it is not yet.
    pub(super) fn candidate(&mut self, py: Python<'_>, item: &Item) -> usize {
        let it = item.borrow(py);
        if let Some(&at) = self.positions.get(it.invoice_id.as_str()) {
            return at;
        }
        self.positions
            .insert(it.invoice_id.clone(), self.candidates.len());
        self.candidates.push(Candidate {
            item: item.clone_ref(py),
            findings: Vec::new(),
        });
        self.candidates.len() - 1
    }

    pub(super) fn customer_credits(&self, py: Python<'_>, customer: &str) -> PyResult<Vec<Item>> {
        let items = OpenItems::open_of_customer(&self.index(py), customer)?;
        Ok(items
            .into_iter()
            .filter(|i| {
                let it = i.borrow(py);
                it.is_credit() && it.currency == self.currency
            })
            .collect())
    }

    pub(super) fn keep_payers(
        &mut self,
        py: Python<'_>,
        named: Vec<usize>,
        payer: &str,
    ) -> Vec<usize> {
        let mut kept = Vec::new();
        for at in named {
            let (label, customer) = {
                let it = self.candidates[at].item.borrow(py);
                (it.label(), it.customer_id.clone())
            };
            if customer == payer {
                kept.push(at);
            } else {
                let signals = self.candidates[at].signals();
                self.rejected.push(format!(
                    "{label}: named by {signals}, but it is customer {customer}'s and account {} \
                     pays for customer {payer}",
                    self.account()
                ));
            }
        }
        kept
    }

    /// Named items that cannot take a payment, unless all belong to another customer than the
    /// one the payer's account is known for (then the number is more likely a typo).
    pub(super) fn names_own_closed_item(&self, py: Python<'_>) -> bool {
        if self.closed_named.is_empty() {
            return false;
        }
        if self.by_account.len() != 1 {
            return true;
        }
        self.closed_named
            .iter()
            .any(|item| self.by_account.contains(&item.borrow(py).customer_id))
    }

    pub(super) fn issued_by_then(&self, item: &OpenItem) -> bool {
        match (&item.issue_date, &self.payment().booked_on) {
            (Some(issued), Some(booked)) => !issued.is_after(booked),
            _ => true,
        }
    }

    pub(super) fn suggest_combinations(
        &mut self,
        py: Python<'_>,
        customer: &str,
        invoices: &[Item],
        credits: &[Item],
        found: &[Combination],
    ) {
        for (chosen, netted) in found {
            let items: Vec<&Item> = chosen
                .iter()
                .map(|&i| &invoices[i])
                .chain(netted.iter().map(|&i| &credits[i]))
                .collect();
            let items: Vec<(String, String)> = items
                .iter()
                .map(|i| {
                    let it = i.borrow(py);
                    (it.invoice_id.clone(), it.invoice_number.clone())
                })
                .collect();
            let numbers: Vec<&str> = items.iter().map(|(_, number)| number.as_str()).collect();
            let reason = format!(
                "account {} pays for customer {customer}, and {} add up to the amount",
                self.account(),
                numbers.join(", ")
            );
            self.combinations.push(Suggestion {
                customer_id: customer.to_string(),
                items,
                score: f64::from(COMBINATION_SCORE) / 100.0,
                reason,
            });
        }
    }

    pub(super) fn customer_of(&self, py: Python<'_>, at: usize) -> String {
        self.candidates[at].item.borrow(py).customer_id.clone()
    }

    pub(super) fn id_of(&self, py: Python<'_>, at: usize) -> String {
        self.candidates[at].item.borrow(py).invoice_id.clone()
    }

    pub(super) fn is_credit(&self, py: Python<'_>, at: usize) -> bool {
        self.candidates[at].item.borrow(py).is_credit()
    }

    pub(super) fn numbers<'a>(
        &self,
        py: Python<'_>,
        items: impl Iterator<Item = &'a Item>,
    ) -> String {
        let numbers: Vec<String> = items.map(|i| i.borrow(py).invoice_number.clone()).collect();
        numbers.join(", ")
    }
}

/// The key of the number (whole, else without its leading parts) the compacted text ends with;
/// digits glued to more digits before them are part of another number.
fn mention<'k>(tail: &str, keys: &'k [String]) -> Option<&'k str> {
    keys.iter().map(String::as_str).find(|key| {
        tail.ends_with(key)
            && match tail.len().checked_sub(key.len() + 1) {
                None => true,
                Some(before) => {
                    !(starts_with_digit(key) && tail.as_bytes()[before].is_ascii_digit())
                }
            }
    })
}
