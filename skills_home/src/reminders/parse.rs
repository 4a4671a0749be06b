//! The reminders' grammar: what a person types, read into a [`ReminderCommand`].
//!
//! ```text
//! command  := "remind" who rest | list | cancel | snooze
//! who      := "me" | "us" | NAME                (a household member's first name; "us": the
//!                                               conversation it was asked in, like "me")
//! rest     := when "to" WHAT | ["to" | "about"] WHAT when
//! when     := "in" COUNT UNIT | "in" ("a" | "an") UNIT | "in" COUNT⋅UNIT   ("in 1h", "in 20min")
//!           | ["today" | "tomorrow" | ["on"] WEEKDAY] "at" TIME
//!           | ("every" (WEEKDAY | "day") | "daily") "at" TIME
//! TIME     := H | H:MM | H am/pm | H:MM am/pm | "noon" | "midnight"  ("5pm", "5 pm", "17:00")
//! list     := ["my" | "list" | "show" ["my"]] "reminders"
//! cancel   := ("cancel" | "delete" | "remove" | "stop") "reminder" ["#"]N
//! snooze   := "snooze" [duration]                (10 minutes when none is given)
//! ```
//!
//! A bare hour from 1 to 6 without am/pm is the afternoon ("tomorrow at 5" is 17:00: nobody
//! asks to be reminded at five in the morning without saying so); 7 to 12 are read as
//! written, 0 and 13 to 23 as on a 24-hour clock. Anything that starts with "remind" but does
//! not parse is still claimed ([`ReminderCommand::Help`]), so the person learns the forms
//! instead of reaching another skill.

use chrono::{Duration, NaiveTime, Weekday};

/// Longest reminder text, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

/// Longest delay or snooze.
const MAX_DAYS: i64 = 366;

/// Who a reminder is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The sender.
    Me,
    /// A household member, by the name typed.
    Named(String),
}

/// When a reminder is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// After a delay from now.
    In(Duration),
    /// Once, at a local time of day.
    At { day: Day, time: NaiveTime },
    /// Again and again at a local time of day.
    Every { repeat: Repeat, time: NaiveTime },
}

/// The day of a one-off reminder at a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// Today if the time is still ahead, else tomorrow.
    Next,
    Today,
    Tomorrow,
    /// The next such weekday (today if the time is still ahead).
    Weekday(Weekday),
}

/// How a recurring reminder repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Daily,
    Weekly(Weekday),
}

/// A command of the reminders skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReminderCommand {
    /// A new reminder.
    Add {
        to: Target,
        text: String,
        when: When,
    },
    /// The household's reminders still to come.
    List,
    /// Cancels the reminder with the household's number.
    Cancel(i32),
    /// Reminds again, after the delay, of the last reminder sent here.
    Snooze(Duration),
    /// Something starting with "remind" that is not a reminder: say how.
    Help,
}

/// Reads `text`; `None` when it is not for the reminders.
pub fn parse(text: &str) -> Option<ReminderCommand> {
    let text = text.trim().trim_end_matches(['.', '!', '?']).trim_end();
    let words: Vec<&str> = text.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match lower.as_slice() {
        [] => None,
        ["reminders"] | ["my" | "list" | "show", "reminders"] | ["show", "my", "reminders"] => {
            Some(ReminderCommand::List)
        }
        ["cancel" | "delete" | "remove" | "stop", "reminder", number] => {
            let number = number.strip_prefix('#').unwrap_or(number);
            let number: i32 = number.parse().ok().filter(|n| *n > 0)?;
            Some(ReminderCommand::Cancel(number))
        }
        ["snooze"] => Some(ReminderCommand::Snooze(Duration::minutes(10))),
        ["snooze", rest @ ..] => {
            let rest = match rest {
                ["for", rest @ ..] => rest,
                rest => rest,
            };
            duration(rest).map(ReminderCommand::Snooze)
        }
        ["remind", ..] => Some(remind(&words[1..], &lower[1..]).unwrap_or(ReminderCommand::Help)),
        _ => None,
    }
}

/// "remind …" after the first word.
fn remind(words: &[&str], lower: &[&str]) -> Option<ReminderCommand> {
    let (who, rest, rest_lower) = match (words.split_first(), lower.split_first()) {
        (Some((who, rest)), Some((who_lower, rest_lower))) => (
            if matches!(*who_lower, "me" | "us") {
                Target::Me
            } else if is_name(who) && !KEYWORDS.contains(who_lower) {
                Target::Named((*who).to_owned())
            } else {
                return None;
            },
            rest,
            rest_lower,
        ),
        _ => return None,
    };
    // "remind me in 20 minutes to water the plants": the time first, then "to".
    for split in 1..rest_lower.len() {
        if rest_lower[split] == "to" {
            if let Some(when) = when(&rest_lower[..split]) {
                if let Some(text) = reminder_text(&rest[split + 1..]) {
                    return Some(ReminderCommand::Add {
                        to: who,
                        text,
                        when,
                    });
                }
            }
        }
    }
    // "remind me to call grandma tomorrow at 5": the longest time phrase at the end.
    for split in 1..rest_lower.len() {
        if let Some(when) = when(&rest_lower[split..]) {
            let what = match rest_lower.first() {
                Some(&"to" | &"about") => &rest[1..split],
                _ => &rest[..split],
            };
            if let Some(text) = reminder_text(what) {
                return Some(ReminderCommand::Add {
                    to: who,
                    text,
                    when,
                });
            }
        }
    }
    None
}

