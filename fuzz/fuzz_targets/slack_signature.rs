//! Slack's v0 request signature (`SlackVerifier::verify`): arbitrary headers are refused
//! without a panic, a fresh request signed with the signing secret is accepted, and a tampered
//! body, a changed timestamp, another secret's signature or a stale request never is.
#![no_main]

use alfred_adapters::slack::signature::{SignatureError, SlackVerifier, MAX_SKEW};
use hmac::{Hmac, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use sha2::Sha256;

#[derive(Debug, Arbitrary)]
struct Input {
    secret: String,
    body: Vec<u8>,
    /// Raw header values as an attacker may send them.
    timestamp_header: Vec<u8>,
    signature_header: Vec<u8>,
    now: i64,
    /// How far the signed timestamp is from `now`.
    skew: i64,
    tamper_at: usize,
    tamper_with: u8,
    extra: u8,
}

/// The reference: `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fuzz_target!(|input: Input| {
    let Ok(verifier) = SlackVerifier::new(&SecretString::from(input.secret.clone())) else {
        assert!(input.secret.is_empty(), "only an empty secret is refused");
        return;
    };
    let now = input.now;

    // Arbitrary headers: an answer, no panic; accepted only when they are the genuine ones.
    let verdict = verifier.verify(
        Some(&input.timestamp_header),
        Some(&input.signature_header),
        &input.body,
        now,
    );
    if verdict.is_ok() {
        let timestamp = String::from_utf8(input.timestamp_header.clone()).expect("UTF-8");
        assert_eq!(
            input.signature_header.to_ascii_lowercase(),
            sign(&input.secret, &timestamp, &input.body).into_bytes()
        );
    }
    assert_eq!(
        verifier.verify(None, Some(&input.signature_header), &input.body, now),
        Err(SignatureError::Missing)
    );

    // A genuine request at `now - skew`.
    let Some(sent) = now.checked_sub(input.skew) else {
        return;
    };
    let timestamp = sent.to_string();
    let signature = sign(&input.secret, &timestamp, &input.body);
    let verify = |timestamp: &str, signature: &str, body: &[u8]| {
        verifier.verify(
            Some(timestamp.as_bytes()),
            Some(signature.as_bytes()),
            body,
            now,
        )
    };
    let fresh = input.skew.unsigned_abs() <= MAX_SKEW.unsigned_abs();
    let genuine = verify(&timestamp, &signature, &input.body);
    if fresh {
        assert_eq!(genuine, Ok(()));
    } else {
        assert!(
            matches!(genuine, Err(SignatureError::Stale { .. })),
            "a stale request was not refused as one: {genuine:?}"
        );
        return;
    }

    // A tampered body is refused.
    let mut tampered = input.body.clone();
    if tampered.is_empty() {
        tampered.push(input.extra);
    } else {
        let at = input.tamper_at % tampered.len();
        tampered[at] ^= input.tamper_with.max(1);
    }
    assert_eq!(
        verify(&timestamp, &signature, &tampered),
        Err(SignatureError::Mismatch),
        "a tampered body was accepted"
    );

    // The same signature with another (fresh) timestamp is refused.
    let other = if sent < now || sent == i64::MIN {
        sent + 1
    } else {
        sent - 1
    };
    assert_eq!(
        verify(&other.to_string(), &signature, &input.body),
        Err(SignatureError::Mismatch),
        "a changed timestamp was accepted"
    );

    // Another secret's signature is refused.
    let forged = sign(&format!("{}x", input.secret), &timestamp, &input.body);
    assert_eq!(
        verify(&timestamp, &forged, &input.body),
        Err(SignatureError::Mismatch)
    );
});
