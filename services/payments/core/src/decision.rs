//! The decision for a payment (see `payments.domain.matching`): which items it names, comes
//! near or may pay as the known payer's, whether that is unambiguous, and the evidence.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};

use pyo3::prelude::*;

use crate::amounts::display_minor;
use crate::items::{Item, OpenItem, OpenItems};
use crate::outcomes::{Allocation, Evidence, Explanation, Matched, Suggestion, Unmatched};
use crate::payment::{starts_with_digit, Clues, IncomingPayment, Tolerance};
use crate::subsets::{combinations_paying, Combination};
use crate::text::{nearness, MAX_PARTS};

const MAX_SUGGESTIONS: usize = 5;
const MAX_REJECTED: usize = 5;
const MAX_SEARCHED_ITEMS: usize = 24;
/// Two combinations are enough to know a payment is ambiguous.
const COMBINATIONS_WANTED: usize = 2;

/// What links a payment to an item.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signal {
    Reference,
    PaymentLink,
    Number,
    NearNumber,
    Account,
    Name,
    Amount,
    CloseAmount,
    DueDate,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Reference => "structured reference",
            Signal::PaymentLink => "payment link",
            Signal::Number => "invoice number",
            Signal::NearNumber => "near invoice number",
            Signal::Account => "payer account",
            Signal::Name => "payer name",
            Signal::Amount => "amount",
            Signal::CloseAmount => "close amount",
            Signal::DueDate => "due date",
        }
    }

    fn is_strong(self) -> bool {
        matches!(self, Signal::Reference | Signal::PaymentLink)
    }
}

struct Finding {
    signal: Signal,
    says: String,
    /// In hundredths.
    weight: u32,
    identifies: bool,
}

impl Finding {
    fn new(signal: Signal, says: String, weight: u32) -> Self {
        Finding { signal, says, weight, identifies: false }
    }

    fn identifying(signal: Signal, says: String, weight: u32) -> Self {
        Finding { signal, says, weight, identifies: true }
    }
}

struct Candidate {
    item: Item,
    findings: Vec<Finding>,
}

impl Candidate {
    fn names_it(&self) -> bool {
        self.findings.iter().any(|f| f.identifies)
    }

    fn strongly_named(&self) -> bool {
        self.findings.iter().any(|f| f.signal.is_strong())
    }

    /// In hundredths, at most 100.
    fn score(&self) -> u32 {
        self.findings.iter().map(|f| f.weight).sum::<u32>().min(100)
    }

    fn signals(&self) -> String {
        let named: Vec<String> = self.findings.iter().map(|f| format!("the {}", f.signal.name())).collect();
        named.join(" and ")
    }

    fn has(&self, signal: Signal) -> bool {
        self.findings.iter().any(|f| f.signal == signal)
    }

    fn agree(&self) -> &'static str {
        if self.findings.len() > 1 {
            "agree"
        } else {
            "agrees"
        }
    }
}

/// Items to apply the payment to (invoices first, then credits netted) and why.
struct Plan {
    invoices: Vec<Item>,
    credits: Vec<Item>,
    verdict: String,
}

enum Verdict {
    Match { customer: String, plan: Plan, teaches: bool },
    Unmatched(Unmatched),
}

/// How a Python f-string writes an optional text.
fn shown(text: Option<&str>) -> &str {
    text.unwrap_or("None")
}

fn same(a: &Item, b: &Item) -> bool {
    a.as_ptr() == b.as_ptr()
}

fn sorted_by_id(items: &mut [(String, usize)]) -> Vec<usize> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.iter().map(|(_, position)| *position).collect()
}

pub struct Decision {
    payment: Py<IncomingPayment>,
    items: Py<OpenItems>,
    tolerance: Tolerance,
    clues: Py<Clues>,
    amount: i64,
    currency: String,
    candidates: Vec<Candidate>,
    positions: HashMap<String, usize>,
    rejected: Vec<String>,
    combinations: Vec<Suggestion>,
    closed_named: Vec<Item>,
    /// Customers the payer's account is known to pay for.
    by_account: BTreeSet<String>,
    /// Customers with the payer's name, looked up when first asked for.
    by_name: Option<BTreeSet<String>>,
}

