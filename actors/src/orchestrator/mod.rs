//! The Orchestrator: from an ingest entry to a committed effect and published replies.
//!
//! For each entry delivered by a [`StreamReader`](crate::stream_reader::StreamReader):
//!
//! 1. parse the envelope (a payload that is not an envelope can never succeed: permanent);
//! 2. wait for the conversation's earlier messages (per-conversation ordering, see
//!    [`Sequencer`]);
//! 3. apply the sender's limits to what a person asked (see `gate`): a message the inbox
//!    already holds is acknowledged, one over the sender's rate or the text cap is answered
//!    briefly (or not at all) and recorded as handled without being routed;
//! 4. route: the first skill whose deterministic grammar understands the text gets a
//!    [`SkillRequest`](crate::skill::SkillRequest); text no skill understands goes to the LLM
//!    when one is configured (its tool call counts only as the command text the skill's own
//!    grammar accepts, see [`crate::llm`]) and otherwise gets help built from the skills' own
//!    help lines; a voice note in a direct chat is transcribed (at most once per message,
//!    see `voice`) and its transcript routed like text; other message kinds get a short
//!    explanation — never silence. The LLM is asked at most once per message (see
//!    `interpret`);
//! 5. commit the effect with the inbox mark and the outbox rows in one transaction
//!    ([`Store::commit`](crate::store::Store::commit)); a duplicate platform message id means
//!    "already done";
//! 6. publish the committed replies on `alfred-outbox` and mark them published. A failure here
//!    is not an error: the rows are committed and the relay publishes them.
//!
//! Only after that does the reader acknowledge the entry. A skill that panics yields
//! [`DeliveryError::Retry`]: the entry stays pending and is delivered again (and dead-lettered
//! after too many deliveries). A store that cannot be reached yields
//! [`DeliveryError::Unavailable`]: the reader waits for it without counting the delivery, so
//! a Postgres outage never dead-letters a message.
//!
//! Layout: this file holds the actor and the commit-and-publish path; `deps` what it is built
//! from; `gate` the per-sender limits; `routing` decides what a message means (skill grammar,
//! help, group prefixes, scheduled jobs), `interpret` asks the LLM about plain language and
//! `voice` transcribes voice notes;
//! `status` handles the platform's status callbacks about our replies.

mod deps;
mod gate;
mod interpret;
mod routing;
mod status;
mod voice;
mod waiting;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use actix::prelude::*;
use tracing::Instrument;

use crate::messages::{InboundEnvelope, InboundKind};
use crate::sequencer::Sequencer;
use crate::skill::ReplyOnly;
use crate::store::{Commit, Fence, InboxKey, ReplyTarget, StoreError};
use crate::stream_reader::{Delivery, DeliveryError};

pub use deps::{OrchestratorDeps, RoutedSkill};
use gate::{gate, Gate};
use routing::decide;
pub use routing::{help_text, NOT_TEXT_REPLY};
use status::{store_failure, track_delivery};
use waiting::{EntryId, Waiting};

/// The orchestrator actor.
pub struct Orchestrator {
    deps: OrchestratorDeps,
    /// The order of the messages in flight, per conversation.
    conversations: Sequencer,
    /// The messages that wait for an earlier, failed one, per conversation. Shared with the
    /// futures of this actor's handlers, which all run on its thread.
    waiting: Rc<RefCell<Waiting>>,
}

impl Orchestrator {
    pub fn new(deps: OrchestratorDeps) -> Self {
        Orchestrator {
            deps,
            conversations: Sequencer::default(),
            waiting: Rc::default(),
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
        let waiting = Rc::clone(&self.waiting);
        let entry = EntryId::parse(&delivery.entry.id);
        let last = delivery.last;
        let fence = delivery.fence;
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
                let earlier_ok = turn.wait().await;
                let key = turn.key();
                // An earlier message of this conversation failed and will be delivered again:
                // this one waits for it, not counting the delivery (its own fault it is not).
                let must_wait = entry.is_some_and(|entry| {
                    waiting.borrow_mut().must_wait(key, entry, Instant::now())
                });
                let result = if must_wait {
                    Err(DeliveryError::Deferred(
                        "an earlier message of this conversation failed and is to be delivered \
                         again first"
                            .to_owned(),
                    ))
                } else if !earlier_ok {
                    // The message just before this one could not be handled now (its store is
                    // down): step back with it, in order.
                    Err(DeliveryError::Unavailable(
                        "an earlier message of this conversation is not handled yet".to_owned(),
                    ))
                } else {
                    process(&deps, envelope, fence).await
                };
                if let Some(entry) = entry {
                    let mut waiting = waiting.borrow_mut();
                    match &result {
                        // Delivered again later: what comes after it waits.
                        Err(DeliveryError::Retry(_)) if !last => {
                            waiting.failed(key, entry, Instant::now());
                        }
                        Err(
                            DeliveryError::Unavailable(_)
                            | DeliveryError::Deferred(_)
                            | DeliveryError::Fenced(_),
                        ) => {}
                        // Handled, or given up (dead-lettered): the next may go.
                        _ => waiting.done(key, entry),
                    }
                }
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
async fn process(
    deps: &OrchestratorDeps,
    envelope: InboundEnvelope,
    fence: Option<Fence>,
) -> Result<(), DeliveryError> {
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
    let effect = match gate(deps, &envelope).await? {
        Gate::Handled => {
            already_handled(deps);
            return Ok(());
        }
        Gate::Refuse(refusal) => refusal,
        Gate::Pass => match decide(deps, &envelope).await? {
            Some(effect) => effect,
            None => Box::new(ReplyOnly(Vec::new())),
        },
    };
    let inbox = InboxKey {
        platform: envelope.platform,
        message_id: envelope.message_id.clone(),
        person_at: envelope.kind.is_from_person().then(|| deps.clock.now()),
        fence,
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
            already_handled(deps);
            return Ok(());
        }
        Ok(Commit::Done(replies)) => replies,
        Err(error @ StoreError::Fenced { .. }) => {
            deps.metrics.fenced_commits.inc();
            tracing::info!(%error, "The partition moved to another replica; its new owner handles the message.");
            return Err(DeliveryError::Fenced(error.to_string()));
        }
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

/// A message the inbox already holds: counted, and acknowledged.
fn already_handled(deps: &OrchestratorDeps) {
    tracing::info!("Message was already handled; acknowledging the redelivery.");
    deps.metrics
        .processed
        .with_label_values(&["duplicate"])
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
