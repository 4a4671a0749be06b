//! Slack Socket Mode: events over WebSockets that Alfred opens, so Biz needs no public URL.
//!
//! With `SLACK_APP_TOKEN` (`xapp-…`), each connection is opened in two steps: `POST
//! {SLACK_API_URL}/apps.connections.open` with the app token answers `{"ok":true,"url":"wss://…"}`
//! (a one-time URL, never logged: it carries a ticket), and a WebSocket to that URL. Slack then
//! sends `{"type":"hello"}` and envelopes:
//!
//! ```json
//! {"envelope_id":"…","type":"events_api","accepts_response_payload":false,
//!  "payload":{…the Events API body…},"retry_attempt":0,"retry_reason":""}
//! ```
//!
//! Each envelope is handed to the same code as the HTTP edge ([`SlackEdge::accept_events`],
//! [`SlackEdge::accept_command`]): parsed, checked against the allowed workspaces, stored on
//! `alfred-ingest` (or dead-lettered when it cannot be understood), and only then acknowledged
//! with `{"envelope_id":"…"}` — for a slash command with the immediate answer as `payload`.
//! Slack delivers an envelope it has no acknowledgement for again, so acknowledging after the
//! store is what makes an event impossible to lose; a redelivery (a retry, or the same event on
//! the other connection) is stored again with the same `{team_id}:{event_id}` id, and the
//! orchestrator's inbox turns it into "already done", exactly as for the Events API's retries.
//! When the store fails (Redis down) nothing is acknowledged and Slack delivers again later.
//!
//! Two connections stay open ([`CONNECTIONS`]); Slack delivers each envelope on one of them, so
//! while one reconnects the other keeps events flowing. A connection is replaced:
//!
//! * on `{"type":"disconnect","reason":"refresh_requested"}` (Slack does this every few hours)
//!   or `"warning"` (Slack is about to close it): the replacement is opened *first*, the old
//!   one still read and acknowledged meanwhile, and closed once the new one is up;
//! * on `"link_disabled"` (Socket Mode was turned off for the app): logged as an error, tried
//!   again at the longest back-off;
//! * when it drops (closed, reset, or silent past `SILENCE_LIMIT` despite pings): at once
//!   when it had been up for `HEALTHY_AFTER`, else after a back-off; opening failures (a
//!   wrong token, Slack unreachable) back off too, from `backoff_min`, doubling, capped at
//!   `backoff_max`.
//!
//! Each connection is an actor of its own (`slack-socket-0`, `slack-socket-1`) under the
//! supervision tree, on the main arbiter (awc is not `Send`). Its loop never ends and never
//! returns an error: every failure is logged, counted and followed by a reconnect; should it
//! panic all the same, the supervisor restarts it (its socket, dropped, is replaced). Metrics:
//! `alfred_slack_socket_connections`, `alfred_slack_socket_envelopes_total{type}`,
//! `alfred_slack_socket_acks_total`, `alfred_slack_socket_reconnects_total{reason}`.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::http::header::AUTHORIZATION;
use actix_web::http::{StatusCode, Uri};
use alfred_actors::channel::SendError;
use alfred_actors::metrics::Metrics;
use alfred_actors::supervision::{ChildSpec, Restart, Supervisor};
use awc::ws::{CloseCode, CloseReason, Frame, Message};
use awc::BoxedSocket;
use futures::{SinkExt as _, StreamExt as _};
use prometheus::{IntCounter, IntCounterVec, IntGauge};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tracing::Instrument as _;

use super::commands::{CommandReply, SlashCommand};
use super::edge::{could_not_read, SlackEdge};
use crate::allowlist::Allowlist;
use crate::outbound_http::{self, Poster};

/// Connections kept open at once.
pub const CONNECTIONS: usize = 2;
/// The first pause after a failed attempt to open a connection.
pub const DEFAULT_BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest pause between attempts (and the pause after `link_disabled`).
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Largest frame accepted from Slack: events are a few KiB, a long message with blocks more.
const MAX_FRAME: usize = 1024 * 1024;
/// Largest `apps.connections.open` answer read.
const RESPONSE_LIMIT: usize = 64 * 1024;
/// After this long without a frame, Alfred pings the connection.
const PING_AFTER: Duration = Duration::from_secs(30);
/// A connection that lived this long was healthy: its drop resets the back-off.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);
/// How long a closing connection waits for Slack's close frame.
/// Slack is known to leave the TCP connection open after the close handshake, so this stays
/// short.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// After this long without any frame (pongs included), the connection is taken for dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(90);

