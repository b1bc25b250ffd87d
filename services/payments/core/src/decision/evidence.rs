//! A decision put into words: the match with its allocations and (when first asked for) its
//! evidence, or the reason a payment waits for a person with ranked suggestions.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use pyo3::prelude::*;

use super::{
    shown, Decision, Finding, Plan, Signal, Verdict, COMBINATION_SCORE, MAX_REJECTED,
    MAX_SUGGESTIONS,
};
use crate::amounts::display_minor;
use crate::items::OpenItem;
use crate::outcomes::{Allocation, Evidence, Explanation, Matched, Suggestion, Unmatched};

impl Decision {
    /// The findings for a candidate that `keep` keeps, in words.
    fn said(&self, py: Python<'_>, at: usize, keep: impl Fn(&Finding) -> bool) -> Vec<String> {
        let candidate = &self.candidates[at];
        let item = candidate.item.borrow(py);
        let kept = candidate.findings.iter().filter(|f| keep(f));
        kept.map(|finding| self.says(&item, finding)).collect()
    }

    fn says(&self, item: &OpenItem, finding: &Finding) -> String {
        let label = item.label();
        let customer = &item.customer_id;
        match finding {
            Finding::Reference { key } => {
                format!("structured reference {key} is the payment reference of {label}")
            }
            Finding::PaymentLink => format!("it was paid through the payment link of {label}"),
            Finding::Number { mention: None } => {
                format!("{label} appears in the remittance information")
            }
            Finding::Number {
                mention: Some(mention),
            } => {
                format!("{label} appears in the remittance information as {mention}")
            }
            Finding::NearNumber { how } => format!("the remittance gives {label} {how}"),
            Finding::Account => {
                format!(
                    "account {} is known to pay for customer {customer}",
                    self.account()
                )
            }
            Finding::Name => {
                let payer = shown(self.payment().payer_name.as_deref());
                format!("the payer {payer} is customer {customer}")
            }
            Finding::Amount => {
                format!("the amount {} equals what is open on {label}", self.paid())
            }
            Finding::CloseAmount => {
                format!("the amount is within tolerance of what is open on {label}")
            }
            Finding::DueDate => {
                let due = item
                    .due_date
                    .as_ref()
                    .map_or("None".to_string(), ToString::to_string);
                format!("{label} fell due on {due}, within 30 days of the payment")
            }
        }
    }

    pub(super) fn matched(
        self,
        py: Python<'_>,
        customer: String,
        plan: Plan,
        teaches: bool,
    ) -> Matched {
        let credits_open: i64 = plan.credits.iter().map(|c| c.borrow(py).open_minor).sum();
        let mut left = self.amount + credits_open;
        let mut allocations = Vec::new();
        let mut open_before = Vec::new();
        for (position, item) in plan.invoices.iter().enumerate() {
            let it = item.borrow(py);
            let last = position == plan.invoices.len() - 1;
            let applied = it.open_minor.min(left);
            let short = it.open_minor - applied;
            let allowed_short = if last {
                self.tolerance.allowed(it.open_minor)
            } else {
                0
            };
            let settles = short <= allowed_short;
            left -= applied;
            allocations.push(allocation(
                &it,
                applied,
                settles,
                if settles { short } else { 0 },
            ));
            open_before.push(it.open_minor);
        }
        for credit in &plan.credits {
            let it = credit.borrow(py);
            allocations.push(allocation(&it, it.open_minor, true, 0));
            open_before.push(it.open_minor);
        }
        let currency = self.currency.clone();
        let explanation = MatchedExplanation {
            decision: self,
            verdict: plan.verdict,
            open_before,
            unapplied: left,
        };
        let explain = Explanation::Decision(Box::new(explanation));
        Matched::new(customer, allocations, left, currency, teaches, explain)
    }

    pub(super) fn unmatched(&mut self, py: Python<'_>, reason: String) -> PyResult<Verdict> {
        self.corroborate_each(py);
        let ranked = self.ranked(py);
        let mut found = Vec::new();
        for &at in &ranked {
            found.extend(self.said(py, at, Finding::identifies));
        }
        let mut rejected = self.rejected.clone();
        let with_findings: Vec<usize> = ranked
            .iter()
            .copied()
            .filter(|&at| !self.candidates[at].findings.is_empty())
            .collect();
        for &at in with_findings.iter().take(MAX_REJECTED) {
            let candidate = &self.candidates[at];
            let label = candidate.item.borrow(py).label();
            let signals = candidate.signals();
            rejected.push(if candidate.names_it() {
                format!("{label}: named by {signals}, not applied: {reason}")
            } else {
                format!(
                    "{label}: {signals} {}, not enough to match",
                    candidate.agree()
                )
            });
        }
        rejected.truncate(MAX_REJECTED);
        let suggestions = self.suggestions(py, &with_findings);
        let mut signals = self.notes();
        signals.extend(found);
        let evidence = Evidence { signals, rejected };
        Ok(Verdict::Unmatched(Unmatched::new(
            py,
            reason,
            suggestions,
            evidence,
        )?))
    }

