//! Slack's v0 request signature.
//!
//! Slack signs every request it sends (events, slash commands, interactivity) with the app's
//! signing secret: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">`,
//! where `{timestamp}` is the `X-Slack-Request-Timestamp` header in Unix seconds. The tag is
//! compared in constant time (`hmac`'s `verify_slice`), and a timestamp more than
//! [`MAX_SKEW`] away from now is refused, so a captured request cannot be replayed later.
//!
//! "Now" is passed in by the caller (the edge holds a [`Clock`](alfred_actors::clock::Clock)),
//! so Slack's documented example, signed in 2018, can be verified in a test with a fixed clock.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header holding the signature (`v0=…`).
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The header holding the request's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// How far a request's timestamp may be from now, either way (Slack's recommendation).
pub const MAX_SKEW: i64 = 5 * 60;
/// The only signature version Slack uses today.
const VERSION: &[u8] = b"v0";
const PREFIX: &[u8] = b"v0=";

/// Why a request's signature was refused. Each message says what to fix, none leaks a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Slack-Signature or X-Slack-Request-Timestamp header")]
    Missing,
    #[error("malformed X-Slack-Signature or X-Slack-Request-Timestamp header")]
    Malformed,
    /// The request is older (or newer) than [`MAX_SKEW`]: possibly a replay.
    #[error("X-Slack-Request-Timestamp is {skew} s away from now (more than 5 minutes); refused as a possible replay")]
    Stale { skew: i64 },
    #[error("X-Slack-Signature does not match the body")]
    Mismatch,
}

/// The signing secret cannot key a verifier.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("SLACK_SIGNING_SECRET is empty")]
    Empty,
    #[error("SLACK_SIGNING_SECRET cannot key HMAC-SHA256")]
    InvalidKey,
}

/// Checks Slack requests against the signing secret. Its `Debug` never shows key material.
#[derive(Clone)]
pub struct SlackVerifier {
    keyed: Hmac<Sha256>,
}

impl SlackVerifier {
    /// Keys a verifier; an empty secret is refused, since anyone could then sign requests.
    pub fn new(signing_secret: &SecretString) -> Result<Self, SigningKeyError> {
        let key = signing_secret.expose_secret().as_bytes();
        if key.is_empty() {
            return Err(SigningKeyError::Empty);
        }
        let keyed = Hmac::<Sha256>::new_from_slice(key).map_err(|_| SigningKeyError::InvalidKey)?;
        Ok(SlackVerifier { keyed })
    }

    /// Verifies one request from its raw header values and raw body, at Unix time `now`.
    ///
    /// The freshness check runs before the HMAC: a stale request is refused as a replay even
    /// when its signature is right (that is the point of the check).
    pub fn verify(
        &self,
        timestamp: Option<&[u8]>,
        signature: Option<&[u8]>,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(SignatureError::Missing);
        };
        let seconds: i64 = std::str::from_utf8(timestamp)
            .ok()
            .and_then(|raw| raw.trim().parse().ok())
            .ok_or(SignatureError::Malformed)?;
        let skew = now.saturating_sub(seconds);
        if skew.unsigned_abs() > MAX_SKEW.unsigned_abs() {
            return Err(SignatureError::Stale { skew });
        }
        let tag = parse_signature(signature).ok_or(SignatureError::Malformed)?;
        let mut mac = self.keyed.clone();
        mac.update(VERSION);
        mac.update(b":");
        mac.update(timestamp);
        mac.update(b":");
        mac.update(body);
        mac.verify_slice(&tag).map_err(|_| SignatureError::Mismatch)
    }
}

impl std::fmt::Debug for SlackVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlackVerifier { key: [REDACTED] }")
    }
}

/// Decodes `v0=<64 hex digits>` into the 32-byte tag.
fn parse_signature(value: &[u8]) -> Option<[u8; 32]> {
    let hex_digits = value.strip_prefix(PREFIX)?;
    let mut tag = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut tag).ok()?;
    Some(tag)
}