impl Decision {
    fn new(
        payment: &Bound<'_, IncomingPayment>,
        items: &Bound<'_, OpenItems>,
        tolerance: Tolerance,
        clues: Py<Clues>,
    ) -> Self {
        let stated = payment.get();
        let by_account = items.borrow().paying_from(stated.payer_account.as_deref());
        Decision {
            payment: payment.clone().unbind(),
            items: items.clone().unbind(),
            tolerance,
            clues,
            amount: stated.amount_minor,
            currency: stated.currency.clone(),
            candidates: Vec::new(),
            positions: HashMap::new(),
            rejected: Vec::new(),
            combinations: Vec::new(),
            closed_named: Vec::new(),
            by_account: by_account.into_iter().collect(),
            by_name: None,
        }
    }

    fn payment(&self) -> &IncomingPayment {
        self.payment.get()
    }

    fn account(&self) -> String {
        shown(self.payment().payer_account.as_deref()).to_string()
    }

    fn paid(&self) -> String {
        display_minor(self.amount, &self.currency)
    }

    fn index<'py>(&self, py: Python<'py>) -> Bound<'py, OpenItems> {
        self.items.bind(py).clone()
    }

    fn by_name(&mut self, py: Python<'_>) -> &BTreeSet<String> {
        if self.by_name.is_none() {
            let key = self.clues.get().payer_name_key.clone();
            let named = self.items.bind(py).borrow().named(key.as_deref());
            self.by_name = Some(named.into_iter().collect());
        }
        self.by_name.get_or_insert_with(BTreeSet::new)
    }

    /// The customers the payer's account or name point at.
    fn payers(&mut self, py: Python<'_>) -> Vec<String> {
        let by_name = self.by_name(py).clone();
        self.by_account.union(&by_name).cloned().collect()
    }

    fn accounts_customers(&self) -> String {
        self.by_account.iter().cloned().collect::<Vec<_>>().join(", ")
    }

    fn notes(&self) -> Vec<String> {
        self.clues.get().notes().collect()
    }

    // The decision

    fn decide(&mut self, py: Python<'_>) -> PyResult<Verdict> {
        if self.amount <= 0 {
            return self.unmatched(py, "the amount is zero: nothing to apply".to_string());
        }
        let named = self.named(py)?;
        let mut decision = None;
        if !named.is_empty() {
            let verdict = self.from_named(py, &named)?;
            let strongly = named.iter().any(|&at| self.candidates[at].strongly_named());
            if matches!(verdict, Verdict::Match { .. }) || strongly {
                return Ok(verdict);
            }
            decision = Some(verdict);
        }
        let near = self.near(py, &named)?;
        if self.names_own_closed_item(py) {
            // The payer's own invoice, paid already or cancelled: a payment made twice, most
            // likely. Looking further would find something else for it to pay.
            let first = self.closed_named[0].borrow(py);
            let reason = format!(
                "it names {} of customer {}, on which nothing is open any more (paid twice?)",
                first.label(),
                first.customer_id
            );
            drop(first);
            return self.unmatched(py, reason);
        }
        if !near.is_empty() {
            return self.from_near(py, &near);
        }
        if let Some(decision) = decision {
            return Ok(decision);
        }
        if self.by_account.len() == 1 {
            let payer = self.by_account.iter().next().cloned().unwrap_or_default();
            return self.from_known_payer(py, &payer);
        }
        self.add_similar(py)?;
        let clues = self.clues.clone_ref(py);
        let mut keys = clues.get().trusted_keys.clone();
        if !keys.is_empty() {
            keys.sort();
            let keys = keys.join(", ");
            let reason = format!("structured reference {keys} is valid but no open item carries it");
            return self.unmatched(py, reason);
        }
        let reason = "no valid structured reference, payment link or open invoice number in the \
                      payment";
        self.unmatched(py, reason.to_string())
    }

    fn from_named(&mut self, py: Python<'_>, named: &[usize]) -> PyResult<Verdict> {
        let mut named = named.to_vec();
        let mut customers: BTreeSet<String> = named.iter().map(|&at| self.customer_of(py, at)).collect();
        if customers.len() > 1 && self.by_account.len() == 1 {
            let payer = self.by_account.iter().next().cloned().unwrap_or_default();
            named = self.keep_payers(py, named, &payer);
            if !named.is_empty() {
                customers = BTreeSet::from([payer]);
            }
        }
        if customers.len() > 1 {
            let numbers = self.numbers(py, named.iter().map(|&at| &self.candidates[at].item));
            let reason =
                format!("the payment names items of {} customers ({numbers})", customers.len());
            return self.unmatched(py, reason);
        }
        let customer = customers.into_iter().next().unwrap_or_default();
        if !self.by_account.is_empty() && !self.by_account.contains(&customer) {
            let reason = format!(
                "it names items of customer {customer}, but account {} is known to pay for {}",
                self.account(),
                self.accounts_customers()
            );
            return self.unmatched(py, reason);
        }
        match self.plan_for_named(py, &named)? {
            Ok(plan) => Ok(Verdict::Match { customer, plan, teaches: true }),
            Err(reason) => self.unmatched(py, reason),
        }
    }

    fn plan_for_named(&mut self, py: Python<'_>, named: &[usize]) -> PyResult<Result<Plan, String>> {
        let (mut invoices, mut credits) = (Vec::new(), Vec::new());
        for &at in named {
            let item = self.candidates[at].item.clone_ref(py);
            if item.borrow(py).is_credit() {
                credits.push(item);
            } else {
                invoices.push(item);
            }
        }
        if invoices.is_empty() {
            return Ok(Err("it names only credit notes".to_string()));
        }
        if let Some(exact) = self.combination(py, &invoices, &credits)? {
            return Ok(Ok(exact));
        }
        if invoices.len() == 1 && credits.is_empty() {
            let first = named[0];
            let chosen = if self.is_credit(py, first) { named[named.len() - 1] } else { first };
            return Ok(self.single(py, chosen));
        }
        let numbers = self.numbers(py, invoices.iter().chain(&credits));
        Ok(Err(format!(
            "pays {}, but no combination of the named items ({numbers}) adds up to it",
            self.paid()
        )))
    }

    /// All named items, else the only combination of them (netting the customer's other credit
    /// notes if that is what makes the amount add up).
    fn combination(
        &mut self,
        py: Python<'_>,
        invoices: &[Item],
        credits: &[Item],
    ) -> PyResult<Option<Plan>> {
        let open_invoices: i64 = invoices.iter().map(|i| i.borrow(py).open_minor).sum();
        let open_credits: i64 = credits.iter().map(|c| c.borrow(py).open_minor).sum();
        let slack = self.tolerance.allowed(open_invoices - open_credits);
        if (open_invoices - open_credits - self.amount).abs() <= slack {
            let several = invoices.len() + credits.len() > 1;
            let verdict = if several { "pays every item it names" } else { "" };
            return Ok(Some(Plan {
                invoices: invoices.iter().map(|i| i.clone_ref(py)).collect(),
                credits: credits.iter().map(|c| c.clone_ref(py)).collect(),
                verdict: verdict.to_string(),
            }));
        }
        let customer = invoices[0].borrow(py).customer_id.clone();
        let others: Vec<Item> = self
            .customer_credits(py, &customer)?
            .into_iter()
            .filter(|other| !credits.iter().any(|c| same(c, other)))
            .collect();
        if invoices.len() == 1 && others.is_empty() {
            return Ok(None);
        }
        let search = combinations_paying(
            self.amount + open_credits,
            &open_amounts(py, invoices),
            &open_amounts(py, &others),
            0,
            COMBINATIONS_WANTED,
        );
        let Some((chosen_at, netted_at)) = search.unique() else {
            return Ok(None);
        };
        let chosen: Vec<Item> = chosen_at.iter().map(|&i| invoices[i].clone_ref(py)).collect();
        let netted = credits.iter().chain(netted_at.iter().map(|&i| &others[i]));
        let netted: Vec<Item> = netted.map(|c| c.clone_ref(py)).collect();
        let left_out = invoices.iter().filter(|i| !chosen.iter().any(|c| same(c, i)));
        let left_out = self.numbers(py, left_out);
        let mut verdict = "the only combination of the named items that adds up to the amount".to_string();
        if !left_out.is_empty() {
            verdict += &format!(" (leaving out {left_out})");
        }
        Ok(Some(Plan { invoices: chosen, credits: netted, verdict }))
    }

    fn single(&mut self, py: Python<'_>, at: usize) -> Result<Plan, String> {
        let item = self.candidates[at].item.clone_ref(py);
        let (open_minor, currency, label, customer) = {
            let it = item.borrow(py);
            (it.open_minor, it.currency.clone(), it.label(), it.customer_id.clone())
        };
        let whole = || Plan { invoices: vec![item.clone_ref(py)], credits: Vec::new(), verdict: String::new() };
        let difference = self.amount - open_minor;
        if difference.abs() <= self.tolerance.allowed(open_minor) {
            return Ok(whole());
        }
        let open = display_minor(open_minor, &currency);
        if difference > 0 {
            return Err(format!(
                "pays {} but only {open} is open on {label} (overpayment)",
                self.paid()
            ));
        }
        let payer_known =
            self.by_account.contains(&customer) || self.by_name(py).contains(&customer);
        if self.candidates[at].strongly_named() || payer_known {
            return Ok(whole());
        }
        Err(format!(
            "pays {} of the {open} open on {label}, named by its number only and from a payer not \
             known to be customer {customer}: a partial payment needs a person",
            self.paid()
        ))
    }

    fn from_near(&mut self, py: Python<'_>, near: &[usize]) -> PyResult<Verdict> {
        if near.len() > 1 {
            let numbers = self.numbers(py, near.iter().map(|&at| &self.candidates[at].item));
            let reason = format!("the text comes near {} invoice numbers ({numbers})", near.len());
            return self.unmatched(py, reason);
        }
        let item = self.candidates[near[0]].item.clone_ref(py);
        let (open_minor, currency, label, customer) = {
            let it = item.borrow(py);
            (it.open_minor, it.currency.clone(), it.label(), it.customer_id.clone())
        };
        let difference = self.amount - open_minor;
        let fits = difference.abs() <= self.tolerance.allowed(open_minor);
        let known_payer = self.by_account.contains(&customer);
        if !self.by_account.is_empty() && !known_payer {
            let reason = format!(
                "the text comes near {label} of customer {customer}, but account {} pays for {}",
                self.account(),
                self.accounts_customers()
            );
            return self.unmatched(py, reason);
        }
        if fits || (known_payer && difference < 0) {
            let plan = Plan { invoices: vec![item], credits: Vec::new(), verdict: String::new() };
            return Ok(Verdict::Match { customer, plan, teaches: false });
        }
        let reason = format!(
            "the text comes near {label}, but the amount {} does not pay its open {} and the \
             payer is not known",
            self.paid(),
            display_minor(open_minor, &currency)
        );
        self.unmatched(py, reason)
    }

    fn from_known_payer(&mut self, py: Python<'_>, customer: &str) -> PyResult<Verdict> {
        let index = self.index(py);
        let invoices: Vec<Item> = OpenItems::open_of_customer(&index, customer)?
            .into_iter()
            .filter(|i| {
                let it = i.borrow(py);
                !it.is_credit() && it.currency == self.currency && self.issued_by_then(&it)
            })
            .collect();
        let credits = self.customer_credits(py, customer)?;
        for item in invoices.iter().chain(&credits) {
            let at = self.candidate(py, item);
            let finding = self.account_finding(customer);
            self.candidates[at].findings.push(finding);
        }
        let account = self.account();
        if invoices.is_empty() {
            let reason = format!(
                "account {account} pays for customer {customer}, who has nothing open in {}",
                self.currency
            );
            return self.unmatched(py, reason);
        }
        if invoices.len() > MAX_SEARCHED_ITEMS {
            self.add_similar(py)?;
            let reason = format!(
                "nothing names an item, and customer {customer} has {} open invoices: too many \
                 to tell which ones this pays",
                invoices.len()
            );
            return self.unmatched(py, reason);
        }
        let search = combinations_paying(
            self.amount,
            &open_amounts(py, &invoices),
            &open_amounts(py, &credits),
            0,
            COMBINATIONS_WANTED,
        );
        let Some((chosen_at, netted_at)) = search.unique() else {
            self.suggest_combinations(py, customer, &invoices, &credits, &search.found);
            let reason = if search.found.len() > 1 {
                "several combinations of its open items add up to the amount"
            } else {
                "no combination of its open items adds up to the amount"
            };
            let reason = format!(
                "account {account} pays for customer {customer}, but nothing names an item and \
                 {reason}"
            );
            return self.unmatched(py, reason);
        };
        let plan = Plan {
            invoices: chosen_at.iter().map(|&i| invoices[i].clone_ref(py)).collect(),
            credits: netted_at.iter().map(|&i| credits[i].clone_ref(py)).collect(),
            verdict: format!(
                "the only combination of customer {customer}'s open items that adds up to the \
                 amount"
            ),
        };
        Ok(Verdict::Match { customer: customer.to_string(), plan, teaches: false })
    }

    // Candidates

    fn named(&mut self, py: Python<'_>) -> PyResult<Vec<usize>> {
        let index = self.index(py);
        let clues = self.clues.clone_ref(py);
        let clues = clues.get();
        let mut named = Vec::new();
        for key in &clues.trusted_keys {
            let carrying = index.borrow().with_reference(py, key);
            for item in carrying {
                let label = item.borrow(py).label();
                let says = format!("structured reference {key} is the payment reference of {label}");
                self.name(py, &mut named, item, Signal::Reference, says, 60);
            }
        }
        let payment = self.payment.clone_ref(py);
        for invoice_id in &payment.get().invoice_ids {
            let linked = index.borrow().item(py, invoice_id);
            if let Some(linked) = linked {
                let label = linked.borrow(py).label();
                let says = format!("it was paid through the payment link of {label}");
                self.name(py, &mut named, linked, Signal::PaymentLink, says, 60);
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
                let Some((says, weight)) = self.number_finding(py, &item, &tail) else {
                    continue;
                };
                self.name(py, &mut named, item, Signal::Number, says, weight);
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
                    self.rejected.push(format!("{label}: named by {signals}, but {reason}"));
                }
            }
        }
        Ok(sorted_by_id(&mut usable))
    }

    /// What the text says of an item whose number it ends with, and how much that weighs.
    fn number_finding(&self, py: Python<'_>, item: &Item, tail: &str) -> Option<(String, u32)> {
        let mut it = item.borrow_mut(py);
        let mention = mention(tail, it.written_keys())?.to_string();
        let whole = mention == it.whole_key();
        let label = it.label();
        if whole {
            Some((format!("{label} appears in the remittance information"), 50))
        } else {
            Some((format!("{label} appears in the remittance information as {mention}"), 45))
        }
    }

    fn name(
        &mut self,
        py: Python<'_>,
        named: &mut Vec<usize>,
        item: Item,
        signal: Signal,
        says: String,
        weight: u32,
    ) {
        let at = self.candidate(py, &item);
        if !named.contains(&at) {
            named.push(at);
        }
        if !self.candidates[at].has(signal) {
            self.candidates[at].findings.push(Finding::identifying(signal, says, weight));
        }
    }

    fn unusable(&self, item: &OpenItem) -> Option<String> {
        if item.status == "cancelled" {
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
    fn near(&mut self, py: Python<'_>, exclude: &[usize]) -> PyResult<Vec<usize>> {
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
        let mut seen: HashSet<String> = exclude.iter().map(|&at| self.id_of(py, at)).collect();
        let mut near = Vec::new();
        for item in pool {
            let (key, invoice_id) = {
                let mut it = item.borrow_mut(py);
                (it.whole_key().to_string(), it.invoice_id.clone())
            };
            if !seen.insert(invoice_id.clone()) {
                continue;
            }
            let Some(how) = nearness(&key, clues.written_keys(py)?.get()) else { continue };
            let (label, usable) = {
                let it = item.borrow(py);
                (it.label(), self.unusable(&it).is_none())
            };
            if usable {
                let at = self.candidate(py, &item);
                let says = format!("the remittance gives {label} {how}");
                let finding = Finding::identifying(Signal::NearNumber, says, 35);
                self.candidates[at].findings.push(finding);
                near.push((invoice_id, at));
            }
        }
        Ok(sorted_by_id(&mut near))
    }

    fn add_similar(&mut self, py: Python<'_>) -> PyResult<()> {
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

    fn corroborate_each(&mut self, py: Python<'_>) {
        for at in 0..self.candidates.len() {
            let customer = self.customer_of(py, at);
            self.corroborate(py, &customer, at);
        }
    }

    fn add_corroboration(&mut self, py: Python<'_>, customer: &str) {
        for at in 0..self.candidates.len() {
            self.corroborate(py, customer, at);
        }
    }

    fn corroborate(&mut self, py: Python<'_>, customer: &str, at: usize) {
        if self.customer_of(py, at) != customer {
            return;
        }
        if self.by_account.contains(customer) && !self.candidates[at].has(Signal::Account) {
            let finding = self.account_finding(customer);
            self.candidates[at].findings.push(finding);
        }
        if self.by_name(py).contains(customer) && !self.candidates[at].has(Signal::Name) {
            let payer = shown(self.payment().payer_name.as_deref());
            let says = format!("the payer {payer} is customer {customer}");
            self.candidates[at].findings.push(Finding::new(Signal::Name, says, 20));
        }
        self.add_amount_and_date(py, at);
    }

    fn add_amount_and_date(&mut self, py: Python<'_>, at: usize) {
        let candidate = &self.candidates[at];
        let it = candidate.item.borrow(py);
        if it.is_credit() || candidate.has(Signal::DueDate) || candidate.has(Signal::Amount) {
            return;
        }
        let mut found = Vec::new();
        let label = it.label();
        if it.open_minor == self.amount && it.currency == self.currency {
            let says = format!("the amount {} equals what is open on {label}", self.paid());
            found.push(Finding::new(Signal::Amount, says, 30));
        } else if !candidate.has(Signal::CloseAmount)
            && (it.open_minor - self.amount).abs() <= self.tolerance.allowed(it.open_minor)
        {
            let says = format!("the amount is within tolerance of what is open on {label}");
            found.push(Finding::new(Signal::CloseAmount, says, 20));
        }
        if let (Some(due), Some(booked)) = (&it.due_date, &self.payment().booked_on) {
            if booked.days_since(due).abs() <= 30 {
                let says = format!("{label} fell due on {due}, within 30 days of the payment");
                found.push(Finding::new(Signal::DueDate, says, 5));
            }
        }
        drop(it);
        self.candidates[at].findings.extend(found);
    }

    fn account_finding(&self, customer: &str) -> Finding {
        let says = format!("account {} is known to pay for customer {customer}", self.account());
        Finding::new(Signal::Account, says, 30)
    }

    fn candidate(&mut self, py: Python<'_>, item: &Item) -> usize {
        let invoice_id = item.borrow(py).invoice_id.clone();
        if let Some(&at) = self.positions.get(&invoice_id) {
            return at;
        }
        let item = item.clone_ref(py);
        self.candidates.push(Candidate { item, findings: Vec::new() });
        self.positions.insert(invoice_id, self.candidates.len() - 1);
        self.candidates.len() - 1
    }

    fn customer_credits(&self, py: Python<'_>, customer: &str) -> PyResult<Vec<Item>> {
        let items = OpenItems::open_of_customer(&self.index(py), customer)?;
        Ok(items
            .into_iter()
            .filter(|i| {
                let it = i.borrow(py);
                it.is_credit() && it.currency == self.currency
            })
            .collect())
    }

    fn keep_payers(&mut self, py: Python<'_>, named: Vec<usize>, payer: &str) -> Vec<usize> {
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
    fn names_own_closed_item(&self, py: Python<'_>) -> bool {
        if self.closed_named.is_empty() {
            return false;
        }
        if self.by_account.len() != 1 {
            return true;
        }
        self.closed_named.iter().any(|item| self.by_account.contains(&item.borrow(py).customer_id))
    }

    fn issued_by_then(&self, item: &OpenItem) -> bool {
        match (&item.issue_date, &self.payment().booked_on) {
            (Some(issued), Some(booked)) => !issued.is_after(booked),
            _ => true,
        }
    }

    fn suggest_combinations(
        &mut self,
        py: Python<'_>,
        customer: &str,
        invoices: &[Item],
        credits: &[Item],
        found: &[Combination],
    ) {
        for (chosen, netted) in found {
            let items: Vec<&Item> =
                chosen.iter().map(|&i| &invoices[i]).chain(netted.iter().map(|&i| &credits[i])).collect();
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
                score: 0.5,
                reason,
            });
        }
    }

    fn customer_of(&self, py: Python<'_>, at: usize) -> String {
        self.candidates[at].item.borrow(py).customer_id.clone()
    }

    fn id_of(&self, py: Python<'_>, at: usize) -> String {
        self.candidates[at].item.borrow(py).invoice_id.clone()
    }

    fn is_credit(&self, py: Python<'_>, at: usize) -> bool {
        self.candidates[at].item.borrow(py).is_credit()
    }

    fn numbers<'a>(&self, py: Python<'_>, items: impl Iterator<Item = &'a Item>) -> String {
        let numbers: Vec<String> = items.map(|i| i.borrow(py).invoice_number.clone()).collect();
        numbers.join(", ")
    }

    // Outcomes

    fn matched(self, py: Python<'_>, customer: String, plan: Plan, teaches: bool) -> Matched {
        let credits_open: i64 = plan.credits.iter().map(|c| c.borrow(py).open_minor).sum();
        let mut left = self.amount + credits_open;
        let mut allocations = Vec::new();
        let mut open_before = Vec::new();
        for (position, item) in plan.invoices.iter().enumerate() {
            let it = item.borrow(py);
            let last = position == plan.invoices.len() - 1;
            let applied = it.open_minor.min(left);
            let short = it.open_minor - applied;
            let settles = short <= if last { self.tolerance.allowed(it.open_minor) } else { 0 };
            left -= applied;
            allocations.push(allocation(&it, applied, settles, if settles { short } else { 0 }));
            open_before.push((it.invoice_id.clone(), it.open_minor));
        }
        for credit in &plan.credits {
            let it = credit.borrow(py);
            allocations.push(allocation(&it, it.open_minor, true, 0));
            open_before.push((it.invoice_id.clone(), it.open_minor));
        }
        let currency = self.currency.clone();
        let explanation = MatchedExplanation {
            decision: self,
            verdict: plan.verdict,
            allocations: allocations.clone(),
            open_before,
            unapplied: left,
        };
        let explain = Explanation::Decision(Box::new(explanation));
        Matched::new(customer, allocations, left, currency, teaches, explain)
    }

    fn unmatched(&mut self, py: Python<'_>, reason: String) -> PyResult<Verdict> {
        self.corroborate_each(py);
        let ranked = self.ranked(py);
        let mut found = Vec::new();
        for &at in &ranked {
            let identifying = self.candidates[at].findings.iter().filter(|f| f.identifies);
            found.extend(identifying.map(|f| f.says.clone()));
        }
        let mut rejected = self.rejected.clone();
        let with_findings: Vec<usize> =
            ranked.iter().copied().filter(|&at| !self.candidates[at].findings.is_empty()).collect();
        for &at in with_findings.iter().take(MAX_REJECTED) {
            let candidate = &self.candidates[at];
            let label = candidate.item.borrow(py).label();
            let signals = candidate.signals();
            rejected.push(if candidate.names_it() {
                format!("{label}: named by {signals}, not applied: {reason}")
            } else {
                format!("{label}: {signals} {}, not enough to match", candidate.agree())
            });
        }
        rejected.truncate(MAX_REJECTED);
        let mut suggestions = self.combinations.clone();
        for &at in &with_findings {
            let candidate = &self.candidates[at];
            let it = candidate.item.borrow(py);
            if it.is_credit() {
                continue;
            }
            let says: Vec<&str> = candidate.findings.iter().map(|f| f.says.as_str()).collect();
            suggestions.push(Suggestion {
                customer_id: it.customer_id.clone(),
                items: vec![(it.invoice_id.clone(), it.invoice_number.clone())],
                score: f64::from(candidate.score()) / 100.0,
                reason: says.join("; "),
            });
        }
        suggestions.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.ids().cmp(b.ids())));
        suggestions.truncate(MAX_SUGGESTIONS);
        let mut signals = self.notes();
        signals.extend(found);
        let evidence = Evidence { signals, rejected };
        Ok(Verdict::Unmatched(Unmatched::new(py, reason, suggestions, evidence)?))
    }

    fn ranked(&self, py: Python<'_>) -> Vec<usize> {
        let booked = self.payment().booked_on.as_ref();
        let mut ranked: Vec<(Reverse<u32>, i64, String, usize)> = self
            .candidates
            .iter()
            .enumerate()
            .map(|(at, candidate)| {
                let it = candidate.item.borrow(py);
                let days = match (booked, &it.due_date) {
                    (Some(booked), Some(due)) => booked.days_since(due).abs(),
                    _ => 0,
                };
                (Reverse(candidate.score()), days, it.invoice_id.clone(), at)
            })
            .collect();
        ranked.sort();
        ranked.into_iter().map(|(_, _, _, at)| at).collect()
    }
}

