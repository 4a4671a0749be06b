//! A fake WhatsApp Graph API that speaks the real wire format.
//!
//! `POST /{version}/{phone_id}/messages` records the request (path, bearer token, JSON body)
//! and answers like Meta: `{"messaging_product":"whatsapp","contacts":[{"input":to,"wa_id":to}],
//! "messages":[{"id":"wamid.…"}]}`, unless a scripted response is queued ([`FakeGraph::fail_next`],
//! [`FakeGraph::push_response`]), which is used once, in order.
//!
//! Like Meta, it can also report what happened to each accepted message: after
//! [`FakeGraph::send_statuses_to`], every 2xx send is followed by a signed `statuses` webhook
//! (`sent`) to Alfred, echoing the message's `biz_opaque_callback_data`, retried until Alfred
//! answers 200 (Meta retries for days; the fake for a minute).
//!
//! For the chaos suite it also misbehaves like Meta on a bad day: [`FakeGraph::set_delay`] makes
//! every answer slow, and a storm is [`FakeGraph::fail_next`] with 429 or 5xx. Each request
//! records when it arrived ([`RecordedRequest::at`]), for webhook-to-send latencies.
//!
//! It serves media too, as Meta does for a voice note or a photo: a file added with
//! [`FakeGraph::add_media`] is described by `GET /{version}/{media-id}` (`{"messaging_product",
//! "url", "mime_type", "sha256", "file_size", "id"}`, with the bearer token required) and
//! downloaded from that `url` (on the fake itself, bearer token required too). Both are counted
//! ([`FakeGraph::media_lookups`], [`FakeGraph::media_downloads`]).
//!
//! The server runs on 127.0.0.1:0 in its own thread and actix system, so a test on any runtime
//! (tokio or actix) can use it; dropping the [`FakeGraph`] stops it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::fake_server::{bearer_token, poll_until, RunningServer};

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The request path, e.g. `/v21.0/123456/messages`.
    pub path: String,
    pub version: String,
    pub phone_id: String,
    /// The token of `Authorization: Bearer …`, if any.
    pub bearer: Option<String>,
    /// The JSON body (`Value::Null` when it was not JSON).
    pub body: Value,
    /// The status the fake answered with.
    pub status: u16,
    /// The wamid the fake returned, for successful sends.
    pub wamid: Option<String>,
    /// When the request arrived (before any [`FakeGraph::set_delay`]).
    pub at: Instant,
}

impl RecordedRequest {
    /// The recipient (`to`).
    pub fn to(&self) -> Option<&str> {
        self.body.get("to").and_then(Value::as_str)
    }

    /// The text body (`text.body`).
    pub fn text(&self) -> Option<&str> {
        self.body.pointer("/text/body").and_then(Value::as_str)
    }

    /// The quoted message (`context.message_id`).
    pub fn reply_to(&self) -> Option<&str> {
        self.body
            .pointer("/context/message_id")
            .and_then(Value::as_str)
    }

    /// True when the fake accepted the send.
    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A response to give instead of the default success.
#[derive(Debug, Clone)]
pub struct ScriptedResponse {
    pub status: u16,
    pub body: Value,
    /// Sent as `Retry-After: {seconds}`.
    pub retry_after: Option<u64>,
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<RecordedRequest>>,
    script: Mutex<VecDeque<ScriptedResponse>>,
    next_id: AtomicU64,
    statuses: Mutex<Option<StatusTarget>>,
    /// How long every answer waits (milliseconds; 0: none).
    delay_ms: AtomicU64,
    /// Files served by the media endpoints, by media id.
    media: Mutex<HashMap<String, MediaFile>>,
    /// Media metadata look-ups and downloads received (whatever they were answered).
    media_lookups: Mutex<Vec<MediaRequest>>,
    media_downloads: Mutex<Vec<MediaRequest>>,
    /// The host (and port) media URLs name instead of the fake's own.
    media_host: Mutex<Option<String>>,
}

/// A file the fake serves as Meta serves media.
#[derive(Debug, Clone)]
pub struct MediaFile {
    pub bytes: Vec<u8>,
    pub mime_type: String,
    /// The `sha256` of the metadata: the bytes' hex SHA-256 unless overridden.
    pub sha256: String,
    /// The `file_size` of the metadata: the bytes' length unless overridden (a lie, to test
    /// that a download is capped while it is read).
    pub file_size: u64,
}

impl MediaFile {
    /// An OGG/Opus voice note with these bytes, described truthfully.
    pub fn voice_note(bytes: Vec<u8>) -> MediaFile {
        use sha2::Digest;
        MediaFile {
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            file_size: bytes.len() as u64,
            bytes,
            mime_type: "audio/ogg; codecs=opus".to_owned(),
        }
    }
}

/// A request to the media endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRequest {
    pub media_id: String,
    /// The token of `Authorization: Bearer …`, if any.
    pub bearer: Option<String>,
}

