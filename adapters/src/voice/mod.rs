//! Voice notes: fetched from the Graph API's media endpoints and transcribed by an
//! OpenAI-compatible `/audio/transcriptions` (see `alfred_actors::voice`).
//!
//! 1. `GET {GRAPH_API_URL}/{version}/{media-id}` with the bearer token answers
//!    `{"url", "mime_type", "sha256", "file_size", "id", "messaging_product"}`. A file larger
//!    than `TRANSCRIBE_MAX_BYTES` by its `file_size` is refused here, before any download.
//! 2. `GET {url}` with the same token answers the bytes. The URL's host must be on the
//!    outbound allowlist (Meta's `lookaside.fbsbx.com`, or the Graph API's own host): the token
//!    never goes to a host Meta's answer could name freely. The body is read up to the cap and
//!    refused beyond it (by `Content-Length` first, then while streaming), and its SHA-256
//!    must match the one Meta gave (in the metadata and in the webhook; hex, or base64 as some
//!    webhook payloads carry it).
//! 3. `POST {TRANSCRIBE_URL}/audio/transcriptions`, `multipart/form-data` with `file` (the
//!    bytes as they came — WhatsApp's OGG/Opus is accepted by OpenAI and by the usual local
//!    Whisper servers — named `voice.ogg`/`.mp3`/`.m4a`… after the MIME type, since servers
//!    tell the format by the extension), `model` and `response_format=json`, authorised by
//!    `Bearer {TRANSCRIBE_API_KEY}` when set, answers `{"text": "…"}`.
//!
//! The audio lives only in memory for the length of the request; nothing here logs it, its
//! transcript or a media URL (which is a capability). Tokens travel only in `Authorization`
//! headers marked sensitive. Built on awc (not `Send`): an HTTP client is built on the
//! caller's thread per voice note, as for the LLM.

mod multipart;

use std::time::Duration;

use actix_web::http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use actix_web::http::Uri;
use alfred_actors::voice::{Voice, VoiceClient, VoiceError, VoiceNote};
use alfred_config::{Settings, TranscribeSettings};
use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use self::multipart::{Form, Multipart, UnsafeHeader};
use crate::allowlist::Allowlist;
use crate::outbound_http;

pub use crate::allowlist::MEDIA_HOST;
/// Largest metadata or transcription answer read.
const RESPONSE_LIMIT: usize = 256 * 1024;

/// The settings cannot make a client.
#[derive(Debug, thiserror::Error)]
pub enum VoiceSetupError {
    #[error("TRANSCRIBE_URL does not form a valid URL: {0}")]
    InvalidUrl(String),
    #[error("GRAPH_API_URL and GRAPH_API_VERSION do not form a valid URL: {0}")]
    InvalidGraphUrl(String),
    #[error("{0} contains characters not allowed in an HTTP header")]
    InvalidToken(&'static str),
}

/// Fetches voice notes from the Graph API and transcribes them.
#[derive(Clone)]
pub struct GraphWhisper {
    /// `{GRAPH_API_URL}/{GRAPH_API_VERSION}`.
    graph_root: String,
    /// `Bearer {META_TOKEN}`, marked sensitive.
    graph_authorization: HeaderValue,
    /// `{TRANSCRIBE_URL}/audio/transcriptions`.
    transcribe_url: String,
    /// `Bearer {TRANSCRIBE_API_KEY}`, marked sensitive; `None` without a key.
    transcribe_authorization: Option<HeaderValue>,
    model: String,
    max_bytes: usize,
    /// The time of each request (the whole is bounded by [`Voice::timeout`]).
    timeout: Duration,
    /// The hosts requests may go to: the media URL from Meta's answer is checked too.
    allowlist: Allowlist,
}

impl std::fmt::Debug for GraphWhisper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphWhisper")
            .field("graph_root", &self.graph_root)
            .field("transcribe_url", &self.transcribe_url)
            .field("tokens", &"[REDACTED]")
            .field("model", &self.model)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

/// The configured transcription, ready for the orchestrator; `None` without `TRANSCRIBE_URL`
/// (or without WhatsApp, which the settings already refuse).
///
/// # Errors
/// A URL that cannot be requested, or a token that cannot be sent in a header.
pub fn from_settings(settings: &Settings) -> Result<Option<Voice>, VoiceSetupError> {
    let (Some(transcribe), Some(whatsapp)) = (&settings.transcribe, &settings.whatsapp) else {
        return Ok(None);
    };
    let client = GraphWhisper::new(
        &whatsapp.graph_api_url,
        &whatsapp.graph_api_version,
        &whatsapp.token,
        transcribe,
        Allowlist::for_settings(settings),
    )?;
    Ok(Some(Voice {
        client: std::sync::Arc::new(client),
        timeout: transcribe.timeout,
    }))
}

impl GraphWhisper {
    /// A client of the Graph API at `graph_url` (with `version`) and of the transcription
    /// server of `transcribe`, reaching only the hosts of `allowlist`.
    ///
    /// # Errors
    /// See [`from_settings`].
    pub fn new(
        graph_url: &str,
        version: &str,
        token: &SecretString,
        transcribe: &TranscribeSettings,
        allowlist: Allowlist,
    ) -> Result<Self, VoiceSetupError> {
        let graph_root = format!(
            "{}/{}",
            graph_url.trim_end_matches('/'),
            version.trim_matches('/')
        );
        graph_root
            .parse::<Uri>()
            .map_err(|error| VoiceSetupError::InvalidGraphUrl(error.to_string()))?;
        let transcribe_url = format!(
            "{}/audio/transcriptions",
            transcribe.base_url.trim_end_matches('/')
        );
        transcribe_url
            .parse::<Uri>()
            .map_err(|error| VoiceSetupError::InvalidUrl(error.to_string()))?;
        let graph_authorization =
            outbound_http::bearer(token).ok_or(VoiceSetupError::InvalidToken("META_TOKEN"))?;
        let transcribe_authorization = match &transcribe.api_key {
            Some(key) => Some(
                outbound_http::bearer(key)
                    .ok_or(VoiceSetupError::InvalidToken("TRANSCRIBE_API_KEY"))?,
            ),
            None => None,
        };
        Ok(GraphWhisper {
            graph_root,
            graph_authorization,
            transcribe_url,
            transcribe_authorization,
            model: transcribe.model.clone(),
            max_bytes: transcribe.max_bytes,
            timeout: transcribe.timeout,
            allowlist,
        })
    }

