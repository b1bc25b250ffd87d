//! Which open items a payment pays when it names none, or several: an exact search for the
//! combinations whose open amounts add up to it, bounded in size (5 invoices, 4 credit notes) and
//! steps (20,000) so one customer with hundreds of open items cannot stall a statement. A bounded
//! search that did not finish never claims a combination is the only one.

pub const MAX_ITEMS: usize = 5;
pub const MAX_STEPS: usize = 20_000;
pub const MAX_CREDITS: usize = 4;

/// Positions in the invoices, then in the credits.
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

/// Sets of invoices, less a set of credits, whose open amounts add up exactly to
/// `target`; stops after `limit` (two are enough to know a payment is ambiguous).
pub fn combinations_paying(
    target: i64,
    invoices: &[i64],
    credits: &[i64],
    limit: usize,
) -> SubsetSearch {
    let mut found: Vec<Combination> = Vec::new();
    let mut complete = credits.len() <= MAX_CREDITS;
    let mut steps = 0;
    let usable = credits.len().min(MAX_CREDITS);
    for size in 0..=usable {
        for chosen_credits in combinations(usable, size) {
            let netted = target + chosen_credits.iter().map(|&i| credits[i]).sum::<i64>();
            let mut search = Search::new(invoices, netted, limit - found.len());
            search.budget = MAX_STEPS.saturating_sub(steps);
            for subset in search.run() {
                found.push((subset, chosen_credits.clone()));
            }
            steps += search.steps;
            complete = complete && search.complete;
            if found.len() >= limit {
                return SubsetSearch { found, complete };
            }
        }
    }
    SubsetSearch { found, complete }
}

/// Every `size`-element combination of 0..n, in lexicographic order (as `itertools.combinations`).
fn combinations(n: usize, size: usize) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    let mut chosen: Vec<usize> = (0..size).collect();
    if size > n {
        return all;
    }
    loop {
        all.push(chosen.clone());
        let Some(i) = (0..size).rev().find(|&i| chosen[i] != i + n - size) else {
            return all;
        };
        chosen[i] += 1;
        for j in i + 1..size {
            chosen[j] = chosen[j - 1] + 1;
        }
    }
}

/// Depth-first over invoices by descending amount; a branch stops once it overshoots.
struct Search {
    order: Vec<usize>,
    amounts: Vec<i64>,
    suffix: Vec<i64>,
    target: i64,
    limit: usize,
    budget: usize,
    steps: usize,
    complete: bool,
    found: Vec<Vec<usize>>,
}

impl Search {
    fn new(amounts: &[i64], target: i64, limit: usize) -> Self {
        let mut order: Vec<usize> = (0..amounts.len()).collect();
        order.sort_by_key(|&i| -amounts[i]);
        let sorted: Vec<i64> = order.iter().map(|&i| amounts[i]).collect();
        let mut suffix = vec![0; sorted.len() + 1];
        for i in (0..sorted.len()).rev() {
            suffix[i] = suffix[i + 1] + sorted[i];
        }
        Search {
            order,
            amounts: sorted,
            suffix,
            target,
            limit,
            budget: MAX_STEPS,
            steps: 0,
            complete: true,
            found: Vec::new(),
        }
    }

    fn run(&mut self) -> Vec<Vec<usize>> {
        if self.limit > 0 && self.target > 0 {
            self.visit(0, 0, &mut Vec::new());
        }
        std::mem::take(&mut self.found)
    }

    fn visit(&mut self, start: usize, total: i64, chosen: &mut Vec<usize>) {
        for i in start..self.amounts.len() {
            if self.found.len() >= self.limit {
                return;
            }
            self.steps += 1;
            if self.steps > self.budget {
                self.complete = false;
                return;
            }
            if total + self.suffix[i] < self.target {
                return;
            }
            let candidate = total + self.amounts[i];
            if candidate > self.target {
                continue;
            }
            chosen.push(i);
            if candidate == self.target {
                let mut subset: Vec<usize> = chosen.iter().map(|&j| self.order[j]).collect();
                subset.sort_unstable();
                self.found.push(subset);
            }
            if chosen.len() < MAX_ITEMS {
                self.visit(i + 1, candidate, chosen);
            }
            chosen.pop();
        }
    }
}