fn open_amounts(py: Python<'_>, items: &[Item]) -> Vec<i64> {
    items.iter().map(|i| i.borrow(py).open_minor).collect()
}

fn allocation(item: &OpenItem, applied: i64, settles: bool, written_off: i64) -> Allocation {
    Allocation {
        invoice_id: item.invoice_id.clone(),
        invoice_number: item.invoice_number.clone(),
        customer_id: item.customer_id.clone(),
        is_credit: item.is_credit(),
        currency: item.currency.clone(),
        amount_minor: applied,
        settles,
        written_off_minor: written_off,
    }
}

/// The key of the number (whole, else without its leading parts) the compacted text ends with;
/// digits glued to more digits before them are part of another number.
fn mention<'k>(tail: &str, keys: &'k [String]) -> Option<&'k str> {
    keys.iter().map(String::as_str).find(|key| {
        tail.ends_with(key)
            && match tail.len().checked_sub(key.len() + 1) {
                None => true,
                Some(before) => !(starts_with_digit(key) && tail.as_bytes()[before].is_ascii_digit()),
            }
    })
}

/// A match's evidence, put into words from the decision's state when first asked for.
pub struct MatchedExplanation {
    decision: Decision,
    verdict: String,
    allocations: Vec<Allocation>,
    open_before: Vec<(String, i64)>,
    unapplied: i64,
}

