//! Raw RFC 5322 mail → [`Mail`], the part of a mail the inbox stores and triages.
//!
//! Parsing never fails: whatever mail-parser cannot read is left empty.
//!
//! * **Message-ID** — as `<id>`; a mail without one (or with an empty one) gets
//!   `<sha256-hex-of-the-raw-bytes@alfred.invalid>`, so the same bytes fetched again still
//!   de-duplicate. An absurdly long id (over [`MAX_MESSAGE_ID`] bytes) is replaced the same way
//!   by a hash of the id, to stay indexable.
//! * **From** — the first address of `From:` (encoded words decoded); none → `from_addr` "".
//! * **Subject** — decoded (`=?UTF-8?B?…?=`), single-line, at most [`MAX_SUBJECT`] characters.
//! * **Body** — the first text/plain body part, else the HTML part with its tags stripped
//!   (mail-parser's HTML-to-text). Quoted lines (`> …`) are dropped, so a reply is triaged on
//!   what it adds; then whitespace is collapsed and the text cut to [`MAX_BODY`] characters.
//! * Control characters (a NUL would be refused by Postgres) become spaces everywhere.
//! * **Set aside** (checked in this order):
//!   [`SetAside::Newsletter`] — `List-Unsubscribe` or `List-Id`, or `Precedence: bulk|list`;
//!   [`SetAside::Automated`] — `Auto-Submitted` other than `no`, or `Precedence: junk`;
//!   [`SetAside::NoReply`] — a sender such as `no-reply@`, `noreply@`, `do-not-reply@`,
//!   `donotreply@`, `mailer-daemon@`, `postmaster@`, `notifications@`, `bounce@` (see
//!   [`NO_REPLY_LOCAL_PARTS`]; a `+tag` is ignored, and `noreply-…`/`no-reply-…` count too).
//! * **Important** — `Importance: high`, `X-Priority: 1` or `2`, or `Priority: urgent`.

use chrono::{DateTime, Utc};
use mail_parser::{Message, MessageParser};
use sha2::{Digest, Sha256};

/// Longest body excerpt kept, in characters.
pub const MAX_BODY: usize = 4000;
/// Longest subject kept, in characters.
pub const MAX_SUBJECT: usize = 500;
/// Longest display name kept, in characters.
const MAX_NAME: usize = 200;
/// Longest address kept, in characters.
const MAX_ADDR: usize = 320;
/// Longest Message-ID kept as is, in bytes; a longer one is replaced by its hash.
pub const MAX_MESSAGE_ID: usize = 512;

/// Local parts of senders nobody can answer (compared lower-case, without a `+tag`).
pub const NO_REPLY_LOCAL_PARTS: &[&str] = &[
    "no-reply",
    "noreply",
    "no_reply",
    "do-not-reply",
    "donotreply",
    "do_not_reply",
    "mailer-daemon",
    "postmaster",
    "notifications",
    "notification",
    "notify",
    "bounce",
    "bounces",
];

/// A parsed mail: what is stored and triaged.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    /// `<id>` from `Message-ID`, or the synthetic `<sha256hex@alfred.invalid>`.
    pub message_id: String,
    /// The sender's display name, if the mail gave one.
    pub from_name: Option<String>,
    /// The sender's address; "" when the mail has no `From` (shown as "unknown sender").
    pub from_addr: String,
    /// The decoded subject; "" when there is none (shown as "(no subject)").
    pub subject: String,
    /// `Date:`, when present and valid.
    pub sent_at: Option<DateTime<Utc>>,
    /// Plain text (text/plain part, or the HTML stripped of tags), without quoted lines,
    /// whitespace-collapsed, at most [`MAX_BODY`] characters.
    pub body: String,
    /// Marked high priority: `Importance: high`, `X-Priority: 1`/`2` or `Priority: urgent`.
    pub important: bool,
    /// Why the mail is set aside (never sent to the LLM), if it is.
    pub set_aside: Option<SetAside>,
}

/// Why a mail is set aside rather than triaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAside {
    /// A mailing list or bulk mail: `List-Unsubscribe` or `List-Id`, `Precedence: bulk|list`.
    Newsletter,
    /// From an address nobody reads: `no-reply@`, `mailer-daemon@`, `notifications@`, ….
    NoReply,
    /// Sent by a machine: `Auto-Submitted` other than `no`, `Precedence: junk`.
    Automated,
}

impl SetAside {
    /// The stored name (`work_mails.set_aside`).
    pub fn as_str(self) -> &'static str {
        match self {
            SetAside::Newsletter => "newsletter",
            SetAside::NoReply => "no_reply",
            SetAside::Automated => "automated",
        }
    }

    /// The reason from its stored name.
    pub fn from_str_opt(name: &str) -> Option<SetAside> {
        match name {
            "newsletter" => Some(SetAside::Newsletter),
            "no_reply" => Some(SetAside::NoReply),
            "automated" => Some(SetAside::Automated),
            _ => None,
        }
    }

    /// How a person reads it: "newsletter", "no-reply sender", "automated".
    pub fn label(self) -> &'static str {
        match self {
            SetAside::Newsletter => "newsletter",
            SetAside::NoReply => "no-reply sender",
            SetAside::Automated => "automated",
        }
    }
}

