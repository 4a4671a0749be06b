//! Replaying and discarding dead letters, one or many; each action audited (see the parent
//! module for what a replay promises, and why it acts, audits, then deletes).

use std::collections::BTreeMap;

use serde::Serialize;

use super::entry::{DeadEntry, Origin};
use super::list::{Selection, MAX_BULK};
use super::service::DeadLetters;
use super::store::{AuditRecord, Revival};
use super::stream::{DeadLetterError, DeadStream};

/// What one replay or discard did.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub stream: &'static str,
    pub id: String,
    /// `replayed` (put back as `new_id`), `already_answered` (the inbox holds the message),
    /// `already_sent`, `in_flight` (the reply is on its way already), `discarded`; or, for a
    /// dead letter no longer there, `already_replayed` / `already_discarded`.
    pub outcome: String,
    /// The fresh stream entry a replay made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// For a dead letter handled before: that action, from the audit log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previously: Option<AuditRecord>,
}

/// What a bulk action did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bulk {
    pub stream: &'static str,
    /// Dead letters the selection took.
    pub matched: usize,
    /// How many ended each way (`replayed`, `already_sent`, `discarded`, …).
    pub outcomes: BTreeMap<String, usize>,
    /// Those that failed, with why.
    pub errors: Vec<BulkError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BulkError {
    pub id: String,
    pub error: String,
}

/// What an operator does to a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Put it back on its way (see the parent module).
    Replay,
    /// Remove it, keeping it in the audit log.
    Discard,
}

impl Action {
    /// `replay` or `discard`.
    pub fn parse(name: &str) -> Option<Action> {
        match name {
            "replay" => Some(Action::Replay),
            "discard" => Some(Action::Discard),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replay => "replay",
            Action::Discard => "discard",
        }
    }
}

impl DeadLetters {
    /// Replays or discards every selected dead letter; `actor` is who asked, for the audit.
    pub async fn act_on_selection(
        &self,
        stream: DeadStream,
        selection: &Selection,
        actor: &str,
        action: Action,
    ) -> Result<Bulk, DeadLetterError> {
        let ids = self.selected(stream, selection).await?;
        let mut bulk = Bulk {
            stream: stream.as_str(),
            matched: ids.len(),
            ..Bulk::default()
        };
        for id in ids {
            match self.act(stream, &id, actor, action).await {
                Ok(done) => *bulk.outcomes.entry(done.outcome).or_default() += 1,
                // A store that is down fails the rest too: stop and say so.
                Err(error @ DeadLetterError::Unavailable(_)) => return Err(error),
                Err(error) => bulk.errors.push(BulkError {
                    id,
                    error: error.to_string(),
                }),
            }
        }
        tracing::info!(stream = stream.as_str(), action = action.as_str(), matched = bulk.matched, outcomes = ?bulk.outcomes, failed = bulk.errors.len(), %actor, "Operator acted on dead letters in bulk.");
        Ok(bulk)
    }

    /// The ids a bulk action on `selection` would take, oldest first (at most [`MAX_BULK`]
    /// for a filter): what the admin page's confirmation step counts.
    pub async fn selected(
        &self,
        stream: DeadStream,
        selection: &Selection,
    ) -> Result<Vec<String>, DeadLetterError> {
        Ok(match selection {
            Selection::Ids(ids) => ids.clone(),
            Selection::Matching(filter) => {
                let (found, _) = self
                    .scan(stream, filter, None, MAX_BULK, usize::MAX)
                    .await?;
                // Oldest first: replayed messages keep their order on the stream.
                found.into_iter().rev().map(|entry| entry.id).collect()
            }
        })
    }

    /// Replays or discards one dead letter; `actor` is who asked, for the audit.
    pub async fn act(
        &self,
        stream: DeadStream,
        id: &str,
        actor: &str,
        action: Action,
    ) -> Result<Done, DeadLetterError> {
        let Some(entry) = self.find(stream, id).await? else {
            return self.gone(stream, id).await;
        };
        let (outcome, new_id) = match action {
            Action::Replay => self.put_back(stream, &entry).await?,
            Action::Discard => ("discarded", None),
        };
        let record = AuditRecord {
            at: chrono::Utc::now(),
            actor: actor.to_owned(),
            action: action.as_str().to_owned(),
            stream: stream.as_str().to_owned(),
            entry_id: id.to_owned(),
            outcome: outcome.to_owned(),
            new_id: new_id.clone(),
            entry: entry.detail(),
        };
        self.store.audit(&record).await?;
        self.bus
            .delete_entries(&self.dead_key(stream), &[id.to_owned()])
            .await?;
        tracing::info!(stream = stream.as_str(), entry_id = %id, action = action.as_str(), outcome, new_id = ?new_id, %actor, "Operator acted on a dead letter.");
        Ok(Done {
            stream: stream.as_str(),
            id: id.to_owned(),
            outcome: outcome.to_owned(),
            new_id,
            previously: None,
        })
    }

    /// A dead letter that is not (or no longer) in its stream: what happened to it, from the
    /// audit log, or not found.
    async fn gone(&self, stream: DeadStream, id: &str) -> Result<Done, DeadLetterError> {
        let Some(previously) = self.store.audited(stream.as_str(), id).await? else {
            return Err(DeadLetterError::NotFound {
                stream: stream.as_str(),
                id: id.to_owned(),
            });
        };
        let outcome = match previously.action.as_str() {
            "replay" => "already_replayed",
            _ => "already_discarded",
        };
        Ok(Done {
            stream: stream.as_str(),
            id: id.to_owned(),
            outcome: outcome.to_owned(),
            new_id: None,
            previously: Some(previously),
        })
    }

    /// Puts a dead letter's message or reply back on its way: the outcome, and the new
    /// stream entry if one was made.
    async fn put_back(
        &self,
        stream: DeadStream,
        entry: &DeadEntry,
    ) -> Result<(&'static str, Option<String>), DeadLetterError> {
        let live = self.live_key(stream);
        match &entry.origin {
            Origin::Inbound {
                payload,
                message,
                conversation,
            } => {
                if let Some((platform, message_id)) = message {
                    if self.store.answered(*platform, message_id).await? {
                        return Ok(("already_answered", None));
                    }
                }
                // Back onto its conversation's partition (where its later messages are), or
                // the single stream without partitions. A payload that no longer parses has
                // no conversation: the single stream's reader still reads it.
                let live = match conversation {
                    Some((platform, conversation)) => {
                        self.ingest.stream_for(*platform, conversation)
                    }
                    None => live,
                };
                let new_id = self.bus.publish(&live, payload).await?;
                Ok(("replayed", Some(new_id)))
            }
            Origin::Reply { outbox_id } => match self.store.revive_reply(*outbox_id).await? {
                Revival::Revived(envelope) => {
                    let payload = serde_json::to_string(&envelope).map_err(|error| {
                        DeadLetterError::Failed(format!("could not encode the reply: {error}"))
                    })?;
                    // Should this fail, the row is pending and marked published: the relay
                    // puts it on the stream after the claim lease.
                    let new_id = self.bus.publish(&live, &payload).await?;
                    Ok(("replayed", Some(new_id)))
                }
                Revival::Sent => Ok(("already_sent", None)),
                Revival::InFlight => Ok(("in_flight", None)),
                Revival::Missing => Err(DeadLetterError::NotReplayable {
                    id: entry.id.clone(),
                    why: format!("its outbox row {outbox_id} no longer exists"),
                }),
            },
            Origin::Stuck(why) => Err(DeadLetterError::NotReplayable {
                id: entry.id.clone(),
                why: (*why).to_owned(),
            }),
        }
    }
}
