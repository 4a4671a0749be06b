//! Slack's Events API body, parsed once into typed [`InboundEnvelope`]s.
//!
//! Two outer `type`s matter: `url_verification` (Slack's handshake when the request URL is
//! saved: answer its `challenge`) and `event_callback` (one event). Of the events, Alfred takes
//!
//! * `app_mention` — someone wrote `@Alfred …` in a channel; the mention of the bot is removed
//!   from the text, so `<@U0BOT> ping` reaches the orchestrator as `ping`;
//! * `message` with `channel_type: im` — a direct message to the bot.
//!
//! Everything else is acknowledged and dropped here: messages from bots (`bot_id`, subtype
//! `bot_message`, or our own user id) so Alfred never talks to itself or to another bot, and
//! message subtypes that are not a person writing (`message_changed`, `message_deleted`,
//! `channel_join`, …). An `app_mention` in a direct-message channel is dropped too: the same
//! message also arrives as `message.im`, and answering both would reply twice.
//!
//! The de-duplication key is `{team_id}:{event_id}`: Slack retries an event with the same
//! `event_id`, and the orchestrator's inbox turns the second delivery into "already done".

use alfred_actors::messages::{InboundEnvelope, InboundKind, Platform, Sender};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The outer type of the handshake Slack sends when the events URL is configured.
const URL_VERIFICATION: &str = "url_verification";
/// The outer type of every event delivery.
const EVENT_CALLBACK: &str = "event_callback";
/// Message subtypes that are still a person writing to Alfred (a message with a file).
const PERSON_SUBTYPES: &[&str] = &["file_share", "thread_broadcast"];

/// What an Events API request asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum EventsRequest {
    /// Answer with this challenge.
    UrlVerification { challenge: String },
    /// Store these envelopes (none when the event is one Alfred ignores), once `teams` pass
    /// the workspace check.
    Envelopes {
        envelopes: Vec<InboundEnvelope>,
        teams: Teams,
    },
}

/// Which workspaces an event comes from, for the edge's check (see [`super::workspaces`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Teams {
    /// The workspace the event was delivered for (`team_id`); `None` for requests that are
    /// not events.
    pub team_id: Option<String>,
    /// The person's own workspace (`user_team`, or `user_profile.team`), which differs from
    /// `team_id` for a Slack Connect user of another workspace; `None` when Slack omits it.
    pub user_team: Option<String>,
}

impl EventsRequest {
    /// Nothing to store and nothing to check.
    fn nothing() -> Self {
        EventsRequest::Envelopes {
            envelopes: Vec::new(),
            teams: Teams::default(),
        }
    }
}

/// Why a signed body could not be understood; the edge dead-letters it.
#[derive(Debug, thiserror::Error)]
pub enum EventsParseError {
    #[error("body is not a valid Slack Events API request: {0}")]
    Json(#[from] serde_json::Error),
    #[error("Slack {kind} request without {field}")]
    Missing {
        kind: &'static str,
        field: &'static str,
    },
}

/// Parses an Events API body. `now` (Unix seconds) stands in for a missing `event_time`.
pub fn parse_events(
    body: &[u8],
    now: i64,
    traceparent: Option<&str>,
) -> Result<EventsRequest, EventsParseError> {
    let outer: Outer<'_> = serde_json::from_slice(body)?;
    match outer.kind.as_str() {
        URL_VERIFICATION => {
            let challenge = outer.challenge.ok_or(EventsParseError::Missing {
                kind: URL_VERIFICATION,
                field: "challenge",
            })?;
            Ok(EventsRequest::UrlVerification { challenge })
        }
        EVENT_CALLBACK => {
            let missing = |field| EventsParseError::Missing {
                kind: EVENT_CALLBACK,
                field,
            };
            let team_id = outer.team_id.ok_or_else(|| missing("team_id"))?;
            let event_id = outer.event_id.ok_or_else(|| missing("event_id"))?;
            let raw = outer.event.ok_or_else(|| missing("event"))?;
            let head: EventHead = serde_json::from_str(raw.get())?;
            let teams = Teams {
                team_id: Some(team_id.clone()),
                user_team: head
                    .user_team
                    .or(head.user_profile.and_then(|profile| profile.team)),
            };
            let ignored = EventsRequest::Envelopes {
                envelopes: Vec::new(),
                teams: teams.clone(),
            };
            if head.kind != "app_mention" && head.kind != "message" {
                tracing::debug!(event = %head.kind, "Ignored a Slack event Alfred does not handle.");
                return Ok(ignored);
            }
            let event: MessageEvent = serde_json::from_str(raw.get())?;
            let bot_users: Vec<&str> = outer
                .authorizations
                .iter()
                .filter(|authorization| authorization.is_bot)
                .filter_map(|authorization| authorization.user_id.as_deref())
                .collect();
            let Some(message) = event.into_message(&head.kind, &bot_users) else {
                return Ok(ignored);
            };
            let envelope = InboundEnvelope {
                platform: Platform::Slack,
                message_id: format!("{team_id}:{event_id}"),
                account: team_id,
                private: message.direct,
                thread: message.thread,
                conversation: message.channel,
                is_group: false,
                sender: Sender {
                    id: message.user,
                    name: None,
                },
                timestamp: outer.event_time.unwrap_or(now),
                kind: InboundKind::Text { body: message.text },
                traceparent: traceparent.map(str::to_owned),
            };
            Ok(EventsRequest::Envelopes {
                envelopes: vec![envelope],
                teams,
            })
        }
        other => {
            // `app_rate_limited` and future types: nothing to store, nothing to retry.
            tracing::info!(kind = %other, "Acknowledged a Slack Events API request of another type.");
            Ok(EventsRequest::nothing())
        }
    }
}

/// Removes mentions of the bot (`<@U0BOT>`, `<@U0BOT|alfred>`) and the punctuation people put
/// after one (`@Alfred: ping`). When Slack did not say which user the bot is, a leading mention
/// is taken to be the bot's: an `app_mention` always starts with it in practice.
pub fn strip_bot_mention(text: &str, bot_users: &[&str]) -> String {
    let mut rest = text.to_owned();
    if bot_users.is_empty() {
        let trimmed = rest.trim_start();
        if let Some(end) = trimmed.strip_prefix("<@").and_then(|tail| tail.find('>')) {
            rest = trimmed[end + 3..].to_owned();
        }
    }
    for user in bot_users {
        rest = rest.replace(&format!("<@{user}>"), " ");
        let labelled = format!("<@{user}|");
        while let Some(start) = rest.find(&labelled) {
            let end = rest[start..]
                .find('>')
                .map_or(rest.len(), |end| start + end + 1);
            rest.replace_range(start..end, " ");
        }
    }
    rest.trim()
        .trim_start_matches([':', ',', ';'])
        .trim()
        .to_owned()
}

/// A person's message, ready to become an envelope.
struct Message {
    channel: String,
    user: String,
    text: String,
    /// A direct message (`channel_type: im`): only the sender reads the replies.
    direct: bool,
    /// Where the replies go: the thread the message was in; for a mention in a channel, a
    /// thread under the mention itself.
    thread: Option<String>,
}

#[derive(Deserialize)]
struct Outer<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event_time: Option<i64>,
    /// Kept raw: its shape depends on its `type`.
    #[serde(default, borrow)]
    event: Option<&'a RawValue>,
    #[serde(default)]
    authorizations: Vec<Authorization>,
}

