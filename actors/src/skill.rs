//! The contract between the orchestrator and the skills.
//!
//! A skill is split in two so that routing never waits on a mailbox:
//!
//! * a [`SkillRoute`] (shared, synchronous, pure) tells the orchestrator whether the skill
//!   understands a piece of text and lists the skill's help lines;
//! * a [`Skill`] (owned by its own supervised actor, see [`SkillActor`]) turns a
//!   [`SkillRequest`] into a [`SkillOutcome`]: an [`Effect`] to apply.
//!
//! The effect is *applied by the orchestrator* inside the one transaction that also marks the
//! inbox and writes the outbox rows (DESIGN.md §3), so a skill's state change and its replies
//! commit together or not at all. Effects see the store only through [`Tx`], which is either a
//! Postgres transaction or the in-memory store's transaction (ephemeral mode).

use std::any::Any;
use std::collections::HashMap;

use futures::future::BoxFuture;

use crate::messages::{InboundEnvelope, OutboundBody, Platform, Sender};

/// Routing information for one skill. Implementations are cheap and pure.
pub trait SkillRoute: Send + Sync + 'static {
    /// Stable skill name; the skill's actor is named `skill/{name}`.
    fn name(&self) -> &'static str;
    /// One line per command the skill understands, e.g. `"add milk, eggs and 2 kg apples"`.
    fn help(&self) -> Vec<&'static str>;
    /// Whether the deterministic grammar of this skill understands `text`.
    fn understands(&self, text: &str) -> bool;
    /// The typed commands an LLM may call for this skill (see [`crate::llm`]); none by default.
    fn tools(&self) -> Vec<crate::llm::ToolSpec> {
        Vec::new()
    }
    /// Turns a call of one of [`SkillRoute::tools`] into the canonical command text of this
    /// skill's grammar (`"add 2 kg apples"`), or `None` when its arguments are invalid. The
    /// text is then routed exactly as if typed, so it must be something `understands` accepts.
    fn command_for(&self, _call: &crate::llm::ToolCall) -> Option<String> {
        None
    }
    /// Scheduled jobs this skill runs (their runs arrive as [`SkillRequest::job`]).
    fn jobs(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// What the orchestrator asks of a skill.
#[derive(Debug, Clone)]
pub struct SkillRequest {
    /// The household (shared state scope) the message belongs to.
    pub household: String,
    /// The household's time zone: local dates and times of day are in it.
    pub timezone: chrono_tz::Tz,
    pub sender: Sender,
    /// The text addressed to Alfred, with any invoke prefix removed and whitespace trimmed.
    pub text: String,
    /// Set when this request is a scheduled job run rather than a message: `(job, run_key)`.
    pub job: Option<(String, String)>,
    /// When the message is handled, from the runtime's [`Clock`](crate::clock::Clock): effects
    /// use this, never the system time, so simulated time works.
    pub now: chrono::DateTime<chrono::Utc>,
    pub envelope: InboundEnvelope,
}

impl actix::Message for SkillRequest {
    type Result = Result<SkillOutcome, SkillError>;
}

/// What a skill decided; applied by the orchestrator in the message's transaction.
pub struct SkillOutcome {
    pub effect: Box<dyn Effect>,
}

impl std::fmt::Debug for SkillOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillOutcome").finish_non_exhaustive()
    }
}

/// A skill failed to decide. The message is retried (and dead-lettered after too many
/// deliveries) unless `permanent`, in which case the user is told and the message is done.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct SkillError {
    pub reason: String,
    pub permanent: bool,
}

/// One message an effect sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub to: ReplyTo,
    pub body: OutboundBody,
}

/// Where a reply goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTo {
    /// The conversation the message (or job run) came from; a reply to a message quotes it.
    Conversation,
    /// Someone's direct chat on the same platform and account (a WhatsApp `wa_id`).
    Direct(String),
}

impl Reply {
    /// Text to the conversation.
    pub fn text(text: impl Into<String>) -> Self {
        Reply {
            to: ReplyTo::Conversation,
            body: OutboundBody::Text { text: text.into() },
        }
    }
}

impl From<String> for Reply {
    fn from(text: String) -> Self {
        Reply::text(text)
    }
}

/// A state change plus the replies it produces, applied inside the message's transaction.
pub trait Effect: Send + 'static {
    /// Applies the change and returns the replies to send.
    fn apply<'a>(
        self: Box<Self>,
        tx: &'a mut Tx<'_>,
    ) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>>;
}

/// Applies `effect`, turning a panic inside it into an error of this one message.
///
/// Effects run inside the store's transaction — in the Postgres store, inside a group commit
/// shared with other conversations' messages — not inside a supervised actor, so a panic would
/// otherwise take the whole batch down with it. Caught, it fails only its own message, whose
/// changes the store rolls back; the message is delivered again and dead-lettered after
/// `INGEST_MAX_DELIVERIES`, where an operator finds it.
pub async fn apply_effect(
    effect: Box<dyn Effect>,
    tx: &mut Tx<'_>,
) -> Result<Vec<Reply>, StoreError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(effect.apply(tx))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            tracing::error!(%reason, "A skill's effect panicked; its message is rolled back.");
            Err(StoreError::Other(format!("the effect panicked: {reason}")))
        }
    }
}

/// An effect that changes nothing and answers with fixed text.
pub struct ReplyOnly(pub Vec<String>);

impl Effect for ReplyOnly {
    fn apply<'a>(
        self: Box<Self>,
        _tx: &'a mut Tx<'_>,
    ) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(self.0.into_iter().map(Reply::text).collect()) })
    }
}

