//! Voice notes: the contract of fetching and transcribing one, and the answers around it.
//!
//! In a family chat much is said as a voice note ("add milk and the good yoghurt"). A voice
//! note (WhatsApp `audio`) is fetched from the platform and transcribed by a speech-to-text
//! server; the transcript is then handled exactly like typed text — the grammar, then the LLM —
//! and the reply says what was heard, so a misheard word is seen at once.
//!
//! The wire formats (the Graph API's media endpoints, the OpenAI-compatible
//! `/audio/transcriptions`) live in the adapters; this module must not know them. The audio is
//! never stored or logged, and neither is the transcript in a log: it is the family's private
//! chat. Only the transcript (bounded) is kept with the message, so that a redelivery does not
//! transcribe again (see the orchestrator's `voice`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// What the orchestrator answers when voice notes are not configured (`TRANSCRIBE_URL`).
pub const VOICE_UNCONFIGURED_REPLY: &str =
    "I can't listen to voice notes here yet — please type it.";
/// What it answers when a voice note could not be fetched or transcribed.
pub const VOICE_FAILED_REPLY: &str = "I couldn't make out that voice note — could you type it?";
/// What it answers when a voice note is larger than `TRANSCRIBE_MAX_BYTES`.
pub const VOICE_TOO_LARGE_REPLY: &str =
    "That voice note is too long for me — could you type it, or send a shorter one?";

/// The longest transcript kept and routed, in characters: WhatsApp's own text limit. A longer
/// one is cut (the grammar would not understand a speech that long anyway).
pub const MAX_TRANSCRIPT_CHARS: usize = 4_096;

/// The voice note to fetch, as the platform described it in the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceNote {
    /// The platform's media id (WhatsApp: the id to ask the Graph API about).
    pub media_id: String,
    /// The MIME type from the webhook, e.g. `audio/ogg; codecs=opus`.
    pub mime_type: Option<String>,
    /// The SHA-256 the platform gave in the webhook, checked against the bytes.
    pub sha256: Option<String>,
}

/// A voice note that was not transcribed. Reasons never hold the audio, the transcript, a
/// media URL's query or a secret.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The file is larger than the configured cap: refused by its announced size or while
    /// it was read, and never kept.
    #[error("the voice note is larger than {max} bytes")]
    TooLarge { max: usize },
    /// The platform would not give the file (metadata or download).
    #[error("the voice note could not be downloaded: {0}")]
    Download(String),
    /// The bytes do not match the platform's SHA-256.
    #[error("the downloaded voice note does not match its SHA-256")]
    Checksum,
    /// The transcription server could not be reached or answered with an error.
    #[error("the transcription failed: {0}")]
    Transcription(String),
    /// Nothing was heard (an empty transcript).
    #[error("the transcript is empty")]
    Empty,
    /// Fetching and transcribing took longer than the configured time.
    #[error("the voice note was not transcribed within {0:?}")]
    TimedOut(Duration),
}

impl VoiceError {
    /// The `outcome` label of `alfred_transcriptions_total`.
    pub fn label(&self) -> &'static str {
        match self {
            VoiceError::TooLarge { .. } => "too_large",
            VoiceError::Download(_) => "download_failed",
            VoiceError::Checksum => "checksum_mismatch",
            VoiceError::Transcription(_) => "failed",
            VoiceError::Empty => "empty",
            VoiceError::TimedOut(_) => "timeout",
        }
    }

    /// The short reply the person gets: never silence.
    pub fn reply(&self) -> &'static str {
        match self {
            VoiceError::TooLarge { .. } => VOICE_TOO_LARGE_REPLY,
            _ => VOICE_FAILED_REPLY,
        }
    }
}

/// Fetches a voice note from its platform and turns it into text. Implemented in
/// `adapters::voice` (the Graph API's media endpoints and an OpenAI-compatible
/// `/audio/transcriptions`).
///
/// As for [`crate::llm::LlmClient`]: the trait object is `Send + Sync`, its futures are not
/// (awc lives on the caller's thread).
#[async_trait(?Send)]
pub trait VoiceClient: Send + Sync + 'static {
    /// The transcript of `note` as the server wrote it (not yet trimmed or bounded).
    async fn transcribe(&self, note: &VoiceNote) -> Result<String, VoiceError>;
}

