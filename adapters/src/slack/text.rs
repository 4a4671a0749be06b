//! What Alfred's text becomes on Slack's wire, both ways out of Alfred's control.
//!
//! * [`escape`] — every reply's text, before `chat.postMessage` or a `response_url`: Slack reads
//!   `<…>` as a mention, a channel-wide ping (`<!channel>`, `<!here>`, `<!everyone>`) or a link,
//!   and `&` as the start of an entity. Replies echo what users wrote (a list item, a mail's
//!   subject, "Sorry, I couldn't do that: …"), so escaping happens here, once, for every skill:
//!   nobody can make Alfred ping a channel. Alfred writes no `<…>` markup of its own; its `*bold*`
//!   and `•` are not touched. Plain `@channel` stays text: Alfred never sets `link_names`.
//! * [`redact`] — a signed request kept on a dead-letter stream loses Slack's legacy
//!   verification `token` and the live `response_url` (an hour of posting into the channel for
//!   whoever reads the stream); the rest is kept for the operator.

/// `text` with Slack's three control characters escaped, as Slack's formatting rules ask
/// (<https://api.slack.com/reference/surfaces/formatting#escaping>): `&`, `<`, `>` only.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Fields of a Slack request that must not outlive it.
const SECRET_FIELDS: &[&str] = &["token", "response_url"];

/// What replaces a removed JSON value.
pub const REMOVED: &str = "[removed]";

/// A signed Slack body (JSON for events, a form for slash commands) without its `token` and
/// `response_url`: form pairs are dropped, JSON string values replaced by [`REMOVED`]. Works on
/// text, not on a parse, because a dead-lettered body is often one that does not parse.
pub fn redact(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        redact_json(&text).into_bytes()
    } else {
        redact_form(&text).into_bytes()
    }
}

fn redact_form(text: &str) -> String {
    text.split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !SECRET_FIELDS.contains(&key.trim())
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Replaces the string value of every `"token"` or `"response_url"` key, at any depth.
fn redact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(quote) = rest.find('"') {
        out.push_str(&rest[..quote]);
        rest = &rest[quote..];
        let Some((string, after)) = split_string(rest) else {
            break;
        };
        out.push_str(string);
        rest = after;
        let key = &string[1..string.len() - 1];
        if !SECRET_FIELDS.contains(&key) {
            continue;
        }
        let gap = rest.len() - rest.trim_start().len();
        let after_gap = &rest[gap..];
        let Some(after_colon) = after_gap.strip_prefix(':') else {
            continue;
        };
        let space = after_colon.len() - after_colon.trim_start().len();
        let value = &after_colon[space..];
        if !value.starts_with('"') {
            continue;
        }
        out.push_str(&rest[..gap + 1 + space]);
        out.push('"');
        out.push_str(REMOVED);
        out.push('"');
        // An unterminated value is dropped with everything after it.
        rest = split_string(value).map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

/// Splits `text`, which starts with `"`, after the end of that JSON string.
fn split_string(text: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(text.split_at(i + 1)),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert_eq!(
            escape("<!channel> <!here> <@U123|bob> a & b > c *bold* • ünï"),
            "&lt;!channel&gt; &lt;!here&gt; &lt;@U123|bob&gt; a &amp; b &gt; c *bold* • ünï"
        );
    }

    #[test]
    fn a_command_form_loses_its_token_and_response_url() {
        let form = "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&text=inbox&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234&trigger_id=1";
        assert_eq!(
            String::from_utf8(redact(form.as_bytes())).unwrap(),
            "team_id=T0001&text=inbox&trigger_id=1"
        );
    }

    #[test]
    fn json_loses_token_and_response_url_at_any_depth_even_when_it_does_not_parse() {
        let body = r#"{"token" : "gIkuvaNzQIHg97ATvDxqgjtO","team_id":"T1","event":{"text":"say \"token\"","response_url":"https://hooks.slack.com/x"},"broken"#;
        let redacted = String::from_utf8(redact(body.as_bytes())).unwrap();
        assert_eq!(
            redacted,
            r#"{"token" : "[removed]","team_id":"T1","event":{"text":"say \"token\"","response_url":"[removed]"},"broken"#
        );
    }

    #[test]
    fn an_unterminated_secret_is_dropped_with_the_rest() {
        let redacted = String::from_utf8(redact(br#"{"a":1,"token":"gIku"#)).unwrap();
        assert_eq!(redacted, r#"{"a":1,"token":"[removed]""#);
    }
}
