//! Meta's webhook notification, parsed once into typed [`InboundEnvelope`]s.
//!
//! The wire format (WhatsApp Cloud API, field `messages`):
//! `{"object":"whatsapp_business_account","entry":[{"id":…,"changes":[{"field":"messages",
//! "value":{"metadata":{"phone_number_id":…},"contacts":[…],"messages":[…],"statuses":[…]}}]}]}`.
//!
//! Liberal in what it accepts: unknown fields are ignored, unknown message types become
//! [`InboundKind::Unsupported`] (so the person still gets an answer), changes of other fields
//! (`account_update`, template status, …) are skipped. Strict where it matters: a body that is
//! not JSON, not a `whatsapp_business_account` notification, or a message without an id or a
//! sender is a [`ParseError`] — the webhook dead-letters such a body as a whole, since a retry
//! by Meta would fail the same way.
//!
//! The body is parsed straight from the request bytes; each `value` is kept as raw JSON until
//! its `field` says it holds messages, and strings that are only compared are borrowed.

use std::borrow::Cow;

use alfred_actors::messages::{InboundEnvelope, InboundKind, Platform, Sender};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The `object` of every WhatsApp Business Account notification.
const WHATSAPP_OBJECT: &str = "whatsapp_business_account";
/// The change field that carries messages and status callbacks.
const MESSAGES_FIELD: &str = "messages";

/// Why a signed body could not be turned into envelopes.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("body is not a valid WhatsApp notification: {0}")]
    Json(#[from] serde_json::Error),
    #[error("notification object is {0:?}, not \"whatsapp_business_account\"")]
    WrongObject(String),
}

/// Parses a webhook body into envelopes in the order Meta listed them (entry × change ×
/// messages, then statuses). Changes addressed to a phone number id other than
/// `our_phone_number_id` are skipped and logged: Alfred does not answer for numbers it does not
/// own. Every envelope carries `traceparent`.
pub fn parse_notification(
    body: &[u8],
    our_phone_number_id: &str,
    traceparent: Option<&str>,
) -> Result<Vec<InboundEnvelope>, ParseError> {
    let notification: Notification<'_> = serde_json::from_slice(body)?;
    if notification.object != WHATSAPP_OBJECT {
        return Err(ParseError::WrongObject(notification.object.into_owned()));
    }
    let mut envelopes = Vec::new();
    for change in notification.entry.iter().flat_map(|entry| &entry.changes) {
        if change.field != MESSAGES_FIELD {
            tracing::debug!(field = %change.field, "Skipped a webhook change that carries no messages.");
            continue;
        }
        let Some(raw) = change.value else { continue };
        let value: MessagesValue<'_> = serde_json::from_str(raw.get())?;
        if value.metadata.phone_number_id != our_phone_number_id {
            tracing::info!(
                phone_number_id = %value.metadata.phone_number_id,
                "Skipped a webhook change addressed to a phone number that is not ours."
            );
            continue;
        }
        for error in &value.errors {
            tracing::warn!(code = ?error.code, reason = %error.describe(), "Meta reported an error in a webhook.");
        }
        envelopes.reserve(value.messages.len() + value.statuses.len());
        let account = value.metadata.phone_number_id.as_ref();
        for message in value.messages {
            let name = sender_name(&value.contacts, &message.from);
            envelopes.push(message.into_envelope(account, name, traceparent));
        }
        for status in value.statuses {
            envelopes.push(status.into_envelope(account, traceparent));
        }
    }
    Ok(envelopes)
}

fn sender_name(contacts: &[Contact<'_>], wa_id: &str) -> Option<String> {
    contacts
        .iter()
        .find(|contact| contact.wa_id == wa_id)
        .and_then(|contact| contact.profile.as_ref())
        .and_then(|profile| profile.name.as_deref())
        .map(str::to_owned)
}

#[derive(Deserialize)]
struct Notification<'a> {
    #[serde(borrow)]
    object: Cow<'a, str>,
    #[serde(default, borrow)]
    entry: Vec<Entry<'a>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(default, borrow)]
    changes: Vec<Change<'a>>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(borrow)]
    field: Cow<'a, str>,
    /// Kept raw: its shape depends on `field`.
    #[serde(default, borrow)]
    value: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct MessagesValue<'a> {
    #[serde(borrow)]
    metadata: Metadata<'a>,
    #[serde(default, borrow)]
    contacts: Vec<Contact<'a>>,
    #[serde(default, borrow)]
    messages: Vec<Message<'a>>,
    #[serde(default)]
    statuses: Vec<Status>,
    #[serde(default)]
    errors: Vec<GraphError>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    phone_number_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Contact<'a> {
    #[serde(borrow)]
    wa_id: Cow<'a, str>,
    #[serde(default, borrow)]
    profile: Option<Profile<'a>>,
}

#[derive(Deserialize)]
struct Profile<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

/// One message. Its content sits in the field named by `type`; every known one is optional so
/// that a message whose content is missing degrades to `Unsupported` instead of failing.
#[derive(Deserialize)]
struct Message<'a> {
    from: String,
    id: String,
    #[serde(deserialize_with = "crate::whatsapp::timestamp::unix_seconds", default)]
    timestamp: i64,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    /// Present when the message was sent in a group.
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    text: Option<Text>,
    #[serde(default, borrow)]
    interactive: Option<Interactive<'a>>,
    #[serde(default)]
    button: Option<Button>,
    #[serde(default)]
    reaction: Option<Reaction>,
    #[serde(default)]
    image: Option<Media>,
    #[serde(default)]
    audio: Option<Media>,
    #[serde(default)]
    video: Option<Media>,
    #[serde(default)]
    document: Option<Media>,
    #[serde(default)]
    sticker: Option<Media>,
    #[serde(default)]
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Interactive<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    button_reply: Option<Reply>,
    #[serde(default)]
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    id: String,
    #[serde(default)]
    title: String,
}

