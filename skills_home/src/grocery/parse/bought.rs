//! Ticking items off ("got milk") and clearing what was bought ("clear bought").
//!
//! "got" and "bought" are everyday words, so the check-off grammar is careful about what it
//! claims: "got it, thanks", "got to go", "I got the job", "bought tickets for Friday" are not
//! shopping. An item of a "got"/"bought" sentence must not contain a pronoun, a preposition or
//! one of a few conversational nouns ([`NOT_AN_ITEM`]); such texts are left to other skills or
//! to help.

use super::item::items;
use super::target::{is_target, take_off_items};
use super::tokens::{plain_words, Token};
use crate::grocery::model::ItemSpec;

/// Words that never occur in a "got …" that ticks an item off. Pronouns, prepositions and
/// conversational nouns: "got it", "got to go", "got home", "got a question".
const NOT_AN_ITEM: &[&str] = &[
    "it",
    "it's",
    "its",
    "this",
    "that",
    "that's",
    "these",
    "those",
    "them",
    "they",
    "he",
    "she",
    "him",
    "her",
    "his",
    "hers",
    "you",
    "your",
    "yours",
    "me",
    "my",
    "mine",
    "we",
    "us",
    "our",
    "i",
    "i'm",
    "one",
    "ones",
    "everything",
    "anything",
    "something",
    "nothing",
    "all",
    "to",
    "for",
    "from",
    "at",
    "with",
    "into",
    "home",
    "back",
    "here",
    "there",
    "up",
    "out",
    "in",
    "on",
    "off",
    "what",
    "why",
    "how",
    "when",
    "where",
    "who",
    "lucky",
    "married",
    "lost",
    "sick",
    "time",
    "question",
    "questions",
    "idea",
    "chance",
    "minute",
    "moment",
    "second",
    "call",
    "message",
    "email",
    "job",
    "point",
    "news",
    "feeling",
    "ready",
    "done",
];

/// Who may say "got milk" before the verb.
const SUBJECTS: &[&[&str]] = &[
    &["i"],
    &["we"],
    &["i've"],
    &["we've"],
    &["ive"],
    &["i", "have"],
    &["we", "have"],
];

/// Everyday verbs of having bought something.
const BOUGHT_VERBS: &[&[&str]] = &[
    &["got"],
    &["bought"],
    &["grabbed"],
    &["purchased"],
    &["picked", "up"],
];

/// `got milk`, `I got the bread`, `we just bought eggs`, `picked up bread`, `check off milk`,
/// `check milk off the list`, `tick off eggs`, `cross milk off`, `mark milk as bought`.
pub(super) fn check_off(tokens: &[Token]) -> Option<Vec<ItemSpec>> {
    let rest = match tokens.first()?.low()? {
        "check" | "tick" | "cross" | "strike" => take_off_items(&tokens[1..])?,
        "mark" => marked(&tokens[1..])?,
        _ => {
            let mut rest = tokens;
            if let Some(subject) = SUBJECTS.iter().find(|s| starts_with(rest, s)) {
                rest = &rest[subject.len()..];
            }
            if let Some(adverb) = [["just"], ["already"], ["finally"]]
                .iter()
                .find(|a| starts_with(rest, *a))
            {
                rest = &rest[adverb.len()..];
            }
            let verb = BOUGHT_VERBS.iter().find(|v| starts_with(rest, v))?;
            &rest[verb.len()..]
        }
    };
    let conversational = rest
        .iter()
        .filter_map(Token::low)
        .any(|word| NOT_AN_ITEM.contains(&word));
    if conversational {
        return None;
    }
    items(rest)
}

/// `mark X as bought`, `mark X bought`. ("mark X as done" is the chores' phrase.)
fn marked(rest: &[Token]) -> Option<&[Token]> {
    let last = rest.last()?.low()?;
    if !matches!(last, "bought" | "purchased") {
        return None;
    }
    let rest = &rest[..rest.len() - 1];
    Some(match rest.last().and_then(Token::low) {
        Some("as") => &rest[..rest.len() - 1],
        _ => rest,
    })
}

/// `clear bought`, `clear what we bought`, `remove the bought items from the list`,
/// `clear checked items`, `delete everything we've bought`.
pub(super) fn is_clear_bought(tokens: &[Token]) -> bool {
    let Some(words) = plain_words(tokens) else {
        return false;
    };
    let rest = match words.as_slice() {
        ["clear" | "take", "out" | "away", rest @ ..] => rest,
        ["clear" | "remove" | "delete" | "empty", rest @ ..] => rest,
        ["get", "rid", "of", rest @ ..] => rest,
        _ => return false,
    };
    // "… from the list", "… off the list"
    let rest = match rest
        .iter()
        .rposition(|w| matches!(*w, "from" | "off" | "on"))
    {
        Some(at) if at > 0 && is_target(&rest[at + 1..]) => &rest[..at],
        _ => rest,
    };
    is_bought_things(rest)
}

/// `bought`, `the bought items`, `checked off ones`, `what we bought`, `everything that's been
/// bought`.
fn is_bought_things(words: &[&str]) -> bool {
    let words = match words {
        ["all", "the", rest @ ..] => rest,
        ["the" | "all", rest @ ..] => rest,
        _ => words,
    };
    let done = |w: &str| matches!(w, "bought" | "checked" | "ticked" | "purchased" | "crossed");
    let thing = |w: &str| matches!(w, "items" | "item" | "ones" | "things" | "stuff");
    match words {
        [adj] | [adj, "off"] => done(adj),
        [adj, noun] | [adj, "off", noun] => done(adj) && thing(noun),
        ["what" | "what's" | "everything", rest @ ..] => {
            let helper = |w: &&str| {
                matches!(
                    *w,
                    "we" | "i"
                        | "you"
                        | "they"
                        | "someone"
                        | "somebody"
                        | "we've"
                        | "i've"
                        | "have"
                        | "has"
                        | "been"
                        | "was"
                        | "is"
                        | "already"
                        | "just"
                        | "that"
                        | "that's"
                        | "got"
                )
            };
            match rest.split_last() {
                Some((last, helpers)) => {
                    matches!(*last, "bought" | "got" | "purchased")
                        && helpers.len() <= 3
                        && helpers.iter().all(helper)
                }
                None => false,
            }
        }
        _ => false,
    }
}

fn starts_with(tokens: &[Token], words: &[&str]) -> bool {
    tokens.len() >= words.len() && tokens.iter().zip(words).all(|(t, w)| t.low() == Some(w))
}
