//! Amounts put into words for evidence (see `payments.domain.amounts.display_minor`).

/// 'EUR 1234.50'; the currency's exponent comes from `settle_shared.money`.
pub fn display_minor(amount_minor: i64, currency: &str) -> String {
    todo!("{amount_minor} {currency}")
}
