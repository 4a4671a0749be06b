//! The CRM's replies: short, and only what the store said.

use chrono::NaiveDate;

use super::model::{Amount, ContactView, DealView};

/// Most lines in one reply; the rest are counted.
pub const MAX_LINES: usize = 10;

pub(crate) fn no_contact(asked: &str) -> String {
    format!("I have no contact matching {asked}.")
}

pub(crate) fn contacts(found: &[ContactView]) -> String {
    let lines = found.iter().map(|c| {
        let email = c
            .email
            .as_ref()
            .map(|e| format!(" <{e}>"))
            .unwrap_or_default();
        let deals = match c.open_deals {
            0 => "no open deals".to_owned(),
            1 => "1 open deal".to_owned(),
            n => format!("{n} open deals"),
        };
        format!("{}{email}, {} ({deals})", c.name, c.company)
    });
    capped(lines.collect(), found.len())
}

pub(crate) fn no_company(asked: &str) -> String {
    format!("I have no company called {asked}.")
}

pub(crate) fn company_deals(company: &str, deals: &[DealView]) -> String {
    if deals.is_empty() {
        return format!("{company} has no open deals.");
    }
    let lines = deals.iter().map(|d| deal(d, false)).collect();
    format!("Open deals for {company}:\n{}", capped(lines, deals.len()))
}

pub(crate) fn closing(period: &str, from: NaiveDate, to: NaiveDate, deals: &[DealView]) -> String {
    let span = format!("{from} to {to}");
    if deals.is_empty() {
        return format!("No open deals close this {period} ({span}).");
    }
    let lines = deals.iter().map(|d| deal(d, true)).collect();
    format!(
        "Open deals closing this {period} ({span}):\n{}",
        capped(lines, deals.len())
    )
}

pub(crate) fn over(amount: Amount, currency: Option<&str>, deals: &[DealView]) -> String {
    let threshold = match currency {
        Some(currency) => format!("{} {currency}", amount.display()),
        None => amount.display(),
    };
    if deals.is_empty() {
        return format!("No open deals over {threshold}.");
    }
    let lines = deals.iter().map(|d| deal(d, true)).collect();
    format!(
        "Open deals over {threshold}:\n{}",
        capped(lines, deals.len())
    )
}

pub(crate) fn unknown_owner(slack_user: &str) -> String {
    format!(
        "I don't know which deal owner you are: the CRM import maps Slack users to owners \
         (column owner_slack_id; yours is {slack_user})."
    )
}

pub(crate) fn mine(owner: &str, deals: &[DealView]) -> String {
    if deals.is_empty() {
        return format!("You ({owner}) have no open deals.");
    }
    let lines = deals.iter().map(|d| deal(d, true)).collect();
    format!("Your open deals ({owner}):\n{}", capped(lines, deals.len()))
}

/// `• Acme — Renewal: negotiation, 12,000 EUR, closes 2026-12-01, owner Jane`.
fn deal(d: &DealView, with_company: bool) -> String {
    let company = if with_company {
        format!("{} — ", d.company)
    } else {
        String::new()
    };
    let mut text = format!(
        "• {company}{}: {}, {} {}",
        d.name,
        d.stage,
        d.amount.display(),
        d.currency
    );
    if let Some(date) = d.close_date {
        text.push_str(&format!(", closes {date}"));
    }
    if let Some(owner) = &d.owner {
        text.push_str(&format!(", owner {owner}"));
    }
    text
}

fn capped(mut lines: Vec<String>, total: usize) -> String {
    if total > MAX_LINES {
        lines.truncate(MAX_LINES);
        lines.push(format!("…and {} more.", total - MAX_LINES));
    }
    lines.join("\n")
}
