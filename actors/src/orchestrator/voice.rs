//! Voice notes in a direct chat, transcribed at most once per message (see [`crate::voice`]).
//!
//! Like the LLM's answer (`interpret`), a transcript is slow, may cost money and is not
//! deterministic, so it is made at most once per platform message:
//!
//! * the store is asked first: a message the inbox holds is not transcribed (a duplicate
//!   webhook; its commit then finds it handled), and with Postgres down the look-up fails
//!   (Unavailable) before anything is downloaded;
//! * a transcript kept for the message (a redelivery after a failed commit) is used as it is;
//! * otherwise the note is downloaded and transcribed — outside any transaction, like the LLM
//!   call — and the transcript kept with the message
//!   ([`Store::keep_transcript`](crate::store::Store::keep_transcript)) before the effect
//!   commits. The audio itself is never kept.
//!
//! The transcript is then routed like typed text (grammar, then the LLM), and the reply to
//! the conversation starts with what was heard. Not configured, too large, or not understood:
//! a short reply, never silence. Every attempt is counted in `alfred_transcriptions_total`.

use std::time::Instant;

use futures::future::BoxFuture;

use super::status::store_failure;
use super::OrchestratorDeps;
use crate::limits::too_long_reply;
use crate::messages::InboundEnvelope;
use crate::skill::{Effect, Reply, ReplyOnly, ReplyTo};
use crate::store::{Prior, StoreError, Tx};
use crate::stream_reader::DeliveryError;
use crate::voice::{heard_prefix, VoiceNote, VOICE_UNCONFIGURED_REPLY};

/// What a voice note became before routing.
enum Heard {
    /// Its transcript, to route like text.
    Transcript(String),
    /// The inbox holds the message: nothing to do (the commit finds it a duplicate).
    Handled,
    /// Not transcribed: this short reply instead.
    Reply(&'static str),
}

/// What a voice note in a direct chat comes to.
pub(super) enum Spoken {
    /// Answered without routing (not transcribed, too long) or nothing to do (`None`).
    Answered(Option<Box<dyn Effect>>),
    /// Heard: route `command` like typed text, then [`heard`] says what was heard.
    Route { command: String, heard: String },
}

/// Transcribes a voice note in a direct chat (at most once per message), or answers it.
pub(super) async fn voice_note(
    deps: &OrchestratorDeps,
    envelope: &InboundEnvelope,
    note: VoiceNote,
) -> Result<Spoken, DeliveryError> {
    let transcript = match listen(deps, envelope, &note).await? {
        Heard::Transcript(transcript) => transcript,
        Heard::Handled => return Ok(Spoken::Answered(None)),
        Heard::Reply(reply) => {
            return Ok(Spoken::Answered(Some(Box::new(ReplyOnly(vec![
                reply.to_owned()
            ])))))
        }
    };
    // A spoken message is held to the same cap as a typed one (`MAX_TEXT_CHARS`).
    if let Some(max) = deps.limiter.too_long(&transcript) {
        tracing::info!(max, "A transcript over MAX_TEXT_CHARS was not read.");
        deps.metrics.refused.with_label_values(&["too_long"]).inc();
        return Ok(Spoken::Answered(Some(Box::new(ReplyOnly(vec![
            too_long_reply(max),
        ])))));
    }
    Ok(Spoken::Route {
        command: command_text(&transcript),
        heard: heard_prefix(&transcript),
    })
}

/// The effect the transcript was routed to (`None`: none), its first reply to the
/// conversation starting with what was heard (`heard`, from [`Spoken::Route`]).
pub(super) fn heard(effect: Option<Box<dyn Effect>>, heard: String) -> Box<dyn Effect> {
    Box::new(HeardEffect {
        heard,
        effect: effect.unwrap_or_else(|| Box::new(ReplyOnly(Vec::new()))),
    })
}

/// The transcript as a command: a speech-to-text server writes sentences ("Add milk."), the
/// grammar reads commands, so the closing punctuation goes.
fn command_text(transcript: &str) -> String {
    transcript
        .trim_end_matches(['.', '!', '?', '…', ' '])
        .to_owned()
}

async fn listen(
    deps: &OrchestratorDeps,
    envelope: &InboundEnvelope,
    note: &VoiceNote,
) -> Result<Heard, DeliveryError> {
    let Some(voice) = deps.voice.as_ref() else {
        tracing::info!("A voice note arrived, but TRANSCRIBE_URL is not set; answered briefly.");
        count(deps, "unconfigured");
        return Ok(Heard::Reply(VOICE_UNCONFIGURED_REPLY));
    };
    let (platform, message_id) = (envelope.platform, envelope.message_id.as_str());
    let looked_up = async {
        if deps.store.prior(platform, message_id).await? == Prior::Handled {
            return Ok::<_, StoreError>(None);
        }
        deps.store.transcript(platform, message_id).await.map(Some)
    };
    match looked_up.await {
        Ok(None) => return Ok(Heard::Handled),
        Ok(Some(Some(kept))) => {
            tracing::info!("This voice note was transcribed before; its transcript is used again.");
            count(deps, "reused");
            return Ok(Heard::Transcript(kept));
        }
        Ok(Some(None)) => {}
        Err(error) => {
            let reason = format!("the look-up before transcribing failed: {error}");
            return Err(store_failure(reason, &error));
        }
    }
    let started = Instant::now();
    let result = voice.transcribe(note).await;
    let outcome = match &result {
        Ok(_) => "transcribed",
        Err(error) => error.label(),
    };
    count(deps, outcome);
    deps.metrics
        .transcription_duration
        .with_label_values(&[outcome])
        .observe(started.elapsed().as_secs_f64());
    match result {
        Ok(transcript) => {
            tracing::info!(
                chars = transcript.chars().count(),
                "A voice note was transcribed."
            );
            let kept = deps
                .store
                .keep_transcript(platform, message_id, &transcript)
                .await;
            if let Err(error) = kept {
                // The commit decides, as for the LLM's answer (see `interpret`).
                tracing::warn!(%error, "Could not keep the voice note's transcript with the message.");
            }
            Ok(Heard::Transcript(transcript))
        }
        Err(error) => {
            tracing::warn!(%error, outcome, "A voice note was not transcribed; answered briefly.");
            Ok(Heard::Reply(error.reply()))
        }
    }
}

fn count(deps: &OrchestratorDeps, outcome: &str) {
    deps.metrics
        .transcriptions
        .with_label_values(&[outcome])
        .inc();
}

/// The effect the transcript was routed to, whose first text reply to the conversation starts
/// with what was heard.
struct HeardEffect {
    /// `🎤 "add milk" →`.
    heard: String,
    effect: Box<dyn Effect>,
}

impl Effect for HeardEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let mut replies = self.effect.apply(tx).await?;
            let first = replies.iter_mut().find_map(|reply| match reply {
                Reply {
                    to: ReplyTo::Conversation,
                    body: crate::messages::OutboundBody::Text { text },
                } => Some(text),
                _ => None,
            });
            match first {
                Some(text) => *text = format!("{} {text}", self.heard),
                None => replies.insert(0, Reply::text(self.heard.clone())),
            }
            Ok(replies)
        })
    }

    fn committed(&self) {
        self.effect.committed();
    }
}

#[cfg(test)]
mod tests {
    use super::command_text;

    #[test]
    fn a_spoken_sentence_loses_its_closing_punctuation() {
        assert_eq!(command_text("Add milk."), "Add milk");
        assert_eq!(command_text("add milk and eggs!"), "add milk and eggs");
        assert_eq!(command_text("list"), "list");
    }
}
