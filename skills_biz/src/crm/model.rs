//! The CRM's values: exact amounts, matching keys, the typed questions, and the rows the
//! replies are rendered from (the same for Postgres and the in-memory store).

use chrono::NaiveDate;

/// Largest amount accepted, in cents (ten trillion): fits `numeric(18,2)` with room to spare.
pub const MAX_CENTS: i64 = 1_000_000_000_000_000;

/// An exact, non-negative amount of money in hundredths (cents) of its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    /// The amount of `cents` hundredths, if within `0..=MAX_CENTS`.
    pub fn from_cents(cents: i64) -> Option<Amount> {
        (0..=MAX_CENTS).contains(&cents).then_some(Amount(cents))
    }

    /// Hundredths of the currency.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// Parses `12000`, `12,000`, `12000.5`, `12,000.50`, and with `allow_suffix` also `10k`,
    /// `1.5m`. At most two decimals; thousands separators only in groups of three.
    pub fn parse(text: &str, allow_suffix: bool) -> Option<Amount> {
        let text = text.trim();
        let (number, factor) = match text.chars().last()?.to_ascii_lowercase() {
            'k' if allow_suffix => (&text[..text.len() - 1], 1_000),
            'm' if allow_suffix => (&text[..text.len() - 1], 1_000_000),
            _ => (text, 1),
        };
        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (number, ""),
        };
        if whole.is_empty() || fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let groups: Vec<&str> = whole.split(',').collect();
        let grouped_ok = groups.len() == 1
            || (!groups[0].is_empty()
                && groups[0].len() <= 3
                && groups[1..].iter().all(|group| group.len() == 3));
        if !grouped_ok || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let whole: i64 = groups.concat().parse().ok()?;
        let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
        let cents = whole.checked_mul(100)?.checked_add(fraction)?;
        Amount::from_cents(cents.checked_mul(factor)?)
    }

    /// The amount as Postgres `numeric` text: `12000.50`.
    pub fn to_decimal(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// Parses Postgres `numeric(18,2)` text as written by [`Amount::to_decimal`].
    pub fn from_decimal(text: &str) -> Option<Amount> {
        Amount::parse(text, false)
    }

    /// For people: `12,000` or `12,000.50`.
    pub fn display(self) -> String {
        let whole = (self.0 / 100).to_string();
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        match self.0 % 100 {
            0 => grouped,
            cents => format!("{grouped}.{cents:02}"),
        }
    }
}

/// The matching key of a name: trimmed, lower-case, inner whitespace folded to one space.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A contact's natural key: its e-mail, else its company and name.
pub(crate) fn contact_key(company_key: &str, name: &str, email: Option<&str>) -> String {
    match email {
        Some(email) => email.to_owned(),
        None => format!("name:{company_key}/{}", name_key(name)),
    }
}

/// Whether a deal in `stage` is closed (won or lost); every other stage is open.
pub fn is_closed_stage(stage: &str) -> bool {
    matches!(
        name_key(&stage.replace(['-', '_'], " ")).as_str(),
        "won" | "lost" | "closed won" | "closed lost" | "closed"
    )
}

/// Whether `text` is an e-mail address as the CRM stores them (one `@`, a dot after it).
pub fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The calendar span of a "closing this …" question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Monday to Sunday of the current local week.
    Week,
    /// The current local calendar month.
    Month,
}

/// A question the CRM answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmQuery {
    /// A contact by e-mail (exact) or name (the full name, or one of its words).
    Contact(String),
    /// A company's open deals.
    OpenDeals { company: String },
    /// Open deals whose close date falls in the period.
    Closing(Period),
    /// Open deals above an amount, in one currency or any.
    Over {
        amount: Amount,
        currency: Option<String>,
    },
    /// Open deals owned by the asker (through `crm_owners`).
    Mine,
}

/// A contact as the replies show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    pub name: String,
    pub email: Option<String>,
    pub company: String,
    /// The company's open deals.
    pub open_deals: usize,
}

/// A deal as the replies show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealView {
    pub company: String,
    pub name: String,
    pub stage: String,
    pub amount: Amount,
    pub currency: String,
    pub close_date: Option<NaiveDate>,
    pub owner: Option<String>,
}

/// Which open deals a question wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DealFilter {
    /// Of the company with this name key.
    Company(String),
    /// Closing on a date in this inclusive range.
    ClosingBetween(NaiveDate, NaiveDate),
    /// Above the amount, in the currency if given.
    Over(Amount, Option<String>),
    /// Owned by this owner (case-insensitive).
    Owner(String),
}

impl DealFilter {
    /// Whether the open deal `deal` of the company keyed `company_key` passes.
    pub(crate) fn matches(&self, company_key: &str, deal: &DealView) -> bool {
        match self {
            DealFilter::Company(key) => company_key == key,
            DealFilter::ClosingBetween(from, to) => deal
                .close_date
                .is_some_and(|date| *from <= date && date <= *to),
            DealFilter::Over(amount, currency) => {
                deal.amount > *amount && currency.as_ref().is_none_or(|c| *c == deal.currency)
            }
            DealFilter::Owner(owner) => deal
                .owner
                .as_ref()
                .is_some_and(|o| o.to_lowercase() == owner.to_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_exactly() {
        let cents = |text: &str| Amount::parse(text, true).map(Amount::cents);
        assert_eq!(cents("10k"), Some(1_000_000));
        assert_eq!(cents("10,000"), Some(1_000_000));
        assert_eq!(cents("10000.5"), Some(1_000_050));
        assert_eq!(cents("1.5m"), Some(150_000_000));
        assert_eq!(cents("12,000.50"), Some(1_200_050));
        for bad in [
            "", "k", "1,00", "1.234", "-5", "1e3", "12,0000", ",100", "ten",
        ] {
            assert_eq!(cents(bad), None, "{bad}");
        }
        assert_eq!(Amount::parse("10k", false), None);
    }

    #[test]
    fn amounts_display_with_separators() {
        assert_eq!(
            Amount::parse("1234567.5", false)
                .map(Amount::display)
                .as_deref(),
            Some("1,234,567.50")
        );
        assert_eq!(
            Amount::parse("999", false).map(Amount::display).as_deref(),
            Some("999")
        );
        assert_eq!(
            Amount::parse("12000", false)
                .map(Amount::to_decimal)
                .as_deref(),
            Some("12000.00")
        );
    }

    #[test]
    fn closed_stages_are_won_and_lost() {
        for stage in ["Won", "closed-lost", "Closed Won", "lost"] {
            assert!(is_closed_stage(stage), "{stage}");
        }
        for stage in ["lead", "negotiation", "proposal"] {
            assert!(!is_closed_stage(stage), "{stage}");
        }
    }
}