impl MatchedExplanation {
    pub fn explain(mut self, py: Python<'_>) -> PyResult<Evidence> {
        if let Some(first) = self.allocations.first() {
            self.decision.add_corroboration(py, &first.customer_id.clone());
        }
        let decision = &self.decision;
        let mut verdicts: Vec<String> = self
            .allocations
            .iter()
            .filter(|a| !a.is_credit)
            .map(|a| verdict(a, self.open_before(&a.invoice_id)))
            .collect();
        verdicts.extend(self.allocations.iter().filter(|a| a.is_credit).map(|a| {
            let netted = display_minor(a.amount_minor, &a.currency);
            format!("credit note {} of {netted} is netted", a.invoice_number)
        }));
        if self.unapplied != 0 {
            let unapplied = display_minor(self.unapplied, &decision.currency);
            verdicts.push(format!("{unapplied} more than is open stays unapplied, within tolerance"));
        }
        let chosen: BTreeSet<&str> = self.open_before.iter().map(|(id, _)| id.as_str()).collect();
        let mut signals = decision.notes();
        for invoice_id in &chosen {
            let Some(&at) = decision.positions.get(*invoice_id) else { continue };
            let findings = decision.candidates[at].findings.iter();
            let found = findings.filter(|f| f.identifies || f.signal == Signal::Account);
            signals.extend(found.map(|f| f.says.clone()));
        }
        if !self.verdict.is_empty() {
            signals.push(self.verdict.clone());
        }
        signals.extend(verdicts);
        let mut rejected = decision.rejected.clone();
        let others = decision.ranked(py).into_iter().filter(|&at| {
            let candidate = &decision.candidates[at];
            !candidate.findings.is_empty()
                && !chosen.contains(candidate.item.borrow(py).invoice_id.as_str())
        });
        for at in others.take(MAX_REJECTED) {
            let candidate = &decision.candidates[at];
            let label = candidate.item.borrow(py).label();
            rejected.push(format!(
                "{label}: {} {}, but nothing in the payment names it",
                candidate.signals(),
                candidate.agree()
            ));
        }
        rejected.truncate(MAX_REJECTED);
        Ok(Evidence { signals, rejected })
    }