    fn allowed(&self, url: &str) -> Result<(), VoiceError> {
        self.allowlist
            .check(url)
            .map_err(|denied| VoiceError::Download(denied.to_string()))
    }

    /// Step 1: where the file is, and what Meta says of it.
    async fn media_info(
        &self,
        client: &awc::Client,
        media_id: &str,
    ) -> Result<MediaInfo, VoiceError> {
        if media_id.is_empty() || !media_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(VoiceError::Download("the media id is not an id".to_owned()));
        }
        let url = format!("{}/{media_id}", self.graph_root);
        self.allowed(&url)?;
        let mut response = client
            .get(&url)
            .insert_header((AUTHORIZATION, self.graph_authorization.clone()))
            .send()
            .await
            .map_err(|error| VoiceError::Download(format!("media look-up failed: {error}")))?;
        if !response.status().is_success() {
            return Err(VoiceError::Download(format!(
                "media look-up answered {}",
                response.status().as_u16()
            )));
        }
        let body = response
            .body()
            .limit(RESPONSE_LIMIT)
            .await
            .map_err(|error| VoiceError::Download(format!("media look-up unreadable: {error}")))?;
        serde_json::from_slice(&body)
            .map_err(|error| VoiceError::Download(format!("media look-up not understood: {error}")))
    }

    /// Step 2: the bytes, at most `max_bytes` of them.
    async fn download(&self, client: &awc::Client, url: &str) -> Result<Vec<u8>, VoiceError> {
        self.allowed(url)?;
        let mut response = client
            .get(url)
            .insert_header((AUTHORIZATION, self.graph_authorization.clone()))
            .send()
            .await
            // awc's error may quote the URL, which is a capability: only say what failed.
            .map_err(|_| VoiceError::Download("the media download failed".to_owned()))?;
        if !response.status().is_success() {
            return Err(VoiceError::Download(format!(
                "the media download answered {}",
                response.status().as_u16()
            )));
        }
        match response.body().limit(self.max_bytes).await {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(awc::error::PayloadError::Overflow) => Err(VoiceError::TooLarge {
                max: self.max_bytes,
            }),
            Err(error) => Err(VoiceError::Download(format!(
                "the media download broke off: {error}"
            ))),
        }
    }

    /// Step 3: the transcript.
    async fn transcription(
        &self,
        client: &awc::Client,
        audio: &[u8],
        mime_type: &str,
    ) -> Result<String, VoiceError> {
        let (content_type, extension) = audio_format(mime_type);
        let form = Multipart::new()
            .file("file", &format!("voice.{extension}"), content_type, audio)
            .and_then(|form| form.text("model", &self.model))
            .and_then(|form| form.text("response_format", "json"))
            .map_err(|error| VoiceError::Transcription(error.to_string()))?
            .finish();
        self.allowlist
            .check(&self.transcribe_url)
            .map_err(|denied| VoiceError::Transcription(denied.to_string()))?;
        let mut request = client
            .post(&self.transcribe_url)
            .insert_header((CONTENT_TYPE, form.content_type));
        if let Some(authorization) = &self.transcribe_authorization {
            request = request.insert_header((AUTHORIZATION, authorization.clone()));
        }
        let mut response = request.send_body(form.body).await.map_err(|error| {
            VoiceError::Transcription(format!("the server could not be reached: {error}"))
        })?;
        if !response.status().is_success() {
            // Only the status: an error body may echo what was heard.
            return Err(VoiceError::Transcription(format!(
                "the server answered {}",
                response.status().as_u16()
            )));
        }
        let body = response
            .body()
            .limit(RESPONSE_LIMIT)
            .await
            .map_err(|error| VoiceError::Transcription(format!("unreadable answer: {error}")))?;
        let answer: TranscriptionAnswer = serde_json::from_slice(&body).map_err(|_| {
            VoiceError::Transcription("the answer is not {\"text\": …} JSON".to_owned())
        })?;
        Ok(answer.text)
    }
}