/// What Socket Mode needs from the configuration.
#[derive(Clone)]
pub struct SocketSettings {
    /// `SLACK_API_URL`: `apps.connections.open` is called there.
    pub api_url: String,
    /// `SLACK_APP_TOKEN` (`xapp-…`).
    pub app_token: SecretString,
    /// Time allowed for `apps.connections.open` and for the WebSocket handshake.
    pub timeout: Duration,
    /// Back-off between failed attempts to open a connection: from `backoff_min`, doubling,
    /// up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl std::fmt::Debug for SocketSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketSettings")
            .field("api_url", &self.api_url)
            .field("app_token", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .field("backoff_min", &self.backoff_min)
            .field("backoff_max", &self.backoff_max)
            .finish()
    }
}

/// Why a connection could not be opened. Never contains the token or the socket URL.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// `apps.connections.open` failed; `permanent` when retrying cannot help without an
    /// operator (a wrong token, a refused host).
    #[error("apps.connections.open failed: {reason}")]
    Open { reason: String, permanent: bool },
    /// Slack's socket URL is not one Alfred may connect to.
    #[error("Slack answered a socket URL Alfred refuses: {0}")]
    Refused(String),
    /// The WebSocket handshake failed.
    #[error("the WebSocket to Slack could not be opened: {0}")]
    Connect(String),
}

/// Keeps [`CONNECTIONS`] Socket Mode connections to Slack and hands their envelopes to the
/// edge.
pub struct SocketMode {
    settings: SocketSettings,
    edge: Arc<SlackEdge>,
    allowlist: Option<Allowlist>,
    counters: Counters,
}

#[derive(Clone)]
struct Counters {
    connections: IntGauge,
    envelopes: IntCounterVec,
    acks: IntCounter,
    reconnects: IntCounterVec,
}

impl SocketMode {
    /// Socket Mode feeding `edge`; outbound requests checked against `allowlist` when given.
    pub fn new(
        settings: SocketSettings,
        edge: Arc<SlackEdge>,
        metrics: &Metrics,
        allowlist: Option<Allowlist>,
    ) -> Self {
        SocketMode {
            settings,
            edge,
            allowlist,
            counters: Counters {
                connections: metrics.slack_socket_connections.clone(),
                envelopes: metrics.slack_socket_envelopes.clone(),
                acks: metrics.slack_socket_acks.clone(),
                reconnects: metrics.slack_socket_reconnects.clone(),
            },
        }
    }

    /// Starts the [`CONNECTIONS`] connection actors under `supervisor`, on the current
    /// arbiter. Must run inside an actix system.
    pub fn start_under(self, supervisor: &Supervisor) {
        tracing::info!(
            connections = CONNECTIONS,
            "Slack Socket Mode: opening connections to Slack (SLACK_APP_TOKEN)."
        );
        let this = Rc::new(self);
        for slot in 0..CONNECTIONS {
            let mode = this.clone();
            supervisor.spawn(
                ChildSpec::new(format!("slack-socket-{slot}"), move || SocketConnection {
                    mode: mode.clone(),
                    slot,
                })
                .restart(Restart::Permanent),
            );
        }
    }

