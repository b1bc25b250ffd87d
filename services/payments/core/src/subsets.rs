//! Combinations of open amounts that add up to a payment (see `payments.domain.subsets`).

pub type Combination = (Vec<usize>, Vec<usize>);

pub struct SubsetSearch {
    pub found: Vec<Combination>,
    pub complete: bool,
}

impl SubsetSearch {
    pub fn unique(&self) -> Option<&Combination> {
        if self.complete && self.found.len() == 1 {
            self.found.first()
        } else {
            None
        }
    }
}

pub fn combinations_paying(
    target: i64,
    invoices: &[i64],
    credits: &[i64],
    tolerance: i64,
    limit: usize,
) -> SubsetSearch {
    todo!("{target} {} {} {tolerance} {limit}", invoices.len(), credits.len())
}
