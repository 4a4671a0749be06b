//! Splitting a message into words, quoted names and separators.

/// One token of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// A word: `text` as typed (for names), `low` lower-cased with typographic apostrophes
    /// made plain (for matching).
    Word { text: String, low: String },
    /// Text between double quotes, kept whole: never split on "and", never read as a quantity.
    Quoted(String),
    /// A comma or semicolon.
    Sep,
}

impl Token {
    /// The lower-case form of a word; `None` for quoted text and separators.
    pub(super) fn low(&self) -> Option<&str> {
        match self {
            Token::Word { low, .. } => Some(low),
            _ => None,
        }
    }

    fn word(text: &str) -> Option<Token> {
        // Sentence punctuation is not part of any name ("add milk!", "what's on the list?").
        let text = text.trim_end_matches(['.', '!', '?', ':']);
        if text.is_empty() {
            return None;
        }
        let low = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
        Some(Token::Word {
            text: text.to_owned(),
            low,
        })
    }
}

/// Tokenizes a message. Whitespace separates words; `,` and `;` are separators; `"…"` or
/// `“…”` enclose a name kept whole (an unclosed quote runs to the end).
pub(super) fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        tokens.extend(Token::word(word));
        word.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            ',' | ';' => {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Sep);
            }
            '"' | '\u{201C}' | '\u{201D}' => {
                flush(&mut word, &mut tokens);
                let quoted: String = chars
                    .by_ref()
                    .take_while(|c| !matches!(c, '"' | '\u{201D}'))
                    .collect();
                let quoted = quoted.split_whitespace().collect::<Vec<_>>().join(" ");
                if !quoted.is_empty() {
                    tokens.push(Token::Quoted(quoted));
                }
            }
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

/// The lower-case words of `tokens` when they are all plain words.
pub(super) fn plain_words(tokens: &[Token]) -> Option<Vec<&str>> {
    tokens.iter().map(Token::low).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str) -> Token {
        Token::Word {
            text: text.to_owned(),
            low: text.to_lowercase(),
        }
    }

    #[test]
    fn commas_quotes_and_punctuation_are_tokenized() {
        assert_eq!(
            tokenize("Add Milk, \"salt and  pepper\" & eggs!"),
            vec![
                word("Add"),
                word("Milk"),
                Token::Sep,
                Token::Quoted("salt and pepper".to_owned()),
                word("&"),
                word("eggs"),
            ]
        );
    }

    #[test]
    fn typographic_apostrophes_match_plain_ones() {
        assert_eq!(
            tokenize("What\u{2019}s").first().and_then(Token::low),
            Some("what's")
        );
    }
}