#[derive(Deserialize)]
struct Authorization {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    is_bot: bool,
}

#[derive(Deserialize)]
struct EventHead {
    #[serde(rename = "type")]
    kind: String,
    /// The author's own workspace (Slack Connect).
    #[serde(default)]
    user_team: Option<String>,
    #[serde(default)]
    user_profile: Option<UserProfile>,
}

#[derive(Deserialize)]
struct UserProfile {
    #[serde(default)]
    team: Option<String>,
}

/// `app_mention` and `message` share these fields. `user` is optional because bot and
/// system messages have none.
#[derive(Deserialize)]
struct MessageEvent {
    #[serde(default)]
    subtype: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    bot_id: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    channel_type: Option<String>,
    /// The message's own timestamp (its id in the channel).
    #[serde(default)]
    ts: Option<String>,
    /// Set when the message was written in a thread: the thread's parent `ts`.
    #[serde(default)]
    thread_ts: Option<String>,
}

impl MessageEvent {
    /// The message to answer, or `None` (logged) when Alfred must stay silent.
    fn into_message(self, kind: &str, bot_users: &[&str]) -> Option<Message> {
        if self.bot_id.is_some() || self.subtype.as_deref() == Some("bot_message") {
            tracing::debug!("Ignored a Slack message from a bot.");
            return None;
        }
        if let Some(subtype) = self.subtype.as_deref() {
            if !PERSON_SUBTYPES.contains(&subtype) {
                tracing::debug!(%subtype, "Ignored a Slack message subtype that is not a person writing.");
                return None;
            }
        }
        let (Some(user), Some(channel)) = (self.user, self.channel) else {
            tracing::debug!("Ignored a Slack message without a user or a channel.");
            return None;
        };
        if bot_users.contains(&user.as_str()) {
            return None;
        }
        let text = self.text.unwrap_or_default();
        match kind {
            // Direct-message channel ids start with D; those arrive as `message.im` too.
            "app_mention" if channel.starts_with('D') => None,
            "app_mention" => Some(Message {
                channel,
                user,
                text: strip_bot_mention(&text, bot_users),
                direct: false,
                // A mention in a channel is answered under it, not in the channel itself.
                thread: self.thread_ts.or(self.ts),
            }),
            // In a direct message only a mention known to be the bot's is removed: a leading
            // mention there may well be of someone else.
            _ if self.channel_type.as_deref() == Some("im") => Some(Message {
                channel,
                user,
                text: if bot_users.is_empty() {
                    text.trim().to_owned()
                } else {
                    strip_bot_mention(&text, bot_users)
                },
                direct: true,
                thread: self.thread_ts,
            }),
            _ => {
                tracing::debug!("Ignored a Slack message outside a direct message.");
                None
            }
        }
    }
}
