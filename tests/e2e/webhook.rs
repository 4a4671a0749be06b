//! The webhook's contract with Meta: the handshake, signatures, and one reply per message.

use alfred_testkit::whatsapp;

use crate::helpers::*;

#[actix_rt::test]
async fn verification_handshake_echoes_the_challenge_for_the_right_token() {
    let app = TestApp::spawn().await;
    let url = format!(
        "{}/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444",
        app.base
    );

    let response = app.http.get(url).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "1158201444");
}

#[actix_rt::test]
async fn verification_handshake_refuses_a_wrong_token() {
    let app = TestApp::spawn().await;
    let url = format!(
        "{}/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444",
        app.base
    );

    let response = app.http.get(url).send().await.unwrap();

    assert_eq!(response.status(), 403);
}

#[actix_rt::test]
async fn add_bananas_puts_bananas_on_the_list_and_replies_once_quoting_the_message() {
    let app = TestApp::spawn().await;
    let body = whatsapp::text_message(
        PHONE_ID,
        "15550001111",
        "Dana",
        "wamid.BANANAS1",
        "add bananas",
    );

    let response = app.post_signed(&body).await;

    assert_eq!(response.status(), 200);
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(sends.len(), 1);
    let send = &sends[0];
    assert_eq!(send.path, format!("/v21.0/{PHONE_ID}/messages"));
    assert_eq!(send.bearer.as_deref(), Some(META_TOKEN));
    assert_eq!(send.body["to"], "15550001111");
    assert_eq!(send.body["context"]["message_id"], "wamid.BANANAS1");
    assert!(send.body["text"]["body"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("bananas"));
    assert_eq!(app.backends.grocery_items().await, vec!["bananas"]);
    app.quiescent().await;
    assert_eq!(app.backends.graph.requests().len(), 1, "exactly one reply");
}

#[actix_rt::test]
async fn a_tampered_signature_gets_403_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let body = whatsapp::text_message(PHONE_ID, "15550001111", "Dana", "wamid.T1", "add bananas");
    let signature = whatsapp::sign(APP_SECRET, body.as_bytes());
    let tampered = body.replace("bananas", "caviar");
    let before = app.backends.ingest_len().await;

    let tampered_response = app.post_webhook(&tampered, Some(signature)).await;
    let unsigned_response = app.post_webhook(&body, None).await;

    assert_eq!(tampered_response.status(), 403);
    assert_eq!(unsigned_response.status(), 403);
    assert_eq!(app.backends.ingest_len().await, before);
}

#[actix_rt::test]
async fn the_same_webhook_delivered_twice_and_concurrently_changes_the_list_once_and_replies_once()
{
    let app = TestApp::spawn().await;
    let body = whatsapp::text_message(
        PHONE_ID,
        "15550002222",
        "Sam",
        "wamid.TWICE",
        "add 2 kg apples",
    );

    let (first, second, third) = tokio::join!(
        app.post_signed(&body),
        app.post_signed(&body),
        app.post_signed(&body)
    );
    let retry = app.post_signed(&body).await;

    for response in [first, second, third, retry] {
        assert_eq!(response.status(), 200);
    }
    app.backends.graph.wait_for_requests(1, DEADLINE).await;
    app.quiescent().await;
    assert_eq!(app.backends.graph.requests().len(), 1, "exactly one reply");
    assert_eq!(app.backends.grocery_items().await, vec!["apples"]);
    let quantity = app.backends.grocery_quantity("apples").await;
    assert_eq!(
        quantity,
        Some(2.0),
        "the item was added once, not summed per delivery"
    );
}

#[actix_rt::test]
async fn a_batch_of_three_messages_from_two_people_gets_three_replies_in_each_senders_order() {
    let app = TestApp::spawn().await;
    let body = whatsapp::Notification::new(PHONE_ID)
        .text("15550003333", "Ana", "wamid.B1", "add milk")
        .text("15550004444", "Ben", "wamid.B2", "add eggs")
        .text("15550003333", "Ana", "wamid.B3", "list")
        .build();

    let response = app.post_signed(&body).await;

    assert_eq!(response.status(), 200);
    let sends = app.backends.graph.wait_for_requests(3, DEADLINE).await;
    app.quiescent().await;
    assert_eq!(app.backends.graph.requests().len(), 3);
    let ana: Vec<&str> = sends
        .iter()
        .filter(|send| send.body["to"] == "15550003333")
        .map(|send| send.body["context"]["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ana,
        vec!["wamid.B1", "wamid.B3"],
        "Ana's replies in the order she wrote"
    );
    let ben: Vec<_> = sends
        .iter()
        .filter(|send| send.body["to"] == "15550004444")
        .collect();
    assert_eq!(ben.len(), 1);
    let listing = sends
        .iter()
        .find(|s| s.body["context"]["message_id"] == "wamid.B3")
        .unwrap();
    assert!(
        listing.body["text"]["body"]
            .as_str()
            .unwrap()
            .contains("milk"),
        "Ana's list shows her milk"
    );
}

#[actix_rt::test]
async fn text_alfred_does_not_understand_gets_a_helpful_reply() {
    let app = TestApp::spawn().await;
    let body = whatsapp::text_message(
        PHONE_ID,
        "15550005555",
        "Kim",
        "wamid.HUH",
        "what's the meaning of life",
    );

    app.post_signed(&body).await;

    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    let text = sends[0].body["text"]["body"].as_str().unwrap().to_owned();
    assert!(
        text.contains("add"),
        "the help lists what Alfred understands: {text}"
    );
}
