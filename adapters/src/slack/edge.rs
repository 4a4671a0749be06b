//! The Slack edge: `POST /slack/events` (Events API) and `POST /slack/commands` (slash
//! commands).
//!
//! Both check the v0 signature and the request's age first (401 with the reason, nothing
//! stored). Events are parsed into envelopes and stored on `alfred-ingest` before the 200, so a
//! 200 promises that nothing is lost; when the bus is down the answer is 503 and Slack retries
//! (three times within about five minutes). Slack wants the answer within 3 seconds: storing is
//! one `XADD`, and all the work happens after, in the orchestrator. A retry (`X-Slack-Retry-Num`)
//! is stored again like the first delivery: its envelope has the same `{team_id}:{event_id}`
//! id, and the orchestrator's inbox acknowledges the duplicate without a second reply. A signed
//! body that cannot be understood is kept in `alfred-ingest:dead` and answered 200.
//!
//! Before anything is stored or answered, the request's workspace must be one Alfred serves
//! (see [`super::workspaces`]): events and commands from another workspace, and events by a
//! person of another workspace in a shared channel, are answered 200 with nothing stored or
//! said, and counted in `alfred_refused_total{reason}`.
//!
//! What follows the signature check — parse, workspace check, store or dead-letter, and the
//! slash command's decision — is [`SlackEdge::accept_events`] and [`SlackEdge::accept_command`],
//! which Socket Mode ([`super::socket`]) calls too: an event is stored, de-duplicated and
//! dead-lettered the same way whichever way it came. Without `SLACK_SIGNING_SECRET` (Socket
//! Mode alone) the edge has no verifier and its HTTP routes are not mounted.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use alfred_actors::bus::{Bus, BusError};
use alfred_actors::clock::Clock;
use alfred_actors::messages::Platform;
use alfred_actors::metrics::Metrics;
use bytes::Bytes;
use prometheus::IntCounterVec;
use secrecy::SecretString;

use super::commands::{self, CommandAction, CommandReply, ON_IT};
use super::events::{parse_events, EventsRequest};
use super::response_url::{is_allowed_response_url, ResponseUrls};
use super::signature::{
    SignatureError, SigningKeyError, SlackVerifier, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use super::workspaces::{check_teams, Workspaces};
use crate::signed_request::{self, Ingest, IngestError};

/// The Events API request URL.
pub const EVENTS_PATH: &str = "/slack/events";
/// The slash commands request URL.
pub const COMMANDS_PATH: &str = "/slack/commands";
/// The header Slack sets on a redelivery (1, 2, 3).
pub const RETRY_NUM_HEADER: &str = "x-slack-retry-num";

/// What the edge needs from the configuration.
#[derive(Debug, Clone)]
pub struct SlackEdgeSettings {
    /// Prefix of the stream keys (`REDIS_KEY_PREFIX`).
    pub key_prefix: String,
    /// `INGEST_PARTITIONS`: 0 stores on the single `alfred-ingest`, `N` on the partition of
    /// each message's conversation.
    pub ingest_partitions: u32,
    /// `SLACK_SIGNING_SECRET`; `None` with Socket Mode alone (no HTTP routes then).
    pub signing_secret: Option<SecretString>,
    /// `SLACK_API_URL`: response URLs on its host are accepted besides `hooks.slack.com`.
    pub api_url: String,
    /// Largest accepted body in bytes (`WEBHOOK_BODY_LIMIT`).
    pub body_limit: usize,
    /// The workspaces whose requests are answered (`SLACK_TEAM_IDS`, or the bot's own).
    pub workspaces: Workspaces,
}

/// How long a request waits for the bot's own workspace while `auth.test` has not answered
/// yet: well within the 3 seconds Slack allows for the answer.
const WORKSPACE_WAIT: Duration = Duration::from_secs(2);

/// The edge's state, shared by every worker as `web::Data`.
pub struct SlackEdge {
    /// `alfred-ingest` and its dead-letter stream, for Slack.
    ingest: Ingest,
    /// `None` without a signing secret: then [`configure`] must not be used (every request
    /// would be refused as unsigned).
    verifier: Option<SlackVerifier>,
    /// The time requests' timestamps are checked against (fixed in tests).
    clock: Arc<dyn Clock>,
    response_urls: ResponseUrls,
    api_url: String,
    body_limit: usize,
    workspaces: Workspaces,
    /// `alfred_refused_total{reason}`.
    refused: IntCounterVec,
}

/// Everything the edge answers other than 200, mapped to HTTP in one place.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// A missing, malformed, wrong or stale signature: 401 with the reason.
    #[error("{0}")]
    Unauthorized(#[from] SignatureError),
    /// The bus did not acknowledge; Slack retries on 503.
    #[error("message bus unavailable, retry later")]
    Unavailable(#[source] BusError),
    #[error("an envelope could not be encoded")]
    Encode(#[source] serde_json::Error),
    /// `auth.test` has not named the bot's workspace yet; Slack retries on 503.
    #[error("the Slack workspace this Alfred serves is not known yet (auth.test), retry later")]
    WorkspaceUnknown,
}

impl From<IngestError> for SlackError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Encode(error) => SlackError::Encode(error),
            IngestError::Unavailable(error) => SlackError::Unavailable(error),
        }
    }
}

