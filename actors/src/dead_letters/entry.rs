//! One dead letter as operators see it, whichever part of Alfred wrote it.
//!
//! The dead streams hold entries of several shapes, and older deployments hold them all:
//! * a stream reader's [`DeadLetter`] (ingest or outbox): the entry it gave up, its last error
//!   and delivery count;
//! * the outbound sender's `{"reason", "envelope"}`: a reply the platform refused;
//! * the orchestrator's `{"outbox_id", "provider_id", "reason"}`: a reply the platform
//!   accepted and later reported `failed`;
//! * the webhook's `{"platform", "reason", "received_at", "body"}`: a signed body it could not
//!   parse.
//!
//! [`DeadEntry::parse`] reads them all into one shape and says what a replay can do with it
//! ([`Origin`]). Its time is the dead stream entry id's, so listing, paging and the time
//! filter all agree.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::redact;
use super::stream::DeadStream;
use crate::messages::{InboundEnvelope, OutboundEnvelope, Platform};
use crate::stream_reader::DeadLetter;

/// How long a preview is, in characters.
pub const PREVIEW_CHARS: usize = 240;

/// What a dead letter came from, which decides what a replay does.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// An ingest entry: its payload goes back onto the ingest stream. `message` is the
    /// envelope's inbox key when it parses (to tell whether it was answered since), and
    /// `conversation` its conversation (which partition it goes back to).
    Inbound {
        payload: String,
        message: Option<(Platform, String)>,
        conversation: Option<(Platform, String)>,
    },
    /// A reply: its outbox row is made sendable again.
    Reply { outbox_id: i64 },
    /// Something no replay can help (a body the webhook could not parse, an entry of unknown
    /// shape), with why.
    Stuck(&'static str),
}

/// One dead letter, read from whichever shape it was written in.
#[derive(Debug, Clone)]
pub struct DeadEntry {
    /// Its id in the dead stream.
    pub id: String,
    /// When it was dead-lettered (from the id).
    pub at: DateTime<Utc>,
    /// Why: the last error, the platform's refusal.
    pub reason: String,
    /// How many times it was delivered, when known.
    pub deliveries: Option<u64>,
    /// The conversation (`platform:conversation` of a message, `platform:recipient` of a reply).
    pub conversation: Option<String>,
    pub origin: Origin,
    /// The entry as written, secrets included: never shown (see [`DeadEntry::redacted`]).
    raw: String,
}

