//! The CRM's deterministic grammar (case-insensitive; a trailing `?` or `.` is ignored):
//!
//! | text | query |
//! |---|---|
//! | `who is Jane Doe`, `contact jane@acme.com`, `find contact Jane` | [`CrmQuery::Contact`] |
//! | `open deals for Acme` (also `at`, `with`) | [`CrmQuery::OpenDeals`] |
//! | `deals closing this week`, `closing this month` | [`CrmQuery::Closing`] |
//! | `deals over 10k`, `deals above 10,000 EUR`, `deals over EUR 5000` | [`CrmQuery::Over`] |
//! | `my deals`, `my open deals` | [`CrmQuery::Mine`] |
//!
//! Anything else is not claimed, so other skills (and the LLM) can have it.

use super::model::{is_email, Amount, CrmQuery, Period};

/// The query `text` asks, or `None` when the grammar does not understand it.
pub fn parse(text: &str) -> Option<CrmQuery> {
    let text = text.trim().trim_end_matches(['?', '.', '!']).trim();
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    // Keep the original spelling of names (the reply shows what was asked).
    let original: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["my", "deals"] | ["my", "open", "deals"] => Some(CrmQuery::Mine),
        ["deals", "closing", "this", period] | ["closing", "this", period] => match *period {
            "week" => Some(CrmQuery::Closing(Period::Week)),
            "month" => Some(CrmQuery::Closing(Period::Month)),
            _ => None,
        },
        ["open", "deals", "for" | "at" | "with", rest @ ..] if !rest.is_empty() => {
            Some(CrmQuery::OpenDeals {
                company: original[3..].join(" "),
            })
        }
        ["deals", "over" | "above", rest @ ..] => over(rest),
        ["deals", "more", "than", rest @ ..] => over(rest),
        ["who", "is", rest @ ..] if !rest.is_empty() => contact(&original[2..]),
        ["contact", rest @ ..] if !rest.is_empty() => contact(&original[1..]),
        ["find", "contact", rest @ ..] if !rest.is_empty() => contact(&original[2..]),
        _ => None,
    }
}

/// A contact question's subject: one e-mail address, or a name of letters (no digits, no
/// `@`), so "who is on call at 5" is not claimed.
fn contact(words: &[&str]) -> Option<CrmQuery> {
    if let [single] = words {
        if single.contains('@') {
            return is_email(single).then(|| CrmQuery::Contact(single.to_lowercase()));
        }
    }
    let name_like = words.len() <= 4
        && words.iter().all(|word| {
            word.chars()
                .all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '.'))
        });
    name_like.then(|| CrmQuery::Contact(words.join(" ")))
}

/// `10k`, `10,000 EUR`, `EUR 10,000`.
fn over(words: &[&str]) -> Option<CrmQuery> {
    let (amount, currency) = match words {
        [amount] => (*amount, None),
        [amount, currency] if is_currency(currency) => (*amount, Some(*currency)),
        [currency, amount] if is_currency(currency) => (*amount, Some(*currency)),
        _ => return None,
    };
    Some(CrmQuery::Over {
        amount: Amount::parse(amount, true)?,
        currency: currency.map(str::to_uppercase),
    })
}

/// Whether `word` is a three-letter currency code.
pub fn is_currency(word: &str) -> bool {
    word.len() == 3 && word.chars().all(|c| c.is_ascii_alphabetic())
}
