//! "add chore take out the bins every Monday and Thursday for Sam": the name, then a
//! recurrence and an assignment in either order.
//!
//! The name is the shortest run of leading words after which the rest reads entirely as
//! clauses, so a name may itself hold clause words ("cook for the kids daily" is the chore
//! "cook for the kids", done daily by anyone).

use chrono::Weekday;

use super::tokens::{starts_with, text_of, Token};
use crate::chores::model::{Assign, ChoreCommand, Member};
use crate::chores::recurrence::{weekday_bit, Recurrence, MAX_EVERY_DAYS};

/// Parses what follows "add chore".
pub(super) fn parse_add(rest: &[Token]) -> ChoreCommand {
    let rest = skip_words(rest, &["called", "named", ":"]);
    for split in 1..rest.len() {
        if let Some((recurrence, assign)) = clauses(&rest[split..]) {
            let name = text_of(&rest[..split]);
            if name.is_empty() {
                break;
            }
            return match recurrence {
                Some(recurrence) => ChoreCommand::Add {
                    name,
                    recurrence,
                    assign,
                },
                None => ChoreCommand::AddHelp { name: Some(name) },
            };
        }
    }
    let name = text_of(rest);
    ChoreCommand::AddHelp {
        name: (!name.is_empty()).then_some(name),
    }
}

fn skip_words<'t>(mut tokens: &'t [Token], words: &[&str]) -> &'t [Token] {
    while let [first, rest @ ..] = tokens {
        if !words.contains(&first.low()) {
            break;
        }
        tokens = rest;
    }
    tokens
}

/// Reads the whole of `tokens` as at most one recurrence and at most one assignment, with
/// separators and "and" allowed between them; at least one clause.
fn clauses(mut tokens: &[Token]) -> Option<(Option<Recurrence>, Assign)> {
    let mut recurrence = None;
    let mut assign = None;
    let mut any = false;
    loop {
        tokens = skip_separators(tokens);
        if tokens.is_empty() {
            return any.then_some((recurrence, assign.unwrap_or(Assign::Anyone)));
        }
        if recurrence.is_none() {
            if let Some((rule, rest)) = parse_recurrence(tokens) {
                recurrence = Some(rule);
                tokens = rest;
                any = true;
                continue;
            }
        }
        if assign.is_none() {
            if let Some((who, rest)) = parse_assign(tokens) {
                assign = Some(who);
                tokens = rest;
                any = true;
                continue;
            }
        }
        return None;
    }
}

fn skip_separators(mut tokens: &[Token]) -> &[Token] {
    while let [first, rest @ ..] = tokens {
        if !matches!(first, Token::Sep) && !matches!(first.low(), "and" | "&") {
            break;
        }
        tokens = rest;
    }
    tokens
}

/// A recurrence at the start of `tokens`, and what follows it.
pub(super) fn parse_recurrence(tokens: &[Token]) -> Option<(Recurrence, &[Token])> {
    let low: Vec<&str> = tokens.iter().map(Token::low).collect();
    match low.as_slice() {
        ["daily" | "everyday", ..] => Some((Recurrence::Daily, &tokens[1..])),
        ["every" | "each", "day", ..] => Some((Recurrence::Daily, &tokens[2..])),
        ["every", "other", "day", ..] => Some((Recurrence::EveryNDays(2), &tokens[3..])),
        ["fortnightly", ..] => Some((Recurrence::EveryNDays(14), &tokens[1..])),
        ["every", "other", "week", ..] => Some((Recurrence::EveryNDays(14), &tokens[3..])),
        ["every", n, unit, ..] if number(n).is_some() => {
            let n = number(n)?;
            let days = match *unit {
                "day" | "days" => n,
                "week" | "weeks" => n.checked_mul(7)?,
                _ => return None,
            };
            if !(1..=MAX_EVERY_DAYS).contains(&days) {
                return None;
            }
            let rule = match days {
                1 => Recurrence::Daily,
                7 => Recurrence::Weekly(0),
                d => Recurrence::EveryNDays(d),
            };
            Some((rule, &tokens[3..]))
        }
        ["weekly", ..] => weekly_tail(&tokens[1..]),
        ["every" | "each", "week", ..] => weekly_tail(&tokens[2..]),
        ["monthly", ..] => monthly_tail(&tokens[1..]),
        ["every" | "each", "month", ..] => monthly_tail(&tokens[2..]),
        ["every" | "each" | "on", ..] => {
            if let Some((mask, rest)) = weekdays(&tokens[1..]) {
                return Some((Recurrence::Weekly(mask), rest));
            }
            // "on the 1st of every month", "on the 15th of each month"
            let (day, rest) = day_of_month(&tokens[1..])?;
            let rest = match rest.iter().map(Token::low).collect::<Vec<_>>().as_slice() {
                ["of", "every" | "each" | "the", "month", ..] => &rest[3..],
                _ => return None,
            };
            Some((Recurrence::Monthly(day), rest))
        }
        _ => None,
    }
}

