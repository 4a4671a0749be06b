//! Where the replies to a deferred slash command go.
//!
//! A slash command's `response_url` is a short-lived capability (Slack: valid 30 minutes, 5
//! posts). The edge remembers it by the command's envelope id (`{team_id}:{trigger_id}`); the
//! [`SlackClient`](super::SlackClient) looks it up by the reply's `reply_to` (the orchestrator
//! sets it to the inbound message id) and posts the reply there, ephemeral unless the command
//! asked for `public` (then `in_channel`).
//!
//! The registry lives in this process's memory, shared by the edge and every sender, and — once
//! [`ResponseUrls::share_via`] gave it the bus — also on Redis for the URL's 30 minutes, so that
//! the reply finds it after a restart or from another replica. Without either (ephemeral mode
//! restarted, Redis unreachable), the client falls back to `chat.postMessage` to the
//! envelope's conversation: the caller's DM for an ephemeral command. Only URLs on
//! `hooks.slack.com`, or on the host of `SLACK_API_URL` (a local fake in tests), are kept, so a
//! signed request can never make Alfred post elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use alfred_actors::bus::Bus;

use super::commands::Visibility;

/// How long Slack accepts posts to a `response_url`.
pub const RESPONSE_URL_TTL: Duration = Duration::from_secs(30 * 60);
/// Slack's own host for response URLs.
const SLACK_HOOKS: &str = "https://hooks.slack.com/";

/// The response URLs of recent slash commands, by envelope id. Clones share one registry.
#[derive(Clone, Default)]
pub struct ResponseUrls {
    urls: Arc<Mutex<HashMap<String, (ResponseUrl, Instant)>>>,
    /// Where they are also kept for other processes (after a restart, another replica): the
    /// bus's expiring values, under `{prefix}slack:response-url:{message id}`. Set once.
    shared: Arc<OnceLock<(Arc<dyn Bus>, String)>>,
}

/// Where and how the replies to one slash command are posted.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseUrl {
    /// The command's `response_url` (a capability: never logged).
    pub url: String,
    /// Who sees the replies.
    pub visibility: Visibility,
}

impl std::fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseUrl")
            .field("visibility", &self.visibility)
            .finish_non_exhaustive()
    }
}

impl ResponseUrls {
    /// An empty registry, in this process's memory only.
    pub fn new() -> Self {
        ResponseUrls::default()
    }

    /// From now on also keeps each URL on the bus (Redis) for its 30 minutes, so that the reply
    /// to a command finds it after a restart or from another replica; every clone of this
    /// registry shares it. `prefix` is the instance's key prefix (`names::instance_prefix`).
    /// Only the first call counts.
    pub fn share_via(&self, bus: Arc<dyn Bus>, prefix: &str) {
        let _ = self
            .shared
            .set((bus, format!("{prefix}slack:response-url:")));
    }

    /// [`ResponseUrls::remember`], and on the bus when the registry is shared. A bus that
    /// cannot be reached only loses the durability (logged): the in-memory entry stays.
    pub async fn remember_shared(&self, message_id: &str, url: &str, visibility: Visibility) {
        self.remember(message_id, url, visibility);
        if let Some((bus, prefix)) = self.shared.get() {
            let value = format!("{} {url}", visibility.response_type());
            let key = format!("{prefix}{message_id}");
            if let Err(error) = bus.put_expiring(&key, &value, RESPONSE_URL_TTL).await {
                tracing::warn!(%error, "Could not share a slash command's response URL; only this process can use it.");
            }
        }
    }

    /// [`ResponseUrls::get`], else the shared copy (another process remembered it).
    pub async fn lookup(&self, message_id: &str) -> Option<ResponseUrl> {
        if let Some(found) = self.get(message_id) {
            return Some(found);
        }
        let (bus, prefix) = self.shared.get()?;
        let value = match bus.get_value(&format!("{prefix}{message_id}")).await {
            Ok(value) => value?,
            Err(error) => {
                tracing::warn!(%error, "Could not read a shared response URL.");
                return None;
            }
        };
        let (kind, url) = value.split_once(' ')?;
        let visibility = match kind {
            "in_channel" => Visibility::InChannel,
            _ => Visibility::Ephemeral,
        };
        Some(ResponseUrl {
            url: url.to_owned(),
            visibility,
        })
    }

    /// Remembers `url` for the replies to `message_id`, dropping expired entries.
    pub fn remember(&self, message_id: &str, url: &str, visibility: Visibility) {
        let now = Instant::now();
        let mut urls = self.urls.lock().unwrap_or_else(PoisonError::into_inner);
        urls.retain(|_, (_, at)| now.duration_since(*at) < RESPONSE_URL_TTL);
        let target = ResponseUrl {
            url: url.to_owned(),
            visibility,
        };
        urls.insert(message_id.to_owned(), (target, now));
    }

    /// The response URL for replies to `message_id`, while Slack still accepts it.
    pub fn get(&self, message_id: &str) -> Option<ResponseUrl> {
        let urls = self.urls.lock().unwrap_or_else(PoisonError::into_inner);
        let (target, at) = urls.get(message_id)?;
        (at.elapsed() < RESPONSE_URL_TTL).then(|| target.clone())
    }
}

impl std::fmt::Debug for ResponseUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs themselves are capabilities: count them, never print them.
        let count = self
            .urls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("ResponseUrls")
            .field("count", &count)
            .finish()
    }
}

/// True when Alfred may post to `url`: Slack's hooks host, or the origin of `api_url`.
pub fn is_allowed_response_url(url: &str, api_url: &str) -> bool {
    if url.starts_with(SLACK_HOOKS) {
        return true;
    }
    match (origin(url), origin(api_url)) {
        (Some(url), Some(api)) => url.eq_ignore_ascii_case(api),
        _ => false,
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL.
fn origin(url: &str) -> Option<&str> {
    let after_scheme = url
        .strip_prefix("https://")
        .map(|rest| (rest, 8))
        .or_else(|| url.strip_prefix("http://").map(|rest| (rest, 7)));
    let (rest, scheme_len) = after_scheme?;
    let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if host_len == 0 || rest[..host_len].contains('@') {
        return None;
    }
    Some(&url[..scheme_len + host_len])
}
