//! The Graph API client against the fake Graph API: request shape and error classification.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alfred_actors::channel::{ChannelClient, SendError};
use alfred_actors::messages::{OutboundBody, OutboundEnvelope, Platform};
use alfred_adapters::whatsapp::{GraphClient, GraphSettings};
use alfred_testkit::graph::FakeGraph;
use serde_json::json;

const PHONE_ID: &str = "106540352242922";
const TOKEN: &str = "EAAG-secret-test-token-0123456789";
const VERSION: &str = "v21.0";
const ANNA: &str = "491701111111";

fn client(base_url: &str, timeout: Duration) -> GraphClient {
    GraphClient::new(GraphSettings {
        base_url: base_url.to_owned(),
        api_version: VERSION.into(),
        phone_number_id: PHONE_ID.into(),
        token: TOKEN.into(),
        timeout,
    })
    .unwrap()
}

fn reply(text: &str, reply_to: Option<&str>) -> OutboundEnvelope {
    OutboundEnvelope {
        outbox_id: 1,
        platform: Platform::WhatsApp,
        account: PHONE_ID.into(),
        to: ANNA.into(),
        to_group: false,
        thread: None,
        reply_to: reply_to.map(str::to_owned),
        body: OutboundBody::Text { text: text.into() },
        traceparent: None,
    }
}

async fn send_to_fake(graph: &FakeGraph) -> Result<alfred_actors::channel::SendReceipt, SendError> {
    client(&graph.url(), Duration::from_secs(10))
        .send(&reply("Added bananas.", Some("wamid.IN1")))
        .await
}

#[actix_web::test]
async fn a_reply_is_posted_to_the_phone_numbers_messages_endpoint_with_the_bearer_token() {
    let graph = FakeGraph::start().await;

    let receipt = send_to_fake(&graph).await.unwrap();

    let requests = graph.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, format!("/{VERSION}/{PHONE_ID}/messages"));
    assert_eq!(request.bearer.as_deref(), Some(TOKEN));
    assert_eq!(
        request.body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": ANNA,
            "type": "text",
            "text": {"preview_url": false, "body": "Added bananas."},
            "context": {"message_id": "wamid.IN1"},
            "biz_opaque_callback_data": "alfred-outbox:1"
        })
    );
    assert_eq!(receipt.provider_id, request.wamid);
    assert!(receipt.provider_id.unwrap().starts_with("wamid."));
}

#[actix_web::test]
async fn a_reply_that_quotes_nothing_has_no_context() {
    let graph = FakeGraph::start().await;
    let client = client(&format!("{}/", graph.url()), Duration::from_secs(10));

    client.send(&reply("Good morning!", None)).await.unwrap();

    let requests = graph.requests();
    assert!(
        requests[0].body.get("context").is_none(),
        "{}",
        requests[0].body
    );
    assert_eq!(requests[0].text(), Some("Good morning!"));
}

#[actix_web::test]
async fn a_server_error_is_retryable() {
    let graph = FakeGraph::start().await;
    graph.fail_next(
        1,
        500,
        FakeGraph::error_body(131000, "Something went wrong"),
        None,
    );

    let error = send_to_fake(&graph).await.unwrap_err();

    assert!(
        matches!(
            error,
            SendError::Retryable {
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    send_to_fake(&graph).await.unwrap();
    assert_eq!(graph.delivered().len(), 1);
}

#[actix_web::test]
async fn too_many_requests_is_retryable_after_the_given_delay() {
    let graph = FakeGraph::start().await;
    graph.fail_next(
        1,
        429,
        FakeGraph::error_body(130429, "Rate limit hit"),
        Some(7),
    );

    let error = send_to_fake(&graph).await.unwrap_err();

    let SendError::Retryable {
        retry_after,
        reason,
    } = error
    else {
        panic!("{error:?}")
    };
    assert_eq!(retry_after, Some(Duration::from_secs(7)));
    assert!(reason.contains("130429"), "{reason}");
}

#[actix_web::test]
async fn throttling_and_transient_meta_codes_on_a_400_are_retryable() {
    let graph = FakeGraph::start().await;
    for code in [4, 80007, 130429, 131048, 131056, 133016, 1, 2, 131000] {
        graph.fail_next(1, 400, FakeGraph::error_body(code, "try later"), None);
        let error = send_to_fake(&graph).await.unwrap_err();
        assert!(
            matches!(error, SendError::Retryable { .. }),
            "code {code}: {error:?}"
        );
    }
}

#[actix_web::test]
async fn an_undeliverable_message_is_a_permanent_failure_with_the_reason() {
    let graph = FakeGraph::start().await;
    graph.fail_next(
        1,
        400,
        FakeGraph::error_body(131026, "Message Undeliverable."),
        None,
    );

    let error = send_to_fake(&graph).await.unwrap_err();

    let SendError::Permanent { reason } = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        reason,
        "graph error 131026: (#131026) Message Undeliverable."
    );
}

#[actix_web::test]
async fn permanent_meta_codes_are_not_retried() {
    let graph = FakeGraph::start().await;
    for (status, code) in [
        (400, 131047),
        (400, 131051),
        (400, 100),
        (401, 190),
        (403, 10),
        (403, 200),
    ] {
        graph.fail_next(1, status, FakeGraph::error_body(code, "no"), None);
        let error = send_to_fake(&graph).await.unwrap_err();
        assert!(
            matches!(error, SendError::Permanent { .. }),
            "code {code}: {error:?}"
        );
    }
}

#[actix_web::test]
async fn an_error_reason_never_contains_the_token() {
    let graph = FakeGraph::start().await;
    let echoed = format!("Invalid OAuth access token {TOKEN}");
    graph.fail_next(1, 401, FakeGraph::error_body(190, &echoed), None);

    let error = send_to_fake(&graph).await.unwrap_err();

    let SendError::Permanent { reason } = &error else {
        panic!("{error:?}")
    };
    assert!(reason.starts_with("graph error 190:"), "{reason}");
    assert!(!reason.contains(TOKEN), "{reason}");
    assert!(!format!("{error:?}").contains(TOKEN));
}

#[actix_web::test]
async fn an_unreachable_graph_api_is_retryable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = client(&format!("http://127.0.0.1:{port}"), Duration::from_secs(10));

    let error = client.send(&reply("hi", None)).await.unwrap_err();

    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
}

#[actix_web::test]
async fn a_graph_api_that_never_answers_is_retryable_after_the_timeout() {
    // Accepts connections (into the backlog) but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let client = client(&url, Duration::from_millis(200));

    let error = client.send(&reply("hi", None)).await.unwrap_err();

    let SendError::Retryable { reason, .. } = error else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("timed out") || reason.contains("Timeout"),
        "{reason}"
    );
}

