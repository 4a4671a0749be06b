//! The Slack client against the fake Slack Web API: `chat.postMessage` shape, response URLs,
//! error classification, `Retry-After`, and the token kept out of sight.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alfred_actors::channel::{ChannelClient, SendError};
use alfred_actors::messages::{OutboundBody, OutboundEnvelope, Platform};
use alfred_adapters::slack::{
    ChannelPacer, ResponseUrls, SlackClient, SlackClientSettings, Visibility,
};
use alfred_testkit::slack::FakeSlack;
use serde_json::json;

const TOKEN: &str = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";
const TEAM: &str = "T0TEAM001";
const CHANNEL: &str = "C0GENERAL";

fn client(api_url: &str, response_urls: ResponseUrls) -> SlackClient {
    let settings = SlackClientSettings {
        api_url: api_url.to_owned(),
        bot_token: TOKEN.into(),
        timeout: Duration::from_secs(10),
        // Pacing only spaces sends out; tests of the wire format need not wait.
        channel_pace: Duration::ZERO,
    };
    SlackClient::new(settings, response_urls).unwrap()
}

fn reply(text: &str, reply_to: &str) -> OutboundEnvelope {
    OutboundEnvelope {
        outbox_id: 1,
        platform: Platform::Slack,
        account: TEAM.into(),
        to: CHANNEL.into(),
        to_group: false,
        thread: None,
        reply_to: Some(reply_to.to_owned()),
        body: OutboundBody::Text { text: text.into() },
        traceparent: None,
    }
}

async fn send_with(
    slack: &FakeSlack,
    answer: Option<(u16, serde_json::Value, Option<u64>)>,
) -> Result<(), SendError> {
    if let Some((status, body, retry_after)) = answer {
        slack.fail_next(1, status, body, retry_after);
    }
    client(&slack.api_url(), ResponseUrls::new())
        .send(&reply("pong", "T0TEAM001:Ev01"))
        .await
        .map(|_| ())
}

#[actix_web::test]
async fn a_reply_is_posted_to_chat_post_message_with_the_bearer_token() {
    let slack = FakeSlack::start().await;

    let receipt = client(&slack.api_url(), ResponseUrls::new())
        .send(&reply("pong", "T0TEAM001:Ev01"))
        .await
        .unwrap();

    let requests = slack.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/api/chat.postMessage");
    assert_eq!(request.bearer.as_deref(), Some(TOKEN));
    assert_eq!(request.body, json!({ "channel": CHANNEL, "text": "pong" }));
    assert!(receipt.provider_id.is_some_and(|ts| ts.contains('.')));
}

#[actix_web::test]
async fn a_reply_to_a_deferred_slash_command_goes_to_its_response_url_ephemeral() {
    let slack = FakeSlack::start().await;
    let response_urls = ResponseUrls::new();
    let url = slack.response_url();
    response_urls.remember("T0TEAM001:398738663015.1", &url, Visibility::Ephemeral);

    client(&slack.api_url(), response_urls)
        .send(&reply("Your inbox is empty.", "T0TEAM001:398738663015.1"))
        .await
        .unwrap();

    let requests = slack.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert!(url.ends_with(&request.path), "{} vs {url}", request.path);
    assert_eq!(request.bearer, None, "a response URL needs no token");
    assert_eq!(
        request.body,
        json!({ "response_type": "ephemeral", "replace_original": false, "text": "Your inbox is empty." })
    );
}

#[actix_web::test]
async fn a_reply_in_a_thread_is_posted_with_its_thread_ts() {
    let slack = FakeSlack::start().await;
    let mut message = reply("pong", "T0TEAM001:Ev02");
    message.thread = Some("1700000100.000200".into());

    client(&slack.api_url(), ResponseUrls::new())
        .send(&message)
        .await
        .unwrap();

    assert_eq!(
        slack.requests()[0].body,
        json!({ "channel": CHANNEL, "text": "pong", "thread_ts": "1700000100.000200" })
    );
}

#[actix_web::test]
async fn a_reply_to_a_public_slash_command_is_posted_in_channel() {
    let slack = FakeSlack::start().await;
    let response_urls = ResponseUrls::new();
    response_urls.remember(
        "T0TEAM001:398738663015.2",
        &slack.response_url(),
        Visibility::InChannel,
    );

    client(&slack.api_url(), response_urls)
        .send(&reply(
            "2 deals close this week.",
            "T0TEAM001:398738663015.2",
        ))
        .await
        .unwrap();

    let requests = slack.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body["response_type"], "in_channel");
}

