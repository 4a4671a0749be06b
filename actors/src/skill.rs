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
//! commit together or not at all. Effects see the store only through
//! [`Tx`], which is either a Postgres transaction or the in-memory store's
//! transaction (ephemeral mode).

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::access::Access;
use crate::messages::{InboundEnvelope, OutboundBody, Sender};
use crate::store::{StoreError, Tx};

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

/// The route of a skill whose routing is its grammar and nothing more: a name, help lines, the
/// grammar's yes or no, and optionally the LLM tools it offers and the scheduled jobs it runs.
/// Such skills fill this in rather than each writing the same [`SkillRoute`] impl.
#[derive(Debug, Clone, Copy)]
pub struct GrammarRoute {
    /// [`SkillRoute::name`].
    pub name: &'static str,
    /// [`SkillRoute::help`].
    pub help: &'static [&'static str],
    /// [`SkillRoute::understands`]: whether the skill's grammar accepts the text.
    pub understands: fn(&str) -> bool,
    /// [`SkillRoute::tools`].
    pub tools: fn() -> Vec<crate::llm::ToolSpec>,
    /// [`SkillRoute::command_for`].
    pub command_for: fn(&crate::llm::ToolCall) -> Option<String>,
    /// [`SkillRoute::jobs`].
    pub jobs: &'static [&'static str],
}

impl GrammarRoute {
    /// A route with neither tools nor jobs.
    pub fn new(
        name: &'static str,
        help: &'static [&'static str],
        understands: fn(&str) -> bool,
    ) -> Self {
        GrammarRoute {
            name,
            help,
            understands,
            tools: Vec::new,
            command_for: |_| None,
            jobs: &[],
        }
    }

    /// The same route, offering `tools` to the LLM and turning their calls into grammar text
    /// with `command_for`.
    pub fn with_tools(
        self,
        tools: fn() -> Vec<crate::llm::ToolSpec>,
        command_for: fn(&crate::llm::ToolCall) -> Option<String>,
    ) -> Self {
        GrammarRoute {
            tools,
            command_for,
            ..self
        }
    }

    /// The same route, running the scheduled `jobs`.
    pub fn with_jobs(self, jobs: &'static [&'static str]) -> Self {
        GrammarRoute { jobs, ..self }
    }
}

impl SkillRoute for GrammarRoute {
    fn name(&self) -> &'static str {
        self.name
    }

    fn help(&self) -> Vec<&'static str> {
        self.help.to_vec()
    }

    fn understands(&self, text: &str) -> bool {
        (self.understands)(text)
    }

    fn tools(&self) -> Vec<crate::llm::ToolSpec> {
        (self.tools)()
    }

    fn command_for(&self, call: &crate::llm::ToolCall) -> Option<String> {
        (self.command_for)(call)
    }

    fn jobs(&self) -> Vec<&'static str> {
        self.jobs.to_vec()
    }
}

/// Builds a fresh skill; the skill actor calls it on every (re)start, so a factory carries
/// whatever configuration the skill needs (captured, and cloned into each new skill).
pub type SkillFactory = Arc<dyn Fn() -> Box<dyn Skill> + Send + Sync>;

/// One skill of an instance's catalogue: how to route to it, who may use it, and how to build
/// it.
///
/// Each skills crate exports its catalogue as a `Vec<SkillEntry>` in routing order (the
/// orchestrator gives a text to the first skill that understands it), and the runtime loads
/// exactly that list. The orchestrator checks [`SkillEntry::access`] before the skill runs
/// (see [`crate::access`]).
#[derive(Clone)]
pub struct SkillEntry {
    pub route: Arc<dyn SkillRoute>,
    /// Who may use the skill.
    pub access: Access,
    pub factory: SkillFactory,
}

impl SkillEntry {
    /// An entry from a route, its access rule and a factory of fresh skills.
    pub fn new(
        route: Arc<dyn SkillRoute>,
        access: Access,
        factory: impl Fn() -> Box<dyn Skill> + Send + Sync + 'static,
    ) -> Self {
        SkillEntry {
            route,
            access,
            factory: Arc::new(factory),
        }
    }

    /// The skill's stable name (its actor is `skill/{name}`).
    pub fn name(&self) -> &'static str {
        self.route.name()
    }
}

/// A skill as routing sees it: its route and its access rule. Both a catalogue entry and the
/// orchestrator's routed skill are one, so the help reply is built the same way from either.
pub trait Routed {
    /// How to route to the skill.
    fn route(&self) -> &dyn SkillRoute;
    /// Who may use it.
    fn access(&self) -> &Access;
}

impl Routed for SkillEntry {
    fn route(&self) -> &dyn SkillRoute {
        self.route.as_ref()
    }