/// Words that cannot be a member's name after "remind".
const KEYWORDS: [&str; 8] = [
    "to", "in", "at", "on", "every", "about", "tomorrow", "today",
];

fn is_name(word: &str) -> bool {
    word.chars().count() <= 30
        && word.chars().next().is_some_and(char::is_alphabetic)
        && word
            .chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
}

/// The reminder's text, as typed; `None` when empty or too long.
fn reminder_text(words: &[&str]) -> Option<String> {
    let text = words.join(" ");
    (!text.is_empty() && text.chars().count() <= MAX_TEXT_CHARS).then_some(text)
}

/// A time phrase, exactly (lower-case words).
pub fn when(words: &[&str]) -> Option<When> {
    match words {
        ["in", rest @ ..] => duration(rest).map(When::In),
        ["at", time @ ..] => Some(When::At {
            day: Day::Next,
            time: time_of_day(time)?,
        }),
        ["today", "at", time @ ..] => Some(When::At {
            day: Day::Today,
            time: time_of_day(time)?,
        }),
        ["tomorrow", "at", time @ ..] => Some(When::At {
            day: Day::Tomorrow,
            time: time_of_day(time)?,
        }),
        ["every", "day", "at", time @ ..] | ["daily", "at", time @ ..] => Some(When::Every {
            repeat: Repeat::Daily,
            time: time_of_day(time)?,
        }),
        ["on", day, "at", time @ ..] | [day, "at", time @ ..] => Some(When::At {
            day: Day::Weekday(weekday(day)?),
            time: time_of_day(time)?,
        }),
        ["every", day, "at", time @ ..] => Some(When::Every {
            repeat: Repeat::Weekly(weekday(day)?),
            time: time_of_day(time)?,
        }),
        _ => None,
    }
}

fn weekday(word: &str) -> Option<Weekday> {
    let word = word
        .strip_suffix('s')
        .filter(|w| w.ends_with("day"))
        .unwrap_or(word);
    match word {
        "monday" | "mon" => Some(Weekday::Mon),
        "tuesday" | "tue" | "tues" => Some(Weekday::Tue),
        "wednesday" | "wed" => Some(Weekday::Wed),
        "thursday" | "thu" | "thurs" => Some(Weekday::Thu),
        "friday" | "fri" => Some(Weekday::Fri),
        "saturday" | "sat" => Some(Weekday::Sat),
        "sunday" | "sun" => Some(Weekday::Sun),
        _ => None,
    }
}

/// A delay: "20 minutes", "an hour", "1h", "20min", "3 days".
pub fn duration(words: &[&str]) -> Option<Duration> {
    let (count, unit) = match words {
        [count, unit] => {
            let count = match *count {
                "a" | "an" | "one" => 1,
                digits => digits.parse::<i64>().ok()?,
            };
            (count, *unit)
        }
        [compact] => {
            let split = compact.find(|c: char| !c.is_ascii_digit())?;
            let (digits, unit) = compact.split_at(split);
            (digits.parse::<i64>().ok()?, unit)
        }
        _ => return None,
    };
    let minutes = match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => 1,
        "h" | "hr" | "hrs" | "hour" | "hours" => 60,
        "d" | "day" | "days" => 24 * 60,
        _ => return None,
    };
    let total = count.checked_mul(minutes)?;
    (count > 0 && total <= MAX_DAYS * 24 * 60).then(|| Duration::minutes(total))
}

/// A time of day: "5", "5pm", "5 pm", "5:30", "17:00", "7am", "noon", "midnight".
pub fn time_of_day(words: &[&str]) -> Option<NaiveTime> {
    let (clock, meridiem) = match words {
        ["noon"] => return NaiveTime::from_hms_opt(12, 0, 0),
        ["midnight"] => return NaiveTime::from_hms_opt(0, 0, 0),
        [clock, meridiem @ ("am" | "pm" | "a.m." | "p.m.")] => {
            (*clock, Some(meridiem.starts_with('p')))
        }
        [clock] => {
            if let Some(clock) = clock.strip_suffix("pm") {
                (clock, Some(true))
            } else if let Some(clock) = clock.strip_suffix("am") {
                (clock, Some(false))
            } else {
                (*clock, None)
            }
        }
        _ => return None,
    };
    let (hour, minute) = match clock.split_once([':', '.']) {
        Some((hour, minute)) if minute.len() == 2 => (hour, minute.parse::<u32>().ok()?),
        Some(_) => return None,
        None => (clock, 0),
    };
    if hour.is_empty() || hour.len() > 2 || !hour.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hour: u32 = hour.parse().ok()?;
    let hour = match meridiem {
        Some(pm) if (1..=12).contains(&hour) => match (pm, hour) {
            (false, 12) => 0,
            (false, h) => h,
            (true, 12) => 12,
            (true, h) => h + 12,
        },
        Some(_) => return None,
        None if (1..=6).contains(&hour) => hour + 12,
        None => hour,
    };
    NaiveTime::from_hms_opt(hour, minute, 0)
}
