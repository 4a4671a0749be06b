//! Alfred-Biz on Slack Socket Mode end to end, on real Redis and Postgres and a fake Slack that
//! speaks Socket Mode's wire format (`apps.connections.open`, WebSockets, envelopes and
//! acknowledgements): an `app_mention` envelope is acknowledged once stored and answered once
//! through the outbox and `chat.postMessage`; the same envelope delivered again after a
//! reconnect is acknowledged again and not answered twice; on `refresh_requested` the
//! replacement connection is opened before the old one is closed, and nothing sent meanwhile
//! is lost; `/alfred ping` is answered in the acknowledgement.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::slack::{
    app_mention, event_id, slash_command_envelope, FakeSlack, SlackRequest, SlashCommand,
};
use alfred_testkit::slack_socket::{events_api_envelope, SocketAck, SOCKET_APP_TOKEN};
use serde_json::json;

use crate::helpers::{eventually, TestApp, DEADLINE};

const BOT_TOKEN: &str = "xoxb-test-bot-token";
const TEAM: &str = "T0TEAM001";
const BOT: &str = "U0ALFRED1";
const ANNA: &str = "U0ANNA001";
const CHANNEL: &str = "C0GENERAL";

/// A Biz Alfred on Socket Mode alone (no signing secret: no public URL), Slack at `slack`.
async fn socket_app(slack: &FakeSlack) -> TestApp {
    let blank = String::new;
    TestApp::spawn_with(
        &[
            ("INSTANCE", "biz".into()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.into()),
            ("SLACK_APP_TOKEN", SOCKET_APP_TOKEN.into()),
            ("SLACK_API_URL", slack.api_url()),
            ("META_TOKEN", blank()),
            ("PHONE_ID", blank()),
            ("VERIFY_TOKEN", blank()),
            ("APP_SECRET", blank()),
            ("GRAPH_API_URL", blank()),
            ("GRAPH_API_VERSION", blank()),
        ],
        Vec::new(),
    )
    .await
}

/// The two connections Alfred keeps, once both are open.
async fn both_sockets(slack: &FakeSlack) -> Vec<usize> {
    let open = slack.socket().wait_for_open_sockets(2, DEADLINE).await;
    assert_eq!(open.len(), 2, "Alfred keeps two Socket Mode connections");
    open
}

/// Waits for the acknowledgements of `envelope_id` to number `n`.
async fn acked(slack: &FakeSlack, envelope_id: &str, n: usize) -> Vec<SocketAck> {
    eventually(&format!("{n} ack(s) of {envelope_id}"), || async {
        let acks = slack.socket().acks_of(envelope_id);
        (acks.len() >= n).then_some(acks)
    })
    .await
}

/// The `chat.postMessage` calls so far.
fn posted(slack: &FakeSlack) -> Vec<SlackRequest> {
    slack
        .requests()
        .into_iter()
        .filter(SlackRequest::is_post_message)
        .collect()
}

async fn processed(app: &TestApp, result: &str) -> u64 {
    app.metric(&format!(
        "alfred_messages_processed_total{{result=\"{result}\"}}"
    ))
    .await
}

