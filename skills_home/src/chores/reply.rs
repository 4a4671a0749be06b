//! The replies of the chores skill, rendered from what the effect actually did.
//!
//! Chore names are verb phrases as often as nouns ("take out the bins", "dishes"), so replies
//! put the name before a dash instead of inside a sentence that only suits one kind.

use chrono::{Days, NaiveDate};

use super::model::{Chore, DueChore, Swapped};
use super::recurrence::join_and;
use super::stats::ChoreStats;

/// A date relative to `today`: "today", "tomorrow", "yesterday", else "Mon 3 Nov".
pub fn when(date: NaiveDate, today: NaiveDate) -> String {
    if date == today {
        "today".to_owned()
    } else if today.checked_add_days(Days::new(1)) == Some(date) {
        "tomorrow".to_owned()
    } else if today.checked_sub_days(Days::new(1)) == Some(date) {
        "yesterday".to_owned()
    } else {
        date.format("%a %-d %b").to_string()
    }
}

fn who(chore: &Chore) -> String {
    match chore.members.as_slice() {
        [] => "anyone".to_owned(),
        [one] => one.clone(),
        several => format!("rotating {}", several.join(", ")),
    }
}

fn assignee(chore: &Chore) -> &str {
    chore.assignee().unwrap_or("anyone")
}

fn next(chore: &Chore, today: NaiveDate) -> String {
    format!("Next: {}, {}.", when(chore.due, today), assignee(chore))
}

pub(crate) fn added(chore: &Chore, today: NaiveDate) -> String {
    format!(
        "✅ New chore: {} — {}, {}. First due {}, {}.",
        chore.name,
        chore.recurrence.describe(),
        who(chore),
        when(chore.due, today),
        assignee(chore)
    )
}

pub(crate) fn exists(chore: &Chore, today: NaiveDate) -> String {
    format!(
        "There's already a chore called {} ({}, next due {}). Remove it first to change it.",
        chore.name,
        chore.recurrence.describe(),
        when(chore.due, today)
    )
}

pub(crate) fn add_help(name: Option<&str>) -> String {
    let name = name.unwrap_or("dishes");
    format!(
        "How often? For example: add chore {name} daily · add chore {name} every Monday and \
         Thursday for Sam · add chore {name} every 3 days rotating Dana, Sam · add chore {name} \
         monthly on the 1st"
    )
}

pub(crate) fn removed(chore: &Chore) -> String {
    format!("🗑 Removed chore {} and its history.", chore.name)
}

pub(crate) fn unknown(query: &str, chores: &[Chore]) -> String {
    if chores.is_empty() {
        return "There are no chores yet. Add one: add chore dishes daily rotating Dana, Sam"
            .to_owned();
    }
    let names: Vec<String> = chores.iter().map(|c| c.name.clone()).collect();
    format!(
        "I don't know a chore called “{query}”. Chores: {}.",
        join_and(&names)
    )
}

pub(crate) fn ambiguous(matches: &[&Chore]) -> String {
    let names: Vec<String> = matches.iter().map(|c| c.name.clone()).collect();
    format!("Which chore: {}?", join_or(&names))
}

fn join_or(items: &[String]) -> String {
    match items {
        [init @ .., last] if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        _ => items.join(""),
    }
}

/// A completion; `by_sender` when the sender did it themself.
pub(crate) fn done(
    chore: &Chore,
    by: &str,
    by_sender: bool,
    was_due: NaiveDate,
    today: NaiveDate,
) -> String {
    let timing = if was_due < today {
        let days = (today - was_due).num_days();
        format!(" ({days} day{} late)", if days == 1 { "" } else { "s" })
    } else if was_due > today {
        format!(" (ahead of {})", when(was_due, today))
    } else {
        String::new()
    };
    let thanks = if by_sender { ", thanks!" } else { "." };
    format!(
        "✅ {} — done by {by}{timing}{thanks} {}",
        chore.name,
        next(chore, today)
    )
}

pub(crate) fn already(chore: &Chore, skipped: bool, by: Option<&str>, today: NaiveDate) -> String {
    let what = match (skipped, by) {
        (true, _) => "already skipped today".to_owned(),
        (false, Some(by)) => format!("already done today by {by}"),
        (false, None) => "already done today".to_owned(),
    };
    format!("{} — {what}. {}", chore.name, next(chore, today))
}

pub(crate) fn skipped(chore: &Chore, was_due: NaiveDate, today: NaiveDate) -> String {
    format!(
        "⏭ {} — skipped ({}). {}",
        chore.name,
        when(was_due, today),
        next(chore, today)
    )
}