/// The store as an effect sees it: one open transaction.
pub enum Tx<'a> {
    /// A pooled connection's transaction. It derefs to tokio-postgres's, and offers
    /// `prepare_cached` / `prepare_typed_cached`: a statement an effect runs on every message
    /// should be prepared once per connection (the connection keeps it across transactions)
    /// rather than sent as text, which Postgres parses and plans on every call.
    Pg(&'a deadpool_postgres::Transaction<'a>),
    Mem(&'a mut MemTx),
}

/// The in-memory slot where the store keeps when a person last wrote in each conversation.
pub const ACTIVITY_SLOT: &str = "alfred:last-person-message";

/// When a person last wrote in each conversation (the in-memory store's record).
pub type Activity = HashMap<(Platform, String), chrono::DateTime<chrono::Utc>>;

impl Tx<'_> {
    /// When a person last wrote in `conversation` (by the runtime's clock), the start of
    /// WhatsApp's 24-hour customer-service window; `None` if never.
    pub async fn last_message_from_person(
        &mut self,
        platform: Platform,
        conversation: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        match self {
            Tx::Pg(tx) => {
                let statement = tx
                    .prepare_cached(
                        "SELECT max(person_at) FROM inbox WHERE platform = $1 AND conversation = $2",
                    )
                    .await?;
                let row = tx
                    .query_one(&statement, &[&platform.as_str(), &conversation])
                    .await?;
                Ok(row.try_get(0)?)
            }
            Tx::Mem(tx) => {
                let activity = tx.slot::<Activity>(ACTIVITY_SLOT)?;
                Ok(activity.get(&(platform, conversation.to_owned())).copied())
            }
        }
    }
}

/// Errors from the store, as effects and the orchestrator see them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("database pool error: {0}")]
    Pool(String),
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    /// Whether the store could not be reached — no connection from the pool in time, connection
    /// refused, a connection that closed or was terminated by a server shutdown, the server
    /// out of connections — as opposed to a statement that failed. An unavailable store says
    /// nothing about the message being handled: try it again later without counting it against
    /// the message (see [`DeliveryError::Unavailable`](crate::stream_reader::DeliveryError)).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Pool(_) => true,
            StoreError::Db(error) => is_connection_error(error),
            StoreError::Other(_) => false,
        }
    }
}

/// A connection-level failure of tokio-postgres: closed, an I/O error, or a server error of
/// class 08 (connection exception), 53 (insufficient resources, e.g. too many connections) or
/// 57P01–57P03 (shutdown, crash, still starting up).
fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        let code = code.code();
        return code.starts_with("08")
            || code.starts_with("53")
            || matches!(code, "57P01" | "57P02" | "57P03");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Per-skill state of the in-memory store, copied on first write within a transaction and
/// swapped in on commit, so an effect that fails leaves no trace (the same as a rollback).
#[derive(Default)]
pub struct MemTx {
    slots: HashMap<&'static str, Box<dyn MemSlot>>,
}

impl MemTx {
    /// Builds a transaction over a snapshot of the given slots.
    pub fn new(slots: HashMap<&'static str, Box<dyn MemSlot>>) -> Self {
        MemTx { slots }
    }

    /// The state slot `key` of type `T`, created empty on first use.
    ///
    /// A slot's type is fixed by its first use; a second type under the same key is a
    /// programming error reported as [`StoreError::Other`].
    pub fn slot<T>(&mut self, key: &'static str) -> Result<&mut T, StoreError>
    where
        T: Default + Clone + Send + 'static,
    {
        let slot = self
            .slots
            .entry(key)
            .or_insert_with(|| Box::new(T::default()) as Box<dyn MemSlot>);
        slot.as_any_mut()
            .downcast_mut::<T>()
            .ok_or_else(|| StoreError::Other(format!("in-memory slot {key} holds another type")))
    }

    /// Gives the (possibly modified) slots back for the store to swap in on commit.
    pub fn into_slots(self) -> HashMap<&'static str, Box<dyn MemSlot>> {
        self.slots
    }
}

/// A clonable, type-erased piece of in-memory skill state.
pub trait MemSlot: Send + 'static {
    fn clone_box(&self) -> Box<dyn MemSlot>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Clone + Send + 'static> MemSlot for T {
    fn clone_box(&self) -> Box<dyn MemSlot> {
        Box::new(self.clone())
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A skill's decision logic, owned by a [`SkillActor`].
pub trait Skill: Send + 'static {
    /// Decides what to do. Must not block; may be async for skills that consult an LLM later.
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>>;
}

/// The actor that owns one skill. Built by a factory so that a restart starts from a fresh
/// skill (see `docs/runtime-semantics.md`).
pub struct SkillActor {
    skill: Box<dyn Skill>,
}

impl SkillActor {
    pub fn new(skill: Box<dyn Skill>) -> Self {
        SkillActor { skill }
    }
}

impl actix::Actor for SkillActor {
    type Context = actix::Context<Self>;
}

impl actix::Handler<SkillRequest> for SkillActor {
    type Result = actix::ResponseFuture<Result<SkillOutcome, SkillError>>;

    fn handle(&mut self, request: SkillRequest, _ctx: &mut Self::Context) -> Self::Result {
        let span = tracing::info_span!(
            "skill",
            household = %request.household,
            message_id = %request.envelope.message_id,
        );
        crate::trace::set_parent(&span, request.envelope.traceparent.as_deref());
        Box::pin(tracing::Instrument::instrument(
            self.skill.handle(request),
            span,
        ))
    }
}