#[actix_rt::test]
async fn an_app_mention_envelope_is_acknowledged_and_answered_once_even_when_redelivered_after_a_reconnect(
) {
    let slack = FakeSlack::start().await;
    let app = socket_app(&slack).await;
    let sockets = both_sockets(&slack).await;
    assert!(
        slack
            .socket()
            .connection_opens()
            .iter()
            .all(|token| token.as_deref() == Some(SOCKET_APP_TOKEN)),
        "apps.connections.open is called with the app token"
    );
    let body = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, "ping");

    slack
        .socket()
        .send_envelope(sockets[0], &events_api_envelope("env-1", &body, 0))
        .await;

    let first = acked(&slack, "env-1", 1).await;
    assert_eq!(first[0].connection, sockets[0]);
    assert_eq!(first[0].payload, None);
    let replies = eventually("the pong", || async {
        let posted = posted(&slack);
        (!posted.is_empty()).then_some(posted)
    })
    .await;
    assert_eq!(replies[0].channel(), Some(CHANNEL));
    assert_eq!(replies[0].text(), Some("pong"));
    assert_eq!(replies[0].bearer.as_deref(), Some(BOT_TOKEN));

    // The connection drops; Alfred opens a new one, and Slack delivers the envelope again
    // there (as it does when it is not sure of the acknowledgement).
    slack.socket().close_socket(sockets[0]).await;
    let reopened = eventually("a third connection", || async {
        let open = slack.socket().open_sockets();
        (slack.socket().sockets_accepted() >= 3 && open.len() == 2).then_some(open)
    })
    .await;
    let new = *reopened.iter().find(|id| !sockets.contains(id)).unwrap();
    slack
        .socket()
        .send_envelope(new, &events_api_envelope("env-1", &body, 1))
        .await;

    let acks = acked(&slack, "env-1", 2).await;
    assert_eq!(acks[1].connection, new);
    eventually("the redelivery to be recognised as a duplicate", || async {
        (processed(&app, "duplicate").await >= 1).then_some(())
    })
    .await;
    app.quiescent().await;
    assert_eq!(
        posted(&slack).len(),
        1,
        "the redelivered envelope must not be answered twice: {:?}",
        slack.requests()
    );
    assert!(app.metric("alfred_slack_socket_acks_total").await >= 2);
    assert!(
        app.metric("alfred_slack_socket_reconnects_total{reason=\"dropped\"}")
            .await
            >= 1
    );
    // No signing secret: the Events API over HTTP is off.
    let http = app
        .http
        .post(format!("{}/slack/events", app.base))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(http.status(), 404);
}

#[actix_rt::test]
async fn a_refresh_requested_disconnect_opens_the_new_connection_first_and_loses_no_event() {
    let slack = FakeSlack::start().await;
    let app = socket_app(&slack).await;
    let sockets = both_sockets(&slack).await;
    let (old, other) = (sockets[0], sockets[1]);
    let opens_before = slack.socket().connection_opens().len();

    // Slack asks for a new connection, and delivers one more event on the old one before it
    // closes it, and one on the other connection.
    slack.socket().hold_connection_opens();
    slack
        .socket()
        .send_disconnect(old, "refresh_requested")
        .await;
    let on_old = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, "ping");
    let on_other = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, "ping");
    slack
        .socket()
        .send_envelope(old, &events_api_envelope("env-old", &on_old, 0))
        .await;
    slack
        .socket()
        .send_envelope(other, &events_api_envelope("env-other", &on_other, 0))
        .await;

    // While the replacement is being opened, the old connection is still read and answered.
    eventually("the replacement to be asked for", || async {
        (slack.socket().connection_opens().len() > opens_before).then_some(())
    })
    .await;
    assert_eq!(acked(&slack, "env-old", 1).await[0].connection, old);
    assert_eq!(acked(&slack, "env-other", 1).await[0].connection, other);
    assert!(
        slack.socket().open_sockets().contains(&old),
        "the old connection must stay open until its replacement is"
    );

    slack.socket().release_connection_opens();
    let open = eventually("the replacement open and the old one closed", || async {
        let open = slack.socket().open_sockets();
        (open.len() == 2 && !open.contains(&old)).then_some(open)
    })
    .await;
    assert!(
        slack.socket().closed_by_alfred(old),
        "Alfred closes the old connection itself"
    );
    let new = *open.iter().find(|id| **id != other).unwrap();
    let on_new = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, "ping");
    slack
        .socket()
        .send_envelope(new, &events_api_envelope("env-new", &on_new, 0))
        .await;
    acked(&slack, "env-new", 1).await;

    let replies = eventually("three pongs", || async {
        let posted = posted(&slack);
        (posted.len() >= 3).then_some(posted)
    })
    .await;
    app.quiescent().await;
    assert_eq!(posted(&slack).len(), 3, "{:?}", slack.requests());
    assert!(replies.iter().all(|reply| reply.text() == Some("pong")));
    assert!(
        app.metric("alfred_slack_socket_reconnects_total{reason=\"refresh_requested\"}")
            .await
            >= 1
    );
    assert_eq!(app.metric("alfred_slack_socket_connections").await, 2);
    for slot in ["slack-socket-0", "slack-socket-1"] {
        assert!(
            app.actor(slot).await.is_some(),
            "{slot} runs under the supervision tree"
        );
    }
}

