//! A fake Slack Web API that speaks the real wire format, and signed Slack requests.
//!
//! [`FakeSlack`] serves
//! * `POST /api/chat.postMessage` — records the request (bearer token, JSON body) and answers
//!   like Slack: `{"ok":true,"channel":…,"ts":…,"message":{…}}`; without a bearer token
//!   `{"ok":false,"error":"not_authed"}`, without a channel `channel_not_found`; scripted answers
//!   ([`FakeSlack::fail_next`], [`FakeSlack::push_response`]) are used once, in order;
//! * `POST /response/{id}` — a slash command's `response_url`: records the JSON and answers
//!   `ok` (as `hooks.slack.com` does);
//! * Socket Mode: `apps.connections.open` and its WebSockets (see [`crate::slack_socket`]).
//!
//! [`sign`] computes `X-Slack-Signature` for a timestamp and body; [`event_callback`],
//! [`app_mention`], [`direct_message`], [`url_verification`] and [`SlashCommand`] build bodies
//! shaped like Slack's.
//!
//! The server runs on 127.0.0.1:0 in its own thread and actix system; dropping it stops it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::fake_server::{bearer_token, poll_until, RunningServer};

/// The `X-Slack-Signature` value: `v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`.
pub fn sign(signing_secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The current Unix time in seconds, for `X-Slack-Request-Timestamp`.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// A fresh, unique event id (Slack's `Ev…` shape).
pub fn event_id() -> String {
    format!(
        "Ev{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10].to_uppercase()
    )
}

/// Slack's handshake when the events URL is saved.
pub fn url_verification(challenge: &str) -> String {
    json!({
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "challenge": challenge,
        "type": "url_verification"
    })
    .to_string()
}

/// An `event_callback` wrapping `event`, addressed to the bot user `bot_user`.
pub fn event_callback(team_id: &str, event_id: &str, bot_user: &str, event: Value) -> String {
    json!({
        "token": "XXYYZZ",
        "team_id": team_id,
        "api_app_id": "A0APPID1",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now(),
        "authorizations": [{
            "enterprise_id": null, "team_id": team_id, "user_id": bot_user,
            "is_bot": true, "is_enterprise_install": false
        }],
        "is_ext_shared_channel": false,
        "event_context": "4-eyJldCI6ImFwcF9tZW50aW9uIn0"
    })
    .to_string()
}

/// `@bot {text}` in a channel: an `app_mention` event callback.
pub fn app_mention(
    team_id: &str,
    event_id: &str,
    bot_user: &str,
    channel: &str,
    user: &str,
    text: &str,
) -> String {
    let event = json!({ "type": "app_mention", "text": format!("<@{bot_user}> {text}") });
    let ts = format!("{}.000100", now());
    event_callback(
        team_id,
        event_id,
        bot_user,
        posted(event, team_id, channel, user, &ts),
    )
}

/// A direct message to the bot in the conversation `dm`: a `message` event with
/// `channel_type: im`.
pub fn direct_message(
    team_id: &str,
    event_id: &str,
    bot_user: &str,
    dm: &str,
    user: &str,
    text: &str,
) -> String {
    let event = json!({ "type": "message", "channel_type": "im", "text": text });
    let ts = format!("{}.000200", now());
    event_callback(
        team_id,
        event_id,
        bot_user,
        posted(event, team_id, dm, user, &ts),
    )
}

/// `event` as posted by `user` in `channel` at `ts` (Slack's message timestamp).
fn posted(mut event: Value, team_id: &str, channel: &str, user: &str, ts: &str) -> Value {
    for (field, value) in [
        ("user", user),
        ("ts", ts),
        ("channel", channel),
        ("event_ts", ts),
        ("team", team_id),
    ] {
        event[field] = json!(value);
    }
    event
}

/// A slash command, as Slack posts it (form-encoded).
#[derive(Debug, Clone)]
pub struct SlashCommand {
    pub team_id: String,
    pub channel_id: String,
    pub user_id: String,
    pub user_name: String,
    pub command: String,
    pub text: String,
    pub response_url: String,
    pub trigger_id: String,
}

impl SlashCommand {
    /// `/alfred {text}` from one user in one channel, answered through `response_url`.
    pub fn alfred(team_id: &str, channel_id: &str, text: &str, response_url: &str) -> Self {
        SlashCommand {
            team_id: team_id.to_owned(),
            channel_id: channel_id.to_owned(),
            user_id: "U2CERLKJA".to_owned(),
            user_name: "roadrunner".to_owned(),
            command: "/alfred".to_owned(),
            text: text.to_owned(),
            response_url: response_url.to_owned(),
            trigger_id: format!("398738663015.47445629121.{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The form body, fields in Slack's order.
    pub fn form(&self) -> String {
        let fields = [
            ("token", "xyzz0WbapA4vBCDEFasx0q6G"),
            ("team_id", self.team_id.as_str()),
            ("team_domain", "testteamnow"),
            ("channel_id", self.channel_id.as_str()),
            ("channel_name", "foobar"),
            ("user_id", self.user_id.as_str()),
            ("user_name", self.user_name.as_str()),
            ("command", self.command.as_str()),
            ("text", self.text.as_str()),
            ("response_url", self.response_url.as_str()),
            ("trigger_id", self.trigger_id.as_str()),
        ];
        fields
            .iter()
            .map(|(key, value)| format!("{key}={}", form_encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (space as `+`).
pub fn form_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                encoded.push(byte as char);
            }
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackRequest {
    /// `/api/chat.postMessage` or `/response/{id}`.
    pub path: String,
    /// The token of `Authorization: Bearer …`, if any.
    pub bearer: Option<String>,
    /// The JSON body (`Value::Null` when it was not JSON).
    pub body: Value,
    /// The status the fake answered with.
    pub status: u16,
    /// Whether the fake's answer said `ok` (or, for a response URL, 2xx).
    pub ok: bool,
}

impl SlackRequest {
    /// The channel of a `chat.postMessage`.
    pub fn channel(&self) -> Option<&str> {
        self.body.get("channel").and_then(Value::as_str)
    }

    /// The message text.
    pub fn text(&self) -> Option<&str> {
        self.body.get("text").and_then(Value::as_str)
    }

    /// True for a `chat.postMessage` call.
    pub fn is_post_message(&self) -> bool {
        self.path.ends_with("/chat.postMessage")
    }
}

/// A scripted answer to the next `chat.postMessage`.
#[derive(Debug, Clone)]
pub struct ScriptedAnswer {
    pub status: u16,
    pub body: Value,
    /// Sent as `Retry-After: {seconds}`.
    pub retry_after: Option<u64>,
}

#[derive(Default)]
pub(crate) struct State {
    requests: Mutex<Vec<SlackRequest>>,
    script: Mutex<VecDeque<ScriptedAnswer>>,
    next_ts: AtomicU64,
    /// The bearer tokens `auth.test` was called with (kept apart from [`FakeSlack::requests`],
    /// which are the messages).
    auth_tests: Mutex<Vec<Option<String>>>,
    /// Whether `auth.test` answers `invalid_auth`.
    refuse_token: std::sync::atomic::AtomicBool,
    /// Socket Mode: connections handed out, open sockets, acknowledgements.
    pub(crate) socket: Arc<crate::slack_socket::SocketState>,
}

/// The running fake. Stops when dropped.
pub struct FakeSlack {
    pub(crate) state: Arc<State>,
    server: RunningServer,
}

impl FakeSlack {
    /// Starts a fake on a free local port.
    pub async fn start() -> FakeSlack {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let socket = web::Data::from(state.socket.clone());
        let server = RunningServer::start("fake-slack", "fake Slack API", 0, move |config| {
            config
                .app_data(data.clone())
                .app_data(socket.clone())
                .route("/api/chat.postMessage", web::post().to(post_message))
                .route("/api/auth.test", web::post().to(auth_test))
                .route("/response/{id}", web::post().to(response_url))
                .configure(crate::slack_socket::configure);
        })
        .await;
        FakeSlack { state, server }
    }

    /// Socket Mode's side of the fake: connections, envelopes, acknowledgements.
    pub fn socket(&self) -> &crate::slack_socket::SocketState {
        &self.state.socket
    }

    /// The base URL to use as `SLACK_API_URL` (no trailing slash).
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.server.addr())
    }

    /// A fresh response URL served by this fake (on the same host as [`FakeSlack::api_url`]).
    pub fn response_url(&self) -> String {
        format!(
            "http://{}/response/{}",
            self.server.addr(),
            uuid::Uuid::new_v4().simple()
        )
    }

    /// Answers the next `n` `chat.postMessage` calls with `status` and `body`.
    pub fn fail_next(&self, n: usize, status: u16, body: Value, retry_after: Option<u64>) {
        let mut script = self.state.script.lock().unwrap();
        for _ in 0..n {
            script.push_back(ScriptedAnswer {
                status,
                body: body.clone(),
                retry_after,
            });
        }
    }

    /// Queues one scripted answer.
    pub fn push_response(&self, answer: ScriptedAnswer) {
        self.state.script.lock().unwrap().push_back(answer);
    }

    /// Slack's error answer: `{"ok":false,"error":…}`.
    pub fn error_body(error: &str) -> Value {
        json!({ "ok": false, "error": error })
    }

    /// From now on `auth.test` answers `invalid_auth`, as for a wrong or revoked token.
    pub fn refuse_token(&self) {
        self.state.refuse_token.store(true, Ordering::Relaxed);
    }

    /// The bearer tokens of the `auth.test` calls so far.
    pub fn auth_tests(&self) -> Vec<Option<String>> {
        self.state.auth_tests.lock().unwrap().clone()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<SlackRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The messages Slack accepted (`chat.postMessage` with `ok`, or a response URL post).
    pub fn delivered(&self) -> Vec<SlackRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.ok)
            .collect()
    }

    /// Polls until at least `n` requests arrived or `deadline` passed; returns all requests.
    pub async fn wait_for_requests(&self, n: usize, deadline: Duration) -> Vec<SlackRequest> {
        poll_until(deadline, || self.requests(), |requests| requests.len() >= n).await
    }
}

/// `auth.test`: the bot's identity, or `invalid_auth` after [`FakeSlack::refuse_token`].
async fn auth_test(request: HttpRequest, state: web::Data<State>) -> HttpResponse {
    let bearer = bearer_token(&request);
    state.auth_tests.lock().unwrap().push(bearer.clone());
    let answer = if bearer.is_none() {
        FakeSlack::error_body("not_authed")
    } else if state.refuse_token.load(Ordering::Relaxed) {
        FakeSlack::error_body("invalid_auth")
    } else {
        json!({
            "ok": true, "url": "https://testteam.slack.com/", "team": "Test Team",
            "user": "alfred", "team_id": "T0TEAM001", "user_id": "U0ALFRED1",
            "bot_id": "B0FAKEBOT", "is_enterprise_install": false
        })
    };
    HttpResponse::Ok().json(answer)
}

async fn post_message(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
) -> HttpResponse {
    let bearer = bearer_token(&request);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let scripted = state.script.lock().unwrap().pop_front();
    let channel = body.get("channel").and_then(Value::as_str);
    let (status, answer, retry_after) = match (scripted, channel) {
        (Some(scripted), _) => (scripted.status, scripted.body, scripted.retry_after),
        (None, _) if bearer.is_none() => (200, FakeSlack::error_body("not_authed"), None),
        (None, None) => (200, FakeSlack::error_body("channel_not_found"), None),
        (None, Some(channel)) => {
            let n = state.next_ts.fetch_add(1, Ordering::Relaxed);
            let ts = format!("{}.{:06}", now(), n);
            let text = body.get("text").cloned().unwrap_or(Value::Null);
            let answer = json!({
                "ok": true, "channel": channel, "ts": ts,
                "message": { "type": "message", "subtype": "bot_message", "text": text,
                             "ts": ts, "bot_id": "B0FAKEBOT" }
            });
            (200, answer, None)
        }
    };
    let ok = (200..300).contains(&status) && answer.get("ok") == Some(&Value::Bool(true));
    state.requests.lock().unwrap().push(SlackRequest {
        path: request.path().to_owned(),
        bearer,
        body,
        status,
        ok,
    });
    let mut response =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a valid status"));
    if let Some(seconds) = retry_after {
        response.insert_header(("Retry-After", seconds.to_string()));
    }
    response.json(answer)
}

async fn response_url(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
) -> HttpResponse {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.requests.lock().unwrap().push(SlackRequest {
        path: request.path().to_owned(),
        bearer: bearer_token(&request),
        body,
        status: 200,
        ok: true,
    });
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// A `slash_commands` envelope: the command's fields as JSON, as Socket Mode sends them.
pub fn slash_command_envelope(envelope_id: &str, command: &SlashCommand) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": true,
        "payload": {
            "token": "xyzz0WbapA4vBCDEFasx0q6G",
            "team_id": command.team_id,
            "team_domain": "testteamnow",
            "channel_id": command.channel_id,
            "channel_name": "foobar",
            "user_id": command.user_id,
            "user_name": command.user_name,
            "command": command.command,
            "text": command.text,
            "api_app_id": "A0APPID1",
            "is_enterprise_install": "false",
            "response_url": command.response_url,
            "trigger_id": command.trigger_id,
        },
    })
}
