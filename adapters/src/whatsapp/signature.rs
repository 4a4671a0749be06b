//! `X-Hub-Signature-256`: Meta signs every webhook body with the app secret.
//!
//! The header is `sha256=` followed by the lower-case hex HMAC-SHA256 of the raw body. The tag
//! is decoded once into a fixed array and compared in constant time by `hmac`'s
//! `verify_slice`, so a forger learns nothing from response timing. The HMAC is keyed once at
//! start-up and cloned per request, which saves re-deriving the key pads on the hot path.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header Meta puts the signature in.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
const PREFIX: &[u8] = b"sha256=";

/// An HMAC-SHA256 tag, decoded from the header.
pub type Tag = [u8; 32];

/// Checks webhook bodies against the app secret. Its `Debug` never shows key material.
#[derive(Clone)]
pub struct SignatureVerifier {
    keyed: Hmac<Sha256>,
}

/// The app secret cannot key a verifier.
#[derive(Debug, thiserror::Error)]
pub enum SignatureKeyError {
    #[error("APP_SECRET is empty")]
    Empty,
    #[error("APP_SECRET cannot key HMAC-SHA256")]
    InvalidKey,
}

impl SignatureVerifier {
    /// Keys a verifier with the app secret; an empty secret is refused, since it would let
    /// anyone who knows that sign requests.
    pub fn new(app_secret: &SecretString) -> Result<Self, SignatureKeyError> {
        let key = app_secret.expose_secret().as_bytes();
        if key.is_empty() {
            return Err(SignatureKeyError::Empty);
        }
        let keyed =
            Hmac::<Sha256>::new_from_slice(key).map_err(|_| SignatureKeyError::InvalidKey)?;
        Ok(SignatureVerifier { keyed })
    }

    /// Decodes a header value (`sha256=<64 hex digits>`); `None` when it is malformed.
    pub fn parse_header(value: &[u8]) -> Option<Tag> {
        let hex_digits = value.strip_prefix(PREFIX)?;
        let mut tag = [0u8; 32];
        hex::decode_to_slice(hex_digits, &mut tag).ok()?;
        Some(tag)
    }

    /// True when `tag` is the HMAC of `body`, compared in constant time.
    pub fn verify(&self, tag: &Tag, body: &[u8]) -> bool {
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.verify_slice(tag).is_ok()
    }
}

impl std::fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureVerifier { key: [REDACTED] }")
    }
}