#[actix_rt::test]
async fn alfred_ping_over_socket_mode_is_answered_in_the_acknowledgement() {
    let slack = FakeSlack::start().await;
    let app = socket_app(&slack).await;
    let sockets = both_sockets(&slack).await;
    let before = app.backends.ingest_len().await;
    let command = SlashCommand::alfred(TEAM, CHANNEL, "ping", &slack.response_url());

    slack
        .socket()
        .send_envelope(sockets[1], &slash_command_envelope("env-cmd", &command))
        .await;

    let acks = acked(&slack, "env-cmd", 1).await;
    assert_eq!(
        acks[0].payload,
        Some(json!({ "response_type": "ephemeral", "text": "pong" }))
    );
    assert_eq!(app.backends.ingest_len().await, before);
    assert!(slack.requests().is_empty());
}

#[actix_rt::test]
async fn an_envelope_that_cannot_be_understood_is_dead_lettered_like_an_http_one_and_acknowledged()
{
    let slack = FakeSlack::start().await;
    let app = socket_app(&slack).await;
    let sockets = both_sockets(&slack).await;
    // An event callback without its workspace: the Events API edge keeps such a body too.
    let unreadable = json!({
        "type": "event_callback",
        "token": "secret-verification-token",
        "event_id": "Ev0BROKEN",
        "event": { "type": "app_mention", "text": "<@U0ALFRED1> ping" },
    })
    .to_string();

    slack
        .socket()
        .send_envelope(sockets[0], &events_api_envelope("env-bad", &unreadable, 0))
        .await;

    acked(&slack, "env-bad", 1).await;
    let dead = app.backends.stream_entries("alfred-ingest:dead").await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let entry = format!("{:?}", dead[0]);
    assert!(
        entry.contains("team_id"),
        "the reason names what is missing: {entry}"
    );
    assert!(entry.contains("Ev0BROKEN"), "the body is kept: {entry}");
    assert!(!entry.contains("secret-verification-token"), "{entry}");
    assert!(slack.requests().is_empty());
}

#[actix_rt::test]
async fn a_refused_app_token_is_tried_again_with_back_off_and_nothing_is_opened() {
    let slack = FakeSlack::start().await;
    let blank = String::new;
    let app = TestApp::spawn_with(
        &[
            ("INSTANCE", "biz".into()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.into()),
            ("SLACK_APP_TOKEN", "xapp-1-not-the-apps-token".into()),
            ("SLACK_API_URL", slack.api_url()),
            ("META_TOKEN", blank()),
            ("PHONE_ID", blank()),
            ("VERIFY_TOKEN", blank()),
            ("APP_SECRET", blank()),
            ("GRAPH_API_URL", blank()),
            ("GRAPH_API_VERSION", blank()),
        ],
        Vec::new(),
    )
    .await;

    // Two connections, each tried again after its back-off.
    let opens = eventually("apps.connections.open to be tried again", || async {
        let opens = slack.socket().connection_opens();
        (opens.len() >= 2 * 2).then_some(opens)
    })
    .await;
    assert!(opens
        .iter()
        .all(|token| token.as_deref() == Some("xapp-1-not-the-apps-token")));
    assert_eq!(slack.socket().sockets_accepted(), 0);
    assert!(
        app.metric("alfred_slack_socket_reconnects_total{reason=\"failed\"}")
            .await
            >= 2
    );
}