    /// Keeps connection `slot` open for ever.
    async fn keep_open(&self, slot: usize) {
        let client = outbound_http::client(self.settings.timeout);
        let mut failures: u32 = 0;
        let mut ready: Option<Connection> = None;
        loop {
            let connection = match ready.take() {
                Some(connection) => connection,
                None => match self.open(&client, slot).await {
                    Ok(connection) => {
                        if failures > 0 {
                            tracing::info!(slot, "Slack Socket Mode connection open again.");
                        }
                        connection
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        self.counters
                            .reconnects
                            .with_label_values(&["failed"])
                            .inc();
                        let pause = self.backoff(failures);
                        match &error {
                            OpenError::Open {
                                permanent: true, ..
                            }
                            | OpenError::Refused(_) => tracing::error!(
                                slot, %error, retry_in = ?pause,
                                "Slack Socket Mode cannot connect: check SLACK_APP_TOKEN (an app-level xapp- token with connections:write, of the app whose bot token is SLACK_BOT_TOKEN) and that Socket Mode is on in the app's settings."
                            ),
                            _ => tracing::warn!(
                                slot, %error, retry_in = ?pause,
                                "Slack Socket Mode could not connect; trying again."
                            ),
                        }
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                },
            };
            let opened_at = tokio::time::Instant::now();
            match self.serve(connection).await {
                Ended::Disconnect { connection, reason } => {
                    // Slack's own request: the connection was good.
                    failures = 0;
                    self.counters
                        .reconnects
                        .with_label_values(&[reason.label()])
                        .inc();
                    if reason == Disconnect::LinkDisabled {
                        drop(connection);
                        tracing::error!(
                            slot,
                            retry_in = ?self.settings.backoff_max,
                            "Slack disabled this Socket Mode connection (link_disabled): turn Socket Mode on in the Slack app's settings, or unset SLACK_APP_TOKEN and use the Events API over HTTP."
                        );
                        tokio::time::sleep(self.settings.backoff_max).await;
                        continue;
                    }
                    tracing::info!(slot, reason = reason.label(), "Slack asked to replace a Socket Mode connection; opening the new one before closing the old.");
                    ready = self.replace(&client, slot, connection).await;
                    if ready.is_none() {
                        failures = 1;
                        tokio::time::sleep(self.backoff(failures)).await;
                    }
                }
                Ended::Dropped => {
                    self.counters
                        .reconnects
                        .with_label_values(&["dropped"])
                        .inc();
                    // A connection that drops soon after opening counts as a failure, so one
                    // that Slack (or a proxy) keeps cutting is not reopened in a tight loop.
                    let pause = if opened_at.elapsed() >= HEALTHY_AFTER {
                        failures = 0;
                        Duration::ZERO
                    } else {
                        failures = failures.saturating_add(1);
                        self.backoff(failures)
                    };
                    tracing::warn!(
                        slot,
                        retry_in = ?pause,
                        "A Slack Socket Mode connection dropped; reconnecting."
                    );
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// The pause after `failures` failed attempts in a row.
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        let pause = self.settings.backoff_min.saturating_mul(1 << doublings);
        pause.min(self.settings.backoff_max)
    }

    /// Opens a replacement while still reading `old`, then closes `old`. `None` when the
    /// replacement could not be opened (the caller retries with back-off).
    async fn replace(
        &self,
        client: &awc::Client,
        slot: usize,
        old: Connection,
    ) -> Option<Connection> {
        let opening = self.open(client, slot);
        tokio::pin!(opening);
        // `None` once the old connection ended by itself (no longer counted as open).
        let mut old = Some(old);
        loop {
            tokio::select! {
                opened = &mut opening => {
                    if let Some(old) = old.as_mut() {
                        old.close().await;
                    }
                    return match opened {
                        Ok(connection) => Some(connection),
                        Err(error) => {
                            tracing::warn!(slot, %error, "The replacement Slack Socket Mode connection could not be opened; trying again.");
                            self.counters.reconnects.with_label_values(&["failed"]).inc();
                            None
                        }
                    };
                }
                step = next_step_of(&mut old), if old.is_some() => {
                    let Some(connection) = old.as_mut() else { continue };
                    match step {
                        Step::Frame(frame) => {
                            // Envelopes still arriving on the old connection are taken in and
                            // acknowledged; a second disconnect notice changes nothing.
                            if let Handled::Ended = self.handle(connection, frame).await {
                                old = None;
                            }
                        }
                        Step::Silent => connection.ping().await,
                        Step::Ended => old = None,
                    }
                }
            }
        }
    }

    /// Reads `connection` until Slack asks for a new one or it drops.
    async fn serve(&self, mut connection: Connection) -> Ended {
        loop {
            match connection.next_step().await {
                Step::Frame(frame) => match self.handle(&mut connection, frame).await {
                    Handled::Continue => {}
                    Handled::Disconnect(reason) => return Ended::Disconnect { connection, reason },
                    Handled::Ended => return Ended::Dropped,
                },
                Step::Silent => connection.ping().await,
                Step::Ended => return Ended::Dropped,
            }
        }
    }

    /// Opens one connection: `apps.connections.open`, then the WebSocket.
    async fn open(&self, client: &awc::Client, slot: usize) -> Result<Connection, OpenError> {
        let url = self.connections_open(client).await?;
        check_socket_url(&url, &self.settings.api_url)?;
        let (_, framed) = client
            .ws(url.as_str())
            .max_frame_size(MAX_FRAME)
            .connect()
            .await
            // The error names the failure, not the URL (which carries a ticket).
            .map_err(|error| OpenError::Connect(error.to_string()))?;
        tracing::info!(slot, "Slack Socket Mode connection open.");
        Ok(Connection::new(
            framed,
            slot,
            self.counters.connections.clone(),
        ))
    }

    /// `POST {api_url}/apps.connections.open` with the app token: the socket URL.
    async fn connections_open(&self, client: &awc::Client) -> Result<String, OpenError> {
        let url = format!(
            "{}/apps.connections.open",
            self.settings.api_url.trim_end_matches('/')
        );
        let authorization =
            outbound_http::bearer(&self.settings.app_token).ok_or_else(|| OpenError::Open {
                reason: "SLACK_APP_TOKEN contains characters not allowed in an HTTP header"
                    .to_owned(),
                permanent: true,
            })?;
        let poster = Poster {
            service: "slack",
            allowlist: self.allowlist.as_ref(),
            timeout: self.settings.timeout,
            response_limit: RESPONSE_LIMIT,
            token: &self.settings.app_token,
        };
        let request = client
            .post(&url)
            .insert_header((AUTHORIZATION, authorization));
        let exchange = poster
            .post_json(&url, request, &serde_json::json!({}))
            .await
            .map_err(|error| match error {
                SendError::Permanent { reason } => OpenError::Open {
                    reason,
                    permanent: true,
                },
                SendError::Retryable { reason, .. } => OpenError::Open {
                    reason,
                    permanent: false,
                },
            })?;
        if exchange.status == StatusCode::TOO_MANY_REQUESTS || exchange.status.is_server_error() {
            return Err(OpenError::Open {
                reason: format!("slack HTTP {}", exchange.status.as_u16()),
                permanent: false,
            });
        }
        let answer: OpenAnswer =
            serde_json::from_slice(&exchange.body).map_err(|error| OpenError::Open {
                reason: format!(
                    "slack HTTP {}, answer not understood: {error}",
                    exchange.status.as_u16()
                ),
                permanent: false,
            })?;
        match answer {
            OpenAnswer {
                ok: true,
                url: Some(url),
                ..
            } => Ok(url),
            OpenAnswer { error, .. } => {
                let error = error.unwrap_or_else(|| "no url in the answer".to_owned());
                let permanent = matches!(
                    error.as_str(),
                    "invalid_auth"
                        | "not_authed"
                        | "not_allowed_token_type"
                        | "token_revoked"
                        | "account_inactive"
                        | "missing_scope"
                );
                Err(OpenError::Open {
                    reason: poster.scrub(format!("slack error {error}")),
                    permanent,
                })
            }
        }
    }

    /// Handles one frame of `connection`.
    async fn handle(&self, connection: &mut Connection, frame: Frame) -> Handled {
        match frame {
            Frame::Text(text) => self.on_text(connection, &text).await,
            Frame::Ping(bytes) => {
                if connection.send(Message::Pong(bytes)).await {
                    Handled::Continue
                } else {
                    Handled::Ended
                }
            }
            Frame::Pong(_) => Handled::Continue,
            Frame::Close(reason) => {
                tracing::info!(
                    slot = connection.slot,
                    code = ?reason.as_ref().map(|reason| reason.code),
                    "Slack closed a Socket Mode connection."
                );
                Handled::Ended
            }
            Frame::Binary(_) | Frame::Continuation(_) => {
                tracing::warn!(
                    slot = connection.slot,
                    "Ignored a binary or fragmented Socket Mode frame; Slack sends JSON text."
                );
                Handled::Continue
            }
        }
    }

    /// Handles one JSON text frame: `hello`, `disconnect`, or an envelope.
    async fn on_text(&self, connection: &mut Connection, text: &[u8]) -> Handled {
        let incoming: Incoming<'_> = match serde_json::from_slice(text) {
            Ok(incoming) => incoming,
            Err(error) => {
                let reason = format!("Socket Mode frame is not a Slack envelope: {error}");
                if let Err(error) = self.edge.dead_letter(text, &reason).await {
                    tracing::warn!(%error, "Could not keep an unreadable Socket Mode frame.");
                }
                return Handled::Continue;
            }
        };
        match (incoming.kind.as_str(), incoming.envelope_id) {
            ("hello", _) => {
                tracing::debug!(
                    slot = connection.slot,
                    "Slack said hello on a Socket Mode connection."
                );
                Handled::Continue
            }
            ("disconnect", _) => Handled::Disconnect(Disconnect::from_reason(
                incoming.reason.as_deref().unwrap_or_default(),
            )),
            (kind, Some(envelope_id)) => {
                self.counters.envelopes.with_label_values(&[kind]).inc();
                if incoming.retry_attempt.unwrap_or(0) > 0 {
                    tracing::info!(
                        retry_attempt = incoming.retry_attempt,
                        retry_reason = incoming.retry_reason.as_deref().unwrap_or_default(),
                        "Slack delivered an envelope again; the inbox keeps the reply single."
                    );
                }
                let payload = incoming.payload.map(RawValue::get).unwrap_or("null");
                // A span of its own, as the HTTP edge's requests have: the stored envelope
                // carries its trace onward.
                let span = tracing::info_span!("slack_socket_envelope", envelope_type = %kind);
                match self.take_in(kind, payload).instrument(span).await {
                    Ok(answer) => {
                        let ack = Ack {
                            envelope_id: &envelope_id,
                            payload: answer,
                        };
                        // An envelope that cannot be encoded is not acknowledged; Slack tries
                        // again and the log says why.
                        match serde_json::to_string(&ack) {
                            Ok(ack) => {
                                if !connection.send(Message::Text(ack.into())).await {
                                    return Handled::Ended;
                                }
                                self.counters.acks.inc();
                            }
                            Err(error) => {
                                tracing::warn!(%error, "Could not encode a Socket Mode acknowledgement.");
                            }
                        }
                    }
                    Err(error) => tracing::warn!(
                        %error,
                        envelope_type = kind,
                        "Could not store a Socket Mode envelope; not acknowledged, so Slack delivers it again."
                    ),
                }
                Handled::Continue
            }
            (kind, None) => {
                tracing::debug!(frame_type = %kind, "Ignored a Socket Mode frame without an envelope.");
                Handled::Continue
            }
        }
    }

    /// Stores one envelope's payload like the HTTP edge does; `Ok` with the acknowledgement's
    /// payload (a slash command's immediate answer) once nothing can be lost.
    async fn take_in(
        &self,
        kind: &str,
        payload: &str,
    ) -> Result<Option<CommandReply>, super::SlackError> {
        match kind {
            "events_api" => {
                self.edge.accept_events(payload.as_bytes()).await?;
                Ok(None)
            }
            "slash_commands" => match serde_json::from_str::<SlashCommand>(payload) {
                Ok(command) => self.edge.accept_command(command).await,
                Err(error) => {
                    let reason = format!("slash command payload is not valid: {error}");
                    self.edge.dead_letter(payload.as_bytes(), &reason).await?;
                    Ok(Some(could_not_read()))
                }
            },
            other => {
                // Interactivity (buttons, shortcuts) is not used by Alfred: acknowledged, so
                // Slack does not retry, and dropped.
                tracing::info!(envelope_type = %other, "Acknowledged a Socket Mode envelope Alfred does not handle.");
                Ok(None)
            }
        }
    }
}

/// One Socket Mode connection, kept open for as long as the actor lives.
pub struct SocketConnection {
    mode: Rc<SocketMode>,
    slot: usize,
}

impl Actor for SocketConnection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let mode = self.mode.clone();
        let slot = self.slot;
        // The loop never ends; should it, the actor stops and its supervisor starts another.
        ctx.spawn(
            async move { mode.keep_open(slot).await }
                .into_actor(self)
                .map(|(), _, ctx| ctx.stop()),
        );
    }
}

impl std::fmt::Debug for SocketMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketMode")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The socket URL must be `wss://` on Slack's hosts (a subdomain of `slack.com`), or on
/// `SLACK_API_URL`'s own host (a local Slack stand-in, where `ws://` is allowed when the
/// API URL is plain `http://` too).
fn check_socket_url(url: &str, api_url: &str) -> Result<(), OpenError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| OpenError::Refused("an unparsable URL".to_owned()))?;
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    let api: Option<Uri> = api_url.parse().ok();
    let api_host = api
        .as_ref()
        .and_then(Uri::host)
        .map(str::to_ascii_lowercase);
    let api_plain = api.as_ref().and_then(Uri::scheme_str) == Some("http");
    let scheme = uri.scheme_str().unwrap_or_default();
    let on_api_host = api_host.as_deref() == Some(host.as_str());
    let on_slack = host == "slack.com" || host.ends_with(".slack.com");
    let allowed = match scheme {
        "wss" => on_slack || on_api_host,
        "ws" => on_api_host && api_plain,
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(OpenError::Refused(format!(
            "{scheme}://{host} (only wss:// on slack.com, or SLACK_API_URL's host)"
        )))
    }
}

