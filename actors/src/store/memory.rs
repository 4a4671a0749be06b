//! [`MemStore`]: the exactly-once store in memory, for ephemeral mode (DESIGN.md §5).
//!
//! It keeps the semantics of [`PgStore`](super::postgres::PgStore) within one process: the
//! inbox de-duplicates, an effect and its outbox rows commit together or not at all, and the
//! outbox rows move through the same states (pending → sending → sent / retry / dead) with the
//! same claim, lease and relay rules. Nothing survives the process.
//!
//! Commits are serialized by one async mutex (held across the effect, which is what makes a
//! commit atomic here). An effect works on clones of the skills' state slots (`clone_box`);
//! the clones are swapped in only when the effect succeeds, so a failed effect leaves no trace,
//! like a rolled-back transaction.
//!
//! Memory: rows are dropped once sent; the inbox keeps each key (by platform and message id,
//! whatever the time it was handled) until [`Store::purge`] forgets it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{
    ClaimAttempt, Claimed, Commit, Due, InboxKey, LlmAnswer, Prior, Purged, ReplyTarget,
    SendResult, Store,
};
use crate::messages::{OutboundEnvelope, Platform};
use crate::skill::Effect;
use crate::store::{Activity, MemSlot, MemTx, StoreError, Tx, ACTIVITY_SLOT};

/// Delivery state of an in-memory outbox row (the `outbox.state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Sending,
    Retry,
    Dead,
}

#[derive(Debug)]
struct Row {
    envelope: OutboundEnvelope,
    state: State,
    /// Claims so far (the `attempts` column).
    attempts: u32,
    created_at: Instant,
    published_at: Option<Instant>,
    claimed_at: Option<Instant>,
    next_attempt_at: Option<Instant>,
    /// A claim found an earlier row of the same recipient in flight (the `held_at` column).
    held: bool,
    /// The token of the last claim (the `claim_token` column).
    claim_token: Option<i64>,
}

impl Row {
    /// The relay rule of `PgStore`'s `DUE_FOR_RELAY`, row by row.
    fn due(&self, now: Instant, grace: Duration, lease: Duration) -> bool {
        let older = |at: Option<Instant>, age: Duration| at.is_some_and(|at| at + age <= now);
        let not_published_within_lease =
            self.published_at.is_none() || older(self.published_at, lease);
        match self.state {
            State::Pending => match self.published_at {
                None => self.created_at + grace <= now,
                Some(_) => older(self.published_at, lease),
            },
            State::Retry => {
                let due = self.next_attempt_at.is_some_and(|at| at <= now);
                let published_since = match (self.published_at, self.next_attempt_at) {
                    (Some(published), Some(next)) => published >= next,
                    _ => false,
                };
                due && (!published_since || not_published_within_lease)
            }
            State::Sending => older(self.claimed_at, lease) && not_published_within_lease,
            State::Dead => false,
        }
    }

    /// Whether `other` goes to the same recipient (the order of `PgStore`'s
    /// `earlier_in_flight!`).
    fn same_recipient(&self, other: &Row) -> bool {
        let (a, b) = (&self.envelope, &other.envelope);
        a.platform == b.platform && a.account == b.account && a.to == b.to
    }

    /// Not yet finished: pending, being sent or waiting for a retry (sent rows are removed).
    fn in_flight(&self) -> bool {
        self.state != State::Dead
    }