pub(crate) fn swapped(chore: &Chore, outcome: &Swapped, today: NaiveDate) -> String {
    let on = when(chore.due, today);
    let to = assignee(chore);
    match outcome {
        Swapped::Already => format!("{} — already {to}'s turn ({on}).", chore.name),
        Swapped::Moved {
            from: Some(from),
            payback: true,
        } => format!(
            "🔁 {} — {to} takes {on} instead of {from}; {from} takes {to}'s next turn.",
            chore.name
        ),
        Swapped::Moved {
            from: Some(from),
            payback: false,
        } => format!("🔁 {} — {to} takes {on} instead of {from}.", chore.name),
        Swapped::Moved { from: None, .. } => format!("🔁 {} — {to} takes {on}.", chore.name),
    }
}

pub(crate) fn listing(chores: &[&Chore], today: NaiveDate, mine: bool) -> String {
    if chores.is_empty() {
        return if mine {
            "You have no chores. 🎉".to_owned()
        } else {
            "No chores yet. Add one: add chore dishes daily rotating Dana, Sam".to_owned()
        };
    }
    let mut lines = vec![format!(
        "{} ({}):",
        if mine { "Your chores" } else { "Chores" },
        chores.len()
    )];
    for chore in chores {
        let overdue = if chore.due < today { " (overdue)" } else { "" };
        lines.push(format!(
            "• {} — {}, {}; next {}{overdue}, {}",
            chore.name,
            chore.recurrence.describe(),
            who(chore),
            when(chore.due, today),
            assignee(chore)
        ));
    }
    lines.join("\n")
}

/// "what's due today": today's and overdue chores, or what comes next.
pub(crate) fn due_today(due: &[DueChore], chores: &[Chore], today: NaiveDate) -> String {
    if due.is_empty() {
        let upcoming = chores.iter().min_by_key(|c| c.due);
        return match upcoming {
            Some(c) => format!(
                "Nothing due today. 🎉 Next up: {} — {}, {}.",
                c.name,
                when(c.due, today),
                assignee(c)
            ),
            None => "Nothing due today. 🎉".to_owned(),
        };
    }
    let mut lines = vec!["Due today:".to_owned()];
    lines.extend(due.iter().map(|d| due_line(d, today)));
    lines.join("\n")
}

/// The reminder run's message: "⏰ Chores to do:" and one line per chore; `None` when empty.
pub(crate) fn due_today_digest(due: &[DueChore], today: NaiveDate) -> Option<String> {
    if due.is_empty() {
        return None;
    }
    let mut lines = vec!["⏰ Chores to do:".to_owned()];
    lines.extend(due.iter().map(|d| due_line(d, today)));
    Some(lines.join("\n"))
}

pub(crate) fn overdue(due: &[DueChore], today: NaiveDate) -> String {
    let late: Vec<String> = due
        .iter()
        .filter(|d| d.days_overdue > 0)
        .map(|d| due_line(d, today))
        .collect();
    if late.is_empty() {
        return "Nothing is overdue. 👍".to_owned();
    }
    format!("Overdue:\n{}", late.join("\n"))
}

fn due_line(due: &DueChore, today: NaiveDate) -> String {
    let who = due.assignee.as_deref().unwrap_or("anyone");
    if due.days_overdue == 0 {
        format!("• {} — {who}", due.chore)
    } else {
        format!(
            "• {} — {who} (overdue since {})",
            due.chore,
            when(due.due, today)
        )
    }
}

pub(crate) fn stats(stats: &[ChoreStats]) -> String {
    if stats.is_empty() {
        return "No chores yet, so no stats.".to_owned();
    }
    let mut lines = vec!["Chore stats:".to_owned()];
    for s in stats {
        let mut line = format!("• {} — streak {} on time", s.chore, s.streak);
        if s.done == 0 {
            line.push_str("; not done yet");
        } else {
            let by: Vec<String> = s
                .done_by
                .iter()
                .map(|(name, n)| format!("{name} {n}"))
                .collect();
            line.push_str(&format!(
                "; done {} ({} on time: {})",
                s.done,
                s.on_time,
                by.join(", ")
            ));
        }
        if s.skipped > 0 {
            line.push_str(&format!("; skipped {}", s.skipped));
        }
        if s.member_streaks.len() > 1 {
            let streaks: Vec<String> = s
                .member_streaks
                .iter()
                .map(|(name, n)| format!("{name} {n}"))
                .collect();
            line.push_str(&format!("; streaks {}", streaks.join(", ")));
        }
        lines.push(line);
    }
    lines.join("\n")
}
