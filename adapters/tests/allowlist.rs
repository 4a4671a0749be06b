//! The outbound allowlist in a real client: a refused host is never contacted.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alfred_actors::channel::{ChannelClient, SendError};
use alfred_actors::messages::{OutboundBody, OutboundEnvelope, Platform};
use alfred_adapters::allowlist::Allowlist;
use alfred_adapters::whatsapp::{GraphClient, GraphSettings};
use alfred_testkit::graph::FakeGraph;

fn client(base_url: &str) -> GraphClient {
    GraphClient::new(GraphSettings {
        base_url: base_url.to_owned(),
        api_version: "v21.0".into(),
        phone_number_id: "1065".into(),
        token: "EAAG-test-token".into(),
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

fn reply() -> OutboundEnvelope {
    OutboundEnvelope {
        outbox_id: 1,
        platform: Platform::WhatsApp,
        account: "1065".into(),
        to: "491701111111".into(),
        to_group: false,
        thread: None,
        reply_to: None,
        body: OutboundBody::Text {
            text: "Added bananas.".into(),
        },
        traceparent: None,
    }
}

#[actix_web::test]
async fn a_reply_to_a_host_outside_the_allowlist_fails_permanently_naming_it_and_is_never_sent() {
    let graph = FakeGraph::start().await;
    let client = client(&graph.url()).with_allowlist(Allowlist::new(["graph.facebook.com"]));

    let error = client.send(&reply()).await.unwrap_err();

    let SendError::Permanent { reason } = error else {
        panic!("expected a permanent error, got {error:?}");
    };
    assert!(reason.contains("127.0.0.1"), "{reason}");
    assert!(graph.requests().is_empty());
}

#[actix_web::test]
async fn a_reply_to_an_allowed_host_is_sent() {
    let graph = FakeGraph::start().await;
    let client = client(&graph.url()).with_allowlist(Allowlist::new(["127.0.0.1"]));

    client.send(&reply()).await.unwrap();

    assert_eq!(graph.requests().len(), 1);
}
