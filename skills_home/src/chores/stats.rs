//! Completion history and streaks.
//!
//! A *streak* counts consecutive occurrences done on time (on or before their due date):
//!
//! * per chore — every occurrence of the chore, whoever did it;
//! * per member of a chore — the occurrences assigned to that member, done by them.
//!
//! A late completion ends a streak, and so does the member's occurrence being done by someone
//! else on their behalf (the credit goes to who did it). A skip neither extends nor ends one:
//! skipping is a household's decision ("we ate out"), not a chore left undone. An occurrence
//! still pending past its due date ends the streak of the chore and of its assignee.

use chrono::NaiveDate;

use super::model::{same_person, Chore, HistoryEntry, Outcome};

/// What the history says about one chore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoreStats {
    pub chore: String,
    /// Current run of occurrences done on time.
    pub streak: u32,
    pub done: u32,
    pub on_time: u32,
    pub skipped: u32,
    /// Completions per member who did them, most first.
    pub done_by: Vec<(String, u32)>,
    /// Current streak of each rotation member (or fixed assignee), in rotation order.
    pub member_streaks: Vec<(String, u32)>,
}

/// Stats for every chore, in the chores' order.
pub fn chore_stats(
    chores: &[Chore],
    history: &[HistoryEntry],
    today: NaiveDate,
) -> Vec<ChoreStats> {
    chores
        .iter()
        .map(|chore| {
            let entries: Vec<&HistoryEntry> =
                history.iter().filter(|e| e.chore_id == chore.id).collect();
            let overdue = chore.due < today;
            let mut stats = ChoreStats {
                chore: chore.name.clone(),
                streak: 0,
                done: 0,
                on_time: 0,
                skipped: 0,
                done_by: Vec::new(),
                member_streaks: Vec::new(),
            };
            for entry in &entries {
                match entry.outcome {
                    Outcome::Skipped => stats.skipped += 1,
                    Outcome::Done => {
                        stats.done += 1;
                        stats.on_time += u32::from(entry.on_time);
                        stats.streak = if entry.on_time { stats.streak + 1 } else { 0 };
                        let by = entry.done_by.clone().unwrap_or_default();
                        match stats.done_by.iter_mut().find(|(n, _)| same_person(n, &by)) {
                            Some((_, count)) => *count += 1,
                            None => stats.done_by.push((by, 1)),
                        }
                    }
                }
            }
            if overdue {
                stats.streak = 0;
            }
            stats
                .done_by
                .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            stats.member_streaks = chore
                .members
                .iter()
                .map(|member| {
                    let pending_late =
                        overdue && chore.assignee().is_some_and(|a| same_person(a, member));
                    let streak = if pending_late {
                        0
                    } else {
                        member_streak(&entries, member)
                    };
                    (member.clone(), streak)
                })
                .collect();
            stats
        })
        .collect()
}

fn member_streak(entries: &[&HistoryEntry], member: &str) -> u32 {
    entries
        .iter()
        .filter(|e| {
            e.assignee
                .as_deref()
                .is_some_and(|a| same_person(a, member))
        })
        .fold(0, |streak, e| match e.outcome {
            Outcome::Skipped => streak,
            Outcome::Done => {
                let by_them = e.done_by.as_deref().is_some_and(|b| same_person(b, member));
                if e.on_time && by_them {
                    streak + 1
                } else {
                    0
                }
            }
        })
}