/// Where and how status callbacks are delivered.
#[derive(Clone)]
struct StatusTarget {
    /// Tried in turn, starting with the next one after each failure (replicas behind a
    /// balancer: one of them down must not keep a callback from the others).
    webhook_urls: Vec<String>,
    app_secret: String,
}

/// The running fake. Cheap to share by reference; stops when dropped.
pub struct FakeGraph {
    state: Arc<State>,
    server: RunningServer,
}

impl FakeGraph {
    /// Starts a fake on a free local port.
    pub async fn start() -> FakeGraph {
        FakeGraph::start_on(0).await
    }

    /// Starts a fake on a given local port (0: any free one); the benchmark uses a fixed port
    /// so that Alfred's `GRAPH_API_URL` can be set before the fake starts.
    pub async fn start_on(port: u16) -> FakeGraph {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let server = RunningServer::start("fake-graph", "fake Graph API", port, move |config| {
            config
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1024 * 1024))
                .route("/{version}/{phone_id}/messages", web::post().to(messages))
                .route("/fake-media/{media_id}", web::get().to(media_download))
                .route("/{version}/{media_id}", web::get().to(media_lookup));
        })
        .await;
        FakeGraph { state, server }
    }

    /// The base URL to use as `GRAPH_API_URL` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// From now on, follows every accepted send with a signed `sent` status callback to
    /// `webhook_url` (Alfred's `POST /webhook`), as Meta does.
    pub fn send_statuses_to(&self, webhook_url: &str, app_secret: &str) {
        self.send_statuses_to_any(&[webhook_url.to_owned()], app_secret);
    }

    /// Like [`FakeGraph::send_statuses_to`] for several replicas: each callback goes to one of
    /// `webhook_urls`, moving on to the next after a failure.
    pub fn send_statuses_to_any(&self, webhook_urls: &[String], app_secret: &str) {
        *self.state.statuses.lock().unwrap() = Some(StatusTarget {
            webhook_urls: webhook_urls.to_vec(),
            app_secret: app_secret.to_owned(),
        });
    }

    /// Makes every answer from now on wait `delay` before it is sent (zero: answer at once).
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Answers the next `n` sends with `status` and `body` (and `Retry-After` when given).
    pub fn fail_next(&self, n: usize, status: u16, body: Value, retry_after: Option<u64>) {
        let mut script = self.state.script.lock().unwrap();
        for _ in 0..n {
            script.push_back(ScriptedResponse {
                status,
                body: body.clone(),
                retry_after,
            });
        }
    }

    /// Queues one scripted response.
    pub fn push_response(&self, response: ScriptedResponse) {
        self.state.script.lock().unwrap().push_back(response);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many requests arrived so far (cheap: no copy).
    pub fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// The requests the fake accepted (2xx), in arrival order.
    pub fn delivered(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::delivered)
            .collect()
    }

    /// Polls until at least `n` requests arrived or `deadline` passed; returns all requests.
    pub async fn wait_for_requests(&self, n: usize, deadline: Duration) -> Vec<RecordedRequest> {
        poll_until(deadline, || self.requests(), |requests| requests.len() >= n).await
    }

    /// Serves `file` as media `media_id` from now on.
    pub fn add_media(&self, media_id: &str, file: MediaFile) {
        self.state
            .media
            .lock()
            .unwrap()
            .insert(media_id.to_owned(), file);
    }

    /// Makes the metadata name download URLs on `host` (`name:port`) instead of the fake's own
    /// address, as a compromised or spoofed answer could.
    pub fn set_media_host(&self, host: &str) {
        *self.state.media_host.lock().unwrap() = Some(host.to_owned());
    }

    /// The media metadata look-ups received so far (`GET /{version}/{media-id}`).
    pub fn media_lookups(&self) -> Vec<MediaRequest> {
        self.state.media_lookups.lock().unwrap().clone()
    }

    /// The media downloads received so far (`GET` of a metadata's `url`).
    pub fn media_downloads(&self) -> Vec<MediaRequest> {
        self.state.media_downloads.lock().unwrap().clone()
    }

    /// Meta's error body: `{"error":{"message","type","code","error_data","fbtrace_id"}}`.
    pub fn error_body(code: i64, message: &str) -> Value {
        json!({
            "error": {
                "message": format!("(#{code}) {message}"),
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": message},
                "fbtrace_id": "AbCdEfGhIjKlMnOp"
            }
        })
    }
}