/// "weekly" [on DAYS]
fn weekly_tail(tokens: &[Token]) -> Option<(Recurrence, &[Token])> {
    if starts_with(tokens, &["on"]) {
        if let Some((mask, rest)) = weekdays(&tokens[1..]) {
            return Some((Recurrence::Weekly(mask), rest));
        }
    }
    Some((Recurrence::Weekly(0), tokens))
}

/// "monthly" [on the Nth]
fn monthly_tail(tokens: &[Token]) -> Option<(Recurrence, &[Token])> {
    if starts_with(tokens, &["on"]) {
        if let Some((day, rest)) = day_of_month(&tokens[1..]) {
            return Some((Recurrence::Monthly(day), rest));
        }
    }
    Some((Recurrence::Monthly(0), tokens))
}

/// "the 1st", "1st", "the 15th", "the 3": a day of the month.
fn day_of_month(tokens: &[Token]) -> Option<(u8, &[Token])> {
    let tokens = if starts_with(tokens, &["the"]) {
        &tokens[1..]
    } else {
        tokens
    };
    let word = tokens.first()?.low();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))
        .unwrap_or(word);
    let day: u8 = match word {
        "first" => 1,
        "second" => 2,
        "third" => 3,
        _ => digits.parse().ok()?,
    };
    (1..=31).contains(&day).then_some((day, &tokens[1..]))
}

/// "Monday and Thursday", "mon, thu", "weekdays", "Saturdays": one or more weekdays.
fn weekdays(mut tokens: &[Token]) -> Option<(u8, &[Token])> {
    let mut mask = 0u8;
    while let Some(bits) = tokens.first().and_then(|t| weekday_mask(t.low())) {
        mask |= bits;
        tokens = &tokens[1..];
        let after = skip_list_joiners(tokens);
        if after.first().and_then(|t| weekday_mask(t.low())).is_some() {
            tokens = after;
        } else {
            break;
        }
    }
    (mask != 0).then_some((mask, tokens))
}

fn skip_list_joiners(mut tokens: &[Token]) -> &[Token] {
    while let [first, rest @ ..] = tokens {
        if !matches!(first, Token::Sep) && !matches!(first.low(), "and" | "&" | "or" | "then") {
            break;
        }
        tokens = rest;
    }
    tokens
}

fn weekday_mask(word: &str) -> Option<u8> {
    let day = match word {
        "monday" | "mondays" | "mon" => Weekday::Mon,
        "tuesday" | "tuesdays" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wednesdays" | "wed" => Weekday::Wed,
        "thursday" | "thursdays" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fridays" | "fri" => Weekday::Fri,
        "saturday" | "saturdays" | "sat" => Weekday::Sat,
        "sunday" | "sundays" | "sun" => Weekday::Sun,
        "weekday" | "weekdays" => return Some(0b001_1111),
        "weekend" | "weekends" => return Some(0b110_0000),
        _ => return None,
    };
    Some(weekday_bit(day))
}

/// A small count: digits or an English number word.
fn number(word: &str) -> Option<u16> {
    const WORDS: [&str; 12] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve",
    ];
    if let Some(index) = WORDS.iter().position(|w| *w == word) {
        return u16::try_from(index + 1).ok();
    }
    word.parse().ok().filter(|n| *n > 0)
}

/// Phrases that start a rotation ("rotating Dana, Sam and Kim").
const ROTATION: &[&[&str]] = &[
    &["rotating"],
    &["rotating", "between"],
    &["rotating", "among"],
    &["rotate"],
    &["rotate", "between"],
    &["rotate", "among"],
    &["alternating"],
    &["alternating", "between"],
    &["taking", "turns"],
    &["in", "turns"],
    &["in", "rotation"],
    &["shared", "by"],
];

