//! `X-Hub-Signature-256` (`SignatureVerifier`): any header value is parsed without a panic, a
//! body signed with the app secret is accepted, and a tampered body, a tag for another body or
//! another secret's tag is never accepted.
#![no_main]

use alfred_adapters::whatsapp::signature::SignatureVerifier;
use hmac::{Hmac, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use sha2::Sha256;

#[derive(Debug, Arbitrary)]
struct Input {
    secret: String,
    body: Vec<u8>,
    /// A header value as an attacker may send it.
    header: Vec<u8>,
    /// Which byte of the body to change, and how (never to itself).
    tamper_at: usize,
    tamper_with: u8,
    /// A byte appended instead, when the body is empty.
    extra: u8,
}

/// The reference: HMAC-SHA256 of `body` keyed with `secret`, computed here independently.
fn sign(secret: &str, body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fuzz_target!(|input: Input| {
    // Any header: no panic, and a parsed tag verifies only the body it was made for.
    let parsed = SignatureVerifier::parse_header(&input.header);
    let Ok(verifier) = SignatureVerifier::new(&SecretString::from(input.secret.clone())) else {
        assert!(input.secret.is_empty(), "only an empty secret is refused");
        return;
    };
    if let Some(tag) = parsed {
        assert_eq!(
            verifier.verify(&tag, &input.body),
            tag == sign(&input.secret, &input.body)
        );
    }

    // The genuine header round-trips and verifies (Meta writes lower-case hex; upper-case is
    // the same tag).
    let tag = sign(&input.secret, &input.body);
    for header in [
        format!("sha256={}", hex::encode(tag)),
        format!("sha256={}", hex::encode_upper(tag)),
    ] {
        assert_eq!(
            SignatureVerifier::parse_header(header.as_bytes()),
            Some(tag)
        );
    }
    assert!(verifier.verify(&tag, &input.body));

    // A tampered body is refused.
    let mut tampered = input.body.clone();
    if tampered.is_empty() {
        tampered.push(input.extra);
    } else {
        let at = input.tamper_at % tampered.len();
        tampered[at] ^= input.tamper_with.max(1);
    }
    assert!(
        !verifier.verify(&tag, &tampered),
        "a tampered body was accepted"
    );

    // Another secret's tag is refused.
    let other = format!("{}x", input.secret);
    assert!(!verifier.verify(&sign(&other, &input.body), &input.body));
});