/// A tap on a quick-reply button of a template message.
#[derive(Deserialize)]
struct Button {
    #[serde(default)]
    payload: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct Reaction {
    message_id: String,
    /// Absent when the reaction was removed.
    #[serde(default)]
    emoji: String,
}

#[derive(Deserialize)]
struct Media {
    id: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    /// Meta's hex SHA-256 of the file, checked when the file is downloaded.
    #[serde(default)]
    sha256: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(deserialize_with = "crate::whatsapp::timestamp::unix_seconds", default)]
    timestamp: i64,
    #[serde(default)]
    recipient_id: String,
    #[serde(default)]
    errors: Vec<GraphError>,
    /// Echo of the `biz_opaque_callback_data` we sent with the message.
    #[serde(default)]
    biz_opaque_callback_data: Option<String>,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl GraphError {
    fn describe(&self) -> String {
        let text = self
            .message
            .as_deref()
            .or(self.title.as_deref())
            .unwrap_or("unknown error");
        match self.code {
            Some(code) => format!("{code}: {text}"),
            None => text.to_owned(),
        }
    }
}

impl Message<'_> {
    fn into_envelope(
        mut self,
        account: &str,
        name: Option<String>,
        traceparent: Option<&str>,
    ) -> InboundEnvelope {
        let kind = self.content();
        // A group message is answered in the group; a direct one in the chat with its sender.
        let is_group = self.group_id.is_some();
        let conversation = self.group_id.unwrap_or_else(|| self.from.clone());
        InboundEnvelope {
            platform: Platform::WhatsApp,
            message_id: self.id,
            account: account.to_owned(),
            conversation,
            is_group,
            private: !is_group,
            thread: None,
            sender: Sender {
                id: self.from,
                name,
            },
            timestamp: self.timestamp,
            kind,
            traceparent: traceparent.map(str::to_owned),
        }
    }

    /// Moves the content named by `type` out of the message.
    fn content(&mut self) -> InboundKind {
        let media_type = self.kind.as_ref();
        let kind = match media_type {
            "text" => self
                .text
                .take()
                .map(|text| InboundKind::Text { body: text.body }),
            "interactive" => self.interactive.take().and_then(Interactive::into_kind),
            "button" => self
                .button
                .take()
                .map(|button| InboundKind::InteractiveReply {
                    id: button.payload,
                    title: button.text,
                }),
            "reaction" => self.reaction.take().map(|reaction| InboundKind::Reaction {
                message_id: reaction.message_id,
                emoji: reaction.emoji,
            }),
            "image" => self.image.take().map(|media| media.into_kind(media_type)),
            "audio" => self.audio.take().map(|media| media.into_kind(media_type)),
            "video" => self.video.take().map(|media| media.into_kind(media_type)),
            "document" => self
                .document
                .take()
                .map(|media| media.into_kind(media_type)),
            "sticker" => self.sticker.take().map(|media| media.into_kind(media_type)),
            "location" => self.location.take().map(|location| InboundKind::Location {
                latitude: location.latitude,
                longitude: location.longitude,
                name: location.name,
                address: location.address,
            }),
            _ => None,
        };
        kind.unwrap_or_else(|| InboundKind::Unsupported {
            type_name: self.kind.clone().into_owned(),
        })
    }
}

impl Interactive<'_> {
    fn into_kind(self) -> Option<InboundKind> {
        let reply = match self.kind.as_ref() {
            "button_reply" => self.button_reply,
            "list_reply" => self.list_reply,
            _ => None,
        }?;
        Some(InboundKind::InteractiveReply {
            id: reply.id,
            title: reply.title,
        })
    }
}

impl Media {
    fn into_kind(self, media_type: &str) -> InboundKind {
        InboundKind::Media {
            media_type: media_type.to_owned(),
            media_id: self.id,
            mime_type: self.mime_type,
            caption: self.caption,
            sha256: self.sha256,
        }
    }
}

impl Status {
    /// A status callback about one of our messages. Its de-duplication key is
    /// `"{wamid}:{status}"` (one callback per state); the conversation is the recipient's.
    fn into_envelope(self, account: &str, traceparent: Option<&str>) -> InboundEnvelope {
        InboundEnvelope {
            platform: Platform::WhatsApp,
            message_id: format!("{}:{}", self.id, self.status),
            account: account.to_owned(),
            conversation: self.recipient_id.clone(),
            is_group: false,
            private: false,
            thread: None,
            // The callback is about our own message: its sender is our number.
            sender: Sender {
                id: account.to_owned(),
                name: None,
            },
            timestamp: self.timestamp,
            kind: InboundKind::Status {
                message_id: self.id,
                status: self.status,
                recipient: self.recipient_id,
                errors: self.errors.iter().map(GraphError::describe).collect(),
                callback_data: self.biz_opaque_callback_data,
            },
            traceparent: traceparent.map(str::to_owned),
        }
    }
}
