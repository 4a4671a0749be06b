//! The [`Store`] trait and the types that cross it: inbox keys, reply targets, commits, claims
//! and send results.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;
use crate::messages::{OutboundBody, OutboundEnvelope, Platform};
use crate::skill::Effect;

/// The de-duplication key of one inbound event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InboxKey {
    pub platform: Platform,
    pub message_id: String,
    /// When a person wrote it, by the runtime's clock (`None` for job runs): the inbox keeps
    /// it, with the conversation, as the start of WhatsApp's 24-hour customer-service window
    /// (see `Tx::last_message_from_person`).
    pub person_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The ingest partition the message was read from and the fencing token its reader's lease
    /// was acquired with (`INGEST_PARTITIONS`); `None` without partitions and for job runs
    /// checked outside a commit. A commit whose token is older than the partition's latest is
    /// refused ([`StoreError::Fenced`]).
    pub fence: Option<Fence>,
}

/// An ingest partition and a fencing token of its lease (see [`partitions`](crate::partitions)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fence {
    pub partition: u32,
    pub token: u64,
}

/// Where the replies of an effect go.
#[derive(Debug, Clone)]
pub struct ReplyTarget {
    pub platform: Platform,
    pub account: String,
    pub to: String,
    /// Whether `to` is a group chat (WhatsApp addresses groups differently).
    pub to_group: bool,
    /// The thread the message answered was in (Slack), for replies to the conversation.
    pub thread: Option<String>,
    pub reply_to: Option<String>,
    pub traceparent: Option<String>,
}

/// Where one reply goes: recipient, whether it is a group, and the message it quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub to: String,
    pub to_group: bool,
    pub reply_to: Option<String>,
    pub thread: Option<String>,
}

impl ReplyTarget {
    /// The address of a reply: the conversation, quoting the message; or someone's direct
    /// chat, quoting nothing.
    pub fn address(&self, to: &crate::skill::ReplyTo) -> Address {
        match to {
            crate::skill::ReplyTo::Conversation => Address {
                to: self.to.clone(),
                to_group: self.to_group,
                reply_to: self.reply_to.clone(),
                thread: self.thread.clone(),
            },
            crate::skill::ReplyTo::Direct(recipient) => Address {
                to: recipient.clone(),
                to_group: false,
                reply_to: None,
                thread: None,
            },
        }
    }

    /// The outbox row `outbox_id` of one reply: its address and body, with this target's
    /// platform, account and trace context.
    pub fn envelope(
        &self,
        outbox_id: i64,
        address: Address,
        body: OutboundBody,
    ) -> OutboundEnvelope {
        OutboundEnvelope {
            outbox_id,
            platform: self.platform,
            account: self.account.clone(),
            to: address.to,
            to_group: address.to_group,
            reply_to: address.reply_to,
            thread: address.thread,
            body,
            traceparent: self.traceparent.clone(),
        }
    }
}

/// Result of committing one message's effect.
#[derive(Debug)]
pub enum Commit {
    /// The inbox already held the key: nothing was applied.
    Duplicate,
    /// Applied and committed; these outbox rows now exist, not yet published.
    Done(Vec<OutboundEnvelope>),
}

/// An outbox row claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub envelope: OutboundEnvelope,
    /// Send attempts including this one (1 on the first claim).
    pub attempts: u32,
}

/// One attempt to claim an outbox row ([`Store::claim_outbox_as`]).
///
/// A claim is one conditional `UPDATE`; when the connection is cut after it committed and
/// before its answer arrived, the claimer cannot know whether it holds the row, and a second
/// claim would find the row `sending` under a claim nobody acts on — that row, and every later
/// reply to the same person, would wait out the claim lease. So each attempt carries a random
/// token, written with the claim, and the sender remembers the tokens of attempts that ended
/// in an error: its next attempt may take over a row still claimed under one of them. Nobody
/// sent under such a claim (its claimer never learnt it had one), so the takeover cannot send
/// twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimAttempt {
    /// Written with the claim; random, so no two attempts share one.
    pub token: i64,
    /// Tokens of this claimer's earlier attempts of the same row whose outcome it never learnt.
    pub retake: Vec<i64>,
}

