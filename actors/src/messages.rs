//! The typed envelopes that travel between actors and through the streams.
//!
//! Raw platform payloads are parsed once, at the edge (the `adapters` crate), into these types.
//! Inside the runtime nothing handles raw JSON: stream entries carry these envelopes serialized
//! with serde (JSON, so an operator can read an entry with `XRANGE`), and actors exchange them as
//! `actix::Message`s.

use serde::{Deserialize, Serialize};

/// The chat platform a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    #[serde(rename = "whatsapp")]
    WhatsApp,
    Slack,
    /// The interactive `alfred chat` console.
    Console,
    /// Timed jobs fired by the scheduler.
    Scheduler,
}

impl Platform {
    /// Stable lower-case name used in tables, stream entries and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::WhatsApp => "whatsapp",
            Platform::Slack => "slack",
            Platform::Console => "console",
            Platform::Scheduler => "scheduler",
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who sent a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// Platform user id (WhatsApp `wa_id`, Slack user id, console user name).
    pub id: String,
    /// Display name when the platform gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One inbound event, parsed from a platform payload. Every variant that a user can send is kept
/// so that nothing is silently dropped at the edge; the orchestrator decides what to answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundEnvelope {
    pub platform: Platform,
    /// The platform's own id of this event, the de-duplication key (`wamid…` on WhatsApp; for a
    /// status callback `"{wamid}:{status}"`).
    pub message_id: String,
    /// Which of our accounts received it (WhatsApp phone number id, Slack team id).
    pub account: String,
    /// The conversation replies go to and ordering is kept within (WhatsApp: the sender's
    /// `wa_id` for a direct chat, the group id for a group).
    pub conversation: String,
    /// True when the conversation is a group chat: Alfred then answers only messages that
    /// address it with an invoke prefix.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_group: bool,
    /// True when only the sender sees the replies: a direct chat with Alfred, or a Slack slash
    /// command answered to its caller alone. Skills that show one person's data (the work
    /// inbox) answer only here. Unknown (an older entry) counts as shared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// The thread replies go to, where the platform has threads (Slack: the `thread_ts` of the
    /// thread a message was written in; for a mention in a channel, the mention's own `ts`, so
    /// that Alfred answers under it instead of in the channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    pub sender: Sender,
    /// Platform timestamp, seconds since the Unix epoch.
    pub timestamp: i64,
    pub kind: InboundKind,
    /// W3C `traceparent` of the span that received the message, so one trace follows it from
    /// webhook to outbound send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// What an inbound event carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboundKind {
    Text {
        body: String,
    },
    /// A tap on a reply button or list row.
    InteractiveReply {
        id: String,
        title: String,
    },
    Reaction {
        /// The message reacted to.
        message_id: String,
        /// Empty when a reaction was removed.
        emoji: String,
    },
    Media {
        /// `image`, `audio`, `video`, `document` or `sticker`.
        media_type: String,
        media_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
        /// Hex SHA-256 of the file as the platform gave it (WhatsApp's `sha256`), checked
        /// against the downloaded bytes before a voice note is transcribed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
    /// A delivery status callback for a message we sent (`sent`, `delivered`, `read`, `failed`).
    Status {
        /// The wamid of our outbound message.
        message_id: String,
        status: String,
        recipient: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<String>,
        /// What we attached to the outbound message (`biz_opaque_callback_data` on WhatsApp):
        /// `alfred-outbox:{outbox_id}`, so a status tells which outbox row it confirms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callback_data: Option<String>,
    },
    /// A message type Alfred does not handle (kept so the user still gets an answer).
    Unsupported {
        type_name: String,
    },
    /// A scheduled job run fired by the scheduler (the morning briefing, chore reminders);
    /// its replies go to the envelope's conversation.
    Job {
        /// The job's name, e.g. `briefing`; the skill whose route lists it handles the run.
        job: String,
        /// The household it runs for.
        household: String,
        /// Identifies the run: the household's local date, e.g. `2026-11-26`.
        run_key: String,
    },
}

impl InboundKind {
    /// True for events a person sent, which deserve an answer; false for status callbacks.
    pub fn is_from_person(&self) -> bool {
        !matches!(self, InboundKind::Status { .. } | InboundKind::Job { .. })
    }
}

/// One reply to send, as committed to the outbox and published on `alfred-outbox`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundEnvelope {
    /// Primary key of the outbox row; the sender claims the row by this id before sending, so a
    /// duplicate stream entry never causes a second send.
    pub outbox_id: i64,
    pub platform: Platform,
    /// Our account to send from (WhatsApp phone number id).
    pub account: String,
    /// Recipient (WhatsApp `wa_id`, Slack channel).
    pub to: String,
    /// Whether `to` is a group chat: WhatsApp addresses a group with `recipient_type: group`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub to_group: bool,
    /// The inbound message this answers; WhatsApp replies quote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The thread to post in (Slack `thread_ts`), when the message answered was in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    pub body: OutboundBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// The `callback_data` prefix that ties a platform status back to an outbox row.
pub const OUTBOX_CALLBACK_PREFIX: &str = "alfred-outbox:";

impl OutboundEnvelope {
    /// The opaque tracking string sent with this message and echoed in the platform's status
    /// callbacks (see [`InboundKind::Status::callback_data`]).
    pub fn callback_data(&self) -> String {
        format!("{OUTBOX_CALLBACK_PREFIX}{}", self.outbox_id)
    }
}

/// The outbox id named by a status callback's `callback_data`, when it is one of ours.
pub fn outbox_id_of(callback_data: &str) -> Option<i64> {
    callback_data
        .strip_prefix(OUTBOX_CALLBACK_PREFIX)?
        .parse()
        .ok()
}

/// What an outbound message carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundBody {
    Text {
        text: String,
    },
    /// A message template approved by the platform (WhatsApp), the only kind of message
    /// allowed outside the 24-hour customer-service window.
    Template {
        name: String,
        /// Language code, e.g. `en_US`.
        language: String,
        /// The body's `{{1}}`, `{{2}}`, … in order.
        parameters: Vec<String>,
    },
}

impl OutboundBody {
    /// The text a person reads, for logs and the console.
    pub fn display_text(&self) -> String {
        match self {
            OutboundBody::Text { text } => text.clone(),
            OutboundBody::Template {
                name, parameters, ..
            } => {
                format!("[template {name}] {}", parameters.join(" | "))
            }
        }
    }
}
