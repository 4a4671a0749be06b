//! Reminders as stored, and when they fall due: the first occurrence of a new reminder, the
//! next one of a recurring reminder, and the instant quiet hours move a reminder to.
//!
//! A recurring reminder keeps its *local* time of day and rule; each next occurrence is that
//! local time on the next matching local date, turned into an instant with the scheduler's
//! [`due_instant`] (a time skipped by the spring change fires at the first valid instant
//! after it, a repeated one at the earlier instant). So "every Thursday at 7" stays at 07:00
//! local across DST changes, and an occurrence is never computed by adding 24 hours.

use alfred_actors::messages::Platform;
use alfred_actors::scheduler::due_instant;
use chrono::{DateTime, Datelike, Days, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;

use super::parse::{Day, Repeat, When};

/// How far ahead a recurring reminder's next occurrence is looked for (a weekly rule always
/// matches within 8 days; the margin covers nothing else).
const LOOKAHEAD_DAYS: u64 = 8;

/// One reminder of a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// The store's id: the same across replicas, part of each occurrence's message id.
    pub id: i64,
    /// The household's number for it, as people type it ("cancel reminder 3").
    pub number: i32,
    pub text: String,
    /// The member it is for when not the person who asked (their first name as configured).
    pub for_name: Option<String>,
    /// Who asked (display name).
    pub created_by_name: String,
    /// Where it is sent.
    pub platform: Platform,
    pub account: String,
    pub conversation: String,
    pub is_group: bool,
    /// The household's time zone when it was set: its local times are read in it.
    pub timezone: Tz,
    /// `None`: once.
    pub repeat: Option<Rule>,
    /// The pending occurrence.
    pub due: DateTime<Utc>,
    pub state: State,
    /// When it was last sent.
    pub last_sent_at: Option<DateTime<Utc>>,
}

/// Whether a reminder is still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    /// A one-off reminder that was sent.
    Done,
    Cancelled,
}

impl State {
    pub fn key(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Done => "done",
            State::Cancelled => "cancelled",
        }
    }

    pub fn from_key(key: &str) -> Option<State> {
        match key {
            "active" => Some(State::Active),
            "done" => Some(State::Done),
            "cancelled" => Some(State::Cancelled),
            _ => None,
        }
    }
}

/// A reminder to create; the store numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReminder {
    pub text: String,
    pub for_name: Option<String>,
    pub created_by: String,
    pub created_by_name: String,
    pub platform: Platform,
    pub account: String,
    pub conversation: String,
    pub is_group: bool,
    pub timezone: Tz,
    pub repeat: Option<Rule>,
    pub due: DateTime<Utc>,
}

/// Quiet hours (local `from`, `until`) by household id: reminders due then wait for their end.
pub type QuietHours = std::collections::HashMap<String, (NaiveTime, NaiveTime)>;

/// A recurring reminder's rule and local time of day.
pub type Rule = (Repeat, NaiveTime);

/// The stored form of a rule: `daily` or `weekly:<mon…sun>`.
pub fn repeat_key(repeat: Repeat) -> String {
    match repeat {
        Repeat::Daily => "daily".to_owned(),
        Repeat::Weekly(day) => format!("weekly:{}", day.to_string().to_lowercase()),
    }
}

/// A rule from its stored form.
pub fn repeat_from_key(key: &str) -> Option<Repeat> {
    match key.split_once(':') {
        None if key == "daily" => Some(Repeat::Daily),
        Some(("weekly", day)) => day.parse().ok().map(Repeat::Weekly),
        _ => None,
    }
}

/// The instant a message id names: whole seconds, UTC.
pub fn instant_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The first occurrence of a reminder set at `now` for `when`, and its rule when it repeats;
/// `None` when the time asked for has already passed ("today at 9" at noon).
pub fn first_due(when: When, now: DateTime<Utc>, tz: Tz) -> Option<(DateTime<Utc>, Option<Rule>)> {
    let today = now.with_timezone(&tz).date_naive();
    match when {
        When::In(delay) => Some((now.with_nanosecond(0)? + delay, None)),
        When::At { day, time } => {
            let due = match day {
                Day::Next => next_after(Repeat::Daily, time, tz, now)?,
                Day::Weekday(weekday) => next_after(Repeat::Weekly(weekday), time, tz, now)?,
                Day::Today => Some(due_instant(today, time, tz)).filter(|due| *due > now)?,
                Day::Tomorrow => due_instant(today.checked_add_days(Days::new(1))?, time, tz),
            };
            Some((due, None))
        }
        When::Every { repeat, time } => {
            Some((next_after(repeat, time, tz, now)?, Some((repeat, time))))
        }
    }
}

/// The first occurrence of `repeat` at local `time` strictly after `after`.
pub fn next_after(
    repeat: Repeat,
    time: NaiveTime,
    tz: Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let start = after
        .with_timezone(&tz)
        .date_naive()
        .checked_sub_days(Days::new(1))?;
    (0..=LOOKAHEAD_DAYS)
        .filter_map(|offset| start.checked_add_days(Days::new(offset)))
        .filter(|date| match repeat {
            Repeat::Daily => true,
            Repeat::Weekly(day) => date.weekday() == day,
        })
        .map(|date| due_instant(date, time, tz))
        .find(|due| *due > after)
}

/// When a reminder due at `due` is sent: then, or at the end of the quiet hours
/// `(from, until)` (local, possibly across midnight) it falls in.
pub fn send_at(
    due: DateTime<Utc>,
    tz: Tz,
    quiet_hours: Option<(NaiveTime, NaiveTime)>,
) -> DateTime<Utc> {
    let Some((from, until)) = quiet_hours else {
        return due;
    };
    let local = due.with_timezone(&tz);
    let time = local.time();
    if !crate::chores::in_quiet_hours(time, (from, until)) {
        return due;
    }
    // The quiet hours end today when their end is still ahead, else tomorrow.
    let date = local.date_naive();
    let end_date = if time < until {
        Some(date)
    } else {
        date.checked_add_days(Days::new(1))
    };
    end_date.map_or(due, |date| due_instant(date, until, tz).max(due))
}
