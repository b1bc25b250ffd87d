//! The decision for a payment (see `payments.domain.matching`): which items it names, comes
//! near or may pay as the known payer's, whether that is unambiguous, and the evidence.

use std::collections::{BTreeSet, HashMap};

use pyo3::prelude::*;

use crate::amounts::display_minor;
use crate::items::{Item, OpenItems};
use crate::outcomes::{Matched, Suggestion, Unmatched};
use crate::payment::{Clues, IncomingPayment, Tolerance};
use crate::subsets::combinations_paying;

mod candidates;
mod evidence;
mod findings;

pub use evidence::MatchedExplanation;
use findings::{Candidate, Finding, Signal};

const MAX_SUGGESTIONS: usize = 5;
const MAX_REJECTED: usize = 5;
const MAX_SEARCHED_ITEMS: usize = 24;
/// Two combinations are enough to know a payment is ambiguous.
const COMBINATIONS_WANTED: usize = 2;
/// A combination of the known payer's items that adds up, in hundredths.
const COMBINATION_SCORE: u32 = 50;

/// Items to apply the payment to (invoices first, then credits netted) and why.
struct Plan {
    invoices: Vec<Item>,
    credits: Vec<Item>,
    verdict: String,
}

enum Verdict {
    Match {
        customer: String,
        plan: Plan,
        teaches: bool,
    },
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
            by_account,
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
        let (items, clues) = (&self.items, &self.clues);
        self.by_name.get_or_insert_with(|| {
            items
                .bind(py)
                .borrow()
                .named(clues.get().payer_name_key.as_deref())
        })
    }

    /// The customers the payer's account or name point at.
    fn payers(&mut self, py: Python<'_>) -> Vec<String> {
        let by_name = self.by_name(py).clone();
        self.by_account.union(&by_name).cloned().collect()
    }

    fn accounts_customers(&self) -> String {
        self.by_account
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
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
            let verdict = self.decide_named(py, &named)?;
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
            return self.decide_near(py, &near);
        }
        if let Some(decision) = decision {
            return Ok(decision);
        }
        if self.by_account.len() == 1 {
            let payer = self.by_account.iter().next().cloned().unwrap_or_default();
            return self.decide_for_known_payer(py, &payer);
        }
        self.add_similar(py)?;
        let clues = self.clues.clone_ref(py);
        let mut keys = clues.get().trusted_keys.clone();
        if !keys.is_empty() {
            keys.sort();
            let keys = keys.join(", ");
            let reason =
                format!("structured reference {keys} is valid but no open item carries it");
            return self.unmatched(py, reason);
        }
        let reason = "no valid structured reference, payment link or open invoice number in the \
                      payment";
        self.unmatched(py, reason.to_string())
    }

    fn decide_named(&mut self, py: Python<'_>, named: &[usize]) -> PyResult<Verdict> {
        let mut named = named.to_vec();
        let mut customers: BTreeSet<String> =
            named.iter().map(|&at| self.customer_of(py, at)).collect();
        if customers.len() > 1 && self.by_account.len() == 1 {
            let payer = self.by_account.iter().next().cloned().unwrap_or_default();
            named = self.keep_payers(py, named, &payer);
            if !named.is_empty() {
                customers = BTreeSet::from([payer]);
            }
        }
        if customers.len() > 1 {
            let numbers = self.numbers(py, named.iter().map(|&at| &self.candidates[at].item));
            let reason = format!(
                "the payment names items of {} customers ({numbers})",
                customers.len()
            );
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
            Ok(plan) => Ok(Verdict::Match {
                customer,
                plan,
                teaches: true,
            }),
            Err(reason) => self.unmatched(py, reason),
        }
    }

    fn plan_for_named(
        &mut self,
        py: Python<'_>,
        named: &[usize],
    ) -> PyResult<Result<Plan, String>> {
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
            let chosen = if self.is_credit(py, first) {
                named[named.len() - 1]
            } else {
                first
            };
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
            let verdict = if several {
                "pays every item it names"
            } else {
                ""
            };
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
            COMBINATIONS_WANTED,
        );
        let Some((chosen_at, netted_at)) = search.unique() else {
            return Ok(None);
        };
        let chosen: Vec<Item> = chosen_at
            .iter()
            .map(|&i| invoices[i].clone_ref(py))
            .collect();
        let netted = credits.iter().chain(netted_at.iter().map(|&i| &others[i]));
        let netted: Vec<Item> = netted.map(|c| c.clone_ref(py)).collect();
        let left_out = invoices
            .iter()
            .filter(|i| !chosen.iter().any(|c| same(c, i)));
        let left_out = self.numbers(py, left_out);
        let mut verdict =
            "the only combination of the named items that adds up to the amount".to_string();
        if !left_out.is_empty() {
            verdict += &format!(" (leaving out {left_out})");
        }
        Ok(Some(Plan {
            invoices: chosen,
            credits: netted,
            verdict,
        }))
    }

    fn single(&mut self, py: Python<'_>, at: usize) -> Result<Plan, String> {
        let item = self.candidates[at].item.clone_ref(py);
        let (open_minor, currency, label, customer) = {
            let it = item.borrow(py);
            (
                it.open_minor,
                it.currency.clone(),
                it.label(),
                it.customer_id.clone(),
            )
        };
        let whole = || Plan {
            invoices: vec![item.clone_ref(py)],
            credits: Vec::new(),
            verdict: String::new(),
        };
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

    fn decide_near(&mut self, py: Python<'_>, near: &[usize]) -> PyResult<Verdict> {
        if near.len() > 1 {
            let numbers = self.numbers(py, near.iter().map(|&at| &self.candidates[at].item));
            let reason = format!(
                "the text comes near {} invoice numbers ({numbers})",
                near.len()
            );
            return self.unmatched(py, reason);
        }
        let item = self.candidates[near[0]].item.clone_ref(py);
        let (open_minor, currency, label, customer) = {
            let it = item.borrow(py);
            (
                it.open_minor,
                it.currency.clone(),
                it.label(),
                it.customer_id.clone(),
            )
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
            let plan = Plan {
                invoices: vec![item],
                credits: Vec::new(),
                verdict: String::new(),
            };
            return Ok(Verdict::Match {
                customer,
                plan,
                teaches: false,
            });
        }
        let reason = format!(
            "the text comes near {label}, but the amount {} does not pay its open {} and the \
             payer is not known",
            self.paid(),
            display_minor(open_minor, &currency)
        );
        self.unmatched(py, reason)
    }

    fn decide_for_known_payer(&mut self, py: Python<'_>, customer: &str) -> PyResult<Verdict> {
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
            self.candidates[at].findings.push(Finding::Account);
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
            invoices: chosen_at
                .iter()
                .map(|&i| invoices[i].clone_ref(py))
                .collect(),
            credits: netted_at
                .iter()
                .map(|&i| credits[i].clone_ref(py))
                .collect(),
            verdict: format!(
                "the only combination of customer {customer}'s open items that adds up to the \
                 amount"
            ),
        };
        Ok(Verdict::Match {
            customer: customer.to_string(),
            plan,
            teaches: false,
        })
    }
}

fn open_amounts(py: Python<'_>, items: &[Item]) -> Vec<i64> {
    items.iter().map(|i| i.borrow(py).open_minor).collect()
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
        Verdict::Match {
            customer,
            plan,
            teaches,
        } => Ok(Py::new(py, decision.matched(py, customer, plan, teaches))?.into_any()),
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
    let Ok(matched) = decision.downcast::<Matched>() else {
        return;
    };
    let matched = matched.get();
    for allocation in &matched.allocations {
        let item = items.borrow().item(py, &allocation.invoice_id);
        if let Some(item) = item {
            let item = item.bind(py);
            items
                .borrow_mut()
                .reduce_item(item, allocation.amount_minor, allocation.settles);
        }
    }
    if let (true, Some(account)) = (matched.teaches_account, &payment.get().payer_account) {
        items.borrow_mut().learn(account, &matched.customer_id, 1);
    }
}
