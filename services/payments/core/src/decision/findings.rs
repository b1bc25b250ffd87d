//! What links a payment to an item, and the items it may pay with what speaks for each.

use crate::items::Item;

/// What links a payment to an item.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
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
    pub(super) fn name(self) -> &'static str {
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

    pub(super) fn is_strong(self) -> bool {
        matches!(self, Signal::Reference | Signal::PaymentLink)
    }
}

/// What links a payment to an item, put into words (`Decision::says`) only for evidence.
pub(super) enum Finding {
    Reference {
        key: String,
    },
    PaymentLink,
    /// The whole number, else the key it was mentioned as.
    Number {
        mention: Option<String>,
    },
    NearNumber {
        how: &'static str,
    },
    Account,
    Name,
    Amount,
    CloseAmount,
    DueDate,
}

impl Finding {
    pub(super) fn signal(&self) -> Signal {
        match self {
            Finding::Reference { .. } => Signal::Reference,
            Finding::PaymentLink => Signal::PaymentLink,
            Finding::Number { .. } => Signal::Number,
            Finding::NearNumber { .. } => Signal::NearNumber,
            Finding::Account => Signal::Account,
            Finding::Name => Signal::Name,
            Finding::Amount => Signal::Amount,
            Finding::CloseAmount => Signal::CloseAmount,
            Finding::DueDate => Signal::DueDate,
        }
    }

    /// In hundredths.
    pub(super) fn weight(&self) -> u32 {
        match self {
            Finding::Reference { .. } | Finding::PaymentLink => 60,
            Finding::Number { mention: None } => 50,
            Finding::Number { mention: Some(_) } => 45,
            Finding::NearNumber { .. } => 35,
            Finding::Account | Finding::Amount => 30,
            Finding::Name | Finding::CloseAmount => 20,
            Finding::DueDate => 5,
        }
    }

    pub(super) fn identifies(&self) -> bool {
        matches!(
            self,
            Finding::Reference { .. }
                | Finding::PaymentLink
                | Finding::Number { .. }
                | Finding::NearNumber { .. }
        )
    }
}

pub(super) struct Candidate {
    pub(super) item: Item,
    pub(super) findings: Vec<Finding>,
}

impl Candidate {
    pub(super) fn names_it(&self) -> bool {
        self.findings.iter().any(Finding::identifies)
    }

    pub(super) fn strongly_named(&self) -> bool {
        self.findings.iter().any(|f| f.signal().is_strong())
    }

    /// In hundredths, at most 100.
    pub(super) fn score(&self) -> u32 {
        self.findings
            .iter()
            .map(Finding::weight)
            .sum::<u32>()
            .min(100)
    }

    pub(super) fn signals(&self) -> String {
        let named: Vec<String> = self
            .findings
            .iter()
            .map(|f| format!("the {}", f.signal().name()))
            .collect();
        named.join(" and ")
    }

    pub(super) fn has(&self, signal: Signal) -> bool {
        self.findings.iter().any(|f| f.signal() == signal)
    }

    pub(super) fn agree(&self) -> &'static str {
        if self.findings.len() > 1 {
            "agree"
        } else {
            "agrees"
        }
    }
}
