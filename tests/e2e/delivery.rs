//! Outbound delivery: retries that end in one send, permanent errors that end in the
//! dead-letter stream.

use alfred_testkit::fault_proxy::FaultProxy;
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

/// A claim whose answer was lost (the connection cut after the claim committed) must not leave
/// the reply claimed by nobody until the claim lease ends: the sender's next attempt takes its
/// own claim over and sends the reply once.
#[actix_rt::test]
async fn a_claim_whose_answer_a_cut_connection_lost_is_taken_over_and_sent_once() {
    let backends = Backends::new().await;
    let config: tokio_postgres::Config = backends.db.url().parse().unwrap();
    let upstream = match (&config.get_hosts()[0], config.get_ports().first()) {
        (tokio_postgres::config::Host::Tcp(host), port) => {
            format!("{host}:{}", port.copied().unwrap_or(5432))
        }
        other => panic!("the test database is not on TCP: {other:?}"),
    };
    let upstream = tokio::net::lookup_host(upstream)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|password| format!(":{}", String::from_utf8_lossy(password)))
        .unwrap_or_default();
    let url = format!(
        "postgres://{user}{password}@{}/{}?sslmode=disable",
        proxy.addr(),
        backends.db.name()
    );
    let app = TestApp::spawn_on(
        backends,
        &[
            ("DATABASE_URL", url),
            // Unnamed statements: each claim carries its text, which the proxy looks for.
            ("DATABASE_STATEMENT_CACHE", "off".to_owned()),
            // Far beyond the test's deadline: the reply must not wait for the lease.
            ("OUTBOUND_CLAIM_LEASE_MS", "600000".to_owned()),
        ],
        Vec::new(),
    )
    .await;
    proxy.lose_answer_to("SET state = 'sending', attempts");
    let body = whatsapp::text_message(PHONE_ID, "15550008888", "Ines", "wamid.LOST", "add figs");

    app.post_signed(&body).await;

    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    app.quiescent().await;
    assert_eq!(proxy.answers_lost(), 1, "the claim's answer was lost");
    assert_eq!(sends[0].body["context"]["message_id"], "wamid.LOST");
    assert_eq!(app.backends.graph.requests().len(), 1, "sent once");
    let attempts: i32 = app
        .backends
        .pg()
        .await
        .query_one(
            "SELECT attempts FROM outbox WHERE reply_to = 'wamid.LOST'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 2, "the lost claim, then its takeover");
}
