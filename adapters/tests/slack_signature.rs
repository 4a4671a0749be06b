//! Slack's v0 signature: the documented example on a fixed clock, the same request refused as
//! a replay on the real clock, tampered and missing signatures refused with nothing stored.

mod slack_support;

use std::sync::Arc;

use actix_web::http::StatusCode;
use alfred_actors::clock::{ManualClock, SystemClock};
use alfred_adapters::slack::signature::{SignatureError, SlackVerifier, MAX_SKEW};
use alfred_adapters::slack::Workspaces;
use chrono::{TimeZone, Utc};
use serde_json::Value;

use slack_support::*;

#[test]
fn slacks_documented_example_verifies_at_its_own_time_and_is_stale_five_minutes_later() {
    let verifier = SlackVerifier::new(&DOC_SECRET.into()).unwrap();
    let check = |now| {
        verifier.verify(
            Some(DOC_TIMESTAMP.to_string().as_bytes()),
            Some(DOC_SIGNATURE.as_bytes()),
            DOC_BODY.as_bytes(),
            now,
        )
    };

    assert_eq!(check(DOC_TIMESTAMP), Ok(()));
    assert_eq!(check(DOC_TIMESTAMP + MAX_SKEW), Ok(()));
    assert_eq!(check(DOC_TIMESTAMP - MAX_SKEW), Ok(()));
    assert_eq!(
        check(DOC_TIMESTAMP + MAX_SKEW + 1),
        Err(SignatureError::Stale { skew: MAX_SKEW + 1 })
    );
    assert_eq!(
        check(DOC_TIMESTAMP - MAX_SKEW - 1),
        Err(SignatureError::Stale {
            skew: -MAX_SKEW - 1
        })
    );
}

#[test]
fn a_signature_over_another_body_timestamp_or_secret_does_not_verify() {
    let verifier = SlackVerifier::new(&DOC_SECRET.into()).unwrap();
    let timestamp = DOC_TIMESTAMP.to_string();
    let tampered_body = DOC_BODY.replace("text=&", "text=ping&");
    let other_secret = SlackVerifier::new(&"another-secret".into()).unwrap();
    let signature = Some(DOC_SIGNATURE.as_bytes());
    let at = DOC_TIMESTAMP;

    let body = verifier.verify(
        Some(timestamp.as_bytes()),
        signature,
        tampered_body.as_bytes(),
        at,
    );
    let shifted = (DOC_TIMESTAMP + 1).to_string();
    let time = verifier.verify(Some(shifted.as_bytes()), signature, DOC_BODY.as_bytes(), at);
    let secret = other_secret.verify(
        Some(timestamp.as_bytes()),
        signature,
        DOC_BODY.as_bytes(),
        at,
    );

    assert_eq!(body, Err(SignatureError::Mismatch));
    assert_eq!(time, Err(SignatureError::Mismatch));
    assert_eq!(secret, Err(SignatureError::Mismatch));
}

#[test]
fn missing_or_malformed_headers_are_refused_and_an_empty_secret_cannot_key_a_verifier() {
    let verifier = SlackVerifier::new(&DOC_SECRET.into()).unwrap();
    let timestamp = DOC_TIMESTAMP.to_string();
    let body = DOC_BODY.as_bytes();
    let at = DOC_TIMESTAMP;
    let sha256 = DOC_SIGNATURE.replace("v0=", "sha256=");

    assert_eq!(
        verifier.verify(None, Some(DOC_SIGNATURE.as_bytes()), body, at),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verifier.verify(Some(timestamp.as_bytes()), None, body, at),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verifier.verify(Some(b"yesterday"), Some(DOC_SIGNATURE.as_bytes()), body, at),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        verifier.verify(
            Some(timestamp.as_bytes()),
            Some(sha256.as_bytes()),
            body,
            at
        ),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        verifier.verify(Some(timestamp.as_bytes()), Some(b"v0=abc"), body, at),
        Err(SignatureError::Malformed)
    );
    assert!(SlackVerifier::new(&"".into()).is_err());
    assert!(!format!("{verifier:?}").contains(DOC_SECRET));
}

#[actix_web::test]
async fn slacks_documented_slash_command_verifies_over_http_with_a_fixed_clock() {
    let clock = ManualClock::new(Utc.timestamp_opt(DOC_TIMESTAMP, 0).unwrap());
    // The example comes from Slack's own documentation workspace.
    let workspaces = Workspaces::fixed(vec![DOC_TEAM.to_owned()]);
    let harness = harness_serving(DOC_SECRET, Arc::new(clock), workspaces);

    let (status, body) = send(&harness, Post::documented()).await;

    // The example's text is empty: the answer is the list of commands, named as registered.
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("/webhook-collect ping"),
        "{answer}"
    );
    assert!(harness.bus.entries(INGEST).is_empty());
}

#[actix_web::test]
async fn slacks_documented_slash_command_with_the_real_clock_is_refused_as_a_replay() {
    let harness = harness_with(DOC_SECRET, Arc::new(SystemClock));

    let (status, body) = send(&harness, Post::documented()).await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("replay"), "{body}");
    assert!(harness.bus.entries(INGEST).is_empty());
    assert!(harness.bus.entries(DEAD).is_empty());
}

#[actix_web::test]
async fn a_tampered_or_missing_signature_is_refused_and_nothing_is_stored() {
    let harness = harness();
    let body = mention("ping");
    let signed = Post::signed(&harness, "/slack/events", &body);
    let mut flipped = signed.signature.clone().unwrap();
    let last = if flipped.ends_with('0') { "1" } else { "0" };
    flipped.replace_range(flipped.len() - 1.., last);
    let tampered_body = body.replace("ping", "pong");

    let wrong_signature = Post {
        signature: Some(flipped),
        ..Post::signed(&harness, "/slack/events", &body)
    };
    let wrong_body = Post {
        signature: signed.signature.clone(),
        ..Post::signed(&harness, "/slack/events", &tampered_body)
    };
    let no_signature = Post {
        signature: None,
        ..Post::signed(&harness, "/slack/events", &body)
    };
    let no_timestamp = Post {
        timestamp: None,
        ..Post::signed(&harness, "/slack/events", &body)
    };

    for post in [wrong_signature, wrong_body, no_signature, no_timestamp] {
        let (status, _) = send(&harness, post).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(harness.bus.entries(INGEST).is_empty());
    assert!(harness.bus.entries(DEAD).is_empty());
}
