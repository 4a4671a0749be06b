//! A fake speech-to-text server speaking OpenAI's `/audio/transcriptions` wire format.
//!
//! `POST /v1/audio/transcriptions` takes `multipart/form-data` with a `file` part (a file name
//! and a content type) and a `model` part, as OpenAI requires, and answers `{"text": "…"}`.
//! A request without that shape gets OpenAI's 400 error body, so a client that builds the form
//! wrongly fails here as it would there. Answers are scripted with [`Heard`]: queued ones
//! ([`FakeTranscriber::answer_next`]) are used once, in order; after them the standing answer
//! ([`FakeTranscriber::answer_always`]). Every request is recorded and counted, whatever it
//! was answered.
//!
//! Use [`FakeTranscriber::url`] as `TRANSCRIBE_URL`. The server runs on 127.0.0.1:0 in its
//! own thread and actix system; dropping it stops it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::fake_server::{bearer_token, poll_until, RunningServer};

/// What the fake answers to one request.
#[derive(Debug, Clone)]
pub enum Heard {
    /// `{"text": …}`.
    Text(String),
    /// An error status with OpenAI's error body.
    Status(u16),
    /// The inner answer, after a delay.
    Delayed(Duration, Box<Heard>),
}

/// One request the fake received.
#[derive(Debug, Clone, Default)]
pub struct TranscriptionRequest {
    /// The token of `Authorization: Bearer …`, if any.
    pub bearer: Option<String>,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// The `model` field.
    pub model: Option<String>,
    /// The `response_format` field.
    pub response_format: Option<String>,
    /// The `file` part's file name and content type.
    pub filename: Option<String>,
    pub file_content_type: Option<String>,
    /// The `file` part's bytes.
    pub file: Option<Vec<u8>>,
}

struct State {
    requests: Mutex<Vec<TranscriptionRequest>>,
    queued: Mutex<VecDeque<Heard>>,
    standing: Mutex<Heard>,
}

/// The running fake. Stops when dropped.
pub struct FakeTranscriber {
    state: Arc<State>,
    server: RunningServer,
}

impl FakeTranscriber {
    /// Starts a fake on a free local port; it hears nothing until told otherwise.
    pub async fn start() -> FakeTranscriber {
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            queued: Mutex::new(VecDeque::new()),
            standing: Mutex::new(Heard::Text(String::new())),
        });
        let data = web::Data::from(state.clone());
        let server = RunningServer::start("fake-whisper", "fake transcriber", 0, move |config| {
            config
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(32 * 1024 * 1024))
                .route("/v1/audio/transcriptions", web::post().to(transcriptions));
        })
        .await;
        FakeTranscriber { state, server }
    }

    /// The base URL to use as `TRANSCRIBE_URL` (`http://127.0.0.1:…/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }

    /// Answers the next request (after those already queued) with `heard`.
    pub fn answer_next(&self, heard: Heard) {
        self.state.queued.lock().unwrap().push_back(heard);
    }

    /// Answers every request with `heard` once the queue is empty.
    pub fn answer_always(&self, heard: Heard) {
        *self.state.standing.lock().unwrap() = heard;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<TranscriptionRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Polls until at least `n` requests arrived or `deadline` passed; returns all requests.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        deadline: Duration,
    ) -> Vec<TranscriptionRequest> {
        poll_until(deadline, || self.requests(), |requests| requests.len() >= n).await
    }
}

fn openai_error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a valid status"))
        .json(json!({
            "error": {
                "message": message,
                "type": if status >= 500 { "server_error" } else { "invalid_request_error" },
                "param": null,
                "code": null
            }
        }))
}

async fn transcriptions(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
) -> HttpResponse {
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut recorded = TranscriptionRequest {
        bearer: bearer_token(&request),
        content_type: content_type.clone(),
        ..TranscriptionRequest::default()
    };
    let parts = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .and_then(|boundary| parse_multipart(&body, boundary));
    if let Some(parts) = &parts {
        for part in parts {
            match part.name.as_str() {
                "model" => recorded.model = Some(String::from_utf8_lossy(&part.body).into()),
                "response_format" => {
                    recorded.response_format = Some(String::from_utf8_lossy(&part.body).into());
                }
                "file" => {
                    recorded.filename = part.filename.clone();
                    recorded.file_content_type = part.content_type.clone();
                    recorded.file = Some(part.body.clone());
                }
                _ => {}
            }
        }
    }
    let well_formed = parts.is_some()
        && recorded.model.is_some()
        && recorded.filename.is_some()
        && recorded.file.as_ref().is_some_and(|file| !file.is_empty());
    state.requests.lock().unwrap().push(recorded);
    if !well_formed {
        return openai_error(
            400,
            "Could not parse multipart form: a 'file' with a filename and a 'model' are required",
        );
    }
    let queued = state.queued.lock().unwrap().pop_front();
    let mut heard = queued.unwrap_or_else(|| state.standing.lock().unwrap().clone());
    while let Heard::Delayed(delay, inner) = heard {
        actix_rt::time::sleep(delay).await;
        heard = *inner;
    }
    match heard {
        Heard::Text(text) => HttpResponse::Ok().json(json!({ "text": text })),
        Heard::Status(status) => openai_error(
            status,
            "The server had an error while processing your request.",
        ),
        Heard::Delayed(..) => unreachable!("delays are waited out"),
    }
}

/// One part of a multipart body.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// The parts of a `multipart/form-data` body, strictly: `None` when it is not well formed
/// (no closing delimiter, a part without headers or without a `form-data` name).
fn parse_multipart(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let mut rest = body.strip_prefix(delimiter.as_bytes())?;
    let next = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, next.as_bytes())?;
        let (part, after) = rest.split_at(end);
        rest = &after[next.len()..];
        let split = find(part, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&part[..split]).ok()?;
        let body = part[split + 4..].to_vec();
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in headers.split("\r\n") {
            let (header, value) = line.split_once(':')?;
            match header.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    let mut params = value.split(';').map(str::trim);
                    if params.next()? != "form-data" {
                        return None;
                    }
                    for param in params {
                        let (key, quoted) = param.split_once('=')?;
                        let unquoted = quoted.trim_matches('"').to_owned();
                        match key {
                            "name" => name = Some(unquoted),
                            "filename" => filename = Some(unquoted),
                            _ => {}
                        }
                    }
                }
                "content-type" => content_type = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        parts.push(Part {
            name: name?,
            filename,
            content_type,
            body,
        });
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::parse_multipart;

    #[test]
    fn a_well_formed_body_is_read_and_a_truncated_one_refused() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"voice.ogg\"\r\nContent-Type: audio/ogg\r\n\r\nOggS\r\n--xyz--\r\n";
        let parts = parse_multipart(body, "xyz").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "model");
        assert_eq!(parts[0].body, b"whisper-1");
        assert_eq!(parts[1].filename.as_deref(), Some("voice.ogg"));
        assert_eq!(parts[1].content_type.as_deref(), Some("audio/ogg"));
        assert_eq!(parts[1].body, b"OggS");
        assert!(parse_multipart(&body[..body.len() - 10], "xyz").is_none());
    }
}