/// An assignment at the start of `tokens`: "for Sam", "for me", "assigned to Sam",
/// "rotating Dana, Sam, Kim", "for Dana, Sam and Kim in turns".
fn parse_assign(tokens: &[Token]) -> Option<(Assign, &[Token])> {
    if let Some(rest) = super::tokens::after_any(tokens, ROTATION) {
        let (members, rest) = members(rest)?;
        return Some((Assign::Rotation(members), rest));
    }
    let rest = super::tokens::after_any(tokens, &[&["for"], &["assigned", "to"], &["by"]])?;
    if let Some(rest) = super::tokens::after_any(rest, &[&["anyone"], &["anybody"], &["whoever"]]) {
        return Some((Assign::Anyone, rest));
    }
    let (mut members, rest) = members(rest)?;
    // An optional rotation word after the list: "for Dana and Sam in turns".
    let rest = super::tokens::after_any(rest, ROTATION)
        .filter(|after| after.first().is_none_or(|t| member(t).is_none()))
        .unwrap_or(rest);
    let assign = if members.len() == 1 {
        Assign::Fixed(members.remove(0))
    } else {
        Assign::Rotation(members)
    };
    Some((assign, rest))
}

/// "Dana, Sam and Kim": one or more members, duplicates dropped.
fn members(mut tokens: &[Token]) -> Option<(Vec<Member>, &[Token])> {
    let mut list: Vec<Member> = Vec::new();
    while let Some(next) = tokens.first().and_then(member) {
        if !list.contains(&next) {
            list.push(next);
        }
        tokens = &tokens[1..];
        let after = skip_list_joiners(tokens);
        if after.len() < tokens.len() && after.first().and_then(member).is_some() {
            tokens = after;
        } else {
            break;
        }
    }
    (!list.is_empty()).then_some((list, tokens))
}

/// One member: a single name-like word that is not a grammar word.
pub(super) fn member(token: &Token) -> Option<Member> {
    let low = token.low();
    if matches!(low, "me" | "myself" | "i") {
        return Some(Member::Me);
    }
    let name_like = low.chars().next().is_some_and(char::is_alphabetic)
        && low
            .chars()
            .all(|c| c.is_alphabetic() || c == '\'' || c == '-');
    // A possessive is not a name: "Sam's did the bins" must not credit someone called "Sam's"
    // (whom "Sam's done the bins" could then never be read back as).
    if !name_like || NOT_NAMES.contains(&low) || weekday_mask(low).is_some() || low.ends_with("'s")
    {
        return None;
    }
    Some(Member::Named(capitalized(token.text())))
}

/// Words that end a list of members rather than name one, and the one-word politeness the
/// grammar drops at either end of a message ("hey", "please": "Hey did the bins" is the
/// sender's, so "Hey's done the bins" must not credit a "Hey").
const NOT_NAMES: &[&str] = &[
    "hey",
    "ok",
    "okay",
    "alfred",
    "please",
    "pls",
    "thanks",
    "thx",
    "and",
    "or",
    "then",
    "the",
    "a",
    "an",
    "every",
    "each",
    "daily",
    "weekly",
    "monthly",
    "fortnightly",
    "on",
    "for",
    "in",
    "turns",
    "rotating",
    "rotate",
    "rotation",
    "alternating",
    "taking",
    "today",
    "tomorrow",
    "everyone",
    "everybody",
    "anyone",
    "anybody",
    "whoever",
    "us",
    "we",
    "you",
    "them",
    "him",
    "her",
    "it",
    "all",
    "kids",
    "children",
    "with",
    "to",
    "of",
    "by",
    "starting",
    "from",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "other",
    "what",
    "who",
    "how",
    "why",
    "when",
    "where",
    "which",
    "he",
    "she",
    "they",
    "that",
    "this",
    "there",
    "did",
    "do",
    "does",
    "has",
    "have",
    "is",
    "are",
    "was",
    "were",
    "yes",
    "no",
    "not",
    "somebody",
    "someone",
    "nobody",
    "everything",
    "nothing",
    "my",
    "your",
    "our",
    "their",
];

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