/// The configured transcription with its time limit, as the orchestrator holds it.
#[derive(Clone)]
pub struct Voice {
    pub client: Arc<dyn VoiceClient>,
    /// `TRANSCRIBE_TIMEOUT_MS`: download and transcription together.
    pub timeout: Duration,
}

impl Voice {
    /// Fetches and transcribes `note` within the time limit; the transcript is trimmed and cut
    /// to [`MAX_TRANSCRIPT_CHARS`], and an empty one is an error.
    pub async fn transcribe(&self, note: &VoiceNote) -> Result<String, VoiceError> {
        let text = tokio::time::timeout(self.timeout, self.client.transcribe(note))
            .await
            .map_err(|_| VoiceError::TimedOut(self.timeout))??;
        let text = bounded(&text);
        if text.is_empty() {
            return Err(VoiceError::Empty);
        }
        Ok(text)
    }
}

/// `text` trimmed, on one line, and cut to [`MAX_TRANSCRIPT_CHARS`] characters.
pub fn bounded(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX_TRANSCRIPT_CHARS) {
        Some((cut, _)) => one_line[..cut].trim_end().to_owned(),
        None => one_line,
    }
}

/// The longest part of a transcript quoted back in a reply, in characters: the reply must stay
/// within WhatsApp's 4096 characters with the skill's answer after it.
pub const MAX_QUOTED_CHARS: usize = 300;

/// The start of the reply to a voice note: what was heard, marked as a transcript, so that a
/// misheard word is seen (`🎤 "add milk" →`); a long transcript is quoted up to
/// [`MAX_QUOTED_CHARS`] characters and `…`.
pub fn heard_prefix(transcript: &str) -> String {
    match transcript.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("🎤 \"{}…\" →", transcript[..cut].trim_end()),
        None => format!("🎤 \"{transcript}\" →"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Scripted {
        answer: Mutex<Option<Result<String, VoiceError>>>,
        delay: Duration,
    }

    #[async_trait(?Send)]
    impl VoiceClient for Scripted {
        async fn transcribe(&self, _note: &VoiceNote) -> Result<String, VoiceError> {
            tokio::time::sleep(self.delay).await;
            self.answer
                .lock()
                .unwrap()
                .take()
                .unwrap_or(Err(VoiceError::Empty))
        }
    }

    fn voice(answer: Result<String, VoiceError>, delay: Duration) -> Voice {
        Voice {
            client: Arc::new(Scripted {
                answer: Mutex::new(Some(answer)),
                delay,
            }),
            timeout: Duration::from_millis(200),
        }
    }

    fn note() -> VoiceNote {
        VoiceNote {
            media_id: "1".into(),
            mime_type: None,
            sha256: None,
        }
    }

    #[tokio::test]
    async fn a_transcript_is_trimmed_and_put_on_one_line() {
        let voice = voice(Ok("  Add milk\nand yoghurt.  ".into()), Duration::ZERO);
        assert_eq!(
            voice.transcribe(&note()).await.unwrap(),
            "Add milk and yoghurt."
        );
    }

    #[tokio::test]
    async fn silence_is_an_error_and_so_is_a_slow_server() {
        let silent = voice(Ok(" \n ".into()), Duration::ZERO);
        assert_eq!(
            silent.transcribe(&note()).await.unwrap_err().label(),
            "empty"
        );
        let slow = voice(Ok("add milk".into()), Duration::from_secs(5));
        assert_eq!(
            slow.transcribe(&note()).await.unwrap_err().label(),
            "timeout"
        );
    }

    #[test]
    fn a_long_transcript_is_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_TRANSCRIPT_CHARS + 10);
        assert_eq!(bounded(&long).chars().count(), MAX_TRANSCRIPT_CHARS);
    }

    #[test]
    fn a_long_transcript_is_quoted_back_shortened() {
        assert_eq!(heard_prefix("add milk"), "🎤 \"add milk\" →");
        let long = heard_prefix(&"a".repeat(MAX_QUOTED_CHARS * 3));
        assert!(long.ends_with("…\" →"), "{long}");
        assert_eq!(long.chars().count(), MAX_QUOTED_CHARS + 7);
    }

    #[test]
    fn only_a_file_too_large_gets_its_own_reply() {
        assert_eq!(
            VoiceError::TooLarge { max: 1 }.reply(),
            VOICE_TOO_LARGE_REPLY
        );
        assert_eq!(VoiceError::Checksum.reply(), VOICE_FAILED_REPLY);
    }
}
