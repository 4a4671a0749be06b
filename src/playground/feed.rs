//! The playground's transcript: what people typed and what Alfred answered or sent on its own
//! (briefings, chore reminders), numbered in the order it happened.
//!
//! The sender's channel client ([`FeedClient`]) appends Alfred's messages on the sender's
//! thread; the HTTP workers append what people type and read from it. A `seq` only grows, so a
//! page asks for what came after the last one it shows. Only the last [`CAPACITY`] entries are
//! kept: it is a playground, in memory like the rest of ephemeral mode.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use alfred_actors::channel::{ChannelClient, SendError, SendReceipt};
use alfred_actors::messages::OutboundEnvelope;
use alfred_config::Settings;
use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::Notify;

/// Entries kept; older ones fall off the front.
pub const CAPACITY: usize = 500;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Typed by a person on the page.
    Message,
    /// Alfred's answer to a message.
    Reply,
    /// Sent by Alfred on its own: a briefing, a chore reminder.
    Scheduled,
}

/// One line of the transcript.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Position in the feed, from 1.
    pub seq: u64,
    pub kind: Kind,
    /// When it entered the feed (wall-clock time, also under a manual clock).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who wrote it: the person's name, or "Alfred".
    pub from: String,
    /// Who it is for: "Alfred", the person answered, a member or a household's group.
    pub to: String,
    pub text: String,
    /// The message id of a person's message; for a reply, the message it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

#[derive(Default)]
struct State {
    last_seq: u64,
    entries: VecDeque<Entry>,
}

/// The transcript, shared by the sender's client and the HTTP workers. Cheap to clone.
#[derive(Clone)]
pub struct Feed {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    /// Names for the chats scheduled messages address: a member's WhatsApp number → their
    /// name, a household's group → "The Smiths (group)".
    names: Arc<HashMap<String, String>>,
}

impl Feed {
    /// An empty feed naming the chats of `settings`' households.
    pub fn new(settings: &Settings) -> Feed {
        let mut names = HashMap::new();
        for household in &settings.households {
            for group in &household.groups {
                names.insert(group.clone(), format!("{} (group)", household.name));
            }
            for member in &household.members {
                if let Some(number) = &member.whatsapp {
                    names.insert(number.clone(), member.name.clone());
                }
            }
        }
        Feed {
            state: Arc::default(),
            changed: Arc::new(Notify::new()),
            names: Arc::new(names),
        }
    }

    /// Appends a person's message to Alfred.
    pub fn record_message(&self, from: &str, text: &str, message_id: &str) -> Entry {
        self.push(
            Kind::Message,
            from.to_owned(),
            "Alfred".to_owned(),
            text,
            Some(message_id),
        )
    }

    /// Appends one of Alfred's messages, as the sender hands it over.
    fn record_outbound(&self, message: &OutboundEnvelope) -> Entry {
        let text = message.body.display_text();
        let asker = message
            .reply_to
            .as_deref()
            .and_then(|id| self.author_of(id));
        let to = asker
            .or_else(|| self.names.get(&message.to).cloned())
            .unwrap_or_else(|| message.to.clone());
        let kind = match message.reply_to {
            Some(_) => Kind::Reply,
            None => Kind::Scheduled,
        };
        self.push(
            kind,
            "Alfred".to_owned(),
            to,
            &text,
            message.reply_to.as_deref(),
        )
    }

    fn push(&self, kind: Kind, from: String, to: String, text: &str, id: Option<&str>) -> Entry {
        let entry = {
            let mut state = self.lock();
            state.last_seq += 1;
            let entry = Entry {
                seq: state.last_seq,
                kind,
                at: chrono::Utc::now(),
                from,
                to,
                text: text.to_owned(),
                message_id: id.map(str::to_owned),
            };
            state.entries.push_back(entry.clone());
            while state.entries.len() > CAPACITY {
                state.entries.pop_front();
            }
            entry
        };
        self.changed.notify_waiters();
        entry
    }

    /// The entries after `seq`, oldest first.
    pub fn after(&self, seq: u64) -> Vec<Entry> {
        let state = self.lock();
        state
            .entries
            .iter()
            .filter(|entry| entry.seq > seq)
            .cloned()
            .collect()
    }

    /// Alfred's replies to the message `message_id`, oldest first.
    pub fn replies_to(&self, message_id: &str) -> Vec<Entry> {
        let state = self.lock();
        state
            .entries
            .iter()
            .filter(|e| e.kind == Kind::Reply && e.message_id.as_deref() == Some(message_id))
            .cloned()
            .collect()
    }

    /// The `seq` of the newest entry (0 while the feed is empty).
    pub fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    /// Resolves at the next change of the feed (register before checking, see
    /// [`Notify::notified`]).
    pub fn changed(&self) -> &Notify {
        &self.changed
    }

    /// The name of whoever typed the message `message_id`, while it is in the feed.
    fn author_of(&self, message_id: &str) -> Option<String> {
        let state = self.lock();
        state
            .entries
            .iter()
            .rev()
            .find(|e| e.kind == Kind::Message && e.message_id.as_deref() == Some(message_id))
            .map(|e| e.from.clone())
    }

    /// The state; a panic elsewhere while it was held leaves nothing half-written (every
    /// change is one push and one trim), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The channel client that puts Alfred's messages into this feed.
    pub fn client(&self) -> FeedClient {
        FeedClient { feed: self.clone() }
    }
}

/// The channel client of the playground: a "send" is an entry in the feed, which never fails.
pub struct FeedClient {
    feed: Feed,
}

#[async_trait(?Send)]
impl ChannelClient for FeedClient {
    async fn send(&self, message: &OutboundEnvelope) -> Result<SendReceipt, SendError> {
        self.feed.record_outbound(message);
        Ok(SendReceipt { provider_id: None })
    }
}