/// Parses a raw mail. Never fails; see the module documentation for every rule.
pub fn parse_mail(raw: &[u8]) -> Mail {
    let synthetic = || format!("<{}@alfred.invalid>", hex::encode(Sha256::digest(raw)));
    let Some(message) = MessageParser::default().parse(raw) else {
        return Mail {
            message_id: synthetic(),
            from_name: None,
            from_addr: String::new(),
            subject: String::new(),
            sent_at: None,
            body: String::new(),
            important: false,
            set_aside: None,
        };
    };
    let message_id = match message.message_id().map(clean_line) {
        Some(id) if !id.is_empty() && id.len() <= MAX_MESSAGE_ID => format!("<{id}>"),
        Some(id) if !id.is_empty() => format!(
            "<{}@alfred.invalid>",
            hex::encode(Sha256::digest(id.as_bytes()))
        ),
        _ => synthetic(),
    };
    let sender = message.from().and_then(|from| from.first());
    let from_name = sender
        .and_then(|addr| addr.name())
        .map(|name| cut(&clean_line(name.trim_matches('"')), MAX_NAME))
        .filter(|name| !name.is_empty());
    let from_addr = sender
        .and_then(|addr| addr.address())
        .map(|addr| cut(&clean_line(addr), MAX_ADDR))
        .unwrap_or_default();
    let subject = message
        .subject()
        .map(|subject| cut(&clean_line(subject), MAX_SUBJECT))
        .unwrap_or_default();
    let sent_at = message
        .date()
        .filter(|date| date.is_valid())
        .and_then(|date| DateTime::from_timestamp(date.to_timestamp(), 0));
    let body = body(&message);
    let set_aside = set_aside(&message, &from_addr);
    let important = important(&message);
    Mail {
        message_id,
        from_name,
        from_addr,
        subject,
        sent_at,
        body,
        important,
        set_aside,
    }
}

/// The body excerpt: text/plain, else stripped HTML; quoted lines dropped; collapsed; cut.
fn body(message: &Message<'_>) -> String {
    // `body_text` turns an HTML-only body into text (tags, styles and scripts removed).
    let Some(text) = message.body_text(0) else {
        return String::new();
    };
    let unquoted: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('>'))
        .collect();
    cut(&clean_line(&unquoted.join("\n")), MAX_BODY)
}

/// A header's raw value, trimmed and lower-case (`None` when absent).
fn header(message: &Message<'_>, name: &str) -> Option<String> {
    message
        .header_raw(name)
        .map(|value| value.trim().to_lowercase())
}

/// A header's first word, lower-case (`bulk` of `Precedence: bulk (mailing)`); "" when absent.
fn header_word(message: &Message<'_>, name: &str) -> String {
    header(message, name)
        .and_then(|value| {
            value
                .split(|c: char| c.is_whitespace() || matches!(c, ';' | '(' | ','))
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

fn set_aside(message: &Message<'_>, from_addr: &str) -> Option<SetAside> {
    let precedence = header_word(message, "Precedence");
    let listed =
        message.header_raw("List-Unsubscribe").is_some() || message.header_raw("List-Id").is_some();
    if listed || precedence == "bulk" || precedence == "list" {
        return Some(SetAside::Newsletter);
    }
    let auto_submitted = header_word(message, "Auto-Submitted");
    if !auto_submitted.is_empty() && auto_submitted != "no" || precedence == "junk" {
        return Some(SetAside::Automated);
    }
    is_no_reply(from_addr).then_some(SetAside::NoReply)
}

/// Whether an address is one nobody reads (see [`NO_REPLY_LOCAL_PARTS`]).
pub fn is_no_reply(addr: &str) -> bool {
    let Some((local, _domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let local = local.to_lowercase();
    let local = local.split('+').next().unwrap_or_default();
    NO_REPLY_LOCAL_PARTS.contains(&local)
        || [
            "noreply",
            "no-reply",
            "no_reply",
            "donotreply",
            "do-not-reply",
        ]
        .iter()
        .any(|prefix| {
            local
                .strip_prefix(prefix)
                .and_then(|rest| rest.chars().next())
                .is_some_and(|next| matches!(next, '-' | '_' | '.'))
        })
}

fn important(message: &Message<'_>) -> bool {
    let importance = header_word(message, "Importance");
    let priority = header_word(message, "Priority");
    let x_priority = header(message, "X-Priority")
        .and_then(|value| value.chars().next())
        .and_then(|first| first.to_digit(10));
    importance == "high" || priority == "urgent" || matches!(x_priority, Some(1 | 2))
}

/// One line: control characters and runs of whitespace become one space; trimmed.
pub(crate) fn clean_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// At most `max` characters; a cut text ends with "…".
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}