    fn access(&self) -> &Access {
        &self.access
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
///
/// `apply` takes the effect by reference: a store may apply it more than once, each time in a
/// transaction it then rolls back, before the attempt that commits (the Postgres store runs a
/// batch of messages optimistically and, when one of them fails, again with a savepoint per
/// message; docs/adr/2026-12-02-set-based-group-commits.md). So everything an effect does must
/// go through `tx`; anything outside the transaction (a metric, a log that says "done")
/// belongs in [`Effect::committed`].
pub trait Effect: Send + Sync + 'static {
    /// Applies the change and returns the replies to send.
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>>;

    /// Called once, after the transaction in which this effect applied committed (the store's
    /// `commit` then answers `Done`); never for a duplicate or a failed message.
    fn committed(&self) {}

    /// Whether effects of this kind can be applied together: the Postgres store's group commit
    /// hands all of a batch's effects of one [`EffectBatch::kind`] to that applier at once, so
    /// that they cost a few set-based statements per batch instead of several per message.
    /// `None` (the default): applied one at a time with [`Effect::apply`].
    fn batch(&self) -> Option<Batched<'_>> {
        None
    }
}

/// An effect offered to an [`EffectBatch`]: the applier, and the effect as it downcasts it.
pub struct Batched<'a> {
    pub applier: &'static dyn EffectBatch,
    pub effect: &'a (dyn std::any::Any + Send + Sync),
}

/// Applies many effects of one kind in one go (see [`Effect::batch`]).
///
/// The contract: the outcome is the one [`Effect::apply`] would give applied to each effect in
/// turn, in the order given, in the same transaction — each effect sees what the ones before
/// it did. All or nothing: on `Err` the store rolls the whole transaction back and applies the
/// effects again one by one (each in its own savepoint), so an applier may refuse a batch it
/// cannot plan (and should, rather than guess). Like `apply`, it may run more than once.
pub trait EffectBatch: Send + Sync + 'static {
    /// The kind's name; effects are batched with others whose applier has the same name.
    fn kind(&self) -> &'static str;

    /// Applies `effects` (each the [`Batched::effect`] its effect gave); each one's replies, in
    /// the same order.
    fn apply_all<'a>(
        &'a self,
        effects: &'a [&'a (dyn std::any::Any + Send + Sync)],
        tx: &'a mut Tx<'_>,
    ) -> BoxFuture<'a, Result<Vec<Vec<Reply>>, StoreError>>;
}

/// Applies `effects` with `applier`, turning a panic into an error of the batch (as
/// [`apply_effect`] does for one effect), and checking that each effect got its replies.
pub async fn apply_batch(
    applier: &dyn EffectBatch,
    effects: &[&(dyn std::any::Any + Send + Sync)],
    tx: &mut Tx<'_>,
) -> Result<Vec<Vec<Reply>>, StoreError> {
    use futures::FutureExt;
    let replies = match std::panic::AssertUnwindSafe(applier.apply_all(effects, tx))
        .catch_unwind()
        .await
    {
        Ok(result) => result?,
        Err(panic) => {
            let reason = panic_reason(panic.as_ref());
            tracing::error!(%reason, kind = applier.kind(), "A batch of effects panicked; it is rolled back.");
            return Err(StoreError::Other(format!("the effects panicked: {reason}")));
        }
    };
    if replies.len() != effects.len() {
        return Err(StoreError::Other(format!(
            "the {} batch answered {} of {} effects",
            applier.kind(),
            replies.len(),
            effects.len()
        )));
    }
    Ok(replies)
}

fn panic_reason(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Applies `effect`, turning a panic inside it into an error of this one message.
///
/// Effects run inside the store's transaction — in the Postgres store, inside a group commit
/// shared with other conversations' messages — not inside a supervised actor, so a panic would
/// otherwise take the whole batch down with it. Caught, it fails only its own message, whose
/// changes the store rolls back; the message is delivered again and dead-lettered after
/// `INGEST_MAX_DELIVERIES`, where an operator finds it.
pub async fn apply_effect(effect: &dyn Effect, tx: &mut Tx<'_>) -> Result<Vec<Reply>, StoreError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(effect.apply(tx))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let reason = panic_reason(panic.as_ref());
            tracing::error!(%reason, "A skill's effect panicked; its message is rolled back.");
            Err(StoreError::Other(format!("the effect panicked: {reason}")))
        }
    }
}

/// An effect that changes nothing and answers with fixed text.
pub struct ReplyOnly(pub Vec<String>);

impl Effect for ReplyOnly {
    fn apply<'a>(&'a self, _tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(self.0.iter().cloned().map(Reply::text).collect()) })
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