    /// The claim rule of `PgStore`'s `CLAIM`.
    fn claimable(&self, now: Instant, lease: Duration, retake: &[i64]) -> bool {
        match self.state {
            State::Pending => true,
            State::Retry => self.next_attempt_at.is_some_and(|at| at <= now),
            State::Sending => {
                self.claimed_at.is_some_and(|at| at + lease <= now)
                    || self
                        .claim_token
                        .is_some_and(|token| retake.contains(&token))
            }
            State::Dead => false,
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Handled events by (platform, message id), with when they were handled. The key is not
    /// the whole [`InboxKey`]: a redelivery is handled at another time, and must still match.
    inbox: HashMap<(Platform, String), chrono::DateTime<chrono::Utc>>,
    /// What the LLM answered for messages, by (platform, message id), with when it answered.
    llm_answers: HashMap<(Platform, String), (LlmAnswer, chrono::DateTime<chrono::Utc>)>,
    /// Voice notes' transcripts by (platform, message id), with when they were kept.
    transcripts: HashMap<(Platform, String), (String, chrono::DateTime<chrono::Utc>)>,
    slots: HashMap<&'static str, Box<dyn MemSlot>>,
    /// Rows not yet sent, by outbox id. Sent rows are removed.
    outbox: BTreeMap<i64, Row>,
    last_id: i64,
}

/// The in-memory store.
impl Inner {
    /// Whether a row before `id` to the same recipient as `row` is still in flight.
    fn earlier_in_flight(&self, id: i64, row: &Row) -> bool {
        self.outbox
            .range(..id)
            .any(|(_, earlier)| earlier.in_flight() && earlier.same_recipient(row))
    }

    /// The row `id` is finished (sent or dead; already removed when sent, so `recipient` is
    /// passed): the next row of the recipient in flight, if a claim held it.
    fn released(&self, id: i64, recipient: &Row) -> Vec<OutboundEnvelope> {
        self.outbox
            .range(id + 1..)
            .map(|(_, row)| row)
            .find(|row| row.in_flight() && row.same_recipient(recipient))
            .filter(|row| row.held)
            .map(|row| vec![row.envelope.clone()])
            .unwrap_or_default()
    }
}

#[derive(Default)]
pub struct MemStore {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemStore").finish_non_exhaustive()
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// A copy of a skill's state slot, `None` when no effect has used it yet (for tests and
    /// the console).
    pub async fn slot<T: Clone + 'static>(&self, key: &'static str) -> Option<T> {
        let inner = self.inner.lock().await;
        inner.slots.get(key)?.as_any().downcast_ref::<T>().cloned()
    }

    /// `mark_published`, and with `release` `mark_republished`.
    async fn mark(&self, outbox_ids: &[i64], release: bool) {
        let mut inner = self.inner.lock().await;
        let now = Instant::now();
        for id in outbox_ids {
            if let Some(row) = inner.outbox.get_mut(id) {
                row.published_at = Some(now);
                if release {
                    row.held = false;
                }
            }
        }
    }
}

#[async_trait]
impl Store for MemStore {
    async fn commit(
        &self,
        inbox: InboxKey,
        effect: Box<dyn Effect>,
        target: ReplyTarget,
    ) -> Result<Commit, StoreError> {
        let mut inner = self.inner.lock().await;
        if inner
            .inbox
            .contains_key(&(inbox.platform, inbox.message_id.clone()))
        {
            return Ok(Commit::Duplicate);
        }
        let snapshot = inner
            .slots
            .iter()
            .map(|(key, slot)| (*key, slot.clone_box()))
            .collect();
        let mut tx = MemTx::new(snapshot);
        if let Some(at) = inbox.person_at {
            // Recorded inside the transaction, like the inbox row in Postgres: the effect sees
            // the message it is answering as the latest from a person.
            tx.slot::<Activity>(ACTIVITY_SLOT)?
                .insert((inbox.platform, target.to.clone()), at);
        }
        let replies = crate::skill::apply_effect(effect.as_ref(), &mut Tx::Mem(&mut tx)).await?;

        // The effect succeeded: from here on nothing fails, so the commit is all or nothing.
        inner.slots = tx.into_slots();
        inner
            .inbox
            .insert((inbox.platform, inbox.message_id), chrono::Utc::now());
        let now = Instant::now();
        let mut envelopes = Vec::with_capacity(replies.len());
        for reply in replies {
            inner.last_id += 1;
            let envelope = target.envelope(inner.last_id, target.address(&reply.to), reply.body);
            let row = Row {
                envelope: envelope.clone(),
                state: State::Pending,
                attempts: 0,
                created_at: now,
                published_at: None,
                claimed_at: None,
                next_attempt_at: None,
                held: false,
                claim_token: None,
            };
            inner.outbox.insert(envelope.outbox_id, row);
            envelopes.push(envelope);
        }
        effect.committed();
        Ok(Commit::Done(envelopes))
    }

    async fn mark_published(&self, outbox_ids: &[i64]) -> Result<(), StoreError> {
        self.mark(outbox_ids, false).await;
        Ok(())
    }

    async fn mark_republished(&self, outbox_ids: &[i64]) -> Result<(), StoreError> {
        self.mark(outbox_ids, true).await;
        Ok(())
    }

