//! Outbound delivery: retries that end in one send, permanent errors that end in the
//! dead-letter stream.

use alfred_testkit::graph::FakeGraph;
use alfred_testkit::whatsapp;

use crate::helpers::*;

#[actix_rt::test]
async fn a_graph_api_500_then_200_delivers_the_reply_exactly_once() {
    let app = TestApp::spawn().await;
    app.backends.graph.fail_next(
        1,
        500,
        FakeGraph::error_body(2, "Service temporarily unavailable"),
        None,
    );
    let body = whatsapp::text_message(PHONE_ID, "15550006666", "Lee", "wamid.RETRY", "add bread");

    app.post_signed(&body).await;

    let sends = app.backends.graph.wait_for_requests(2, DEADLINE).await;
    app.quiescent().await;
    assert_eq!(
        app.backends.graph.requests().len(),
        2,
        "one failed attempt, one delivery"
    );
    assert_eq!(sends[1].body["context"]["message_id"], "wamid.RETRY");
    assert_eq!(
        app.backends.outbox_states().await,
        vec![("sent".to_owned(), 1)]
    );
}

#[actix_rt::test]
async fn a_reply_waiting_for_a_retry_is_not_overtaken_by_the_next_reply_to_the_same_person() {
    let app = TestApp::spawn().await;
    app.backends.graph.fail_next(
        1,
        429,
        FakeGraph::error_body(130429, "Rate limit hit"),
        Some(1),
    );
    let first = whatsapp::text_message(PHONE_ID, "15550006667", "Lee", "wamid.FIRST", "add bread");
    let second = whatsapp::text_message(PHONE_ID, "15550006667", "Lee", "wamid.NEXT", "add milk");

    app.post_signed(&first).await;
    app.backends.graph.wait_for_requests(1, DEADLINE).await;
    // The first reply now waits for its retry (Retry-After: 1 s); the second is committed
    // and published meanwhile, and must wait behind it.
    app.post_signed(&second).await;

    app.backends.graph.wait_for_requests(3, DEADLINE).await;
    app.quiescent().await;
    let delivered: Vec<_> = app
        .backends
        .graph
        .delivered()
        .iter()
        .map(|send| send.reply_to().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(delivered, ["wamid.FIRST", "wamid.NEXT"], "in message order");
    assert_eq!(app.backends.graph.requests().len(), 3, "one 429, two sends");
}

#[actix_rt::test]
async fn a_permanent_graph_error_is_dead_lettered_with_the_reason_and_not_retried() {
    let app = TestApp::spawn().await;
    app.backends.graph.fail_next(
        1,
        400,
        FakeGraph::error_body(131026, "Message Undeliverable."),
        None,
    );
    let body = whatsapp::text_message(PHONE_ID, "15550007777", "Max", "wamid.DEAD", "add jam");

    app.post_signed(&body).await;

    let dead = eventually("the reply to be dead-lettered", || async {
        let entries = app.backends.stream_entries("alfred-outbox:dead").await;
        (!entries.is_empty()).then_some(entries)
    })
    .await;
    app.quiescent().await;
    let payload = &dead[0].iter().find(|(k, _)| k == "payload").unwrap().1;
    assert!(
        payload.contains("131026"),
        "the reason names Meta's error code: {payload}"
    );
    assert_eq!(
        app.backends.graph.requests().len(),
        1,
        "a permanent error is not retried"
    );
    assert_eq!(
        app.backends.outbox_states().await,
        vec![("dead".to_owned(), 1)]
    );
}

#[actix_rt::test]
async fn with_outbound_disabled_replies_are_logged_and_never_sent() {
    let app = TestApp::spawn_with(&[("OUTBOUND_ENABLED", "false".to_owned())], Vec::new()).await;
    let body = whatsapp::text_message(PHONE_ID, "15550001357", "Eve", "wamid.QUIET", "add figs");

    let response = app.post_signed(&body).await;

    assert_eq!(response.status(), 200);
    app.quiescent().await;
    assert_eq!(app.backends.grocery_items().await, vec!["figs"]);
    assert_eq!(
        app.backends.outbox_states().await,
        vec![("sent".to_owned(), 1)]
    );
    assert!(
        app.backends.graph.requests().is_empty(),
        "nothing reached the Graph API"
    );
}

#[actix_rt::test]
async fn a_reply_the_platform_later_reports_failed_is_marked_dead_with_the_reason() {
    let app = TestApp::spawn().await;
    let body = whatsapp::text_message(PHONE_ID, "15550002580", "Noa", "wamid.LATER", "add rice");
    app.post_signed(&body).await;
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    app.quiescent().await;
    let sent = &sends[0];
    let callback = sent.body["biz_opaque_callback_data"]
        .as_str()
        .unwrap()
        .to_owned();

    let failed = whatsapp::Notification::new(PHONE_ID)
        .status_with_callback(
            sent.wamid.as_deref().unwrap(),
            "failed",
            "15550002580",
            Some(&callback),
        )
        .build();
    assert_eq!(app.post_signed(&failed).await.status(), 200);

    let dead = eventually("the failed reply to be dead-lettered", || async {
        let entries = app.backends.stream_entries("alfred-outbox:dead").await;
        (!entries.is_empty()).then_some(entries)
    })
    .await;
    let payload = &dead[0].iter().find(|(k, _)| k == "payload").unwrap().1;
    assert!(
        payload.contains("131026"),
        "the reason is Meta's: {payload}"
    );
    assert_eq!(
        app.backends.outbox_states().await,
        vec![("dead".to_owned(), 1)]
    );
}
