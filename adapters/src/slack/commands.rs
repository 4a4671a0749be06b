//! Slash commands (`/alfred …`): Slack posts a form with the command, its text and a
//! `response_url`, and wants an answer within 3 seconds.
//!
//! * `ping` is answered `pong` in the HTTP response itself, touching neither the bus nor the
//!   store: an operator's check that Slack reaches Alfred and the signature is right;
//! * `help` (or nothing) lists what can be typed;
//! * anything else is acknowledged at once ("On it…") and stored as an [`InboundEnvelope`]
//!   like a direct message; its replies go back through the `response_url` (see
//!   [`ResponseUrls`](super::ResponseUrls)).
//!
//! Answers are ephemeral (only the person who typed the command sees them), as Slack's
//! guidelines ask, unless the command starts with `public` (`/alfred public deals closing this
//! week`): then the answer is posted `in_channel`, for everyone in the channel.

use alfred_actors::messages::{InboundEnvelope, InboundKind, Platform, Sender};
use serde::{Deserialize, Serialize};

/// The answer to `ping`.
pub const PONG: &str = "pong";
/// The acknowledgement of a command whose answer follows through `response_url`.
pub const ON_IT: &str = "On it…";

/// One slash command, as Slack posts it (form-encoded). Fields Alfred does not use are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct SlashCommand {
    pub team_id: String,
    pub channel_id: String,
    pub user_id: String,
    #[serde(default)]
    pub user_name: Option<String>,
    /// The command as typed, e.g. `/alfred`.
    pub command: String,
    /// Everything after the command.
    #[serde(default)]
    pub text: String,
    /// Where to post delayed answers (valid 30 minutes, 5 times).
    pub response_url: String,
    /// Unique per invocation: the de-duplication key.
    pub trigger_id: String,
}

/// Who sees an answer to a slash command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Only the person who typed the command (Slack's `ephemeral`).
    #[default]
    Ephemeral,
    /// Everyone in the channel (Slack's `in_channel`), asked for with `public`.
    InChannel,
}

impl Visibility {
    /// Slack's `response_type`.
    pub fn response_type(self) -> &'static str {
        match self {
            Visibility::Ephemeral => "ephemeral",
            Visibility::InChannel => "in_channel",
        }
    }
}

/// The word that asks for an answer everyone in the channel sees.
pub const PUBLIC: &str = "public";

/// An immediate answer in the HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandReply {
    /// `ephemeral` (only the caller sees it) or `in_channel`.
    pub response_type: String,
    pub text: String,
}

impl CommandReply {
    /// An answer only the person who typed the command sees.
    pub fn ephemeral(text: impl Into<String>) -> Self {
        CommandReply::shown(Visibility::Ephemeral, text)
    }

    /// An answer with the given visibility.
    pub fn shown(visibility: Visibility, text: impl Into<String>) -> Self {
        CommandReply {
            response_type: visibility.response_type().to_owned(),
            text: text.into(),
        }
    }
}

/// What to do with a slash command.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandAction {
    /// Answer now; nothing is stored.
    Answer(CommandReply),
    /// Store the envelope, answer [`ON_IT`] now, and send the replies to `response_url`.
    Defer {
        envelope: Box<InboundEnvelope>,
        response_url: String,
        /// Who sees the replies posted to `response_url`.
        visibility: Visibility,
    },
}

/// Parses a form-encoded slash command body.
pub fn parse_command(body: &[u8]) -> Result<SlashCommand, String> {
    let text = std::str::from_utf8(body).map_err(|error| error.to_string())?;
    actix_web::web::Query::<SlashCommand>::from_query(text)
        .map(actix_web::web::Query::into_inner)
        .map_err(|error| format!("slash command body is not a valid form: {error}"))
}

/// True for Slack's certificate check of the command URL (`ssl_check=1` in the form).
pub fn is_ssl_check(body: &[u8]) -> bool {
    body.split(|byte| *byte == b'&')
        .any(|field| field == b"ssl_check=1")
}

/// Decides a command's answer; `now` is Unix seconds, the envelope's timestamp.
pub fn decide(command: SlashCommand, now: i64, traceparent: Option<&str>) -> CommandAction {
    let (visibility, text) = split_visibility(command.text.trim());
    let word = text.split_whitespace().next().unwrap_or_default();
    if text.eq_ignore_ascii_case("ping") {
        return CommandAction::Answer(CommandReply::shown(visibility, PONG));
    }
    if text.is_empty() || word.eq_ignore_ascii_case("help") {
        return CommandAction::Answer(CommandReply::ephemeral(help_text(&command.command)));
    }
    let envelope = InboundEnvelope {
        platform: Platform::Slack,
        message_id: format!("{}:{}", command.team_id, command.trigger_id),
        account: command.team_id,
        // An answer only the caller sees is the caller's conversation: should the response URL
        // be gone (a restart), the reply falls back to chat.postMessage to the user id — their
        // direct messages with Alfred — never to the channel. A public answer's is the channel.
        conversation: match visibility {
            Visibility::Ephemeral => command.user_id.clone(),
            Visibility::InChannel => command.channel_id,
        },
        is_group: false,
        private: visibility == Visibility::Ephemeral,
        thread: None,
        sender: Sender {
            id: command.user_id,
            name: command.user_name,
        },
        timestamp: now,
        kind: InboundKind::Text {
            body: text.to_owned(),
        },
        traceparent: traceparent.map(str::to_owned),
    };
    CommandAction::Defer {
        envelope: Box::new(envelope),
        response_url: command.response_url,
        visibility,
    }
}

/// `public <request>` → (in channel, request); anything else is ephemeral and unchanged.
/// `public` alone is a request of its own (help explains it), not an empty public one.
fn split_visibility(text: &str) -> (Visibility, &str) {
    let mut parts = text.splitn(2, char::is_whitespace);
    match (parts.next(), parts.next().map(str::trim)) {
        (Some(word), Some(rest)) if word.eq_ignore_ascii_case(PUBLIC) && !rest.is_empty() => {
            (Visibility::InChannel, rest)
        }
        _ => (Visibility::Ephemeral, text),
    }
}

/// The commands, named with the command as the workspace registered it (`/alfred`).
pub fn help_text(command: &str) -> String {
    let command = if command.trim().is_empty() {
        "/alfred"
    } else {
        command.trim()
    };
    format!(
        "What you can type after {command}:\n\
         • `{command} ping` — check that Alfred is listening (answered at once)\n\
         • `{command} help` — this list\n\
         • `{command} <request>` — anything else is passed to Alfred, e.g. `{command} inbox`; \
         the answer appears here when it is ready\n\
         • `{command} public <request>` — the same, with the answer shown to everyone in the \
         channel (answers are private to you otherwise)\n\
         You can also mention Alfred in a channel or write to it in a direct message."
    )
}
