//! What the real Biz binary's INFO logs never hold: a mail's subject, sender, body or summary,
//! nor the inbox reply built from them — while the work inbox polls a real IMAP server, the LLM
//! triages the mail and the owner asks for the inbox on Slack.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::dovecot::PrivateDovecot;
use alfred_testkit::llm::{Answer, FakeLlm};
use alfred_testkit::slack::{sign, FakeSlack, SlashCommand};
use serde_json::json;

use crate::process::{eventually, Alfred, Backends};

const SIGNING_SECRET: &str = "telemetry-slack-signing-secret";
/// The workspace the fake Slack's `auth.test` names, so the requests below are answered.
const TEAM: &str = "T0TEAM001";
/// The owner, the one INBOX_READERS names (`SlashCommand::alfred` comes from this user).
const OWNER: &str = "U2CERLKJA";

#[tokio::test]
async fn no_mail_text_and_no_inbox_reply_reaches_the_info_logs() {
    let dovecot = PrivateDovecot::start();
    let user = format!("owner-{}", uuid::Uuid::new_v4().simple());
    let slack = FakeSlack::start().await;
    let llm = FakeLlm::start().await;
    // Distinctive words, so the logs can be searched for every part of the mail.
    let subject = "Walrus quarterly figures 5521";
    let sender = "walrus.sender.7710@acme.example";
    let body = "The walrus body text 9917 that only the owner may read.";
    let next_action = "Send the walrus plan 3310";
    llm.answer_always(Answer::tool(
        "triage_mail",
        json!({
            "category": "needs_reply",
            "why": "Walrus reason 4242",
            "next_action": next_action
        }),
    ));
    dovecot
        .append(
            &user,
            format!(
                "Message-ID: <walrus-1@acme.example>\r\nFrom: Wally <{sender}>\r\n\
                 To: owner@example.com\r\nSubject: {subject}\r\n\
                 Date: Wed, 25 Nov 2026 08:30:00 +0000\r\nMIME-Version: 1.0\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
            )
            .as_bytes(),
        )
        .await;
    let backends = Backends::new().await;
    let mut extra: Vec<(&str, String)> = vec![
        ("INSTANCE", "biz".into()),
        ("SLACK_BOT_TOKEN", "xoxb-telemetry-bot-token".into()),
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET.into()),
        ("SLACK_API_URL", slack.api_url()),
        ("INBOX_READERS", OWNER.into()),
        ("IMAP_POLL_INTERVAL_MS", "200".into()),
        ("OLLAMA_URL", llm.ollama_url()),
        // Longer than LLM_TIMEOUT_MS, as the configuration requires.
        ("INGEST_CLAIM_IDLE_MS", "10000".into()),
    ];
    let imap = dovecot.env(&user);
    extra.extend(
        imap.iter()
            .map(|(name, value)| (name.as_str(), value.clone())),
    );
    let alfred = Alfred::start(backends.env(&extra)).await;

    eventually("the mail to be triaged by the LLM", || {
        let asked = !llm.requests().is_empty();
        async move { asked.then_some(()) }
    })
    .await;
    let before = slack.requests().len();
    let command = SlashCommand::alfred(TEAM, "C0GENERAL", "inbox", &slack.response_url());
    let form = command.form();
    let timestamp = alfred_testkit::slack::now();
    let response = alfred
        .http
        .post(format!("{}/slack/commands", alfred.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header(
            "x-slack-signature",
            sign(SIGNING_SECRET, timestamp, form.as_bytes()),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer = eventually("the inbox reply at Slack", || {
        let answer = slack
            .requests()
            .get(before)
            .and_then(|request| request.body["text"].as_str().map(str::to_owned))
            .filter(|text| text.contains(subject));
        async move { answer }
    })
    .await;
    assert!(answer.contains(next_action), "{answer}");

    let everything = format!("{}\n{}", alfred.stdout().join("\n"), alfred.stderr());
    assert!(
        everything.contains("\"level\":\"INFO\""),
        "the logs were captured at INFO"
    );
    for secret in [
        subject,
        sender,
        body,
        next_action,
        "Walrus reason 4242",
        "walrus",
    ] {
        assert!(
            !everything.to_lowercase().contains(&secret.to_lowercase()),
            "{secret:?} reached the logs"
        );
    }
    backends.db.drop().await;
}
