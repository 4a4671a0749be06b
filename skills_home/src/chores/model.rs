//! Chores, their pending occurrence and who does it: the commands the grammar produces
//! ([`ChoreCommand`]), what is due ([`DueChore`]), and the domain rules, pure and shared by both
//! stores (the stores only load and save what these functions decide).
//!
//! A chore always has exactly one *pending occurrence*, due on the local date `due`. Marking it
//! done or skipping it records a [`HistoryEntry`] and moves the chore to its next occurrence:
//!
//! * **next date** — the first scheduled date after both the due date and today. Done early
//!   (on Wednesday for Thursday's bins), it counts for that occurrence; done late, it stands
//!   for every occurrence missed up to today (no pile of overdue copies).
//! * **rotation** — with several members the turn moves one place along the stated order per
//!   occurrence done or skipped, whoever actually did it: doing someone's turn for them is a
//!   favour and does not reorder the rotation (the history credits who did it).
//! * **swap** — "swap dishes with Kim": the pending occurrence goes to Kim, and when Kim's own
//!   turn next comes round it goes to the member who handed this one over. The two exchange one
//!   turn each and everyone else's turns stay where they were. When either of them is not in the
//!   rotation (a fixed chore, a helper from outside), Kim just takes this occurrence.

use alfred_actors::store::StoreError;
use chrono::{DateTime, NaiveDate, Utc};

use super::recurrence::Recurrence;

/// Someone named in a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// The sender.
    Me,
    /// A member by name, capitalized ("Sam").
    Named(String),
}

/// Who does a new chore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assign {
    Anyone,
    Fixed(Member),
    /// Turns in this order.
    Rotation(Vec<Member>),
}

/// A parsed chore command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoreCommand {
    Add {
        name: String,
        recurrence: Recurrence,
        assign: Assign,
    },
    /// "add chore …" without a recurrence it could read: answered with how to say it.
    AddHelp {
        name: Option<String>,
    },
    Remove {
        chore: String,
    },
    /// `mine`: only chores the sender takes part in.
    List {
        mine: bool,
    },
    Done {
        chore: String,
        by: Member,
    },
    Skip {
        chore: String,
    },
    Swap {
        chore: String,
        with: Member,
    },
    DueToday,
    Overdue,
    Stats,
}

/// A chore as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chore {
    /// Store id; unique within the household.
    pub id: i64,
    /// As first typed ("take out the bins").
    pub name: String,
    /// Matching key: see [`name_key`]. Unique per household.
    pub key: String,
    pub recurrence: Recurrence,
    /// The local date the chore was created; "every N days" counts from it.
    pub start: NaiveDate,
    /// Rotation order; one member is a fixed assignee, none means anyone.
    pub members: Vec<String>,
    /// Index into `members` of whose turn the pending occurrence is.
    pub turn: usize,
    /// Who does the pending occurrence instead of the rotation's member (after a swap).
    pub cover: Option<String>,
    /// Turns owed by swaps, oldest first: `(member, to)` — `member`'s next turn goes to `to`.
    pub payback: Vec<(String, String)>,
    /// Local date of the pending occurrence.
    pub due: NaiveDate,
}

/// What happened to one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Skipped,
}

impl Outcome {
    /// The stored form (column `chore_history.outcome`).
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Skipped => "skipped",
        }
    }

    /// Reads [`Outcome::key`] back.
    pub fn from_key(key: &str) -> Option<Outcome> {
        match key {
            "done" => Some(Outcome::Done),
            "skipped" => Some(Outcome::Skipped),
            _ => None,
        }
    }
}

/// One occurrence done or skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub chore_id: i64,
    /// The occurrence's due date.
    pub due: NaiveDate,
    /// Whose occurrence it was (`None`: anyone's).
    pub assignee: Option<String>,
    pub outcome: Outcome,
    /// Who did it (`None` for a skip).
    pub done_by: Option<String>,
    /// Done on or before the due date.
    pub on_time: bool,
    /// The household's local date when it was recorded.
    pub local_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    /// Who said so.
    pub recorded_by: String,
}

/// A chore whose pending occurrence is due today or earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueChore {
    pub chore: String,
    /// Whose turn it is; `None`: anyone's.
    pub assignee: Option<String>,
    pub due: NaiveDate,
    /// `0` when due today.
    pub days_overdue: u32,
}

/// A new chore, before the store gives it an id.
#[derive(Debug, Clone)]
pub struct NewChore {
    pub name: String,
    pub recurrence: Recurrence,
    pub start: NaiveDate,
    pub members: Vec<String>,
}

impl NewChore {
    /// The chore with its first occurrence: the first scheduled date from `start` on.
    pub fn into_chore(self, id: i64) -> Option<Chore> {
        let recurrence = self.recurrence.resolve(self.start);
        let due = recurrence.first_on_or_after(self.start, self.start)?;
        Some(Chore {
            id,
            key: name_key(&self.name),
            name: self.name,
            recurrence,
            start: self.start,
            members: self.members,
            turn: 0,
            cover: None,
            payback: Vec::new(),
            due,
        })
    }
}

/// What a swap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swapped {
    /// The occurrence already belonged to that member.
    Already,
    /// The occurrence moved from `from` (`None`: it was anyone's) to the new member;
    /// `payback` says whether `from` takes the new member's next turn.
    Moved { from: Option<String>, payback: bool },
}