#[async_trait(?Send)]
impl VoiceClient for GraphWhisper {
    async fn transcribe(&self, note: &VoiceNote) -> Result<String, VoiceError> {
        let client = outbound_http::client(self.timeout);
        let info = self.media_info(&client, &note.media_id).await?;
        if info
            .file_size
            .is_some_and(|size| size > self.max_bytes as u64)
        {
            return Err(VoiceError::TooLarge {
                max: self.max_bytes,
            });
        }
        let audio = self.download(&client, &info.url).await?;
        let expected = [info.sha256.as_deref(), note.sha256.as_deref()];
        if !expected
            .iter()
            .flatten()
            .all(|sha| matches_sha256(&audio, sha))
        {
            return Err(VoiceError::Checksum);
        }
        let mime_type = info
            .mime_type
            .as_deref()
            .or(note.mime_type.as_deref())
            .unwrap_or("audio/ogg");
        self.transcription(&client, &audio, mime_type).await
    }
}

/// Meta's answer about a media id.
#[derive(Deserialize)]
struct MediaInfo {
    url: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    /// A number, or a string of digits in some answers.
    #[serde(default, deserialize_with = "size")]
    file_size: Option<u64>,
}

fn size<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Number(u64),
        Text(String),
    }
    Ok(match Option::<Size>::deserialize(deserializer)? {
        Some(Size::Number(n)) => Some(n),
        Some(Size::Text(text)) => text.trim().parse().ok(),
        None => None,
    })
}

#[derive(Deserialize)]
struct TranscriptionAnswer {
    text: String,
}

/// Whether `expected` (hex, any case, or standard base64) is the SHA-256 of `bytes`.
pub fn matches_sha256(bytes: &[u8], expected: &str) -> bool {
    use base64::Engine as _;
    let digest = Sha256::digest(bytes);
    let expected = expected.trim();
    expected.eq_ignore_ascii_case(&hex::encode(digest))
        || expected == base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The content type to send and the file name's extension for a MIME type from Meta (whose
/// parameters, such as `; codecs=opus`, are dropped). Unknown types go as OGG, WhatsApp's
/// voice-note format.
pub fn audio_format(mime_type: &str) -> (&'static str, &'static str) {
    let essence = mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "audio/mpeg" | "audio/mp3" => ("audio/mpeg", "mp3"),
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" => ("audio/mp4", "m4a"),
        "audio/aac" => ("audio/aac", "aac"),
        "audio/amr" => ("audio/amr", "amr"),
        "audio/wav" | "audio/x-wav" => ("audio/wav", "wav"),
        "audio/webm" => ("audio/webm", "webm"),
        _ => ("audio/ogg", "ogg"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checksum_in_hex_or_base64_is_accepted_and_any_other_refused() {
        let bytes = b"OggS voice";
        let digest = Sha256::digest(bytes);
        assert!(matches_sha256(bytes, &hex::encode(digest)));
        assert!(matches_sha256(bytes, &hex::encode(digest).to_uppercase()));
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        assert!(matches_sha256(bytes, &b64));
        assert!(!matches_sha256(b"other", &hex::encode(digest)));
        assert!(!matches_sha256(bytes, ""));
    }

    #[test]
    fn whatsapps_opus_voice_note_goes_as_ogg() {
        assert_eq!(audio_format("audio/ogg; codecs=opus"), ("audio/ogg", "ogg"));
        assert_eq!(audio_format("audio/mpeg"), ("audio/mpeg", "mp3"));
        assert_eq!(audio_format("audio/x-unknown"), ("audio/ogg", "ogg"));
    }

    #[test]
    fn a_file_size_is_read_as_a_number_or_a_string() {
        let number: MediaInfo = serde_json::from_str(r#"{"url":"u","file_size":1234}"#).unwrap();
        assert_eq!(number.file_size, Some(1234));
        let text: MediaInfo = serde_json::from_str(r#"{"url":"u","file_size":"99"}"#).unwrap();
        assert_eq!(text.file_size, Some(99));
        let absent: MediaInfo = serde_json::from_str(r#"{"url":"u"}"#).unwrap();
        assert_eq!(absent.file_size, None);
    }
}
