//! Socket Mode against the fake Slack's Socket Mode server, with the edge on a recording bus
//! that can be told to fail: an envelope is acknowledged only once it is stored, so one whose
//! store failed is delivered again by Slack and stored then.

mod slack_support;

use std::time::Duration;

use alfred_actors::supervision::{Backoff, Intensity, Strategy, Supervisor};
use alfred_adapters::slack::{SocketMode, SocketSettings};
use alfred_testkit::fake_server::poll_until;
use alfred_testkit::slack::{app_mention, event_id, FakeSlack};
use alfred_testkit::slack_socket::{events_api_envelope, SOCKET_APP_TOKEN};

use slack_support::*;

const DEADLINE: Duration = Duration::from_secs(10);

#[actix_web::test]
async fn an_envelope_is_acknowledged_only_once_it_is_stored() {
    let slack = FakeSlack::start().await;
    let harness = harness();
    let root = Supervisor::new(
        "root",
        Strategy::OneForOne,
        Intensity {
            max_restarts: 3,
            period: Duration::from_secs(60),
        },
        Backoff::default(),
    );
    SocketMode::new(
        SocketSettings {
            api_url: slack.api_url(),
            app_token: SOCKET_APP_TOKEN.into(),
            timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
        },
        harness.edge.clone().into_inner(),
        &harness.metrics,
        None,
    )
    .start_under(&root);
    let sockets = slack.socket().wait_for_open_sockets(2, DEADLINE).await;
    assert_eq!(sockets.len(), 2);
    let lost = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, "ping");
    let next = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, "ping");

    // The bus refuses the first store; the second envelope on the same connection, handled
    // after it, shows when the first was dealt with.
    harness.bus.fail_next_publishes(1);
    slack
        .socket()
        .send_envelope(sockets[0], &events_api_envelope("env-lost", &lost, 0))
        .await;
    slack
        .socket()
        .send_envelope(sockets[0], &events_api_envelope("env-next", &next, 0))
        .await;
    let acks = poll_until(DEADLINE, || slack.socket().acks(), |acks| !acks.is_empty()).await;

    assert_eq!(
        acks.iter()
            .map(|ack| ack.envelope_id.as_str())
            .collect::<Vec<_>>(),
        ["env-next"],
        "an envelope that was not stored must not be acknowledged"
    );
    assert_eq!(harness.envelopes().len(), 1);

    // Slack delivers the unacknowledged envelope again; now it is stored and acknowledged.
    slack
        .socket()
        .send_envelope(sockets[1], &events_api_envelope("env-lost", &lost, 1))
        .await;
    let acks = poll_until(
        DEADLINE,
        || slack.socket().acks_of("env-lost"),
        |acks| !acks.is_empty(),
    )
    .await;
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].connection, sockets[1]);
    assert_eq!(harness.envelopes().len(), 2);
    assert_eq!(harness.metrics.slack_socket_acks.get(), 2);
    assert_eq!(
        harness
            .metrics
            .slack_socket_envelopes
            .with_label_values(&["events_api"])
            .get(),
        3
    );
}