impl ResponseError for SlackError {
    fn status_code(&self) -> StatusCode {
        match self {
            SlackError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            SlackError::Unavailable(_) | SlackError::WorkspaceUnknown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            SlackError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            let cause = signed_request::cause(self);
            tracing::warn!(error = %self, cause = %cause, "The Slack edge could not store a request.");
        } else {
            tracing::warn!(error = %self, "Refused a Slack request.");
        }
        signed_request::plain_text_response(status, self)
    }
}

impl SlackEdge {
    /// Builds the edge; fails when the signing secret (if any) cannot key the signature check.
    pub fn new(
        settings: SlackEdgeSettings,
        bus: Arc<dyn Bus>,
        metrics: &Metrics,
        clock: Arc<dyn Clock>,
        response_urls: ResponseUrls,
    ) -> Result<Self, SigningKeyError> {
        let verifier = settings
            .signing_secret
            .as_ref()
            .map(SlackVerifier::new)
            .transpose()?;
        Ok(SlackEdge {
            ingest: Ingest::new(
                bus,
                &settings.key_prefix,
                settings.ingest_partitions,
                Platform::Slack,
                metrics,
            ),
            verifier,
            clock,
            response_urls,
            api_url: settings.api_url,
            body_limit: settings.body_limit,
            workspaces: settings.workspaces,
            refused: metrics.refused.clone(),
        })
    }

