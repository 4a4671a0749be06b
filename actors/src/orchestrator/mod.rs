//! The Orchestrator: from an ingest entry to a committed effect and published replies.
//!
//! For each entry delivered by a [`StreamReader`](crate::stream_reader::StreamReader):
//!
//! 1. parse the envelope (a payload that is not an envelope can never succeed: permanent);
//! 2. wait for the conversation's earlier messages (per-conversation ordering, see
//!    [`Sequencer`]);
//! 3. route: the first skill whose deterministic grammar understands the text gets a
//!    [`SkillRequest`]; text no skill understands goes to the LLM when one is configured
//!    (its tool call counts only as the command text the skill's own grammar accepts, see
//!    [`crate::llm`]) and otherwise gets help built from the skills' own help lines; other
//!    message kinds get a short explanation — never silence;
//! 4. commit the effect with the inbox mark and the outbox rows in one transaction
//!    ([`Store::commit`]); a duplicate platform message id means "already done";
//! 5. publish the committed replies on `alfred-outbox` and mark them published. A failure here
//!    is not an error: the rows are committed and the relay publishes them.
//!
//! Only after that does the reader acknowledge the entry. A skill that panics yields
//! [`DeliveryError::Retry`]: the entry stays pending and is delivered again (and dead-lettered
//! after too many deliveries). A store that cannot be reached yields
//! [`DeliveryError::Unavailable`]: the reader waits for it without counting the delivery, so
//! a Postgres outage never dead-letters a message.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use tracing::Instrument;

use crate::bus::Bus;
use crate::clock::Clock;
use crate::households::{addressed_text, HouseholdDirectory};
use crate::llm::Llm;
use crate::messages::{InboundEnvelope, InboundKind};
use crate::metrics::Metrics;
use crate::names;
use crate::sequencer::Sequencer;
use crate::skill::{Effect, ReplyOnly, SkillRequest, SkillRoute, StoreError};
use crate::store::{Commit, InboxKey, ReplyTarget, Store};
use crate::stream_reader::{Delivery, DeliveryError};

/// The reply to a media message, location or anything else that is not text.
pub const NOT_TEXT_REPLY: &str =
    "I can only read text messages for now. Type \"help\" to see what I can do.";

/// Everything the orchestrator needs; cloned into each (re)started incarnation.
#[derive(Clone)]
pub struct OrchestratorDeps {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    /// The prefixed `alfred-outbox` key.
    pub outbox_stream: String,
    /// Skills in routing order, each with the address of its supervised actor.
    pub skills: Vec<RoutedSkill>,
    /// Which household each conversation belongs to.
    pub households: Arc<HouseholdDirectory>,
    /// In a group, only messages starting with one of these (lower-case) are for Alfred.
    pub invoke_prefixes: Arc<Vec<String>>,
    /// The runtime's clock: the time skills see.
    pub clock: Arc<dyn Clock>,
    /// The optional LLM for text no skill's grammar understands; `None` answers help.
    pub llm: Option<Llm>,
    pub metrics: Metrics,
}

/// A skill's route and the recipient of its actor.
#[derive(Clone)]
pub struct RoutedSkill {
    pub route: Arc<dyn SkillRoute>,
    pub actor: Recipient<SkillRequest>,
}

/// The orchestrator actor.
pub struct Orchestrator {
    deps: OrchestratorDeps,
    conversations: Sequencer,
}

impl Orchestrator {
    pub fn new(deps: OrchestratorDeps) -> Self {
        Orchestrator {
            deps,
            conversations: Sequencer::default(),
        }
    }
}

impl Actor for Orchestrator {
    type Context = Context<Self>;
}

/// Sent by a finished message to its orchestrator so the conversation's line can be forgotten.
#[derive(Message)]
#[rtype(result = "()")]
struct TurnEnded {
    conversation: String,
    ticket: u64,
}

impl Handler<TurnEnded> for Orchestrator {
    type Result = ();

    fn handle(&mut self, ended: TurnEnded, _ctx: &mut Self::Context) {
        self.conversations.leave(&ended.conversation, ended.ticket);
    }
}

impl Handler<Delivery> for Orchestrator {
    type Result = ResponseFuture<Result<(), DeliveryError>>;

