//! The Slack Web API client: sends replies with `chat.postMessage`, or through a slash
//! command's `response_url`.
//!
//! `chat.postMessage` is `POST {SLACK_API_URL}/chat.postMessage` with `Authorization: Bearer
//! {SLACK_BOT_TOKEN}` and JSON `{channel, text}`. Slack answers HTTP 200 with `{"ok": false,
//! "error": "…"}` for most failures, so the body decides ([`classify`]): `ratelimited` and
//! Slack's transient errors are retryable, everything else (`channel_not_found`,
//! `not_in_channel`, `invalid_auth`, `is_archived`, `msg_too_long`, …) is permanent. HTTP 429
//! carries `Retry-After`, which the sender honours; 5xx, time-outs and connection errors are
//! retryable.
//!
//! Pacing: Slack allows about one message per second per channel; the client holds each
//! channel's next free slot and waits for it before sending (the outbound sender already sends
//! one recipient's replies in order, so this only spaces them out).
//!
//! The token travels only in the sensitive `Authorization` header; it never appears in `Debug`,
//! logs or error reasons. Built on `awc` (not `Send`): the sender's factory builds one client
//! per sender thread.

use std::cell::RefCell;
use std::time::Duration;

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::http::{StatusCode, Uri};
use alfred_actors::channel::{ChannelClient, SendError, SendReceipt};
use alfred_actors::messages::OutboundEnvelope;
use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::response_url::ResponseUrl;
use crate::outbound_http::{self, retryable, Exchange, Poster};
use tokio::time::Instant;

use super::pacer::ChannelPacer;
use super::response_url::ResponseUrls;

/// Default time allowed for one send, response body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Slack's documented pace for posting to one channel.
pub const DEFAULT_CHANNEL_PACE: Duration = Duration::from_secs(1);
/// Largest response body read; Slack's answers are a few KiB.
const RESPONSE_LIMIT: usize = 256 * 1024;

/// Slack `error` codes worth retrying: rate limiting and Slack-side trouble.
pub const RETRYABLE_ERRORS: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
];

/// What the client needs from the configuration.
#[derive(Debug, Clone)]
pub struct SlackClientSettings {
    /// `SLACK_API_URL`, e.g. `https://slack.com/api` (tests use a local fake).
    pub api_url: String,
    /// `SLACK_BOT_TOKEN` (`xoxb-…`).
    pub bot_token: SecretString,
    /// Time allowed for one send ([`DEFAULT_TIMEOUT`] unless configured).
    pub timeout: Duration,
    /// Least time between two messages to one channel ([`DEFAULT_CHANNEL_PACE`]).
    pub channel_pace: Duration,
}

/// The settings cannot make a client.
#[derive(Debug, thiserror::Error)]
pub enum SlackSetupError {
    #[error("SLACK_API_URL does not form a valid URL: {0}")]
    InvalidUrl(String),
    #[error("SLACK_BOT_TOKEN contains characters not allowed in an HTTP header")]
    InvalidToken,
}

/// Sends Slack replies.
pub struct SlackClient {
    client: awc::Client,
    /// `{api_url}/chat.postMessage`.
    post_message_url: String,
    /// `Bearer {token}`, marked sensitive.
    authorization: HeaderValue,
    /// Kept only to scrub it from error reasons, in case something echoes it.
    token: SecretString,
    response_urls: ResponseUrls,
    timeout: Duration,
    channel_pace: Duration,
    /// Each channel's next free send slot.
    pacer: RefCell<ChannelPacer>,
    /// The hosts this client may reach; `None` (tests of the client alone) checks nothing.
    allowlist: Option<crate::allowlist::Allowlist>,
}

impl SlackClient {
    /// Builds a client; call it on the thread of the actor that will use it. `response_urls`
    /// is the registry the edge fills with slash commands' response URLs.
    pub fn new(
        settings: SlackClientSettings,
        response_urls: ResponseUrls,
    ) -> Result<Self, SlackSetupError> {
        let post_message_url = format!(
            "{}/chat.postMessage",
            settings.api_url.trim_end_matches('/')
        );
        post_message_url
            .parse::<Uri>()
            .map_err(|error| SlackSetupError::InvalidUrl(format!("{post_message_url}: {error}")))?;
        let authorization =
            outbound_http::bearer(&settings.bot_token).ok_or(SlackSetupError::InvalidToken)?;
        let client = outbound_http::client(settings.timeout);
        Ok(SlackClient {
            client,
            post_message_url,
            authorization,
            token: settings.bot_token,
            response_urls,
            timeout: settings.timeout,
            channel_pace: settings.channel_pace,
            pacer: RefCell::new(ChannelPacer::new(settings.channel_pace)),
            allowlist: None,
        })
    }

    /// Refuses every request to a host outside `allowlist` (checked before each request).
    pub fn with_allowlist(mut self, allowlist: crate::allowlist::Allowlist) -> Self {
        self.allowlist = Some(allowlist);
        self
    }

    /// Takes the channel's next slot and waits for it. The slot is taken before waiting, so
    /// concurrent sends to one channel queue up a pace apart.
    async fn pace(&self, channel: &str) {
        let now = Instant::now();
        let slot = self.pacer.borrow_mut().take_slot(channel, now);
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }

