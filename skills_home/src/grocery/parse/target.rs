//! Where a text names the shopping list: `the list`, `my shopping list`, `groceries`, and the
//! `to …`, `from …`, `off …` that end a command with it.

use super::tokens::{plain_words, Token};

/// Whether `words` name the shopping list: `[the|my|our] [shopping|grocery] list`, or
/// `groceries`.
pub(super) fn is_target(words: &[&str]) -> bool {
    let words = match words.first() {
        Some(&("the" | "my" | "our")) => &words[1..],
        _ => words,
    };
    matches!(
        words,
        ["list"]
            | ["shopping" | "grocery" | "groceries", "list"]
            | ["groceries"]
            | ["shoppinglist"]
    )
}

/// Whether `tokens` are plain words that name the list.
pub(super) fn is_target_tokens(tokens: &[Token]) -> bool {
    plain_words(tokens).is_some_and(|words| is_target(&words))
}

/// Cuts `<preposition> <the list>` off the end of `rest`. When the preposition is followed by
/// something other than the list ("to my calendar", "from the sofa") the text is not a list
/// command at all. With `required`, the suffix must be there ("put milk on the list").
pub(super) fn strip_target_suffix<'t>(
    rest: &'t [Token],
    prepositions: &[&str],
    required: bool,
) -> Option<&'t [Token]> {
    let position = rest
        .iter()
        .rposition(|t| t.low().is_some_and(|w| prepositions.contains(&w)));
    let Some(position) = position else {
        return (!required).then_some(rest);
    };
    let after = &rest[position + 1..];
    if is_target_tokens(after) {
        return Some(&rest[..position]);
    }
    let names_another_place = after
        .first()
        .and_then(Token::low)
        .is_some_and(|w| matches!(w, "the" | "my" | "our"));
    if required || names_another_place {
        return None;
    }
    Some(rest)
}

/// `take X off [the list]`, `take off X [from the list]`, `check X off`.
pub(super) fn take_off_items(rest: &[Token]) -> Option<&[Token]> {
    if rest.first().and_then(Token::low) == Some("off") {
        return strip_target_suffix(&rest[1..], &["from"], false);
    }
    let off = rest.iter().rposition(|t| t.low() == Some("off"))?;
    let after = &rest[off + 1..];
    let after = if after.first().and_then(Token::low) == Some("of") {
        &after[1..]
    } else {
        after
    };
    (after.is_empty() || is_target_tokens(after)).then(|| &rest[..off])
}
