//! The reminders' tools for the optional LLM, and their translation into the grammar.
//!
//! The LLM sees `reminders_add { text, when, who? }`, `reminders_list {}` and
//! `reminders_snooze { minutes }`. `when` is one of the grammar's own time phrases ("in 20
//! minutes", "tomorrow at 17:00", "every thursday at 7"), so the LLM only rephrases and the
//! grammar still decides what a time means. No tool cancels a reminder: a misread message must
//! never delete one, and "cancel reminder 3" is easy to type. A call becomes the canonical text
//! a person would type ("remind Sam to put the bins out every thursday at 7"), built only from
//! arguments that pass validation (a text of one line without control characters, a member a
//! single word), and only when the grammar reads that text back as the same command.

use alfred_actors::llm::{ToolCall, ToolSpec};
use chrono::Duration;
use serde_json::{json, Value};

use super::parse::{parse, when, ReminderCommand, Target, MAX_TEXT_CHARS};

/// Sets a reminder.
pub const ADD: &str = "reminders_add";
/// Lists the reminders to come.
pub const LIST: &str = "reminders_list";
/// Reminds again of the last reminder.
pub const SNOOZE: &str = "reminders_snooze";

/// Longest snooze the tool accepts, in minutes (a day).
const MAX_SNOOZE_MINUTES: i64 = 24 * 60;

/// The tools of the reminders, as JSON schemas.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            ADD,
            "Set a reminder for the sender or (with `who`) a household member.",
            json!({
                "type": "object",
                "properties": {
                    "text": {"type": "string", "description": "What to remind of, e.g. call grandma"},
                    "when": {"type": "string", "description": "One of: \"in 20 minutes\", \"in 2 hours\", \"at 17:00\", \"today at 17:00\", \"tomorrow at 9:00\", \"on friday at 8:00\", \"every day at 8:00\", \"every thursday at 7:00\""},
                    "who": {"type": "string", "description": "A household member's first name; leave out for the sender"}
                },
                "required": ["text", "when"]
            }),
        ),
        ToolSpec::new(
            LIST,
            "List the household's reminders still to come.",
            json!({"type": "object", "properties": {}}),
        ),
        ToolSpec::new(
            SNOOZE,
            "Remind again, after some minutes, of the last reminder sent here.",
            json!({
                "type": "object",
                "properties": {"minutes": {"type": "integer", "minimum": 1, "maximum": MAX_SNOOZE_MINUTES}},
                "required": ["minutes"]
            }),
        ),
    ]
}

/// The canonical command for a call of one of [`specs`], or `None` when the tool is not ours
/// or an argument is invalid.
pub fn command_for(call: &ToolCall) -> Option<String> {
    let args = &call.arguments;
    let (text, expected) = match call.name.as_str() {
        ADD => {
            let what = text_arg(args.get("text"))?;
            let phrase = one_line(args.get("when")?.as_str()?)?.to_lowercase();
            let words: Vec<&str> = phrase.split_whitespace().collect();
            let when = when(&words)?;
            let (who, to) = match args.get("who") {
                None | Some(Value::Null) => ("me".to_owned(), Target::Me),
                Some(who) => {
                    let who = member_arg(who)?;
                    (who.clone(), Target::Named(who))
                }
            };
            (
                format!("remind {who} to {what} {phrase}"),
                ReminderCommand::Add {
                    to,
                    text: what,
                    when,
                },
            )
        }
        LIST => ("reminders".to_owned(), ReminderCommand::List),
        SNOOZE => {
            let minutes = args
                .get("minutes")?
                .as_i64()
                .filter(|m| (1..=MAX_SNOOZE_MINUTES).contains(m))?;
            (
                format!("snooze {minutes} minutes"),
                ReminderCommand::Snooze(Duration::minutes(minutes)),
            )
        }
        _ => return None,
    };
    (parse(&text) == Some(expected)).then_some(text)
}

/// Whitespace runs folded to one space; `None` for an empty text or one with control
/// characters.
fn one_line(value: &str) -> Option<String> {
    let text = value.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty() && !text.chars().any(char::is_control)).then_some(text)
}

fn text_arg(value: Option<&Value>) -> Option<String> {
    let text = one_line(value?.as_str()?)?;
    (text.chars().count() <= MAX_TEXT_CHARS).then_some(text)
}

/// A member's first name, capitalized as the households file usually spells it.
fn member_arg(value: &Value) -> Option<String> {
    let name = value.as_str()?.trim();
    let valid = !name.is_empty()
        && name.chars().count() <= 30
        && name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '\''));
    if !valid {
        return None;
    }
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
}