    fn handle(&mut self, delivery: Delivery, ctx: &mut Self::Context) -> Self::Result {
        let envelope: InboundEnvelope = match serde_json::from_str(&delivery.entry.payload) {
            Ok(envelope) => envelope,
            Err(error) => {
                let reason = format!("ingest entry is not an inbound envelope: {error}");
                return Box::pin(async move { Err(DeliveryError::Permanent(reason)) });
            }
        };
        let conversation = format!("{}:{}", envelope.platform, envelope.conversation);
        let mut turn = self.conversations.enter(&conversation);
        let deps = self.deps.clone();
        let me = ctx.address();
        let span = tracing::info_span!(
            "orchestrate",
            platform = %envelope.platform,
            message_id = %envelope.message_id,
            entry_id = %delivery.entry.id,
            deliveries = delivery.entry.deliveries,
        );
        crate::trace::set_parent(&span, envelope.traceparent.as_deref());
        Box::pin(
            async move {
                // When an earlier message of this conversation failed it will be delivered
                // again; this one steps back too rather than overtake it. Not its own fault,
                // so it must not count as a delivery (Unavailable).
                let result = if turn.wait().await {
                    process(&deps, envelope).await
                } else {
                    Err(DeliveryError::Unavailable(
                        "an earlier message of this conversation is not handled yet".to_owned(),
                    ))
                };
                if result.is_ok() {
                    turn.succeed();
                }
                me.do_send(TurnEnded {
                    conversation: turn.key().to_owned(),
                    ticket: turn.ticket(),
                });
                drop(turn);
                result
            }
            .instrument(span),
        )
    }
}

/// Decides, commits and publishes one message.
async fn process(deps: &OrchestratorDeps, envelope: InboundEnvelope) -> Result<(), DeliveryError> {
    if let InboundKind::Status {
        message_id,
        status,
        callback_data,
        errors,
        ..
    } = &envelope.kind
    {
        return track_delivery(deps, message_id, status, callback_data.as_deref(), errors).await;
    }
    let effect = match decide(deps, &envelope).await? {
        Some(effect) => effect,
        None => Box::new(ReplyOnly(Vec::new())),
    };
    let inbox = InboxKey {
        platform: envelope.platform,
        message_id: envelope.message_id.clone(),
        person_at: envelope.kind.is_from_person().then(|| deps.clock.now()),
    };
    let target = ReplyTarget {
        platform: envelope.platform,
        account: envelope.account.clone(),
        to: envelope.conversation.clone(),
        to_group: envelope.is_group,
        thread: envelope.thread.clone(),
        // Replies quote the message they answer; a scheduled job answers nothing.
        reply_to: match envelope.kind {
            InboundKind::Job { .. } => None,
            _ => Some(envelope.message_id.clone()),
        },
        traceparent: crate::trace::current_traceparent().or(envelope.traceparent.clone()),
    };
    let committed = match deps.store.commit(inbox, effect, target).await {
        Ok(Commit::Duplicate) => {
            tracing::info!("Message was already handled; acknowledging the redelivery.");
            deps.metrics
                .processed
                .with_label_values(&["duplicate"])
                .inc();
            return Ok(());
        }
        Ok(Commit::Done(replies)) => replies,
        Err(error) => {
            if !error.is_unavailable() {
                tracing::warn!(%error, "Could not commit the message's effect; it will be retried.");
            }
            return Err(store_failure(format!("commit failed: {error}"), &error));
        }
    };
    deps.metrics
        .processed
        .with_label_values(&["committed"])
        .inc();
    if committed.is_empty() {
        return Ok(());
    }
    publish(deps, &committed).await;
    Ok(())
}

/// A status callback about one of our replies. `sent`, `delivered` and `read` prove the
/// platform accepted it: a row whose send outcome was lost in a crash is then recorded as sent
/// instead of being sent again. Idempotent, so it needs no inbox mark.
async fn track_delivery(
    deps: &OrchestratorDeps,
    message_id: &str,
    status: &str,
    callback_data: Option<&str>,
    errors: &[String],
) -> Result<(), DeliveryError> {
    let outbox_id = callback_data.and_then(crate::messages::outbox_id_of);
    match (status, outbox_id) {
        ("sent" | "delivered" | "read", Some(outbox_id)) => {
            match deps.store.confirm_sent(outbox_id, message_id).await {
                Ok(true) => {
                    tracing::info!(outbox_id, %status, "A status confirmed a send whose outcome was unknown.")
                }
                Ok(false) => tracing::debug!(outbox_id, %status, "Delivery status received."),
                Err(error) => {
                    return Err(store_failure(
                        format!("could not record the status: {error}"),
                        &error,
                    ))
                }
            }
        }
        ("failed", outbox_id) => {
            let reason = format!("the platform could not deliver it: {}", errors.join("; "));
            tracing::warn!(?outbox_id, %message_id, %reason, "The platform reports a reply could not be delivered.");
            if let Some(outbox_id) = outbox_id {
                match deps.store.record_delivery_failure(outbox_id, &reason).await {
                    Ok(true) => dead_letter_failed(deps, outbox_id, message_id, &reason).await,
                    Ok(false) => {}
                    Err(error) => {
                        return Err(store_failure(
                            format!("could not record the status: {error}"),
                            &error,
                        ))
                    }
                }
            }
        }
        _ => tracing::debug!(?outbox_id, %message_id, %status, "Delivery status received."),
    }
    deps.metrics.processed.with_label_values(&["status"]).inc();
    Ok(())
}

