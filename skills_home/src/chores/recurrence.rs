//! When a chore falls due: recurrence rules over the household's *local dates*.
//!
//! Occurrences are calendar dates in the household's time zone, never instants, so a DST change
//! cannot move, drop or double an occurrence: "daily" is every local date, whatever the length
//! of the day. Converting the clock's instant to the local date happens once, at the edge
//! ([`local_today`]).

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

/// The household's local date at `now`.
pub fn local_today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// Most days between occurrences of an "every N days" chore (a year).
pub const MAX_EVERY_DAYS: u16 = 366;

/// How often a chore falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurrence {
    /// Every local date.
    Daily,
    /// On the given weekdays: bit 0 is Monday … bit 6 Sunday. `0` (only from the parser) means
    /// "the weekday of the start date", filled in by [`Recurrence::resolve`].
    Weekly(u8),
    /// Every `n` days counted from the chore's start date (`1..=MAX_EVERY_DAYS`).
    EveryNDays(u16),
    /// On this day of every month (`1..=31`); in a shorter month, its last day. `0` (only from
    /// the parser) means "the day of month of the start date".
    Monthly(u8),
}

/// The bit of `day` in a [`Recurrence::Weekly`] mask.
pub fn weekday_bit(day: Weekday) -> u8 {
    1 << day.num_days_from_monday()
}

const WEEKDAYS: u8 = 0b001_1111;
const WEEKEND: u8 = 0b110_0000;

impl Recurrence {
    /// Fills in what the parser left to the start date ("weekly", "monthly").
    pub fn resolve(self, start: NaiveDate) -> Recurrence {
        match self {
            Recurrence::Weekly(0) => Recurrence::Weekly(weekday_bit(start.weekday())),
            // Days 29–31 are kept as asked: the month-end rule applies per month.
            Recurrence::Monthly(0) => Recurrence::Monthly(start.day() as u8),
            other => other,
        }
    }

    /// The first occurrence on or after `date`, for a chore that started on `start`; `None`
    /// only past the end of the calendar chrono can represent.
    pub fn first_on_or_after(self, start: NaiveDate, date: NaiveDate) -> Option<NaiveDate> {
        let date = date.max(start);
        match self.resolve(start) {
            Recurrence::Daily => Some(date),
            Recurrence::Weekly(mask) => (0..7u64)
                .filter_map(|offset| date.checked_add_days(Days::new(offset)))
                .find(|day| mask & weekday_bit(day.weekday()) != 0),
            Recurrence::EveryNDays(n) => {
                let n = i64::from(n.max(1));
                let elapsed = (date - start).num_days();
                let steps = (elapsed + n - 1) / n;
                start.checked_add_days(Days::new(u64::try_from(steps * n).ok()?))
            }
            Recurrence::Monthly(day) => {
                let this_month = date.with_day(1)?;
                let candidate = day_in_month(this_month, day)?;
                if candidate >= date {
                    Some(candidate)
                } else {
                    day_in_month(this_month.checked_add_months(Months::new(1))?, day)
                }
            }
        }
    }

    /// The first occurrence strictly after `date`.
    pub fn next_after(self, start: NaiveDate, date: NaiveDate) -> Option<NaiveDate> {
        self.first_on_or_after(start, date.succ_opt()?)
    }

    /// Every occurrence in `from..=to`, in order (for tests and previews).
    pub fn occurrences(self, start: NaiveDate, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut dates = Vec::new();
        let mut next = self.first_on_or_after(start, from);
        while let Some(date) = next.filter(|date| *date <= to) {
            dates.push(date);
            next = self.next_after(start, date);
        }
        dates
    }

    /// The rule as words: "daily", "every Monday and Thursday", "every 3 days",
    /// "monthly on the 1st".
    pub fn describe(self) -> String {
        match self {
            Recurrence::Daily | Recurrence::EveryNDays(1) => "daily".to_owned(),
            Recurrence::Weekly(0) => "weekly".to_owned(),
            Recurrence::Weekly(WEEKDAYS) => "every weekday".to_owned(),
            Recurrence::Weekly(WEEKEND) => "every weekend day".to_owned(),
            Recurrence::Weekly(0b111_1111) => "daily".to_owned(),
            Recurrence::Weekly(mask) => {
                let days: Vec<String> = (0..7u8)
                    .filter(|bit| mask & (1 << bit) != 0)
                    .filter_map(|bit| Weekday::try_from(bit).ok())
                    .map(day_name)
                    .map(str::to_owned)
                    .collect();
                format!("every {}", join_and(&days))
            }
            Recurrence::EveryNDays(2) => "every other day".to_owned(),
            Recurrence::EveryNDays(n) => format!("every {n} days"),
            Recurrence::Monthly(0) => "monthly".to_owned(),
            Recurrence::Monthly(day) => format!("monthly on the {}", ordinal(day)),
        }
    }

    /// The stored form (column `chores.recurrence`): `daily`, `weekly:<mask>`, `every:<n>`,
    /// `monthly:<day>`.
    pub fn key(self) -> String {
        match self {
            Recurrence::Daily => "daily".to_owned(),
            Recurrence::Weekly(mask) => format!("weekly:{mask}"),
            Recurrence::EveryNDays(n) => format!("every:{n}"),
            Recurrence::Monthly(day) => format!("monthly:{day}"),
        }
    }

    /// Reads [`Recurrence::key`] back; `None` for anything else.
    pub fn from_key(key: &str) -> Option<Recurrence> {
        if key == "daily" {
            return Some(Recurrence::Daily);
        }
        let (kind, value) = key.split_once(':')?;
        match kind {
            "weekly" => value
                .parse()
                .ok()
                .filter(|mask| (1..=0b111_1111).contains(mask))
                .map(Recurrence::Weekly),
            "every" => value
                .parse()
                .ok()
                .filter(|n| (1..=MAX_EVERY_DAYS).contains(n))
                .map(Recurrence::EveryNDays),
            "monthly" => value
                .parse()
                .ok()
                .filter(|day| (1..=31).contains(day))
                .map(Recurrence::Monthly),
            _ => None,
        }
    }
}

/// Day `day` of the month starting at `first`, or the month's last day when it is shorter.
fn day_in_month(first: NaiveDate, day: u8) -> Option<NaiveDate> {
    let last = first.checked_add_months(Months::new(1))?.pred_opt()?.day();
    first.with_day(u32::from(day).clamp(1, last))
}

/// English name of a weekday.
pub fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// "1st", "2nd", "3rd", "11th", "22nd" …
pub fn ordinal(n: u8) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "a", "a and b", "a, b and c".
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
