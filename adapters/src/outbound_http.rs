//! The one HTTP exchange both platform clients make: check the host against the outbound
//! allowlist, POST a JSON body with a time-out, and read status, `Retry-After` and a bounded
//! body. Classifying the answer is each platform's own business. Also how every outbound
//! client authenticates ([`bearer`]) and the HTTP client they build ([`client`]).

use std::time::Duration;

use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use alfred_actors::channel::SendError;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::allowlist::Allowlist;

/// `Authorization: Bearer {token}`, marked sensitive so that it is never logged; `None` when
/// the token holds characters a header cannot carry.
pub(crate) fn bearer(token: &SecretString) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// An HTTP client with a time-out that never follows redirects: an answer that redirects is
/// not from the service it was sent to, and the token must not travel on.
pub(crate) fn client(timeout: Duration) -> awc::Client {
    awc::Client::builder()
        .timeout(timeout)
        .disable_redirects()
        .finish()
}

/// What came back from one request.
pub(crate) struct Exchange {
    pub(crate) status: StatusCode,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: bytes::Bytes,
}

/// How one client posts: its name for error texts, its limits, and its secret to scrub.
pub(crate) struct Poster<'a> {
    /// `graph` or `slack`, in "graph request failed: …".
    pub(crate) service: &'static str,
    pub(crate) allowlist: Option<&'a Allowlist>,
    pub(crate) timeout: Duration,
    pub(crate) response_limit: usize,
    /// Removed from any error text, so the token never reaches a log or the outbox table.
    pub(crate) token: &'a SecretString,
}

impl Poster<'_> {
    /// Sends `request` (already addressed to `url`, headers set) with `body` as JSON.
    /// A refused host is permanent; connection errors and the time-out are retryable.
    pub(crate) async fn post_json<T: Serialize>(
        &self,
        url: &str,
        request: awc::ClientRequest,
        body: &T,
    ) -> Result<Exchange, SendError> {
        if let Some(allowlist) = self.allowlist {
            // Permanent: retrying a refused host would only be refused again.
            allowlist
                .check(url)
                .map_err(|denied| SendError::Permanent {
                    reason: denied.to_string(),
                })?;
        }
        let send = async {
            let mut response = request.send_json(body).await.map_err(|error| {
                let reason = format!("{} request failed: {error}", self.service);
                retryable(self.scrub(reason), None)
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            // A body that cannot be read is treated as empty: the status decides.
            let body = response
                .body()
                .limit(self.response_limit)
                .await
                .unwrap_or_default();
            Ok(Exchange {
                status,
                retry_after,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, send).await {
            Ok(result) => result,
            Err(_) => Err(retryable(
                format!(
                    "{} request timed out after {:?}",
                    self.service, self.timeout
                ),
                None,
            )),
        }
    }

    /// `text` with the token replaced by `[REDACTED]`.
    pub(crate) fn scrub(&self, text: String) -> String {
        scrub(self.token, text)
    }
}

/// `text` with `token` replaced by `[REDACTED]`.
pub(crate) fn scrub(token: &SecretString, text: String) -> String {
    let token = token.expose_secret();
    if !token.is_empty() && text.contains(token) {
        text.replace(token, "[REDACTED]")
    } else {
        text
    }
}

/// A failure worth trying again.
pub(crate) fn retryable(reason: String, retry_after: Option<Duration>) -> SendError {
    SendError::Retryable {
        reason,
        retry_after,
    }
}