/// `Unavailable` when the store could not be reached (the reader then waits for it without
/// counting the delivery), `Retry` when a statement failed.
fn store_failure(reason: String, error: &StoreError) -> DeliveryError {
    if error.is_unavailable() {
        DeliveryError::Unavailable(reason)
    } else {
        DeliveryError::Retry(reason)
    }
}

/// Writes a reply the platform failed to deliver to `alfred-outbox:dead`, for operators.
async fn dead_letter_failed(
    deps: &OrchestratorDeps,
    outbox_id: i64,
    message_id: &str,
    reason: &str,
) {
    let dead_stream = format!("{}:dead", deps.outbox_stream);
    let entry =
        serde_json::json!({ "outbox_id": outbox_id, "provider_id": message_id, "reason": reason });
    if let Err(error) = deps.bus.publish(&dead_stream, &entry.to_string()).await {
        tracing::warn!(%error, "Could not write the undelivered reply to the dead-letter stream; it is marked dead in the outbox table.");
    }
    deps.metrics
        .dead_lettered
        .with_label_values(&[dead_stream.as_str(), "delivery_failed"])
        .inc();
}

/// Publishes committed replies; on failure leaves them to the relay.
async fn publish(deps: &OrchestratorDeps, replies: &[crate::messages::OutboundEnvelope]) {
    let mut payloads = Vec::with_capacity(replies.len());
    for reply in replies {
        match serde_json::to_string(reply) {
            Ok(payload) => payloads.push(payload),
            Err(error) => {
                tracing::error!(%error, outbox_id = reply.outbox_id, "Could not serialize a reply.");
                return;
            }
        }
    }
    if let Err(error) = deps.bus.publish_many(&deps.outbox_stream, &payloads).await {
        tracing::warn!(%error, "Could not publish committed replies; the relay will.");
        return;
    }
    let ids: Vec<i64> = replies.iter().map(|reply| reply.outbox_id).collect();
    if let Err(error) = deps.store.mark_published(&ids).await {
        // Harmless: the relay publishes them again and the sender's claim stops a second send.
        tracing::warn!(%error, "Could not mark replies published.");
    }
}

/// What to do with a message: `None` records it as handled without a reply.
async fn decide(
    deps: &OrchestratorDeps,
    envelope: &InboundEnvelope,
) -> Result<Option<Box<dyn Effect>>, DeliveryError> {
    if let InboundKind::Job {
        job,
        household,
        run_key,
    } = &envelope.kind
    {
        return run_job(deps, envelope, job, household, run_key).await;
    }
    if envelope.is_group {
        // In a group Alfred speaks only when spoken to: anything without an invoke prefix,
        // media included, is someone else's conversation.
        let addressed = match &envelope.kind {
            InboundKind::Text { body } => addressed_text(body, &deps.invoke_prefixes),
            _ => None,
        };
        return match addressed {
            Some(text) => route(deps, envelope, text.to_owned()).await,
            None => Ok(None),
        };
    }
    let text = match &envelope.kind {
        InboundKind::Text { body } => body.trim().to_owned(),
        InboundKind::InteractiveReply { title, .. } => title.trim().to_owned(),
        InboundKind::Status { .. } | InboundKind::Job { .. } => return Ok(None),
        // A reaction is an acknowledgement, not a request: answering it would be noise.
        InboundKind::Reaction { .. } => return Ok(None),
        InboundKind::Media { .. }
        | InboundKind::Location { .. }
        | InboundKind::Unsupported { .. } => {
            return Ok(Some(Box::new(ReplyOnly(vec![NOT_TEXT_REPLY.to_owned()]))));
        }
    };
    route(deps, envelope, text).await
}