    /// How this client posts (see [`Poster`]).
    fn poster(&self) -> Poster<'_> {
        Poster {
            service: "slack",
            allowlist: self.allowlist.as_ref(),
            timeout: self.timeout,
            response_limit: RESPONSE_LIMIT,
            token: &self.token,
        }
    }

    /// `auth.test`: who Slack says the bot token belongs to. Called once at start-up, so a
    /// wrong or revoked `SLACK_BOT_TOKEN` is reported at once rather than at the first reply.
    /// Errors are classified like sends (`invalid_auth` and `token_revoked` are permanent);
    /// they never contain the token.
    pub async fn auth_test(&self) -> Result<SlackIdentity, SendError> {
        let url = self
            .post_message_url
            .replace("/chat.postMessage", "/auth.test");
        let exchange = self
            .exchange(&url, true, &serde_json::json!({}))
            .await
            .map_err(|error| self.scrub_error(error))?;
        classify(exchange.status, exchange.retry_after, &exchange.body)
            .map_err(|error| self.scrub_error(error))?;
        serde_json::from_slice::<SlackIdentity>(&exchange.body).map_err(|error| {
            SendError::Permanent {
                reason: format!("slack auth.test answer not understood: {error}"),
            }
        })
    }

    fn scrub_error(&self, error: SendError) -> SendError {
        match error {
            SendError::Retryable {
                reason,
                retry_after,
            } => retryable(self.scrub(reason), retry_after),
            SendError::Permanent { reason } => SendError::Permanent {
                reason: self.scrub(reason),
            },
        }
    }

    /// Removes the token from text that may be shown to an operator.
    fn scrub(&self, text: String) -> String {
        self.poster().scrub(text)
    }

    async fn exchange<T: Serialize>(
        &self,
        url: &str,
        authorized: bool,
        request: &T,
    ) -> Result<Exchange, SendError> {
        let mut builder = self.client.post(url);
        if authorized {
            builder = builder.insert_header((AUTHORIZATION, self.authorization.clone()));
        }
        self.poster().post_json(url, builder, request).await
    }
}

#[async_trait(?Send)]
impl ChannelClient for SlackClient {
    async fn send(&self, message: &OutboundEnvelope) -> Result<SendReceipt, SendError> {
        // Users' words are echoed in replies: escaped, they can never mention or ping anyone.
        let text = super::text::escape(&message.body.display_text());
        self.pace(&message.to).await;
        let response_url = match message.reply_to.as_deref() {
            Some(id) => self.response_urls.lookup(id).await,
            None => None,
        };
        let result = match response_url {
            Some(ResponseUrl { url, visibility }) => {
                let request = ResponseUrlMessage {
                    response_type: visibility.response_type(),
                    replace_original: false,
                    text: &text,
                };
                let exchange = self.exchange(&url, false, &request).await?;
                classify_response_url(exchange.status, exchange.retry_after, &exchange.body)
            }
            None => {
                let request = PostMessage {
                    channel: &message.to,
                    text: &text,
                    thread_ts: message.thread.as_deref(),
                };
                let exchange = self
                    .exchange(&self.post_message_url, true, &request)
                    .await?;
                classify(exchange.status, exchange.retry_after, &exchange.body)
            }
        };
        result.map_err(|error| self.scrub_error(error))
    }
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("post_message_url", &self.post_message_url)
            .field("token", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .field("channel_pace", &self.channel_pace)
            .finish_non_exhaustive()
    }
}

/// Decides what a `chat.postMessage` answer means for the sender (see the module doc).
pub fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<SendReceipt, SendError> {
    let answer = serde_json::from_slice::<ApiAnswer>(body).ok();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(retryable(
            "slack HTTP 429: ratelimited".to_owned(),
            retry_after,
        ));
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return Err(retryable(format!("slack HTTP {}", status.as_u16()), None));
    }
    match answer {
        Some(ApiAnswer { ok: true, ts, .. }) if status.is_success() => {
            Ok(SendReceipt { provider_id: ts })
        }
        Some(ApiAnswer {
            ok: false,
            error: Some(error),
            ..
        }) => {
            let reason = format!("slack error {error}");
            if RETRYABLE_ERRORS.contains(&error.as_str()) {
                Err(retryable(reason, retry_after))
            } else {
                Err(SendError::Permanent { reason })
            }
        }
        // Accepted with an unreadable answer: the message may be posted, and retrying would
        // post it twice.
        _ if status.is_success() => Ok(SendReceipt { provider_id: None }),
        _ => Err(SendError::Permanent {
            reason: format!("slack HTTP {}", status.as_u16()),
        }),
    }
}

/// Decides what a `response_url` answer means: Slack answers `ok` (text) on success and a
/// 404 with `expired_url`/`used_url` when the URL is no longer good, which will not change.
pub fn classify_response_url(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<SendReceipt, SendError> {
    if status.is_success() {
        return Ok(SendReceipt { provider_id: None });
    }
    let detail = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    let reason = format!("slack response_url HTTP {}: {detail}", status.as_u16());
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        Err(retryable(reason, retry_after))
    } else {
        Err(SendError::Permanent { reason })
    }
}

#[derive(Serialize)]
struct PostMessage<'a> {
    channel: &'a str,
    text: &'a str,
    /// Posts in this thread (the answered message's thread, or under a channel mention).
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_ts: Option<&'a str>,
}

#[derive(Serialize)]
struct ResponseUrlMessage<'a> {
    response_type: &'static str,
    /// Adds a message instead of replacing the "On it…" acknowledgement.
    replace_original: bool,
    text: &'a str,
}

/// Who the bot token belongs to, as `auth.test` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SlackIdentity {
    /// The workspace's name.
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub team_id: String,
    /// The bot user's name.
    #[serde(default)]
    pub user: String,
    /// The bot user's id: mentions of it address Alfred.
    #[serde(default)]
    pub user_id: String,
}

/// The common shape of every Web API answer.
#[derive(Deserialize)]
struct ApiAnswer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    /// The posted message's timestamp: its id within the channel.
    #[serde(default)]
    ts: Option<String>,
}
