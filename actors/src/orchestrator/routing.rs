//! Deciding what a message means: scheduled job runs, group-prefix handling, the skills'
//! deterministic grammars, the optional LLM for plain language (`interpret`), voice notes
//! transcribed and routed like text (`voice`), the access rules
//! (who may use each skill, and a stranger's refusal; see [`crate::access`]) and the help reply.
//!
//! Everything here ends in an [`Effect`] (or `None`: handled without a reply); committing it
//! and publishing the replies is the caller's business (`process` in the parent module).

use std::collections::HashMap;

use super::interpret::plain_language;
use super::voice::{self, voice_note, Spoken};
use super::{OrchestratorDeps, RoutedSkill};
use crate::access::counted::Counted;
use crate::access::{strangers, Asker, Refusal};
use crate::households::addressed_text;
use crate::messages::{InboundEnvelope, InboundKind};
use crate::skill::{Effect, ReplyOnly, Routed, SkillRequest};
use crate::stream_reader::DeliveryError;
use crate::voice::VoiceNote;

/// The reply to a media message, location or anything else that is not text.
pub const NOT_TEXT_REPLY: &str =
    "I can only read text messages for now. Type \"help\" to see what I can do.";

/// What to do with a message: `None` records it as handled without a reply.
pub(super) async fn decide(
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
        // media included, is someone else's conversation. A voice note cannot carry a typed
        // prefix, so in a group it is never fetched nor transcribed.
        let addressed = match &envelope.kind {
            InboundKind::Text { body } => addressed_text(body, &deps.invoke_prefixes),
            _ => None,
        };
        return match addressed {
            Some(text) => match refuse_stranger(deps, envelope) {
                Some(refusal) => Ok(Some(refusal)),
                None => route(deps, envelope, text.to_owned()).await,
            },
            None => Ok(None),
        };
    }
    let text = match &envelope.kind {
        InboundKind::Text { body } => Some(body.trim().to_owned()),
        InboundKind::InteractiveReply { title, .. } => Some(title.trim().to_owned()),
        InboundKind::Status { .. } | InboundKind::Job { .. } => return Ok(None),
        // A reaction is an acknowledgement, not a request: answering it would be noise.
        InboundKind::Reaction { .. } => return Ok(None),
        InboundKind::Media { .. }
        | InboundKind::Location { .. }
        | InboundKind::Unsupported { .. } => None,
    };
    if let Some(refusal) = refuse_stranger(deps, envelope) {
        return Ok(Some(refusal));
    }
    if let Some(note) = voice_note_of(&envelope.kind) {
        return match voice_note(deps, envelope, note).await? {
            Spoken::Answered(effect) => Ok(effect),
            Spoken::Route { command, heard } => {
                let effect = route(deps, envelope, command).await?;
                Ok(Some(voice::heard(effect, heard)))
            }
        };
    }
    match text {
        Some(text) => route(deps, envelope, text).await,
        None => Ok(Some(Box::new(ReplyOnly(vec![NOT_TEXT_REPLY.to_owned()])))),
    }
}

/// The voice note an `audio` message carries (WhatsApp sends voice notes and audio files
/// alike as `audio`).
fn voice_note_of(kind: &InboundKind) -> Option<VoiceNote> {
    match kind {
        InboundKind::Media {
            media_type,
            media_id,
            mime_type,
            sha256,
            ..
        } if media_type == "audio" => Some(VoiceNote {
            media_id: media_id.clone(),
            mime_type: mime_type.clone(),
            sha256: sha256.clone(),
        }),
        _ => None,
    }
}

/// A stranger's message (households configured, and none claims the conversation), before
/// any skill, the LLM or help sees it: counted, and at most one refusal a day.
fn refuse_stranger(deps: &OrchestratorDeps, envelope: &InboundEnvelope) -> Option<Box<dyn Effect>> {
    let asker = Asker::of(envelope, &deps.households);
    (!asker.member).then(|| refused(deps, envelope, Refusal::Stranger))
}

/// The answer to a message an access rule refused, counted under the refusal's reason when
/// it commits (once per message, see [`Counted`]).
fn refused(
    deps: &OrchestratorDeps,
    envelope: &InboundEnvelope,
    refusal: Refusal,
) -> Box<dyn Effect> {
    let effect = match refusal {
        Refusal::Stranger => {
            tracing::info!("A stranger wrote; the message is counted and not handled.");
            let timezone = deps.households.resolve(envelope).timezone;
            let day = deps.clock.now().with_timezone(&timezone).date_naive();
            strangers::refusal(
                deps.strangers,
                envelope.platform,
                &envelope.conversation,
                day,
            )
        }
        Refusal::NotReader(answer) => {
            tracing::info!("Refused a skill to someone its access rule does not list.");
            Box::new(ReplyOnly(vec![answer.to_owned()]))
        }
    };
    Box::new(Counted {
        effect,
        counter: deps.metrics.refused.with_label_values(&[refusal.reason()]),
    })
}

/// Routes text addressed to Alfred to the first skill that understands it, or answers help.
pub(super) async fn route(
    deps: &OrchestratorDeps,
    envelope: &InboundEnvelope,
    text: String,
) -> Result<Option<Box<dyn Effect>>, DeliveryError> {
    let asker = Asker::of(envelope, &deps.households);
    let typed = deps
        .skills
        .iter()
        .find(|skill| skill.route.understands(&text));
    let (skill, text) = match typed {
        Some(skill) => (skill, text),
        None => match plain_language(deps, envelope, &text).await? {
            Some(understood) => understood,
            None => {
                let help = help_text(&deps.skills, &asker, &text);
                return Ok(Some(Box::new(ReplyOnly(vec![help]))));
            }
        },
    };
    // Typed or proposed by the LLM, the command reaches the skill only past its access rule.
    if let Err(refusal) = skill.access.check(&asker) {
        return Ok(Some(refused(deps, envelope, refusal)));
    }
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

/// The help reply, built from the help lines of the skills `asker` may use.
pub fn help_text<S: Routed>(skills: &[S], asker: &Asker, text: &str) -> String {
    let mut lines: HashMap<&str, ()> = HashMap::new();
    let mut help = String::new();
    if text.eq_ignore_ascii_case("help") || text.is_empty() {
        help.push_str("Here is what I can do:\n");
    } else {
        help.push_str("Sorry, I didn't understand that. Here is what I can do:\n");
    }
    for skill in skills.iter().filter(|skill| skill.access().allows(asker)) {
        for line in skill.route().help() {
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