/// Routes text addressed to Alfred to the first skill that understands it, or answers help.
async fn route(
    deps: &OrchestratorDeps,
    envelope: &InboundEnvelope,
    text: String,
) -> Result<Option<Box<dyn Effect>>, DeliveryError> {
    let typed = deps
        .skills
        .iter()
        .find(|skill| skill.route.understands(&text));
    let (skill, text) = match typed {
        Some(skill) => (skill, text),
        None => match plain_language(deps, &text).await {
            Some(understood) => understood,
            None => {
                let help = help_text(&deps.skills, &text);
                return Ok(Some(Box::new(ReplyOnly(vec![help]))));
            }
        },
    };
    let household = deps.households.resolve(envelope);
    ask(deps, skill, envelope, household, text, None).await
}

/// Hands a scheduled job run to the skill whose route lists the job.
async fn run_job(
    deps: &OrchestratorDeps,
    envelope: &InboundEnvelope,
    job: &str,
    household: &str,
    run_key: &str,
) -> Result<Option<Box<dyn Effect>>, DeliveryError> {
    let Some(skill) = deps
        .skills
        .iter()
        .find(|skill| skill.route.jobs().contains(&job))
    else {
        tracing::warn!(%job, "No skill runs this scheduled job; the run is recorded as done.");
        return Ok(None);
    };
    let mut info = deps.households.resolve(envelope);
    info.id = household.to_owned();
    let run = Some((job.to_owned(), run_key.to_owned()));
    ask(deps, skill, envelope, info, String::new(), run).await
}

/// Sends one request to a skill actor and turns its answer into an effect.
async fn ask(
    deps: &OrchestratorDeps,
    skill: &RoutedSkill,
    envelope: &InboundEnvelope,
    household: crate::households::HouseholdInfo,
    text: String,
    job: Option<(String, String)>,
) -> Result<Option<Box<dyn Effect>>, DeliveryError> {
    let request = SkillRequest {
        household: household.id,
        timezone: household.timezone,
        sender: envelope.sender.clone(),
        text,
        job,
        now: deps.clock.now(),
        // The skill's span becomes a child of this orchestrate span, not of the webhook's.
        envelope: InboundEnvelope {
            traceparent: crate::trace::current_traceparent().or(envelope.traceparent.clone()),
            ..envelope.clone()
        },
    };
    let name = skill.route.name();
    match skill.actor.send(request).await {
        Ok(Ok(outcome)) => Ok(Some(outcome.effect)),
        Ok(Err(error)) if error.permanent => {
            tracing::warn!(skill = name, %error, "The skill refused the message.");
            Ok(Some(Box::new(ReplyOnly(vec![format!(
                "Sorry, I couldn't do that: {}",
                error.reason
            )]))))
        }
        Ok(Err(error)) => Err(DeliveryError::Retry(format!(
            "skill/{name} failed: {error}"
        ))),
        Err(error) => Err(DeliveryError::Retry(format!(
            "skill/{name} did not answer: {error}"
        ))),
    }
}

/// Text the grammar cannot parse, put to the LLM when one is configured: the skill to ask and
/// the canonical command the LLM's tool call became, routed exactly as if typed.
async fn plain_language<'a>(
    deps: &'a OrchestratorDeps,
    text: &str,
) -> Option<(&'a RoutedSkill, String)> {
    let llm = deps.llm.as_ref()?;
    // Asking for help is not a request to interpret.
    if text.is_empty() || text.eq_ignore_ascii_case("help") {
        return None;
    }
    let routes: Vec<&dyn SkillRoute> = deps.skills.iter().map(|s| s.route.as_ref()).collect();
    let outcome = llm.consult(text, &routes).await;
    if let Some(result) = outcome.label() {
        deps.metrics.llm_requests.with_label_values(&[result]).inc();
    }
    let proposal = outcome.proposal()?;
    let skill = deps
        .skills
        .iter()
        .find(|skill| skill.route.understands(&proposal.command))?;
    Some((skill, proposal.command))
}

/// The help reply, built from the skills' own help lines.
pub fn help_text(skills: &[RoutedSkill], text: &str) -> String {
    let mut lines: HashMap<&str, ()> = HashMap::new();
    let mut help = String::new();
    if text.eq_ignore_ascii_case("help") || text.is_empty() {
        help.push_str("Here is what I can do:\n");
    } else {
        help.push_str("Sorry, I didn't understand that. Here is what I can do:\n");
    }
    for skill in skills {
        for line in skill.route.help() {
            if lines.insert(line, ()).is_none() {
                help.push_str("• ");
                help.push_str(line);
                help.push('\n');
            }
        }
    }
    help.truncate(help.trim_end().len());
    help
}

/// The prefixed stream keys the orchestrator's readers use.
pub fn ingest_keys(prefix: &str) -> (String, String) {
    (
        names::key(prefix, names::INGEST_STREAM),
        names::key(prefix, names::INGEST_DEAD_STREAM),
    )
}