#[actix_web::test]
async fn slacks_ok_false_errors_are_classified_retryable_or_permanent() {
    let slack = FakeSlack::start().await;
    let retryable = ["ratelimited", "internal_error", "service_unavailable"];
    let permanent = [
        "channel_not_found",
        "not_in_channel",
        "invalid_auth",
        "is_archived",
        "msg_too_long",
    ];

    for error in retryable {
        let result = send_with(&slack, Some((200, FakeSlack::error_body(error), None))).await;
        assert!(
            matches!(&result, Err(SendError::Retryable { reason, .. }) if reason.contains(error)),
            "{error}: {result:?}"
        );
    }
    for error in permanent {
        let result = send_with(&slack, Some((200, FakeSlack::error_body(error), None))).await;
        assert!(
            matches!(&result, Err(SendError::Permanent { reason }) if reason.contains(error)),
            "{error}: {result:?}"
        );
    }
}

#[actix_web::test]
async fn http_429_is_retryable_after_slacks_retry_after() {
    let slack = FakeSlack::start().await;

    let result = send_with(
        &slack,
        Some((429, FakeSlack::error_body("ratelimited"), Some(7))),
    )
    .await;

    match result {
        Err(SendError::Retryable { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected a retryable error, got {other:?}"),
    }
}

#[actix_web::test]
async fn server_errors_and_an_unreachable_slack_are_retryable() {
    let slack = FakeSlack::start().await;

    let server_error = send_with(&slack, Some((503, json!({}), None))).await;
    // Port 9 (discard) on loopback: nothing listens.
    let unreachable = client("http://127.0.0.1:9/api", ResponseUrls::new())
        .send(&reply("pong", "T0TEAM001:Ev01"))
        .await;

    assert!(
        matches!(server_error, Err(SendError::Retryable { .. })),
        "{server_error:?}"
    );
    assert!(
        matches!(unreachable, Err(SendError::Retryable { .. })),
        "{unreachable:?}"
    );
}

#[actix_web::test]
async fn the_token_never_appears_in_debug_or_error_reasons() {
    let slack = FakeSlack::start().await;
    let echoed = json!({ "ok": false, "error": format!("invalid_auth for {TOKEN}") });

    let result = send_with(&slack, Some((200, echoed, None))).await;
    let client = client(&slack.api_url(), ResponseUrls::new());

    assert!(!format!("{client:?}").contains(TOKEN));
    let reason = format!("{:?}", result.unwrap_err());
    assert!(!reason.contains(TOKEN), "{reason}");
    assert!(reason.contains("[REDACTED]"), "{reason}");
}

const PACE: Duration = Duration::from_secs(1);

#[test]
fn sends_to_one_channel_asked_for_together_go_a_pace_apart() {
    let mut pacer = ChannelPacer::new(PACE);
    let now = tokio::time::Instant::now();

    let slots: Vec<_> = (0..3).map(|_| pacer.take_slot(CHANNEL, now)).collect();

    assert_eq!(slots, vec![now, now + PACE, now + 2 * PACE]);
}

#[test]
fn a_send_after_the_pace_has_passed_goes_at_once() {
    let mut pacer = ChannelPacer::new(PACE);
    let start = tokio::time::Instant::now();
    pacer.take_slot(CHANNEL, start);

    let early = start + PACE / 2;
    assert_eq!(pacer.take_slot(CHANNEL, early), start + PACE);
    let later = start + 5 * PACE;
    assert_eq!(pacer.take_slot(CHANNEL, later), later);
}

#[test]
fn one_busy_channel_does_not_hold_back_another() {
    let mut pacer = ChannelPacer::new(PACE);
    let now = tokio::time::Instant::now();
    pacer.take_slot(CHANNEL, now);
    pacer.take_slot(CHANNEL, now);

    assert_eq!(pacer.take_slot("C0RANDOM", now), now);
}

#[test]
fn a_zero_pace_never_delays() {
    let mut pacer = ChannelPacer::new(Duration::ZERO);
    let now = tokio::time::Instant::now();

    assert_eq!(pacer.take_slot(CHANNEL, now), now);
    assert_eq!(pacer.take_slot(CHANNEL, now), now);
}

#[actix_web::test]
async fn auth_test_names_the_bot_and_a_refused_token_is_a_permanent_error_without_the_token() {
    let slack = FakeSlack::start().await;
    let client = client(&slack.api_url(), ResponseUrls::new());

    let identity = client.auth_test().await.unwrap();
    assert_eq!(identity.user_id, "U0ALFRED1");
    assert_eq!(identity.team_id, "T0TEAM001");
    assert_eq!(slack.auth_tests(), [Some(TOKEN.to_owned())]);
    assert!(slack.requests().is_empty(), "auth.test posts no message");

    slack.refuse_token();
    let refused = client.auth_test().await.unwrap_err();
    assert!(
        matches!(&refused, SendError::Permanent { reason } if reason.contains("invalid_auth")),
        "{refused:?}"
    );
    assert!(!format!("{refused:?}").contains(TOKEN));
}
