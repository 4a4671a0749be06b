//! The deterministic grammar of the shopping list.
//!
//! Case-insensitive; sentence punctuation, a leading "please", "can you", "alfred," and a
//! trailing "please" or "thanks" are ignored. Understood:
//!
//! * add — `add bananas`, `add milk, eggs and 2 kg apples`, `add 3 bananas to the list`,
//!   `put milk on the shopping list`, `add to the list: milk, eggs`;
//! * remove — `remove milk`, `delete milk from the list`, `take milk off the list`,
//!   `take off milk`;
//! * check off — `got milk`, `bought eggs`, `I got the bread`, `check off milk`,
//!   `tick eggs off the list`, `cross milk off`, `mark milk as bought` (see `bought` for what
//!   "got" does not claim);
//! * list — `list`, `show the list`, `what's on the list`, `shopping list`, `groceries`;
//! * clear bought — `clear bought`, `clear what we bought`, `remove the ticked items`;
//! * clear — `clear the list`, `clear list`, `empty the shopping list`;
//! * undo — `undo`, `undo that`, `undo my last change`, `oops, undo`.
//!
//! Several items split on commas, semicolons, "and", "&" and "plus". A name that itself holds
//! "and" is written in quotes: `add "salt and pepper crisps" and milk`. There is no reliable
//! way to tell "bread and butter" (two items) from "mac and cheese" (one) without a dictionary,
//! and splitting is the common case in a shopping list; quoting is the escape hatch.
//!
//! Layout: `tokens` (words, quotes and separators), `item` (one item, and a text split into
//! items), `target` (where a text names the list), `bought` (ticking off and clearing what was
//! bought); this file reads the verbs.
//!
//! The grammar claims nothing else: `add a meeting to my calendar`, `remove the cat from the
//! sofa`, `take the bins out` are not list commands, so the orchestrator can answer them with
//! help (or, later, another skill).

mod bought;
mod item;
mod target;
mod tokens;

use self::item::items;
use self::target::{is_target, is_target_tokens, strip_target_suffix, take_off_items};
use self::tokens::{plain_words, tokenize, Token};
use super::model::GroceryCommand;

/// Leading words that only make a request polite or address Alfred.
const PREFIXES: &[&[&str]] = &[
    &["please"],
    &["pls"],
    &["plz"],
    &["kindly"],
    &["hey"],
    &["ok"],
    &["okay"],
    &["alfred"],
    &["also"],
    &["oops"],
    &["can", "you"],
    &["could", "you"],
    &["would", "you"],
    &["will", "you"],
    &["can", "u"],
];

/// Trailing words of the same kind.
const SUFFIXES: &[&[&str]] = &[
    &["please"],
    &["pls"],
    &["plz"],
    &["thanks"],
    &["thx"],
    &["thank", "you"],
    &["for", "me"],
    &["too"],
    &["as", "well"],
];

/// Verbs that, followed by the list, ask to see it ("show the list"); the empty verb makes the
/// bare list ("shopping list", "groceries") a request to see it too.
const LIST_VERBS: &[&[&str]] = &[
    &[],
    &["list"],
    &["show"],
    &["show", "me"],
    &["view"],
    &["see"],
    &["display"],
    &["get"],
    &["print"],
    &["read"],
    &["check"],
    &["send"],
    &["send", "me"],
    &["give", "me"],
    &["what's", "on"],
    &["whats", "on"],
    &["what", "is", "on"],
    &["what's", "in"],
    &["show", "me", "what's", "on"],
    &["tell", "me", "what's", "on"],
];

/// Whole phrases that ask to see the list.
const LIST_PHRASES: &[&[&str]] = &[
    &["what", "do", "we", "need"],
    &["what", "do", "we", "need", "to", "buy"],
];

/// Verbs that, followed by the list, empty it.
const CLEAR_VERBS: &[&[&str]] = &[
    &["clear"],
    &["clear", "out"],
    &["empty"],
    &["wipe"],
    &["reset"],
    &["delete"],
    &["remove", "everything", "from"],
    &["delete", "everything", "from"],
    &["clear", "everything", "from"],
];

