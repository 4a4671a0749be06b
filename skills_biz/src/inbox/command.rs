//! The inbox's deterministic grammar (case-insensitive, trimmed; a trailing `?`, `.` or `!` and
//! extra spaces are ignored):
//!
//! | text | command |
//! |---|---|
//! | `inbox`, `my inbox`, `inbox summary`, `summarise my inbox` (also `summarize`, `summarise inbox`, `summarise the inbox`), `what's in my inbox` (also `whats`, `what is`), `check my inbox` | [`InboxCommand::Summary`] |
//! | `inbox set aside`, `inbox set-aside` | [`InboxCommand::SetAside`] |
//! | `inbox done 12`, `inbox done #12 #14`, `inbox done #12, #14 and #15` | [`InboxCommand::Done`] |
//! | `done #12`, `done #12 #14` (only with `#`, so plain "done …" stays free for others) | [`InboxCommand::Done`] |
//!
//! Anything else is not claimed.

/// Most ids one `done` takes.
pub const MAX_IDS: usize = 50;

/// What the reader asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxCommand {
    /// The open items by category.
    Summary,
    /// The mails set aside (newsletters, no-reply and automated mail).
    SetAside,
    /// Mark these `#id`s done (distinct, in the order given).
    Done(Vec<i64>),
}

const SUMMARY: &[&str] = &[
    "inbox",
    "my inbox",
    "inbox summary",
    "summarise my inbox",
    "summarize my inbox",
    "summarise inbox",
    "summarize inbox",
    "summarise the inbox",
    "summarize the inbox",
    "what's in my inbox",
    "whats in my inbox",
    "what is in my inbox",
    "check my inbox",
];

const SET_ASIDE: &[&str] = &["inbox set aside", "inbox set-aside"];

/// The command `text` asks for, or `None` when the grammar does not understand it.
pub fn parse(text: &str) -> Option<InboxCommand> {
    let text = text
        .trim()
        .trim_end_matches(['?', '.', '!'])
        .to_lowercase()
        .replace('’', "'");
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    if SUMMARY.contains(&joined.as_str()) {
        return Some(InboxCommand::Summary);
    }
    if SET_ASIDE.contains(&joined.as_str()) {
        return Some(InboxCommand::SetAside);
    }
    match words.as_slice() {
        ["inbox", "done", rest @ ..] => ids(rest, false),
        ["done", rest @ ..] => ids(rest, true),
        _ => None,
    }
}

/// `#12 #14`, `12, 14 and 15`: at least one id, each `#` + digits (or bare digits unless
/// `hash_required`), at most [`MAX_IDS`].
fn ids(words: &[&str], hash_required: bool) -> Option<InboxCommand> {
    let mut ids: Vec<i64> = Vec::new();
    let tokens = words
        .iter()
        .flat_map(|word| word.split(','))
        .filter(|token| !token.is_empty() && *token != "and");
    for token in tokens {
        let digits = match token.strip_prefix('#') {
            Some(digits) => digits,
            None if hash_required => return None,
            None => token,
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let id: i64 = digits.parse().ok()?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    (!ids.is_empty() && ids.len() <= MAX_IDS).then_some(InboxCommand::Done(ids))
}

/// The canonical text of a command (what the LLM's tool calls become).
pub fn text(command: &InboxCommand) -> String {
    match command {
        InboxCommand::Summary => "inbox".to_owned(),
        InboxCommand::SetAside => "inbox set aside".to_owned(),
        InboxCommand::Done(ids) => {
            let ids: Vec<String> = ids.iter().map(|id| format!("#{id}")).collect();
            format!("inbox done {}", ids.join(" "))
        }
    }
}