impl Chore {
    /// Who does the pending occurrence; `None` when anyone may.
    pub fn assignee(&self) -> Option<&str> {
        self.cover
            .as_deref()
            .or_else(|| self.members.get(self.turn).map(String::as_str))
    }

    /// The member of the rotation called `name` (case-insensitive), as the chore spells it.
    pub fn member(&self, name: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|member| same_person(member, name))
            .map(String::as_str)
    }

    /// Records the pending occurrence as done by `by` and moves to the next one.
    pub fn complete(
        &mut self,
        by: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
        recorded_by: &str,
    ) -> Option<HistoryEntry> {
        let entry = self.entry(Outcome::Done, Some(by), today, now, recorded_by);
        self.advance(today)?;
        Some(entry)
    }

    /// Records the pending occurrence as skipped and moves to the next one.
    pub fn skip(
        &mut self,
        today: NaiveDate,
        now: DateTime<Utc>,
        recorded_by: &str,
    ) -> Option<HistoryEntry> {
        let entry = self.entry(Outcome::Skipped, None, today, now, recorded_by);
        self.advance(today)?;
        Some(entry)
    }

    /// Hands the pending occurrence to `to` (see the module doc for the rule).
    pub fn swap(&mut self, to: &str) -> Swapped {
        let from = self.assignee().map(str::to_owned);
        if from.as_deref().is_some_and(|from| same_person(from, to)) {
            return Swapped::Already;
        }
        let to = self.member(to).unwrap_or(to).to_owned();
        let payback = match &from {
            Some(from) if self.members.len() > 1 && self.member(from).is_some() => {
                match self.member(&to).map(str::to_owned) {
                    Some(member) => {
                        self.payback.push((member, from.clone()));
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        self.cover = Some(to);
        Swapped::Moved { from, payback }
    }

    fn entry(
        &self,
        outcome: Outcome,
        by: Option<&str>,
        today: NaiveDate,
        now: DateTime<Utc>,
        recorded_by: &str,
    ) -> HistoryEntry {
        HistoryEntry {
            chore_id: self.id,
            due: self.due,
            assignee: self.assignee().map(str::to_owned),
            outcome,
            done_by: by.map(str::to_owned),
            on_time: outcome == Outcome::Done && today <= self.due,
            local_date: today,
            recorded_at: now,
            recorded_by: recorded_by.to_owned(),
        }
    }

    /// Moves to the next occurrence: the next date, the next turn, any turn owed by a swap.
    fn advance(&mut self, today: NaiveDate) -> Option<()> {
        self.due = self
            .recurrence
            .next_after(self.start, self.due.max(today))?;
        self.cover = None;
        if !self.members.is_empty() {
            self.turn = (self.turn + 1) % self.members.len();
            let member = &self.members[self.turn];
            if let Some(owed) = self
                .payback
                .iter()
                .position(|(m, _)| same_person(m, member))
            {
                self.cover = Some(self.payback.remove(owed).1);
            }
        }
        Some(())
    }
}

/// Whether two member names are the same person: case-insensitive, and a one-word name
/// matches the first word of a full name ("Sam" is "Sam Smith", as WhatsApp profiles go).
pub fn same_person(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    if a == b {
        return true;
    }
    let first = |s: &str| s.split_whitespace().next().unwrap_or("").to_owned();
    (!a.contains(' ') && a == first(&b)) || (!b.contains(' ') && b == first(&a))
}

/// The matching key of a chore name: lower-case words, without a leading article or
/// possessive and a trailing "chore", each word's plural "s" folded ("The Bins" and "bin").
pub fn name_key(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .map(|w| {
            w.to_lowercase()
                .replace(['\u{2019}', '\u{2018}'], "'")
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_owned()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut words: &[String] = &words;
    while let [first, rest @ ..] = words {
        if rest.is_empty() || !matches!(first.as_str(), "the" | "a" | "an" | "my" | "our") {
            break;
        }
        words = rest;
    }
    if let [init @ .., last] = words {
        if !init.is_empty() && last == "chore" {
            words = init;
        }
    }
    words
        .iter()
        .map(|w| fold_plural(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn fold_plural(word: &str) -> String {
    if word.len() <= 3 {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for ending in ["shes", "ches", "xes", "sses"] {
        if word.ends_with(ending) {
            return word[..word.len() - 2].to_owned();
        }
    }
    match word.strip_suffix('s') {
        Some(stem) if !stem.ends_with('s') => stem.to_owned(),
        _ => word.to_owned(),
    }
}

/// The chores `query` names: the one whose key is the query's key, else every chore whose
/// key holds the query's words in a row ("bins" finds "take out the bins").
pub fn find<'a>(chores: &'a [Chore], query: &str) -> Vec<&'a Chore> {
    let key = name_key(query);
    if key.is_empty() {
        return Vec::new();
    }
    if let Some(exact) = chores.iter().find(|c| c.key == key) {
        return vec![exact];
    }
    let padded = format!(" {key} ");
    chores
        .iter()
        .filter(|c| format!(" {} ", c.key).contains(&padded))
        .collect()
}

/// A date past what the calendar can hold: only reachable with absurd input.
pub(crate) fn out_of_range() -> StoreError {
    StoreError::Other("chore date out of the calendar's range".to_owned())
}
