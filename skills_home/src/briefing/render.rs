//! Rendering a [`Briefing`] from its data alone: the free-text message, and the one-line
//! values a WhatsApp template's parameters are filled with.
//!
//! The free text comes from [`TEXT_TEMPLATE`], a plain text with `{placeholder}`s:
//!
//! | placeholder | filled with |
//! |---|---|
//! | `{greeting}` | "Good morning! It's Thursday, 26 November 2026." (the household's local date) |
//! | `{chores}` | one line per chore due today, with whose turn it is |
//! | `{shopping}` | how many items are still to buy, then the items by aisle |
//! | `{reminders}` | one line per reminder set for today (its time and text), then one per overdue chore, with whose turn and how late |
//!
//! A section whose source failed reads [`UNAVAILABLE`]. Placeholders are filled in one pass,
//! so text from the data (an item called "{chores}") is never itself expanded.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::model::{Briefing, TemplateField};
use crate::chores::DueChore;
use crate::grocery::{Category, ListedItem};

/// The briefing's text; see the module documentation for the placeholders.
pub const TEXT_TEMPLATE: &str = "{greeting}\n\n\
🧹 *Chores today*\n{chores}\n\n\
🛒 *Shopping list*\n{shopping}\n\n\
⏰ *Reminders*\n{reminders}";

/// What a section says when its source could not be read.
pub const UNAVAILABLE: &str = "⚠️ unavailable right now";

/// The longest value of one template parameter; WhatsApp limits a template's body.
const MAX_PARAMETER_CHARS: usize = 200;

/// The free-text briefing.
pub fn text(briefing: &Briefing) -> String {
    fill(
        TEXT_TEMPLATE,
        &[
            ("greeting", greeting(briefing.date)),
            ("chores", section(&briefing.chores_today, chores_today)),
            ("shopping", section(&briefing.shopping, shopping)),
            ("reminders", section(&reminder_rows(briefing), reminders)),
        ],
    )
}

/// The fixed greeting with the household's local weekday and date.
pub fn greeting(date: NaiveDate) -> String {
    format!("Good morning! It's {}.", long_date(date))
}

/// The value of one template parameter: a single line (WhatsApp rejects parameters with line
/// breaks, tabs or runs of spaces), never empty, at most `MAX_PARAMETER_CHARS` long.
pub fn parameter(briefing: &Briefing, field: TemplateField) -> String {
    let value = match field {
        TemplateField::Date => long_date(briefing.date),
        TemplateField::Chores => one_line(&briefing.chores_today, "nothing due", |due| {
            due.iter().map(chore_short).collect::<Vec<_>>().join(", ")
        }),
        TemplateField::Shopping => one_line(&briefing.shopping, "nothing to buy", |items| {
            let names: Vec<String> = items.iter().map(ListedItem::render).collect();
            format!("{}: {}", count(items.len()), names.join(", "))
        }),
        TemplateField::Reminders => one_line(&reminder_rows(briefing), "none", |rows| {
            rows.iter()
                .map(|row| match row {
                    ReminderRow::Set(time, text) => format!("{} {text}", time.format("%H:%M")),
                    ReminderRow::Overdue(due) => chore_short(due),
                })
                .collect::<Vec<_>>()
                .join(", ")
        }),
    };
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.chars().count() <= MAX_PARAMETER_CHARS {
        return value;
    }
    let cut: String = value.chars().take(MAX_PARAMETER_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Fills `{name}` placeholders in one pass; an unknown placeholder is left as it is.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let value = after.find('}').and_then(|end| {
            let name = &after[..end];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn long_date(date: NaiveDate) -> String {
    date.format("%A, %-d %B %Y").to_string()
}

fn section<T>(source: &Option<Vec<T>>, render: impl Fn(&[T]) -> String) -> String {
    match source {
        Some(rows) => render(rows),
        None => UNAVAILABLE.to_owned(),
    }
}

fn one_line<T>(source: &Option<Vec<T>>, empty: &str, render: impl Fn(&[T]) -> String) -> String {
    match source {
        None => "unavailable".to_owned(),
        Some(rows) if rows.is_empty() => empty.to_owned(),
        Some(rows) => render(rows),
    }
}

fn chores_today(due: &[DueChore]) -> String {
    if due.is_empty() {
        return "Nothing due today.".to_owned();
    }
    bullets(due.iter().map(|d| match &d.assignee {
        Some(who) => format!("{} — {who}", d.chore),
        None => format!("{} — anyone", d.chore),
    }))
}

/// One line of the Reminders section.
enum ReminderRow<'a> {
    /// A reminder a member set for today.
    Set(chrono::NaiveTime, &'a str),
    /// An overdue chore.
    Overdue(&'a DueChore),
}

/// The Reminders section's rows: today's reminders, then overdue chores; `None` when either
/// source could not be read.
fn reminder_rows(briefing: &Briefing) -> Option<Vec<ReminderRow<'_>>> {
    let (Some(set), Some(overdue)) = (&briefing.set_today, &briefing.reminders) else {
        return None;
    };
    Some(
        set.iter()
            .map(|(time, text)| ReminderRow::Set(*time, text))
            .chain(overdue.iter().map(ReminderRow::Overdue))
            .collect(),
    )
}

fn reminders(rows: &[ReminderRow<'_>]) -> String {
    if rows.is_empty() {
        return "None.".to_owned();
    }
    bullets(rows.iter().map(|row| match row {
        ReminderRow::Set(time, text) => format!("{} {text}", time.format("%H:%M")),
        ReminderRow::Overdue(d) => {
            let late = match d.days_overdue {
                1 => "1 day overdue".to_owned(),
                n => format!("{n} days overdue"),
            };
            match &d.assignee {
                Some(who) => format!("{} — {who}, {late}", d.chore),
                None => format!("{} — {late}", d.chore),
            }
        }
    }))
}

fn shopping(items: &[ListedItem]) -> String {
    if items.is_empty() {
        return "Nothing to buy.".to_owned();
    }
    let mut aisles: BTreeMap<Category, Vec<&ListedItem>> = BTreeMap::new();
    for item in items {
        aisles.entry(item.category()).or_default().push(item);
    }
    let lines = aisles.into_iter().map(|(category, mut items)| {
        items.sort_by_key(|item| item.id);
        let names: Vec<String> = items.iter().map(|item| item.render()).collect();
        format!("{}: {}", category.title(), names.join(", "))
    });
    format!("{} to buy\n{}", count(items.len()), bullets(lines))
}

/// "dishes (Sam)", "laundry (Dana, 2 days overdue)", "water plants".
fn chore_short(due: &DueChore) -> String {
    let late = (due.days_overdue > 0).then(|| match due.days_overdue {
        1 => "1 day overdue".to_owned(),
        n => format!("{n} days overdue"),
    });
    match (&due.assignee, late) {
        (Some(who), Some(late)) => format!("{} ({who}, {late})", due.chore),
        (Some(who), None) => format!("{} ({who})", due.chore),
        (None, Some(late)) => format!("{} ({late})", due.chore),
        (None, None) => due.chore.clone(),
    }
}

fn count(n: usize) -> String {
    match n {
        1 => "1 item".to_owned(),
        n => format!("{n} items"),
    }
}

fn bullets(lines: impl Iterator<Item = String>) -> String {
    lines
        .map(|line| format!("• {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn placeholders_are_filled_once_and_values_are_never_expanded() {
        let filled = fill(
            "{a} and {b} and {unknown} {",
            &[("a", "{b}".to_owned()), ("b", "two".to_owned())],
        );
        assert_eq!(filled, "{b} and two and {unknown} {");
    }
}
