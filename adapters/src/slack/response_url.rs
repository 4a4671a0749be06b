//! Where the replies to a deferred slash command go.
//!
//! A slash command's `response_url` is a short-lived capability (Slack: valid 30 minutes, 5
//! posts). The edge remembers it by the command's envelope id (`{team_id}:{trigger_id}`); the
//! [`SlackClient`](super::SlackClient) looks it up by the reply's `reply_to` (the orchestrator
//! sets it to the inbound message id) and posts the reply there, ephemeral unless the command
//! asked for `public` (then `in_channel`).
//!
//! The registry lives in this process's memory, shared by the edge and every sender. It is
//! deliberately not durable: after a restart, or when another replica sends the reply, the
//! client falls back to `chat.postMessage` in the command's channel (visible to everyone there,
//! and refused as `not_in_channel` where the bot is not a member). Only URLs on
//! `hooks.slack.com`, or on the host of `SLACK_API_URL` (a local fake in tests), are kept, so a
//! signed request can never make Alfred post elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::commands::Visibility;

/// How long Slack accepts posts to a `response_url`.
pub const RESPONSE_URL_TTL: Duration = Duration::from_secs(30 * 60);
/// Slack's own host for response URLs.
const SLACK_HOOKS: &str = "https://hooks.slack.com/";

/// The response URLs of recent slash commands, by envelope id. Clones share one registry.
#[derive(Clone, Default)]
pub struct ResponseUrls {
    urls: Arc<Mutex<HashMap<String, (ResponseUrl, Instant)>>>,
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
    /// An empty registry.
    pub fn new() -> Self {
        ResponseUrls::default()
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