async fn messages(
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<State>,
) -> HttpResponse {
    let at = Instant::now();
    let (version, phone_id) = path.into_inner();
    let bearer = bearer_token(&request);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let scripted = state.script.lock().unwrap().pop_front();
    let (response, status, wamid) = match scripted {
        Some(scripted) => {
            let mut response = HttpResponse::build(
                actix_web::http::StatusCode::from_u16(scripted.status).expect("a valid status"),
            );
            if let Some(seconds) = scripted.retry_after {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            (response.json(scripted.body), scripted.status, None)
        }
        None if body.get("to").and_then(Value::as_str).is_none() => {
            let error = FakeGraph::error_body(100, "Invalid parameter");
            (HttpResponse::BadRequest().json(error), 400, None)
        }
        None => {
            let to = body.get("to").cloned().unwrap_or(Value::Null);
            let n = state.next_id.fetch_add(1, Ordering::Relaxed);
            let wamid = format!("wamid.FAKE{n:08}{}", uuid::Uuid::new_v4().simple());
            let answer = json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}]
            });
            (HttpResponse::Ok().json(answer), 200, Some(wamid))
        }
    };
    let target = state.statuses.lock().unwrap().clone();
    if let (Some(target), Some(wamid)) = (target, &wamid) {
        let to = body.get("to").and_then(Value::as_str).unwrap_or_default();
        let callback = body.get("biz_opaque_callback_data").and_then(Value::as_str);
        let notification = crate::whatsapp::Notification::new(&phone_id)
            .status_with_callback(wamid, "sent", to, callback)
            .build();
        actix_rt::spawn(deliver_status(target, notification));
    }
    state.requests.lock().unwrap().push(RecordedRequest {
        path: request.path().to_owned(),
        version,
        phone_id,
        bearer,
        body,
        status,
        wamid,
        at,
    });
    let delay = state.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        actix_rt::time::sleep(Duration::from_millis(delay)).await;
    }
    response
}

/// `GET /{version}/{media-id}`: the file's metadata, with a download URL on this fake.
async fn media_lookup(
    request: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<State>,
) -> HttpResponse {
    let (_version, media_id) = path.into_inner();
    let bearer = bearer_token(&request);
    state.media_lookups.lock().unwrap().push(MediaRequest {
        media_id: media_id.clone(),
        bearer: bearer.clone(),
    });
    if bearer.is_none() {
        return HttpResponse::Unauthorized()
            .json(FakeGraph::error_body(190, "Invalid OAuth access token"));
    }
    let Some(file) = state.media.lock().unwrap().get(&media_id).cloned() else {
        return HttpResponse::NotFound().json(FakeGraph::error_body(100, "Invalid parameter"));
    };
    let host = state
        .media_host
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| request.connection_info().host().to_owned());
    HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "url": format!("http://{host}/fake-media/{media_id}?ext=1&hash=ARfake"),
        "mime_type": file.mime_type,
        "sha256": file.sha256,
        "file_size": file.file_size,
        "id": media_id
    }))
}

/// `GET` of a media URL: the bytes.
async fn media_download(
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<State>,
) -> HttpResponse {
    let media_id = path.into_inner();
    let bearer = bearer_token(&request);
    state.media_downloads.lock().unwrap().push(MediaRequest {
        media_id: media_id.clone(),
        bearer: bearer.clone(),
    });
    if bearer.is_none() {
        return HttpResponse::Unauthorized().finish();
    }
    match state.media.lock().unwrap().get(&media_id) {
        Some(file) => HttpResponse::Ok()
            .content_type(file.mime_type.clone())
            .body(file.bytes.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Posts one signed status notification until it is accepted, for at most a minute.
async fn deliver_status(target: StatusTarget, notification: String) {
    let signature = crate::whatsapp::sign(&target.app_secret, notification.as_bytes());
    let client = awc::Client::default();
    let until = Instant::now() + Duration::from_secs(60);
    let mut turn = 0usize;
    while Instant::now() < until && !target.webhook_urls.is_empty() {
        let url = &target.webhook_urls[turn % target.webhook_urls.len()];
        turn += 1;
        let sent = client
            .post(url)
            .insert_header(("content-type", "application/json"))
            .insert_header(("x-hub-signature-256", signature.as_str()))
            .send_body(notification.clone())
            .await;
        if sent.is_ok_and(|response| response.status().is_success()) {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}