/// Whole phrases that undo the sender's last change (a trailing "on/to the list" is allowed).
const UNDO_PHRASES: &[&[&str]] = &[
    &["undo"],
    &["undo", "that"],
    &["undo", "it"],
    &["undo", "this"],
    &["undo", "last"],
    &["undo", "the", "last", "one"],
    &["undo", "my", "last", "one"],
    &["undo", "last", "change"],
    &["undo", "the", "last", "change"],
    &["undo", "my", "last", "change"],
    &["undo", "that", "change"],
    &["undo", "my", "change"],
    &["revert", "that"],
    &["revert", "it"],
    &["revert", "my", "last", "change"],
    &["revert", "the", "last", "change"],
];

/// Parses a message addressed to Alfred into a shopping-list command, or `None` when it is not
/// one (the route then does not claim it).
pub fn parse(text: &str) -> Option<GroceryCommand> {
    let mut tokens = tokenize(text);
    strip_fillers(&mut tokens);
    if tokens.is_empty() {
        return None;
    }
    if let Some(words) = plain_words(&tokens) {
        if is_list(&words) {
            return Some(GroceryCommand::List);
        }
        if is_undo(&words) {
            return Some(GroceryCommand::Undo);
        }
        if bought::is_clear_bought(&tokens) {
            return Some(GroceryCommand::ClearBought);
        }
        if CLEAR_VERBS
            .iter()
            .any(|verb| words.starts_with(verb) && is_target(&words[verb.len()..]))
        {
            return Some(GroceryCommand::Clear);
        }
    }
    let (verb, rest) = tokens.split_first()?;
    match verb.low()? {
        "add" => items(add_items(rest)?).map(GroceryCommand::Add),
        "put" => items(strip_target_suffix(
            rest,
            &["on", "onto", "in", "to"],
            true,
        )?)
        .map(GroceryCommand::Add),
        "remove" | "delete" => {
            items(strip_target_suffix(rest, &["from", "off"], false)?).map(GroceryCommand::Remove)
        }
        "take" => items(take_off_items(rest)?).map(GroceryCommand::Remove),
        _ => bought::check_off(&tokens).map(GroceryCommand::CheckOff),
    }
}

/// Removes politeness before and after the request, and stray separators at both ends.
fn strip_fillers(tokens: &mut Vec<Token>) {
    loop {
        let before = tokens.len();
        while tokens.first() == Some(&Token::Sep) {
            tokens.remove(0);
        }
        while tokens.last() == Some(&Token::Sep) {
            tokens.pop();
        }
        if let Some(prefix) = PREFIXES.iter().find(|p| starts_with_words(tokens, p)) {
            tokens.drain(..prefix.len());
        }
        if let Some(suffix) = SUFFIXES.iter().find(|s| ends_with_words(tokens, s)) {
            tokens.truncate(tokens.len() - suffix.len());
        }
        if tokens.len() == before {
            return;
        }
    }
}

fn starts_with_words(tokens: &[Token], words: &[&str]) -> bool {
    tokens.len() >= words.len() && tokens.iter().zip(words).all(|(t, w)| t.low() == Some(w))
}

fn ends_with_words(tokens: &[Token], words: &[&str]) -> bool {
    tokens.len() >= words.len() && starts_with_words(&tokens[tokens.len() - words.len()..], words)
}

fn is_list(words: &[&str]) -> bool {
    LIST_PHRASES.contains(&words)
        || LIST_VERBS
            .iter()
            .any(|verb| words.starts_with(verb) && is_target(&words[verb.len()..]))
}

/// `undo`, `undo that`, `undo my last change to the list`.
fn is_undo(words: &[&str]) -> bool {
    let words = match words.iter().rposition(|w| matches!(*w, "to" | "on")) {
        Some(at) if is_target(&words[at + 1..]) => &words[..at],
        _ => words,
    };
    UNDO_PHRASES.contains(&words)
}

/// `add X`, `add X to the list`, `add to the list: X`; not `add X to my calendar`.
fn add_items(rest: &[Token]) -> Option<&[Token]> {
    // "add to the list: milk, eggs"
    for end in 2..=rest.len().min(4) {
        if rest[0].low() == Some("to") && is_target_tokens(&rest[1..end]) {
            return Some(&rest[end..]);
        }
    }
    strip_target_suffix(rest, &["to", "on", "onto"], false)
}