impl ClaimAttempt {
    /// An attempt with a fresh random token that may take over claims made under `retake`.
    pub fn new(retake: Vec<i64>) -> ClaimAttempt {
        ClaimAttempt {
            token: rand::random(),
            retake,
        }
    }
}

/// An outbox row the relay must publish ([`Store::due_for_relay`]).
#[derive(Debug, Clone)]
pub struct Due {
    pub envelope: OutboundEnvelope,
    /// A claim held the row (an earlier reply of its recipient was in flight) and nothing
    /// holds it any more: its release was missed. Published again, it is marked with
    /// [`Store::mark_republished`]; every other due row with [`Store::mark_published`].
    pub held: bool,
}

/// What the sender learnt from one send attempt.
#[derive(Debug, Clone)]
pub enum SendResult {
    Sent {
        provider_id: Option<String>,
    },
    Retry {
        error: String,
        next_attempt_in: Duration,
    },
    Dead {
        reason: String,
    },
}

/// The exactly-once store.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Marks the inbox, applies `effect` and inserts its replies as outbox rows, in one
    /// transaction.
    async fn commit(
        &self,
        inbox: InboxKey,
        effect: Box<dyn Effect>,
        target: ReplyTarget,
    ) -> Result<Commit, StoreError>;

    /// Raises the partition's fencing token to `fence.token` (never lowers it), so that from
    /// now on every commit under an older token is refused. Called by a partition's new owner
    /// before it reads the partition. A commit in flight under the old token holds the fence
    /// back until it ends (it is then first, and its messages duplicates for the new owner);
    /// this waits at most `wait` for it and then fails, so the caller can give the lease back
    /// and try again rather than stall (a paused replica can hold a commit open). The default
    /// fences nothing (the memory store serves one process, which never runs partitions).
    async fn advance_fence(&self, _fence: Fence, _wait: Duration) -> Result<(), StoreError> {
        Ok(())
    }

    /// Records that these outbox rows reached `alfred-outbox`. A hold a claim put on one of
    /// them in the meantime stays (see [`Store::claim_outbox`]): the mark comes after the
    /// publication it records, so the claim that held the row may well have read the very
    /// entry being marked, and the hold is what gets the row published again once the earlier
    /// reply is finished.
    async fn mark_published(&self, outbox_ids: &[i64]) -> Result<(), StoreError>;

    /// Records that these held rows, released (by [`Store::record_send`] of the reply before
    /// them, or found by the relay), were published again: like [`Store::mark_published`],
    /// and their holds are cleared, so that the relay does not publish them once more while
    /// their new entries wait to be claimed. Nothing can hold them again: no earlier reply of
    /// their recipient is in flight any more.
    async fn mark_republished(&self, outbox_ids: &[i64]) -> Result<(), StoreError>;

    /// Outbox rows the relay must (re)publish: committed but never published and older than
    /// `grace`, due retries, claims abandoned for longer than `lease`, and held rows whose
    /// release was missed.
    async fn due_for_relay(
        &self,
        grace: Duration,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Due>, StoreError>;

    /// Claims a row for sending with a conditional update; `None` when it is already sent,
    /// dead, or being sent by someone else — or when an earlier row to the same recipient
    /// (platform, account, recipient; earlier = smaller outbox id) is still in flight: one
    /// recipient's replies are sent in the order they were committed. Such a row is *held*:
    /// [`Store::record_send`] of the earlier row returns it to be republished, and the relay
    /// republishes it should that be missed.
    ///
    /// A claim with a fresh token and nothing to take over: see [`Store::claim_outbox_as`].
    async fn claim_outbox(
        &self,
        outbox_id: i64,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        self.claim_outbox_as(outbox_id, lease, &ClaimAttempt::new(Vec::new()))
            .await
    }

    /// [`Store::claim_outbox`] as `attempt`: the claim records `attempt.token`, and a row
    /// still claimed under one of `attempt.retake` is claimable too (the caller's own claim
    /// whose answer it never got). A row named twice in the claims running at one moment is
    /// claimed once, by its first attempt.
    async fn claim_outbox_as(
        &self,
        outbox_id: i64,
        lease: Duration,
        attempt: &ClaimAttempt,
    ) -> Result<Option<Claimed>, StoreError>;

    /// Records the result of a send attempt of a claimed row. When the row is finished (sent
    /// or dead), returns the next row of its recipient if a claim held it (see
    /// [`Store::claim_outbox`]): the caller publishes it to `alfred-outbox` and marks it
    /// published.
    async fn record_send(
        &self,
        outbox_id: i64,
        result: SendResult,
    ) -> Result<Vec<OutboundEnvelope>, StoreError>;

    /// The platform reported (a status callback) that it accepted the message of this row.
    /// A row whose send was never recorded — the sender died between the HTTP call and
    /// `record_send` — or that waits for a retry is recorded as sent, so it is not sent
    /// again. A dead row stays dead: a late `sent` must not hide a `failed`. Returns whether
    /// the row changed.
    async fn confirm_sent(&self, outbox_id: i64, provider_id: &str) -> Result<bool, StoreError>;

    /// The platform reported (a `failed` status) that it could not deliver the message of this
    /// row, after accepting it: the row becomes dead with the platform's reason, where
    /// operators look for undelivered replies. Returns whether the row changed.
    async fn record_delivery_failure(
        &self,
        outbox_id: i64,
        reason: &str,
    ) -> Result<bool, StoreError>;

    /// Forgets what was finished before `before`: inbox keys handled before it (platforms
    /// stop retrying within days, so a key that old de-duplicates nothing), LLM answers and
    /// voice-note transcripts kept before it, outbox rows sent before it, and strangers' refusal counters of days before
    /// it. Dead rows are kept for operators; rows in flight are never touched. Works in
    /// bounded batches, so a large backlog does not hold long locks. Returns what it removed.
    async fn purge(&self, before: chrono::DateTime<chrono::Utc>) -> Result<Purged, StoreError>;

    /// Checks the store is reachable (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// What the store knows of a message before it is handled: whether the inbox holds it
    /// (already handled) and otherwise the LLM's answer kept for it, if any. Read before the
    /// per-sender limits and before asking the LLM, so neither a duplicate nor a redelivery
    /// takes a token or asks again; with the store down it fails, before the LLM is asked.
    async fn prior(&self, platform: Platform, message_id: &str) -> Result<Prior, StoreError>;

    /// Keeps what the LLM answered for a message, right after it answered and before the
    /// message's effect commits, so a redelivery after a failed commit does not ask again.
    /// The first answer kept for a message stays. Purged with the inbox keys.
    async fn keep_llm_answer(
        &self,
        platform: Platform,
        message_id: &str,
        answer: &LlmAnswer,
    ) -> Result<(), StoreError>;

    /// The transcript kept for a voice note, if it was transcribed before (a redelivery, a
    /// duplicate webhook): read before the audio is fetched, so it is transcribed at most once.
    /// With the store down it fails, before anything is downloaded.
    async fn transcript(
        &self,
        platform: Platform,
        message_id: &str,
    ) -> Result<Option<String>, StoreError>;

    /// Keeps a voice note's transcript (text only, at most
    /// [`MAX_TRANSCRIPT_CHARS`](crate::voice::MAX_TRANSCRIPT_CHARS) characters; the audio is
    /// never stored), right after it was transcribed and before the message's effect commits.
    /// The first transcript kept for a message stays. Purged with the inbox keys.
    async fn keep_transcript(
        &self,
        platform: Platform,
        message_id: &str,
        transcript: &str,
    ) -> Result<(), StoreError>;
}

/// What the LLM made of one message, as kept by [`Store::keep_llm_answer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmAnswer {
    /// How the request ended: the `result` label of `alfred_llm_requests_total` (`accepted`,
    /// `refused`, `no_call`, `failed`, `timeout`).
    pub outcome: String,
    /// The command it proposed, accepted by a skill's grammar; `None` when it had none.
    pub command: Option<String>,
}

/// What [`Store::prior`] knows of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// Not handled, and the LLM was not asked about it.
    New,
    /// Not handled yet, but the LLM was asked and answered this.
    Interpreted(LlmAnswer),
    /// The inbox holds it: already handled.
    Handled,
}

/// What [`Store::purge`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Inbox keys.
    pub inbox: u64,
    /// Sent outbox rows.
    pub outbox: u64,
    /// Kept LLM answers.
    pub llm_answers: u64,
    /// Kept transcripts of voice notes.
    pub transcripts: u64,
    /// Strangers' daily refusal counters (`stranger_refusals`, see `crate::access::strangers`).
    pub refusals: u64,
}