#[actix_web::test]
async fn the_debug_of_the_client_does_not_contain_the_token() {
    let graph = FakeGraph::start().await;
    let client = client(&graph.url(), Duration::from_secs(10));

    let debug = format!("{client:?}");

    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
}

#[test]
fn a_token_that_cannot_be_a_header_is_refused_without_echoing_it() {
    let error = GraphClient::new(GraphSettings {
        base_url: "http://127.0.0.1:1".into(),
        api_version: VERSION.into(),
        phone_number_id: PHONE_ID.into(),
        token: "bad\ntoken-value".into(),
        timeout: Duration::from_secs(1),
    })
    .unwrap_err();
    assert!(!error.to_string().contains("token-value"));
}

#[actix_web::test]
async fn an_https_graph_url_is_spoken_to_over_tls() {
    // A plain TCP listener stands in for graph.facebook.com: the first byte a TLS client sends
    // is the handshake record type 0x16 (a ClientHello); plain HTTP would start with "P".
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let first_byte = std::thread::spawn(move || {
        use std::io::Read;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut socket = loop {
            match listener.accept() {
                Ok((socket, _)) => break socket,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return None,
            }
        };
        socket.set_nonblocking(false).unwrap();
        let mut byte = [0u8; 1];
        socket.read_exact(&mut byte).ok()?;
        Some(byte[0])
    });

    let result = client(&format!("https://127.0.0.1:{port}"), Duration::from_secs(2))
        .send(&reply("Added bananas.", None))
        .await;

    assert_eq!(
        first_byte.join().unwrap(),
        Some(0x16),
        "the client opened a TLS handshake"
    );
    assert!(
        matches!(result, Err(SendError::Retryable { .. })),
        "{result:?}"
    );
}

#[actix_web::test]
async fn a_template_is_sent_as_a_template_message_with_its_body_parameters() {
    let graph = FakeGraph::start().await;
    let mut message = reply("unused", None);
    message.body = OutboundBody::Template {
        name: "morning_briefing".into(),
        language: "en_US".into(),
        parameters: vec!["Thursday".into(), "2 chores, 3 items".into()],
    };

    client(&graph.url(), Duration::from_secs(10))
        .send(&message)
        .await
        .unwrap();

    let requests = graph.requests();
    assert_eq!(
        requests[0].body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": ANNA,
            "type": "template",
            "template": {
                "name": "morning_briefing",
                "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": "Thursday"},
                    {"type": "text", "text": "2 chores, 3 items"}
                ]}]
            },
            "biz_opaque_callback_data": "alfred-outbox:1"
        })
    );
}

#[actix_web::test]
async fn a_reply_to_a_group_is_addressed_to_the_group() {
    let graph = FakeGraph::start().await;
    let mut message = reply("Added milk.", Some("wamid.G1"));
    message.to = "120363025555555555@g.us".into();
    message.to_group = true;

    client(&graph.url(), Duration::from_secs(10))
        .send(&message)
        .await
        .unwrap();

    let body = &graph.requests()[0].body;
    assert_eq!(body["recipient_type"], "group");
    assert_eq!(body["to"], "120363025555555555@g.us");
}