impl DeadEntry {
    /// Reads the dead stream entry `id` of `stream` whose payload is `raw`.
    pub fn parse(stream: DeadStream, id: &str, raw: &str) -> DeadEntry {
        let at = time_of(id).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let mut entry = DeadEntry {
            id: id.to_owned(),
            at,
            reason: String::new(),
            deliveries: None,
            conversation: None,
            origin: Origin::Stuck("the entry is not a dead letter Alfred wrote"),
            raw: raw.to_owned(),
        };
        if let Ok(letter) = serde_json::from_str::<DeadLetter>(raw) {
            entry.reason = letter.error;
            entry.deliveries = Some(letter.deliveries);
            entry.read_payload(stream, letter.payload);
            return entry;
        }
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(raw) else {
            return entry;
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
        entry.reason = text("reason").unwrap_or_default();
        if let Some(envelope) = fields.get("envelope") {
            if let Ok(envelope) = serde_json::from_value::<OutboundEnvelope>(envelope.clone()) {
                entry.reply(&envelope);
            }
        } else if let Some(outbox_id) = fields.get("outbox_id").and_then(Value::as_i64) {
            entry.origin = Origin::Reply { outbox_id };
        } else if fields.contains_key("body") {
            entry.origin = Origin::Stuck(
                "a request body the webhook could not parse: a replay would fail the same way",
            );
            entry.conversation = text("platform");
        }
        entry
    }

    /// A reader's dead letter: the payload is the envelope of the stream it came from.
    fn read_payload(&mut self, stream: DeadStream, payload: String) {
        match stream {
            DeadStream::Ingest => {
                let envelope = serde_json::from_str::<InboundEnvelope>(&payload).ok();
                self.conversation = envelope
                    .as_ref()
                    .map(|envelope| format!("{}:{}", envelope.platform, envelope.conversation));
                self.origin = Origin::Inbound {
                    conversation: envelope
                        .as_ref()
                        .map(|envelope| (envelope.platform, envelope.conversation.clone())),
                    message: envelope.map(|envelope| (envelope.platform, envelope.message_id)),
                    payload,
                };
            }
            DeadStream::Outbox => match serde_json::from_str::<OutboundEnvelope>(&payload) {
                Ok(envelope) => self.reply(&envelope),
                Err(_) => self.origin = Origin::Stuck("the outbox entry is not a reply envelope"),
            },
        }
    }

    fn reply(&mut self, envelope: &OutboundEnvelope) {
        self.conversation = Some(format!("{}:{}", envelope.platform, envelope.to));
        self.origin = Origin::Reply {
            outbox_id: envelope.outbox_id,
        };
    }

    /// The whole entry, secrets removed.
    pub fn redacted(&self) -> Value {
        redact::redact(&self.raw)
    }

    /// What a listing shows of the entry: no secrets, a bounded preview.
    pub fn summary(&self) -> Value {
        let mut summary = self.head();
        summary["preview"] = Value::String(redact::preview(&self.redacted(), PREVIEW_CHARS));
        summary
    }

    /// The whole entry for `show`: its summary fields and the entry, secrets removed.
    pub fn detail(&self) -> Value {
        let mut detail = self.head();
        detail["entry"] = self.redacted();
        detail
    }

    fn head(&self) -> Value {
        let (replayable, outbox_id) = match &self.origin {
            Origin::Inbound { .. } => (Value::Bool(true), Value::Null),
            Origin::Reply { outbox_id } => (Value::Bool(true), Value::from(*outbox_id)),
            Origin::Stuck(_) => (Value::Bool(false), Value::Null),
        };
        let mut head = serde_json::json!({
            "id": self.id,
            "at": self.at.to_rfc3339(),
            "reason": redact::redact_text(&self.reason),
            "deliveries": self.deliveries,
            "conversation": self.conversation,
            "replayable": replayable,
        });
        if !outbox_id.is_null() {
            head["outbox_id"] = outbox_id;
        }
        if let Origin::Stuck(why) = &self.origin {
            head["not_replayable"] = Value::String((*why).to_owned());
        }
        head
    }
}

/// The time of a stream entry id (`ms-seq`).
pub fn time_of(id: &str) -> Option<DateTime<Utc>> {
    let (ms, _) = id.split_once('-')?;
    DateTime::from_timestamp_millis(ms.parse().ok()?)
}

/// Whether `id` is a full stream entry id (`ms-seq`, digits only): anything else could be
/// Redis range syntax (`-`, `+`, `(…`) and is refused before it reaches a command.
pub fn is_entry_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.len() <= 20
            && seq.len() <= 20
            && ms.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_written_to_the_outbox_dead_stream_names_its_outbox_row() {
        let status = r#"{"outbox_id":7,"provider_id":"wamid.X","reason":"failed: 131026"}"#;
        let entry = DeadEntry::parse(DeadStream::Outbox, "1700000000000-0", status);
        assert_eq!(entry.origin, Origin::Reply { outbox_id: 7 });
        assert_eq!(entry.reason, "failed: 131026");
        assert_eq!(entry.at.timestamp_millis(), 1_700_000_000_000);
    }

    #[test]
    fn a_body_the_webhook_could_not_parse_is_not_replayable() {
        let body = r#"{"platform":"slack","reason":"bad","received_at":"x","body":"token=t"}"#;
        let entry = DeadEntry::parse(DeadStream::Ingest, "1-0", body);
        assert!(matches!(entry.origin, Origin::Stuck(_)));
        assert_eq!(entry.detail()["entry"]["body"], "token=[redacted]");
    }

    #[test]
    fn only_full_entry_ids_are_ids() {
        assert!(is_entry_id("1700000000000-12"));
        for not in ["+", "-", "(1-0", "1", "1-", "-1", "a-1", "1-0 2-0"] {
            assert!(!is_entry_id(not), "{not}");
        }
    }
}
