//! What the real binary's INFO logs never hold: a refused admin key (one WARN line with the
//! peer and path, no token), and, with `OUTBOUND_ENABLED=false`, the text of a reply (only its
//! recipient and length).
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::whatsapp::{text_message, wamid};

use crate::process::{eventually, Alfred, Backends, CREDENTIALS};

/// The JSON log lines whose message is `message`.
fn logged(alfred: &Alfred, message: &str) -> Vec<serde_json::Value> {
    alfred
        .stdout()
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["message"] == message)
        .collect()
}

#[tokio::test]
async fn a_wrong_admin_key_of_the_right_length_is_401_and_one_warn_line_without_the_token() {
    let backends = Backends::new().await;
    let alfred = Alfred::start(backends.env(&[])).await;
    let wrong = format!(
        "{}Z",
        &CREDENTIALS.admin_key[..CREDENTIALS.admin_key.len() - 1]
    );

    let response = alfred
        .http
        .get(format!("{}/admin/actors", alfred.admin))
        .bearer_auth(&wrong)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    let refused = "Refused an admin request without a right key.";
    let lines = eventually("the refusal to be logged", || {
        let lines = logged(&alfred, refused);
        async move { (!lines.is_empty()).then_some(lines) }
    })
    .await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["level"], "WARN");
    assert_eq!(lines[0]["fields"]["path"], "/admin/actors");
    assert!(
        lines[0]["fields"]["peer"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{}",
        lines[0]
    );
    let everything = alfred.stdout().join("\n");
    assert!(
        !everything.contains(&wrong),
        "the token given reached the logs"
    );
    backends.db.drop().await;
}

#[tokio::test]
async fn with_outbound_off_a_reply_is_logged_by_recipient_and_length_never_its_text() {
    let backends = Backends::new().await;
    let alfred = Alfred::start(backends.env(&[("OUTBOUND_ENABLED", "false".to_owned())])).await;
    let item = "zebra-pancakes-7731";
    let from = "491701111112";
    let body = text_message(
        CREDENTIALS.phone_id,
        from,
        "Anna",
        &wamid(),
        &format!("add {item}"),
    );

    assert_eq!(alfred.post_signed(&body).await.status(), 200);
    let not_sent =
        "Outbound sending is off (or no client for this platform); the reply is not sent.";
    let lines = eventually("the unsent reply to be logged", || {
        let lines = logged(&alfred, not_sent);
        async move { (!lines.is_empty()).then_some(lines) }
    })
    .await;

    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["fields"]["to"], from);
    assert!(
        lines[0]["fields"]["chars"].as_u64().unwrap() > 0,
        "{}",
        lines[0]
    );
    let everything = format!("{}\n{}", alfred.stdout().join("\n"), alfred.stderr());
    assert!(
        !everything.contains(item),
        "the reply's (and message's) text reached the INFO logs"
    );
    assert!(backends.graph.requests().is_empty(), "nothing was sent");
    backends.db.drop().await;
}
