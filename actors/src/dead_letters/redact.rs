//! Secrets removed from what operators see of a dead letter: the API, the CLI and the audit
//! log show entries only through [`redact`].
//!
//! A dead letter may hold a raw webhook body (Slack's verification `token`, a slash command's
//! `response_url`, which lets anyone answer in its channel), a reply envelope or an error text.
//! What is removed:
//! * the value of every JSON field or form field whose name says secret (`token`, `…_token`,
//!   `response_url`, `authorization`, `password`, `secret`, `api_key`, `cookie`, …);
//! * in any text: `Bearer …` credentials, Slack tokens (`xoxb-…`, `xapp-…`) and Slack
//!   response URLs (`https://hooks.slack.com/…`).
//!
//! Strings that hold JSON (a dead letter's payload is an envelope serialized inside it) are
//! expanded and redacted in turn, so nothing hides one level down and the operator reads
//! structure instead of escaped quotes.

use serde_json::Value;

/// What a removed secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Field names (lower case) whose values are secrets wherever they appear.
const SECRET_FIELDS: &[&str] = &[
    "response_url",
    "authorization",
    "cookie",
    "api_key",
    "apikey",
];
/// Parts of field names that make them secret (`bot_token`, `client_secret`, `db_password`).
const SECRET_PARTS: &[&str] = &["token", "secret", "password", "passwd"];
/// Prefixes of Slack tokens, found in any text.
const TOKEN_PREFIXES: &[&str] = &[
    "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxe-", "xoxs-", "xapp-",
];
/// Secret URLs, found in any text (a slash command's `response_url`).
const SECRET_URLS: &[&str] = &["https://hooks.slack.com/"];

/// Whether a field called `name` holds a secret.
pub fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_FIELDS.contains(&name.as_str()) || SECRET_PARTS.iter().any(|part| name.contains(part))
}

/// `text` (a dead letter's payload, JSON or not) with its secrets removed, as JSON: the parsed
/// document when it is JSON, else a string.
pub fn redact(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ (Value::Object(_) | Value::Array(_))) => redact_value(value),
        _ => Value::String(redact_text(text)),
    }
}

/// A JSON document with its secrets removed (see the module doc).
pub fn redact_value(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| {
                    let value = if is_secret_field(&name) && !value.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact_value(value)
                    };
                    (name, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_value).collect()),
        Value::String(text) => redact(&text),
        other => other,
    }
}

/// A text with its secrets removed: secret fields of a form body (`token=…&response_url=…`),
/// bearer credentials, Slack tokens and response URLs.
pub fn redact_text(text: &str) -> String {
    let text = if looks_like_form(text) {
        redact_form(text)
    } else {
        text.to_owned()
    };
    let text = redact_after(&text, "Bearer ", |c| c.is_whitespace() || c == '"');
    let text = TOKEN_PREFIXES.iter().fold(text, |text, prefix| {
        redact_from(&text, prefix, |c| !(c.is_ascii_alphanumeric() || c == '-'))
    });
    SECRET_URLS.iter().fold(text, |text, url| {
        redact_from(&text, url, |c| {
            c.is_whitespace() || matches!(c, '"' | '\'' | '&' | '<' | '>')
        })
    })
}

/// A URL-encoded form: `name=value` pairs joined by `&`, no spaces.
fn looks_like_form(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(char::is_whitespace)
        && text.split('&').all(|pair| pair.contains('='))
}

fn redact_form(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_field(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Replaces what follows each `marker` (up to a character that `ends`) with [`REDACTED`].
fn redact_after(text: &str, marker: &str, ends: impl Fn(char) -> bool) -> String {
    replace_runs(text, marker, ends, true)
}

/// Replaces each run starting with `marker` (up to a character that `ends`) with [`REDACTED`].
fn redact_from(text: &str, marker: &str, ends: impl Fn(char) -> bool) -> String {
    replace_runs(text, marker, ends, false)
}

fn replace_runs(text: &str, marker: &str, ends: impl Fn(char) -> bool, keep: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        if keep {
            out.push_str(marker);
        }
        let secret = &from[marker.len()..];
        let len = secret.find(&ends).unwrap_or(secret.len());
        out.push_str(REDACTED);
        rest = &secret[len..];
    }
    out.push_str(rest);
    out
}

/// `value` as one line of at most `max` characters (an ellipsis shows it was cut).
pub fn preview(value: &Value, max: usize) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_removed_at_every_depth_and_inside_embedded_json() {
        let inner = r#"{"token":"verif-123","event":{"text":"hi","bot_token":"b"}}"#;
        let outer = serde_json::json!({ "payload": inner, "error": "boom", "password": "pw" });
        let shown = redact(&outer.to_string()).to_string();
        for secret in ["verif-123", "\"b\"", "pw"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("\"text\":\"hi\""), "{shown}");
        assert!(shown.contains("boom"), "{shown}");
    }

    #[test]
    fn form_bodies_tokens_bearers_and_response_urls_are_removed_from_text() {
        let form =
            "token=abc123&team_id=T1&response_url=https%3A%2F%2Fhooks.slack.com%2Fx&text=add+milk";
        let shown = redact_text(form);
        assert_eq!(
            shown,
            "token=[redacted]&team_id=T1&response_url=[redacted]&text=add+milk"
        );
        let text = "sent with Bearer sk-live-1 to https://hooks.slack.com/commands/T/1/x using xoxb-1-2-abc.";
        let shown = redact_text(text);
        assert_eq!(
            shown,
            "sent with Bearer [redacted] to [redacted] using [redacted]."
        );
    }

    #[test]
    fn a_preview_is_bounded() {
        let long = Value::String("x".repeat(500));
        assert_eq!(preview(&long, 10).chars().count(), 10);
        assert_eq!(preview(&Value::String("short".into()), 10), "short");
    }
}