/// The next step of `connection`, or never when there is none.
async fn next_step_of(connection: &mut Option<Connection>) -> Step {
    match connection {
        Some(connection) => connection.next_step().await,
        None => std::future::pending().await,
    }
}

/// Why Slack asked for a connection to be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disconnect {
    /// Routine: Slack refreshes connections every few hours.
    RefreshRequested,
    /// The connection is about to be closed (Slack says about 10 seconds ahead).
    Warning,
    /// Socket Mode was turned off for the app.
    LinkDisabled,
    /// Anything else Slack may add: treated like a refresh.
    Other,
}

impl Disconnect {
    fn from_reason(reason: &str) -> Self {
        match reason {
            "refresh_requested" => Disconnect::RefreshRequested,
            "warning" => Disconnect::Warning,
            "link_disabled" => Disconnect::LinkDisabled,
            _ => Disconnect::Other,
        }
    }

    /// The `reason` label of `alfred_slack_socket_reconnects_total`.
    fn label(self) -> &'static str {
        match self {
            Disconnect::RefreshRequested => "refresh_requested",
            Disconnect::Warning => "warning",
            Disconnect::LinkDisabled => "link_disabled",
            Disconnect::Other => "other",
        }
    }
}

/// How reading a connection ended.
enum Ended {
    /// Slack sent `disconnect`; the connection may still be read until the replacement is up.
    Disconnect {
        connection: Connection,
        reason: Disconnect,
    },
    /// Closed, reset or silent.
    Dropped,
}

