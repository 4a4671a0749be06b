//! The Graph API client: sends text replies with `POST {url}/{version}/{phone_id}/messages`.
//!
//! It classifies every failure for the outbound sender, which retries or dead-letters:
//! 429, 5xx, time-outs and connection errors are retryable (429 with its `Retry-After`); other
//! 4xx are decided by Meta's `error.code` — throttling and transient codes are retryable,
//! everything else (undeliverable, re-engagement window closed, bad parameter, expired token,
//! missing permission) is permanent. The access token travels only in the `Authorization`
//! header (marked sensitive); it never appears in `Debug`, logs or error reasons.
//!
//! Built on `awc`, which is not `Send`: a client lives on the arbiter thread of the actor that
//! owns it, so the sender's factory builds it there.

use std::time::Duration;

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::http::{StatusCode, Uri};
use alfred_actors::channel::{ChannelClient, SendError, SendReceipt};
use alfred_actors::messages::{OutboundBody, OutboundEnvelope};
use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::outbound_http::{self, retryable, Exchange, Poster};

/// Default time allowed for one send, response body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read; Graph answers are a few hundred bytes.
const RESPONSE_LIMIT: usize = 64 * 1024;

/// Meta error codes worth retrying: throttling (4 app call limit, 80007 WABA rate limit,
/// 130429 throughput, 131048 spam rate limit, 131056 pair rate limit, 133016 registration rate
/// limit) and transient failures (1 unknown, 2 service, 131000 something went wrong, 131016
/// service unavailable, 133004 server temporarily unavailable). Meta's error-code reference
/// says "try again later" for these.
pub const RETRYABLE_CODES: &[i64] = &[
    1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004, 133016,
];

/// What the client needs from the configuration.
#[derive(Debug, Clone)]
pub struct GraphSettings {
    /// `GRAPH_API_URL`, e.g. `https://graph.facebook.com` (tests use a local fake).
    pub base_url: String,
    /// `GRAPH_API_VERSION`, e.g. `v21.0`.
    pub api_version: String,
    /// `PHONE_ID`: sends from this number when an envelope names no account.
    pub phone_number_id: String,
    /// `META_TOKEN`.
    pub token: SecretString,
    /// Time allowed for one send ([`DEFAULT_TIMEOUT`] unless configured).
    pub timeout: Duration,
}

/// The settings cannot make a client.
#[derive(Debug, thiserror::Error)]
pub enum GraphSetupError {
    #[error("GRAPH_API_URL and GRAPH_API_VERSION do not form a valid URL: {0}")]
    InvalidUrl(String),
    #[error("META_TOKEN contains characters not allowed in an HTTP header")]
    InvalidToken,
}

/// Sends WhatsApp replies through the Graph API.
pub struct GraphClient {
    client: awc::Client,
    /// `{base_url}/{api_version}`, without a trailing slash.
    api_root: String,
    phone_number_id: String,
    /// `Bearer {token}`, marked sensitive.
    authorization: HeaderValue,
    /// Kept only to scrub it from error reasons, in case the platform echoes it.
    token: SecretString,
    timeout: Duration,
    /// The hosts this client may reach; `None` (tests of the client alone) checks nothing.
    allowlist: Option<crate::allowlist::Allowlist>,
}

impl GraphClient {
    /// Builds a client; call it on the thread of the actor that will use it.
    pub fn new(settings: GraphSettings) -> Result<Self, GraphSetupError> {
        let api_root = format!(
            "{}/{}",
            settings.base_url.trim_end_matches('/'),
            settings.api_version.trim_matches('/')
        );
        let probe = format!("{api_root}/{}/messages", settings.phone_number_id);
        probe
            .parse::<Uri>()
            .map_err(|error| GraphSetupError::InvalidUrl(format!("{probe}: {error}")))?;
        let authorization =
            outbound_http::bearer(&settings.token).ok_or(GraphSetupError::InvalidToken)?;
        let client = outbound_http::client(settings.timeout);
        Ok(GraphClient {
            client,
            api_root,
            phone_number_id: settings.phone_number_id,
            authorization,
            token: settings.token,
            allowlist: None,
            timeout: settings.timeout,
        })
    }

    /// Refuses every request to a host outside `allowlist` (checked before each request).
    pub fn with_allowlist(mut self, allowlist: crate::allowlist::Allowlist) -> Self {
        self.allowlist = Some(allowlist);
        self
    }

    fn messages_url(&self, account: &str) -> String {
        let phone_number_id = if account.is_empty() {
            &self.phone_number_id
        } else {
            account
        };
        format!("{}/{phone_number_id}/messages", self.api_root)
    }

