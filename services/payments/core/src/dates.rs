//! Dates as Python passes them (`datetime.date`), kept with a day number to subtract.

use pyo3::prelude::*;
use pyo3::types::{PyDate, PyDateAccess};

pub struct Day {
    object: Py<PyDate>,
    year: i32,
    month: u8,
    day: u8,
    number: i64,
}

impl Day {
    pub fn of(date: &Bound<'_, PyDate>) -> Day {
        let (year, month, day) = (date.get_year(), date.get_month(), date.get_day());
        Day {
            object: date.clone().unbind(),
            year,
            month,
            day,
            number: days_from_civil(year, month, day),
        }
    }

    pub fn object<'py>(&self, py: Python<'py>) -> &Bound<'py, PyDate> {
        self.object.bind(py)
    }

    pub fn clone_ref(&self, py: Python<'_>) -> Day {
        Day {
            object: self.object.clone_ref(py),
            ..*self
        }
    }

    /// Whole days from `other` to this day.
    pub fn days_since(&self, other: &Day) -> i64 {
        self.number - other.number
    }

    pub fn is_after(&self, other: &Day) -> bool {
        self.number > other.number
    }
}

/// As `str(date)` writes it: 2026-11-16.
impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