/// What one frame meant for its connection.
enum Handled {
    Continue,
    Disconnect(Disconnect),
    /// The connection is gone (closed by Slack, or a write failed).
    Ended,
}

/// The next thing a connection has to say.
enum Step {
    Frame(Frame),
    /// Nothing for [`PING_AFTER`]: time to ping.
    Silent,
    /// Closed, failed, or silent past [`SILENCE_LIMIT`].
    Ended,
}

/// One open WebSocket; counted in `alfred_slack_socket_connections` while it lives.
struct Connection {
    framed: actix_codec::Framed<BoxedSocket, awc::ws::Codec>,
    slot: usize,
    gauge: IntGauge,
    /// When the last frame (of any kind) arrived.
    last_heard: tokio::time::Instant,
}

impl Connection {
    fn new(
        framed: actix_codec::Framed<BoxedSocket, awc::ws::Codec>,
        slot: usize,
        gauge: IntGauge,
    ) -> Self {
        gauge.inc();
        Connection {
            framed,
            slot,
            gauge,
            last_heard: tokio::time::Instant::now(),
        }
    }

    async fn next_step(&mut self) -> Step {
        let silent_for = self.last_heard.elapsed();
        if silent_for >= SILENCE_LIMIT {
            tracing::warn!(
                slot = self.slot,
                "A Slack Socket Mode connection went silent; taking it for dead."
            );
            return Step::Ended;
        }
        let wait = PING_AFTER.min(SILENCE_LIMIT - silent_for);
        match tokio::time::timeout(wait, self.framed.next()).await {
            Ok(Some(Ok(frame))) => {
                self.last_heard = tokio::time::Instant::now();
                Step::Frame(frame)
            }
            Ok(Some(Err(error))) => {
                tracing::warn!(slot = self.slot, %error, "A Slack Socket Mode connection failed.");
                Step::Ended
            }
            Ok(None) => Step::Ended,
            Err(_) => Step::Silent,
        }
    }

