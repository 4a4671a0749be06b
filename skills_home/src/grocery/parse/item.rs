//! The items of a message, split on separators, "and", "&" and "plus" ([`items`]); each an
//! optional quantity and unit, then the name.
//!
//! Accepted quantity forms: `3 bananas`, `2 kg apples`, `2kg apples`, `1.5 l milk`,
//! `500 g of flour`, `3 x lemons`, `3x lemons`, `lemons x3`, `lemons x 3`, `two avocados` (one
//! to twelve in words), `a dozen eggs` (12), `2 dozen eggs`, `half a dozen eggs` (6),
//! `half a kilo of flour`, `a bottle of wine` (one container). A leading `a`, `an`, `some`,
//! `more` or `the` is not part of the name. A decimal comma is not supported, since commas
//! separate items.

use super::tokens::Token;
use crate::grocery::model::ItemSpec;
use crate::grocery::quantity::{Quantity, Unit, MAX_PER_MESSAGE};

/// Most items one message may add or remove.
const MAX_ITEMS: usize = 50;

/// Longest item name accepted, in characters.
const MAX_NAME_CHARS: usize = 80;

const NUMBER_WORDS: [&str; 12] = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve",
];

/// Words that may precede a name without being part of it.
const FILLERS: [&str; 5] = ["a", "an", "some", "more", "the"];

/// Splits items on separators, "and", "&" and "plus", and parses each; `None` when any item
/// is not understood or there are none.
pub(super) fn items(tokens: &[Token]) -> Option<Vec<ItemSpec>> {
    let is_split =
        |t: &Token| *t == Token::Sep || t.low().is_some_and(|w| matches!(w, "and" | "&" | "plus"));
    let items = tokens
        .split(is_split)
        .filter(|segment| !segment.is_empty())
        .map(parse_item)
        .collect::<Option<Vec<_>>>()?;
    (!items.is_empty() && items.len() <= MAX_ITEMS).then_some(items)
}

/// Parses one item; `None` when it has no name or a quantity that is zero, too large or
/// malformed.
fn parse_item(tokens: &[Token]) -> Option<ItemSpec> {
    let (tokens, times) = trailing_times(tokens);
    let low = |i: usize| tokens.get(i).and_then(Token::low);
    let mut i = 0;
    let mut quantity = None;
    let mut unit = Unit::Count;
    // A measured amount ("2 kg", "a dozen") may be followed by "of".
    let mut measured = false;

    let half_a = low(0) == Some("half") && matches!(low(1), Some("a" | "an"));
    if let Some(first) = low(0) {
        if half_a && low(2) == Some("dozen") {
            quantity = Some(Quantity::whole(6));
            measured = true;
            i = 3;
        } else if let Some(measure) = half_a
            .then(|| low(2).and_then(Unit::from_word))
            .flatten()
            .filter(|unit| *unit != Unit::Count && !unit.is_container())
        {
            quantity = Some(Quantity::half());
            unit = measure;
            measured = true;
            i = 3;
        } else if let Some(parsed) = number(first) {
            let (number, attached) = parsed?;
            quantity = Some(number);
            i = 1;
            if let Some(attached) = attached {
                unit = attached;
                measured = attached != Unit::Count;
            }
        } else if matches!(first, "a" | "an") && low(1) == Some("dozen") {
            quantity = Some(Quantity::whole(1));
            i = 1;
        } else if let Some(container) = (matches!(first, "a" | "an"))
            .then(|| low(1).and_then(Unit::from_word))
            .flatten()
        {
            quantity = Some(Quantity::whole(1));
            unit = container;
            measured = true;
            i = 2;
        }
    }
    if let Some(q) = quantity {
        if low(i) == Some("dozen") {
            quantity = Some(q.times(12)?);
            measured = true;
            i += 1;
        }
        if unit == Unit::Count {
            if let Some(word_unit) = low(i).and_then(Unit::from_word) {
                unit = word_unit;
                measured = word_unit != Unit::Count;
                i += 1;
            }
        }
        if measured && low(i) == Some("of") {
            i += 1;
        }
        let q = quantity?;
        if !q.is_positive() || q > MAX_PER_MESSAGE {
            return None;
        }
    }
    if let Some(times) = times {
        // "2 kg apples x3" is ambiguous: refuse rather than guess.
        if quantity.is_some() {
            return None;
        }
        let times = times?;
        if !times.is_positive() || times > MAX_PER_MESSAGE {
            return None;
        }
        quantity = Some(times);
    }
    // Skip fillers, but never the last word: "add the" is not an item called "the".
    while i + 1 < tokens.len() && low(i).is_some_and(|w| FILLERS.contains(&w)) {
        i += 1;
    }
    let name = tokens[i..]
        .iter()
        .map(|token| match token {
            Token::Word { text, .. } => Some(text.as_str()),
            Token::Quoted(text) => Some(text.as_str()),
            Token::Sep => None,
        })
        .collect::<Option<Vec<_>>>()?
        .join(" ");
    if name.chars().count() > MAX_NAME_CHARS {
        return None;
    }
    ItemSpec::new(&name, quantity, unit)
}

/// A trailing count, `apples x3`, `apples x 3` or `apples ×3`: the tokens before it and the
/// count (`Some(None)` when it is meant as one but cannot be read, `x1.2345`).
fn trailing_times(tokens: &[Token]) -> (&[Token], Option<Option<Quantity>>) {
    let low = |i: usize| tokens.get(i).and_then(Token::low);
    let n = tokens.len();
    if n >= 3 && matches!(low(n - 2), Some("x" | "×")) {
        if let Some(count) = low(n - 1).filter(|w| w.starts_with(|c: char| c.is_ascii_digit())) {
            return (&tokens[..n - 2], Some(Quantity::parse_decimal(count)));
        }
    }
    if n >= 2 {
        if let Some(count) = low(n - 1)
            .and_then(|w| w.strip_prefix('x').or_else(|| w.strip_prefix('×')))
            .filter(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        {
            return (&tokens[..n - 1], Some(Quantity::parse_decimal(count)));
        }
    }
    (tokens, None)
}

/// A number word or numeral, with a unit written straight after it (`2kg`, `3x`).
///
/// `None`: the word is not a quantity (`7up` is a name). `Some(None)`: it is meant as one but
/// cannot be taken (`1.2345 kg`, a number beyond the maximum), so the item is rejected rather
/// than listed under a strange name.
fn number(word: &str) -> Option<Option<(Quantity, Option<Unit>)>> {
    if let Some(n) = NUMBER_WORDS.iter().position(|w| *w == word) {
        return Some(
            u32::try_from(n + 1)
                .ok()
                .map(|n| (Quantity::whole(n), None)),
        );
    }
    let split = word
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(word.len());
    let (digits, suffix) = word.split_at(split);
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let unit = if suffix.is_empty() {
        None
    } else {
        Some(Unit::from_suffix(suffix)?)
    };
    Some(Quantity::parse_decimal(digits).map(|quantity| (quantity, unit)))
}