    /// Whether a request of `team_id` (by a person of `user_team`, when Slack says) may be
    /// handled: `Ok(false)` when it is refused (counted; the caller answers 200 and stores
    /// nothing), an error while the allowed workspaces are not known yet.
    async fn admitted(&self, team_id: &str, user_team: Option<&str>) -> Result<bool, SlackError> {
        let allowed = self
            .workspaces
            .allowed(WORKSPACE_WAIT)
            .await
            .ok_or(SlackError::WorkspaceUnknown)?;
        match check_teams(&allowed, team_id, user_team) {
            Ok(()) => Ok(true),
            Err(refusal) => {
                self.refused.with_label_values(&[refusal.reason()]).inc();
                tracing::info!(
                    reason = refusal.reason(),
                    "Refused a Slack request from outside the allowed workspaces; nothing stored."
                );
                Ok(false)
            }
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Whether requests over HTTP can be checked (a signing secret is configured).
    pub fn serves_http(&self) -> bool {
        self.verifier.is_some()
    }

    fn verify(&self, request: &HttpRequest, body: &[u8]) -> Result<(), SlackError> {
        let header = |name| request.headers().get(name).map(|value| value.as_bytes());
        let Some(verifier) = &self.verifier else {
            // Not mounted without a verifier; should it be, nothing unsigned gets in.
            return Err(SlackError::Unauthorized(SignatureError::Missing));
        };
        verifier
            .verify(
                header(TIMESTAMP_HEADER),
                header(SIGNATURE_HEADER),
                body,
                self.now(),
            )
            .map_err(SlackError::from)
    }

    /// Handles one Events API request: signature, parse, store, answer.
    pub async fn events(
        &self,
        request: &HttpRequest,
        body: &Bytes,
    ) -> Result<HttpResponse, SlackError> {
        self.verify(request, body)?;
        if let Some(retry) = request.headers().get(RETRY_NUM_HEADER) {
            let retry = String::from_utf8_lossy(retry.as_bytes()).into_owned();
            tracing::Span::current().record("retry_num", retry.as_str());
            tracing::info!(retry_num = %retry, "Slack delivered an event again; the inbox keeps the reply single.");
        }
        match self.accept_events(body).await? {
            Some(challenge) => {
                tracing::info!("Answered Slack's URL verification.");
                Ok(HttpResponse::Ok().json(serde_json::json!({ "challenge": challenge })))
            }
            None => Ok(HttpResponse::Ok().finish()),
        }
    }

    /// Takes in one Events API body whose origin is established (signed, or from Socket
    /// Mode): parse, workspace check, store on `alfred-ingest` (or keep it on the dead letter
    /// when it cannot be understood). `Ok` means nothing is lost and Slack may be told so;
    /// `Ok(Some(challenge))` is the URL verification handshake's answer. An error means
    /// nothing was stored and Slack must deliver the event again.
    pub async fn accept_events(&self, body: &[u8]) -> Result<Option<String>, SlackError> {
        let traceparent = alfred_actors::trace::current_traceparent();
        match parse_events(body, self.now(), traceparent.as_deref()) {
            Ok(EventsRequest::UrlVerification { challenge }) => Ok(Some(challenge)),
            Ok(EventsRequest::Envelopes { envelopes, teams }) => {
                // Only what would be stored is checked: an ignored event stores nothing anyway.
                if let (Some(team_id), false) = (&teams.team_id, envelopes.is_empty()) {
                    if !self.admitted(team_id, teams.user_team.as_deref()).await? {
                        return Ok(None);
                    }
                }
                tracing::Span::current().record("envelopes", envelopes.len());
                self.ingest.store(&envelopes).await?;
                Ok(None)
            }
            Err(reason) => {
                self.dead_letter(body, &reason.to_string()).await?;
                Ok(None)
            }
        }
    }

    /// Handles one slash command: signature, then `ping`/`help` at once or store and defer.
    pub async fn command(
        &self,
        request: &HttpRequest,
        body: &Bytes,
    ) -> Result<HttpResponse, SlackError> {
        // Slack checks the certificate of a command URL with `ssl_check=1` (and no command).
        // It only wants a 200; nothing is stored or answered, so no signature is needed.
        if commands::is_ssl_check(body) {
            return Ok(HttpResponse::Ok().finish());
        }
        self.verify(request, body)?;
        let command = match commands::parse_command(body) {
            Ok(command) => command,
            Err(reason) => {
                self.dead_letter(body, &reason).await?;
                return Ok(HttpResponse::Ok().json(could_not_read()));
            }
        };
        match self.accept_command(command).await? {
            Some(reply) => Ok(HttpResponse::Ok().json(reply)),
            // Nothing is said to another workspace, not even `pong`: an empty 200 posts
            // nothing.
            None => Ok(HttpResponse::Ok().finish()),
        }
    }

    /// Takes in one slash command whose origin is established (signed, or from Socket Mode):
    /// the workspace check, then `ping`/`help` answered at once or the command stored and
    /// deferred. `Ok(None)`: refused (another workspace), answer nothing; `Ok(Some(reply))`:
    /// the immediate answer. An error means nothing was stored and Slack must try again.
    pub async fn accept_command(
        &self,
        command: commands::SlashCommand,
    ) -> Result<Option<CommandReply>, SlackError> {
        if !self.admitted(&command.team_id, None).await? {
            return Ok(None);
        }
        let traceparent = alfred_actors::trace::current_traceparent();
        match commands::decide(command, self.now(), traceparent.as_deref()) {
            CommandAction::Answer(reply) => Ok(Some(reply)),
            CommandAction::Defer {
                envelope,
                response_url,
                visibility,
            } => {
                // Remembered before storing, so the reply, however fast, finds it.
                if is_allowed_response_url(&response_url, &self.api_url) {
                    self.response_urls
                        .remember_shared(&envelope.message_id, &response_url, visibility)
                        .await;
                } else {
                    tracing::warn!("A slash command's response_url is not on Slack's host; its reply goes to the channel instead.");
                }
                self.ingest.store(std::slice::from_ref(&envelope)).await?;
                // The acknowledgement is always the caller's alone; the answer is what may be
                // public.
                Ok(Some(CommandReply::ephemeral(ON_IT)))
            }
        }
    }

    /// Keeps a signed body that cannot be understood, with the reason, for an operator.
    pub async fn dead_letter(&self, body: &[u8], reason: &str) -> Result<(), SlackError> {
        tracing::warn!(error = %reason, bytes = body.len(), "Dead-lettered a signed Slack request that cannot be understood.");
        // Kept for an operator, without what could still act in the channel.
        let body = super::text::redact(body);
        Ok(self.ingest.dead_letter(&body, reason).await?)
    }
}

/// The answer to a slash command that cannot be read (it is dead-lettered).
pub fn could_not_read() -> CommandReply {
    CommandReply::ephemeral("Sorry, I could not read that command.")
}

impl std::fmt::Debug for SlackEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackEdge")
            .field("ingest_stream", &self.ingest.ingest_stream())
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

/// Mounts `POST` [`EVENTS_PATH`] and [`COMMANDS_PATH`]:
/// `App::new().configure(|cfg| slack::configure(cfg, edge.clone()))`.
pub fn configure(cfg: &mut web::ServiceConfig, edge: web::Data<SlackEdge>) {
    let limit = web::PayloadConfig::new(edge.body_limit);
    cfg.service(
        web::resource(EVENTS_PATH)
            .app_data(edge.clone())
            .app_data(limit.clone())
            .route(web::post().to(events)),
    )
    .service(
        web::resource(COMMANDS_PATH)
            .app_data(edge)
            .app_data(limit)
            .route(web::post().to(command)),
    );
}

#[tracing::instrument(name = "slack_events", skip_all, fields(envelopes = tracing::field::Empty, retry_num = tracing::field::Empty))]
async fn events(
    request: HttpRequest,
    body: Bytes,
    edge: web::Data<SlackEdge>,
) -> Result<HttpResponse, SlackError> {
    edge.events(&request, &body).await
}

#[tracing::instrument(name = "slack_command", skip_all)]
async fn command(
    request: HttpRequest,
    body: Bytes,
    edge: web::Data<SlackEdge>,
) -> Result<HttpResponse, SlackError> {
    edge.command(&request, &body).await
}