    fn open_before(&self, invoice_id: &str) -> i64 {
        let before = self.open_before.iter().find(|(id, _)| id == invoice_id);
        before.map_or(0, |(_, open)| *open)
    }
}

fn verdict(allocation: &Allocation, open_before: i64) -> String {
    let label = format!("invoice {}", allocation.invoice_number);
    let currency = &allocation.currency;
    let was_open = display_minor(open_before, currency);
    let paid = display_minor(allocation.amount_minor, currency);
    if allocation.settles && allocation.written_off_minor != 0 {
        let short = display_minor(allocation.written_off_minor, currency);
        return format!(
            "pays {paid} of the {was_open} open on {label}: settled, {short} short is within \
             tolerance"
        );
    }
    if allocation.settles {
        return format!("pays the full open amount {was_open}: {label} settled");
    }
    let remaining = display_minor(open_before - allocation.amount_minor, currency);
    format!("pays {paid} of the {was_open} open: partial payment of {label}, {remaining} stays open")
}

/// The decision for a payment; `clues` are the payment's, if the caller has them already.
#[pyfunction]
#[pyo3(signature = (payment, items, tolerance=None, clues=None))]
pub fn decide(
    py: Python<'_>,
    payment: &Bound<'_, IncomingPayment>,
    items: &Bound<'_, OpenItems>,
    tolerance: Option<Tolerance>,
    clues: Option<Py<Clues>>,
) -> PyResult<PyObject> {
    let clues = match clues {
        Some(clues) => clues,
        None => Py::new(py, Clues::of(py, payment.get()))?,
    };
    let mut decision = Decision::new(payment, items, tolerance.unwrap_or_default(), clues);
    match decision.decide(py)? {
        Verdict::Unmatched(unmatched) => Ok(Py::new(py, unmatched)?.into_any()),
        Verdict::Match { customer, plan, teaches } => {
            Ok(Py::new(py, decision.matched(py, customer, plan, teaches))?.into_any())
        }
    }
}

/// Bring the index up to date with a decision (a match reduces what is open).
#[pyfunction]
pub fn apply(
    py: Python<'_>,
    items: &Bound<'_, OpenItems>,
    payment: &Bound<'_, IncomingPayment>,
    decision: &Bound<'_, PyAny>,
) {
    let Ok(matched) = decision.downcast::<Matched>() else { return };
    let matched = matched.get();
    for allocation in &matched.allocations {
        let item = items.borrow().item(py, &allocation.invoice_id);
        if let Some(item) = item {
            let item = item.bind(py);
            items.borrow_mut().reduce_item(item, allocation.amount_minor, allocation.settles);
        }
    }
    if let (true, Some(account)) = (matched.teaches_account, &payment.get().payer_account) {
        items.borrow_mut().learn(account, &matched.customer_id, 1);
    }
}