    /// How this client posts (see [`Poster`]).
    fn poster(&self) -> Poster<'_> {
        Poster {
            service: "graph",
            allowlist: self.allowlist.as_ref(),
            timeout: self.timeout,
            response_limit: RESPONSE_LIMIT,
            token: &self.token,
        }
    }

    /// Removes the token from text that may be shown to an operator.
    fn scrub(&self, text: String) -> String {
        self.poster().scrub(text)
    }

    async fn exchange(&self, url: &str, request: &SendMessage<'_>) -> Result<Exchange, SendError> {
        let builder = self
            .client
            .post(url)
            .insert_header((AUTHORIZATION, self.authorization.clone()));
        self.poster().post_json(url, builder, request).await
    }
}

#[async_trait(?Send)]
impl ChannelClient for GraphClient {
    async fn send(&self, message: &OutboundEnvelope) -> Result<SendReceipt, SendError> {
        let callback_data = message.callback_data();
        let content = match &message.body {
            OutboundBody::Text { text } => Content::Text {
                text: TextBody {
                    preview_url: false,
                    body: text,
                },
            },
            OutboundBody::Template {
                name,
                language,
                parameters,
            } => Content::Template {
                template: Template {
                    name,
                    language: Language { code: language },
                    components: body_component(parameters),
                },
            },
        };
        let request = SendMessage {
            messaging_product: "whatsapp",
            recipient_type: if message.to_group {
                "group"
            } else {
                "individual"
            },
            to: &message.to,
            content,
            context: message
                .reply_to
                .as_deref()
                .map(|message_id| Context { message_id }),
            biz_opaque_callback_data: &callback_data,
        };
        let url = self.messages_url(&message.account);
        let exchange = self.exchange(&url, &request).await?;
        classify(exchange.status, exchange.retry_after, &exchange.body).map_err(|error| match error
        {
            SendError::Retryable {
                reason,
                retry_after,
            } => SendError::Retryable {
                reason: self.scrub(reason),
                retry_after,
            },
            SendError::Permanent { reason } => SendError::Permanent {
                reason: self.scrub(reason),
            },
        })
    }
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("api_root", &self.api_root)
            .field("phone_number_id", &self.phone_number_id)
            .field("token", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Decides what a Graph answer means for the sender (see the module doc).
pub fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<SendReceipt, SendError> {
    if status.is_success() {
        // The message was accepted even if the answer is unreadable; retrying would send twice.
        let provider_id = serde_json::from_slice::<SendResponse>(body)
            .ok()
            .and_then(|response| response.messages.into_iter().next())
            .map(|message| message.id);
        return Ok(SendReceipt { provider_id });
    }
    let error = serde_json::from_slice::<ErrorResponse>(body)
        .ok()
        .map(|response| response.error);
    let reason = match &error {
        Some(GraphError {
            code: Some(code),
            message,
        }) => format!("graph error {code}: {message}"),
        Some(GraphError {
            code: None,
            message,
        }) if !message.is_empty() => {
            format!("graph HTTP {}: {message}", status.as_u16())
        }
        _ => format!("graph HTTP {}", status.as_u16()),
    };
    let code = error.and_then(|error| error.code);
    let retry = status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
        || code.is_some_and(|code| RETRYABLE_CODES.contains(&code));
    if retry {
        Err(retryable(reason, retry_after))
    } else {
        Err(SendError::Permanent { reason })
    }
}

#[derive(Serialize)]
struct SendMessage<'a> {
    messaging_product: &'static str,
    recipient_type: &'static str,
    to: &'a str,
    #[serde(flatten)]
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<Context<'a>>,
    /// Echoed by Meta in this message's status callbacks: after a crash between sending and
    /// recording the send, the `sent` status tells which outbox row did go out.
    biz_opaque_callback_data: &'a str,
}

/// The message's `type` and its content object.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Content<'a> {
    Text { text: TextBody<'a> },
    Template { template: Template<'a> },
}

/// A template message: `{"name", "language": {"code"}, "components": [{"type": "body",
/// "parameters": [{"type": "text", "text"}…]}]}`.
#[derive(Serialize)]
struct Template<'a> {
    name: &'a str,
    language: Language<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Component<'a>>,
}

#[derive(Serialize)]
struct Language<'a> {
    code: &'a str,
}

#[derive(Serialize)]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    parameters: Vec<Parameter<'a>>,
}

#[derive(Serialize)]
struct Parameter<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

/// The body component filling `{{1}}`, `{{2}}`, …; none when the template has no variables.
fn body_component(parameters: &[String]) -> Vec<Component<'_>> {
    if parameters.is_empty() {
        return Vec::new();
    }
    vec![Component {
        kind: "body",
        parameters: parameters
            .iter()
            .map(|text| Parameter { kind: "text", text })
            .collect(),
    }]
}

#[derive(Serialize)]
struct TextBody<'a> {
    preview_url: bool,
    body: &'a str,
}

/// Makes the reply quote the message it answers.
#[derive(Serialize)]
struct Context<'a> {
    message_id: &'a str,
}

#[derive(Deserialize)]
struct SendResponse {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: String,
}