    /// Sends a frame; `false` when the connection is gone.
    async fn send(&mut self, message: Message) -> bool {
        match self.framed.send(message).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(slot = self.slot, %error, "Could not write to a Slack Socket Mode connection.");
                false
            }
        }
    }

    async fn ping(&mut self) {
        // A failed write shows at the next read.
        let _ = self.send(Message::Ping(bytes::Bytes::new())).await;
    }

    /// Closes the connection as the WebSocket protocol wants: a close frame, then reading
    /// until Slack's close frame comes back (or [`CLOSE_WAIT`] passes). An envelope that still
    /// arrives now is not acknowledged, so Slack delivers it again on another connection.
    /// Errors do not matter any more.
    async fn close(&mut self) {
        if self
            .framed
            .send(Message::Close(Some(CloseReason::from(CloseCode::Normal))))
            .await
            .is_err()
        {
            return;
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(frame)) = self.framed.next().await {
                if matches!(frame, Frame::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// `apps.connections.open`'s answer.
#[derive(Deserialize)]
struct OpenAnswer {
    ok: bool,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// A frame from Slack: `hello`, `disconnect`, or an envelope.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    envelope_id: Option<String>,
    /// Kept raw: it is the Events API body (or a slash command) as Slack sends it over HTTP.
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
    /// Of a `disconnect`.
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    retry_attempt: Option<u32>,
    #[serde(default)]
    retry_reason: Option<String>,
}

/// The acknowledgement of one envelope.
#[derive(Serialize)]
struct Ack<'a> {
    envelope_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<CommandReply>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_frame_is_read_with_its_payload_raw() {
        let frame = br#"{"envelope_id":"57d6a792","type":"events_api","accepts_response_payload":false,"payload":{"type":"event_callback","event_id":"Ev1"},"retry_attempt":1,"retry_reason":"timeout"}"#;
        let incoming: Incoming<'_> = serde_json::from_slice(frame).unwrap();
        assert_eq!(incoming.kind, "events_api");
        assert_eq!(incoming.envelope_id.as_deref(), Some("57d6a792"));
        assert_eq!(
            incoming.payload.map(RawValue::get),
            Some(r#"{"type":"event_callback","event_id":"Ev1"}"#)
        );
        assert_eq!(incoming.retry_attempt, Some(1));
    }

    #[test]
    fn an_ack_carries_the_envelope_id_and_a_command_answer_only_when_there_is_one() {
        let bare = Ack {
            envelope_id: "e1",
            payload: None,
        };
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"envelope_id":"e1"}"#
        );
        let answered = Ack {
            envelope_id: "e2",
            payload: Some(CommandReply::ephemeral("pong")),
        };
        assert_eq!(
            serde_json::to_value(&answered).unwrap(),
            serde_json::json!({"envelope_id":"e2","payload":{"response_type":"ephemeral","text":"pong"}})
        );
    }

    #[test]
    fn only_slack_hosts_over_tls_or_the_api_hosts_stand_in_are_connected_to() {
        let slack = "https://slack.com/api";
        assert!(check_socket_url("wss://wss-primary.slack.com/link/?ticket=t", slack).is_ok());
        assert!(check_socket_url("ws://wss-primary.slack.com/link/?ticket=t", slack).is_err());
        assert!(check_socket_url("wss://evil.example/link/?ticket=t", slack).is_err());
        assert!(check_socket_url("wss://slack.com.evil.example/", slack).is_err());
        let fake = "http://127.0.0.1:4010/api";
        assert!(check_socket_url("ws://127.0.0.1:4010/socket/1", fake).is_ok());
        assert!(check_socket_url("ws://127.0.0.2:4010/socket/1", fake).is_err());
        // A TLS API URL never hands out a plain socket.
        assert!(check_socket_url("ws://slack.com/socket", slack).is_err());
    }

    #[test]
    fn disconnect_reasons_are_named() {
        assert_eq!(
            Disconnect::from_reason("refresh_requested").label(),
            "refresh_requested"
        );
        assert_eq!(Disconnect::from_reason("warning").label(), "warning");
        assert_eq!(
            Disconnect::from_reason("link_disabled"),
            Disconnect::LinkDisabled
        );
        assert_eq!(Disconnect::from_reason("something_new").label(), "other");
    }
}
