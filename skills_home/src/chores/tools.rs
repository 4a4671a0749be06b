//! The chores' tools for the optional LLM, and their translation into the grammar.
//!
//! The LLM sees `chores_done { chore, by? }`, `chores_skip { chore }`,
//! `chores_swap { chore, with }`, `chores_list {}`, `chores_due_today {}`, `chores_overdue {}`
//! and `chores_stats {}`. No tool adds or removes a chore: a misread message must never create
//! or delete one, and those are easy to type. A call becomes the canonical text a person would
//! type ("Sam did the bins"), built only from arguments that pass validation (a chore name of
//! letters, digits, spaces, hyphens and apostrophes; a member a single such word), and only
//! when the grammar reads that text back as the same command, so the grammar has the last word.

use alfred_actors::llm::{ToolCall, ToolSpec};
use serde_json::{json, Value};

use super::model::{ChoreCommand, Member};
use super::parse::parse;

/// Marks a chore done.
pub const DONE: &str = "chores_done";
/// Skips a chore's current occurrence.
pub const SKIP: &str = "chores_skip";
/// Hands a chore's current occurrence to someone else.
pub const SWAP: &str = "chores_swap";
/// Lists the chores.
pub const LIST: &str = "chores_list";
/// What is due today.
pub const DUE_TODAY: &str = "chores_due_today";
/// What is overdue.
pub const OVERDUE: &str = "chores_overdue";
/// History and streaks.
pub const STATS: &str = "chores_stats";

/// Longest chore name, in characters.
const MAX_NAME_CHARS: usize = 60;

/// The tools of the chores, as JSON schemas.
pub fn specs() -> Vec<ToolSpec> {
    let chore = json!({"type": "string", "description": "The chore's name, e.g. dishes"});
    let member = json!({"type": "string", "description": "A household member's first name"});
    let no_arguments = json!({"type": "object", "properties": {}});
    vec![
        ToolSpec::new(
            DONE,
            "Mark a household chore as done, by the sender or (with `by`) by another member.",
            json!({
                "type": "object",
                "properties": {"chore": chore, "by": member},
                "required": ["chore"]
            }),
        ),
        ToolSpec::new(
            SKIP,
            "Skip this time's occurrence of a chore.",
            json!({"type": "object", "properties": {"chore": chore}, "required": ["chore"]}),
        ),
        ToolSpec::new(
            SWAP,
            "Give this time's occurrence of a chore to another member, who hands back their next turn.",
            json!({
                "type": "object",
                "properties": {"chore": chore, "with": member},
                "required": ["chore", "with"]
            }),
        ),
        ToolSpec::new(LIST, "List the household's chores with who is next.", no_arguments.clone()),
        ToolSpec::new(DUE_TODAY, "Say which chores are due today.", no_arguments.clone()),
        ToolSpec::new(OVERDUE, "Say which chores are overdue.", no_arguments.clone()),
        ToolSpec::new(STATS, "Show chore history and streaks.", no_arguments),
    ]
}

/// The canonical command for a call of one of [`specs`], or `None` when the tool is not ours
/// or an argument is invalid.
pub fn command_for(call: &ToolCall) -> Option<String> {
    let args = &call.arguments;
    let (text, expected) = match call.name.as_str() {
        DONE => {
            let chore = chore_arg(args.get("chore"))?;
            let (text, by) = match args.get("by") {
                None | Some(Value::Null) => (format!("done {chore}"), Member::Me),
                Some(by) => {
                    let by = member_arg(by)?;
                    (format!("{by} did {chore}"), Member::Named(by))
                }
            };
            (text, ChoreCommand::Done { chore, by })
        }
        SKIP => {
            let chore = chore_arg(args.get("chore"))?;
            (format!("skip {chore}"), ChoreCommand::Skip { chore })
        }
        SWAP => {
            let chore = chore_arg(args.get("chore"))?;
            let with = member_arg(args.get("with")?)?;
            (
                format!("swap {chore} with {with}"),
                ChoreCommand::Swap {
                    chore,
                    with: Member::Named(with),
                },
            )
        }
        LIST => ("chores".to_owned(), ChoreCommand::List { mine: false }),
        DUE_TODAY => ("what's due today".to_owned(), ChoreCommand::DueToday),
        OVERDUE => ("what's overdue".to_owned(), ChoreCommand::Overdue),
        STATS => ("chore stats".to_owned(), ChoreCommand::Stats),
        _ => return None,
    };
    (parse(&text) == Some(expected)).then_some(text)
}

fn chore_arg(value: Option<&Value>) -> Option<String> {
    let name = value?
        .as_str()?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\''));
    valid.then_some(name)
}

/// A member's first name, capitalized as the grammar spells members.
fn member_arg(value: &Value) -> Option<String> {
    let name = value.as_str()?.trim();
    let valid = !name.is_empty()
        && name.chars().count() <= 40
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
