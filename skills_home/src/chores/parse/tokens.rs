//! Words of a message for the chores grammar: each word as typed (for names) and lower-cased
//! (for matching); commas and semicolons are separators.

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Word { text: String, low: String },
    Sep,
}

impl Token {
    /// The lower-case word; `""` for a separator.
    pub(crate) fn low(&self) -> &str {
        match self {
            Token::Word { low, .. } => low,
            Token::Sep => "",
        }
    }

    /// The word as typed; `""` for a separator.
    pub(crate) fn text(&self) -> &str {
        match self {
            Token::Word { text, .. } => text,
            Token::Sep => "",
        }
    }
}

/// Splits `text` into words and separators, dropping sentence punctuation and quotes.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for chunk in text.split_whitespace() {
        let mut pieces = chunk.split([',', ';']).peekable();
        while let Some(piece) = pieces.next() {
            let word = piece
                .trim_matches(['"', '\u{201C}', '\u{201D}', '(', ')'])
                .trim_end_matches(['.', '!', '?', ':']);
            if !word.is_empty() {
                tokens.push(Token::Word {
                    text: word.to_owned(),
                    low: word.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'"),
                });
            }
            if pieces.peek().is_some() {
                tokens.push(Token::Sep);
            }
        }
    }
    tokens
}

/// Whether the lower-case words of `tokens` start with `words`.
pub(crate) fn starts_with(tokens: &[Token], words: &[&str]) -> bool {
    tokens.len() >= words.len() && tokens.iter().zip(words).all(|(t, w)| t.low() == *w)
}

/// Whether the lower-case words of `tokens` are exactly `words`.
pub(crate) fn is(tokens: &[Token], words: &[&str]) -> bool {
    tokens.len() == words.len() && starts_with(tokens, words)
}

/// The first of `phrases` that `tokens` start with, and the tokens after it.
pub(crate) fn after_any<'t>(tokens: &'t [Token], phrases: &[&[&str]]) -> Option<&'t [Token]> {
    phrases
        .iter()
        .filter(|p| starts_with(tokens, p))
        .max_by_key(|p| p.len())
        .map(|p| &tokens[p.len()..])
}

/// The tokens before the last of `phrases` that `tokens` end with.
pub(crate) fn before_any<'t>(tokens: &'t [Token], phrases: &[&[&str]]) -> Option<&'t [Token]> {
    phrases
        .iter()
        .filter(|p| {
            tokens.len() >= p.len()
                && tokens[tokens.len() - p.len()..]
                    .iter()
                    .zip(p.iter())
                    .all(|(t, w)| t.low() == *w)
        })
        .max_by_key(|p| p.len())
        .map(|p| &tokens[..tokens.len() - p.len()])
}

/// The words as typed, joined by spaces (separators dropped).
pub(crate) fn text_of(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(Token::text)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