    async fn due_for_relay(
        &self,
        grace: Duration,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Due>, StoreError> {
        let inner = self.inner.lock().await;
        let now = Instant::now();
        Ok(inner
            .outbox
            .iter()
            .filter_map(|(id, row)| {
                let released =
                    row.state == State::Pending && row.held && !inner.earlier_in_flight(*id, row);
                (released || row.due(now, grace, lease)).then(|| Due {
                    envelope: row.envelope.clone(),
                    held: released,
                })
            })
            .take(limit)
            .collect())
    }

    async fn claim_outbox_as(
        &self,
        outbox_id: i64,
        lease: Duration,
        attempt: &ClaimAttempt,
    ) -> Result<Option<Claimed>, StoreError> {
        let mut inner = self.inner.lock().await;
        let now = Instant::now();
        let Some(row) = inner.outbox.get(&outbox_id) else {
            return Ok(None);
        };
        if !row.claimable(now, lease, &attempt.retake) {
            return Ok(None);
        }
        let held = inner.earlier_in_flight(outbox_id, row);
        let Some(row) = inner.outbox.get_mut(&outbox_id) else {
            return Ok(None);
        };
        if held {
            row.held = true;
            return Ok(None);
        }
        row.state = State::Sending;
        row.attempts += 1;
        row.claimed_at = Some(now);
        row.held = false;
        row.claim_token = Some(attempt.token);
        Ok(Some(Claimed {
            envelope: row.envelope.clone(),
            attempts: row.attempts,
        }))
    }

    async fn record_send(
        &self,
        outbox_id: i64,
        result: SendResult,
    ) -> Result<Vec<OutboundEnvelope>, StoreError> {
        let mut inner = self.inner.lock().await;
        let now = Instant::now();
        match result {
            SendResult::Sent { .. } => match inner.outbox.remove(&outbox_id) {
                Some(row) => Ok(inner.released(outbox_id, &row)),
                None => Ok(Vec::new()),
            },
            // Errors are the sender's to log; the ephemeral store keeps only what the state
            // machine needs.
            SendResult::Retry {
                next_attempt_in, ..
            } => {
                if let Some(row) = inner.outbox.get_mut(&outbox_id) {
                    if row.state == State::Sending {
                        row.state = State::Retry;
                        row.next_attempt_at = Some(now + next_attempt_in);
                    }
                }
                Ok(Vec::new())
            }
            SendResult::Dead { .. } => {
                let Some(row) = inner.outbox.get_mut(&outbox_id) else {
                    return Ok(Vec::new());
                };
                row.state = State::Dead;
                match inner.outbox.get(&outbox_id) {
                    Some(row) => Ok(inner.released(outbox_id, row)),
                    None => Ok(Vec::new()),
                }
            }
        }
    }

    async fn confirm_sent(&self, outbox_id: i64, _provider_id: &str) -> Result<bool, StoreError> {
        // Sent rows are forgotten, as in `record_send`.
        Ok(self.inner.lock().await.outbox.remove(&outbox_id).is_some())
    }

    async fn record_delivery_failure(
        &self,
        outbox_id: i64,
        _reason: &str,
    ) -> Result<bool, StoreError> {
        // Sent rows are forgotten (see `record_send`), so only a row still held can change.
        let mut inner = self.inner.lock().await;
        match inner.outbox.get_mut(&outbox_id) {
            Some(row) if row.state != State::Dead => {
                row.state = State::Dead;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn purge(&self, before: chrono::DateTime<chrono::Utc>) -> Result<Purged, StoreError> {
        let mut inner = self.inner.lock().await;
        let was = inner.inbox.len();
        inner.inbox.retain(|_, handled_at| *handled_at >= before);
        let answers = inner.llm_answers.len();
        inner
            .llm_answers
            .retain(|_, (_, answered_at)| *answered_at >= before);
        let transcripts = inner.transcripts.len();
        inner
            .transcripts
            .retain(|_, (_, kept_at)| *kept_at >= before);
        Ok(Purged {
            inbox: (was - inner.inbox.len()) as u64,
            llm_answers: (answers - inner.llm_answers.len()) as u64,
            transcripts: (transcripts - inner.transcripts.len()) as u64,
            // Sent rows are dropped at once here; dead ones are kept.
            outbox: 0,
            // Only the current day's counters are kept in memory (`access::strangers`).
            refusals: 0,
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn prior(&self, platform: Platform, message_id: &str) -> Result<Prior, StoreError> {
        let inner = self.inner.lock().await;
        let key = (platform, message_id.to_owned());
        if inner.inbox.contains_key(&key) {
            return Ok(Prior::Handled);
        }
        Ok(match inner.llm_answers.get(&key) {
            Some((answer, _)) => Prior::Interpreted(answer.clone()),
            None => Prior::New,
        })
    }

    async fn keep_llm_answer(
        &self,
        platform: Platform,
        message_id: &str,
        answer: &LlmAnswer,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().await;
        inner
            .llm_answers
            .entry((platform, message_id.to_owned()))
            .or_insert_with(|| (answer.clone(), chrono::Utc::now()));
        Ok(())
    }

    async fn transcript(
        &self,
        platform: Platform,
        message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let inner = self.inner.lock().await;
        Ok(inner
            .transcripts
            .get(&(platform, message_id.to_owned()))
            .map(|(text, _)| text.clone()))
    }

    async fn keep_transcript(
        &self,
        platform: Platform,
        message_id: &str,
        transcript: &str,
    ) -> Result<(), StoreError> {
        let text = crate::voice::bounded(transcript);
        let mut inner = self.inner.lock().await;
        inner
            .transcripts
            .entry((platform, message_id.to_owned()))
            .or_insert_with(|| (text, chrono::Utc::now()));
        Ok(())
    }
}