    /// The best combinations and single invoices (of the ranked candidates with findings), in
    /// words; only those suggested are put into words.
    fn suggestions(&self, py: Python<'_>, ranked: &[usize]) -> Vec<Suggestion> {
        let mut drafts: Vec<Draft> = (0..self.combinations.len())
            .map(Draft::Combination)
            .collect();
        for &at in ranked {
            if !self.candidates[at].item.borrow(py).is_credit() {
                drafts.push(Draft::Single(at));
            }
        }
        let ids = |draft: &Draft| match *draft {
            Draft::Combination(at) => self.combinations[at].ids().map(str::to_string).collect(),
            Draft::Single(at) => vec![self.candidates[at].item.borrow(py).invoice_id.clone()],
        };
        let mut keyed: Vec<(Reverse<u32>, Vec<String>, Draft)> = drafts
            .into_iter()
            .map(|draft| (self.hundredths(&draft), ids(&draft), draft))
            .collect();
        keyed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        keyed.truncate(MAX_SUGGESTIONS);
        keyed
            .into_iter()
            .map(|(_, _, draft)| self.suggestion(py, draft))
            .collect()
    }

    fn hundredths(&self, draft: &Draft) -> Reverse<u32> {
        match *draft {
            Draft::Combination(_) => Reverse(COMBINATION_SCORE),
            Draft::Single(at) => Reverse(self.candidates[at].score()),
        }
    }

    fn suggestion(&self, py: Python<'_>, draft: Draft) -> Suggestion {
        let at = match draft {
            Draft::Combination(at) => return self.combinations[at].clone(),
            Draft::Single(at) => at,
        };
        let it = self.candidates[at].item.borrow(py);
        Suggestion {
            customer_id: it.customer_id.clone(),
            items: vec![(it.invoice_id.clone(), it.invoice_number.clone())],
            score: f64::from(self.candidates[at].score()) / 100.0,
            reason: self.said(py, at, |_| true).join("; "),
        }
    }

    pub(super) fn ranked(&self, py: Python<'_>) -> Vec<usize> {
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

/// A suggestion before it is put into words: a combination found, or a ranked candidate.
#[derive(Clone, Copy)]
enum Draft {
    Combination(usize),
    Single(usize),
}

/// A match's evidence, put into words from the decision's state when first asked for.
pub struct MatchedExplanation {
    decision: Decision,
    verdict: String,
    /// What was open on each item the match allocates to, in the order of its allocations.
    open_before: Vec<i64>,
    unapplied: i64,
}

impl MatchedExplanation {
    pub fn explain(mut self, py: Python<'_>, allocations: &[Allocation]) -> PyResult<Evidence> {
        if let Some(first) = allocations.first() {
            self.decision.corroborate_customer(py, &first.customer_id);
        }
        let decision = &self.decision;
        let before = allocations.iter().zip(&self.open_before);
        let mut verdicts: Vec<String> = before
            .filter(|(a, _)| !a.is_credit)
            .map(|(a, &open_before)| verdict(a, open_before))
            .collect();
        verdicts.extend(allocations.iter().filter(|a| a.is_credit).map(|a| {
            let netted = display_minor(a.amount_minor, &a.currency);
            format!("credit note {} of {netted} is netted", a.invoice_number)
        }));
        if self.unapplied != 0 {
            let unapplied = display_minor(self.unapplied, &decision.currency);
            verdicts.push(format!(
                "{unapplied} more than is open stays unapplied, within tolerance"
            ));
        }
        let chosen: BTreeSet<&str> = allocations.iter().map(|a| a.invoice_id.as_str()).collect();
        let mut signals = decision.notes();
        for invoice_id in &chosen {
            let Some(&at) = decision.positions.get(*invoice_id) else {
                continue;
            };
            signals
                .extend(decision.said(py, at, |f| f.identifies() || f.signal() == Signal::Account));
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
    format!(
        "pays {paid} of the {was_open} open: partial payment of {label}, {remaining} stays open"
    )
}
