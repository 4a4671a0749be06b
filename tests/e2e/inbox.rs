//! The work inbox end to end: a real IMAP server (a private Dovecot over TLS), the inbox
//! poller, Postgres, the orchestrator and Slack (a fake Web API). Mail delivered to the server
//! is summarised once — by the LLM when one is configured, by the heuristic otherwise — even
//! after a restart that reads the whole mailbox again; `/alfred inbox` and "summarise my inbox"
//! answer with the triage; items can be marked done; nobody but INBOX_READERS sees any of it.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::dovecot::PrivateDovecot;
use alfred_testkit::llm::{Answer, FakeLlm};
use alfred_testkit::slack::{app_mention, direct_message, event_id, sign, FakeSlack, SlashCommand};
use serde_json::json;

use crate::helpers::{eventually, free_port, AlfredProcess, Backends, TestApp};

const SIGNING_SECRET: &str = "test-slack-signing-secret";
const BOT_TOKEN: &str = "xoxb-test-bot-token";
const TEAM: &str = "T0TEAM001";
const BOT: &str = "U0ALFRED1";
const CHANNEL: &str = "C0GENERAL";
/// The owner: the one INBOX_READERS names. `SlashCommand::alfred` comes from this user.
const OWNER: &str = "U2CERLKJA";
const STRANGER: &str = "U0STRANGE";
const OWNER_DM: &str = "D0OWNER01";

/// A plain RFC 5322 mail.
fn mail(message_id: &str, from: &str, subject: &str, body: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "Message-ID: {message_id}\r\nFrom: {from}\r\nTo: owner@example.com\r\n\
         Subject: {subject}\r\nDate: Wed, 25 Nov 2026 08:30:00 +0000\r\n{extra_headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The settings of a Biz Alfred on Slack reading `user`'s mailbox on `dovecot`.
fn biz_env(
    slack: &FakeSlack,
    dovecot: &PrivateDovecot,
    user: &str,
    llm: Option<&FakeLlm>,
) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = vec![
        ("INSTANCE", "biz".into()),
        ("SLACK_BOT_TOKEN", BOT_TOKEN.into()),
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET.into()),
        ("SLACK_API_URL", slack.api_url()),
        // An empty variable counts as unset: this Biz instance has no WhatsApp number.
        ("META_TOKEN", String::new()),
        ("PHONE_ID", String::new()),
        ("VERIFY_TOKEN", String::new()),
        ("APP_SECRET", String::new()),
        ("GRAPH_API_URL", String::new()),
        ("GRAPH_API_VERSION", String::new()),
        ("INBOX_READERS", OWNER.into()),
        ("IMAP_POLL_INTERVAL_MS", "200".into()),
    ];
    for (key, value) in dovecot.env(user) {
        let key: &'static str = match key.as_str() {
            "IMAP_HOST" => "IMAP_HOST",
            "IMAP_PORT" => "IMAP_PORT",
            "IMAP_USER" => "IMAP_USER",
            "IMAP_PASSWORD" => "IMAP_PASSWORD",
            "IMAP_CA_FILE" => "IMAP_CA_FILE",
            other => panic!("unexpected IMAP variable {other}"),
        };
        env.push((key, value));
    }
    if let Some(llm) = llm {
        env.push(("OLLAMA_URL", llm.ollama_url()));
        // Longer than LLM_TIMEOUT_MS, as the configuration requires.
        env.push(("INGEST_CLAIM_IDLE_MS", "10000".into()));
    }
    env
}

/// POSTs a signed request to `{base}/slack/{endpoint}`.
async fn post_slack(base: &str, endpoint: &str, body: &str) -> reqwest::Response {
    let timestamp = alfred_testkit::slack::now();
    let content_type = if endpoint == "commands" {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    reqwest::Client::new()
        .post(format!("{base}/slack/{endpoint}"))
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header(
            "x-slack-signature",
            sign(SIGNING_SECRET, timestamp, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// `/alfred {text}` from the owner; returns the text posted to its response URL.
async fn slash(base: &str, slack: &FakeSlack, text: &str) -> String {
    let before = slack.requests().len();
    let command = SlashCommand::alfred(TEAM, CHANNEL, text, &slack.response_url());
    let response = post_slack(base, "commands", &command.form()).await;
    assert_eq!(response.status(), 200);
    let request = eventually(&format!("the answer to /alfred {text}"), || async {
        slack.requests().get(before).cloned()
    })
    .await;
    assert_eq!(request.body["response_type"], "ephemeral");
    request.body["text"].as_str().unwrap_or_default().to_owned()
}

/// Posts a signed event; returns the reply Alfred posts to `channel` with chat.postMessage.
async fn answer_to_event(base: &str, slack: &FakeSlack, body: &str, channel: &str) -> String {
    let before = slack.requests().len();
    assert_eq!(post_slack(base, "events", body).await.status(), 200);
    let request = eventually("the reply to an event", || async {
        slack.requests().get(before).cloned()
    })
    .await;
    assert_eq!(request.channel(), Some(channel));
    request.text().unwrap_or_default().to_owned()
}

/// A direct message to Alfred from `user`; returns the reply.
async fn dm(base: &str, slack: &FakeSlack, user: &str, text: &str) -> String {
    let body = direct_message(TEAM, &event_id(), BOT, OWNER_DM, user, text);
    answer_to_event(base, slack, &body, OWNER_DM).await
}

/// `@Alfred {text}` in a channel from `user`; returns the reply posted there.
async fn mention(base: &str, slack: &FakeSlack, user: &str, text: &str) -> String {
    let body = app_mention(TEAM, &event_id(), BOT, CHANNEL, user, text);
    answer_to_event(base, slack, &body, CHANNEL).await
}

/// `(message_id, category)` of every stored mail that has been summarised.
async fn summarised(backends: &Backends) -> Vec<(String, String)> {
    let client = backends.pg().await;
    let rows = client
        .query(
            "SELECT message_id, category FROM work_mails WHERE summarised_at IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap_or_default();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

async fn mail_id(backends: &Backends, message_id: &str) -> i64 {
    let client = backends.pg().await;
    client
        .query_one(
            "SELECT id FROM work_mails WHERE message_id = $1",
            &[&message_id],
        )
        .await
        .unwrap()
        .get(0)
}

#[actix_rt::test]
async fn a_mail_delivered_to_the_imap_server_is_summarised_once_even_after_a_restart() {
    let dovecot = PrivateDovecot::start();
    let user = format!("owner-{}", uuid::Uuid::new_v4().simple());
    let slack = FakeSlack::start().await;
    let llm = FakeLlm::start().await;
    llm.answer_always(Answer::tool(
        "triage_mail",
        json!({
            "category": "needs_reply",
            "why": "Ana asks for the signed contract",
            "next_action": "Send Ana the signed contract"
        }),
    ));
    let backends = Backends::new().await;
    let contract = mail(
        "<contract-1@acme.example>",
        "Ana Lopez <ana@acme.example>",
        "Signed contract",
        "Hi, could you send me the signed contract? Thanks, Ana",
        "",
    );
    dovecot.append(&user, &contract).await;
    let env = biz_env(&slack, &dovecot, &user, Some(&llm));
    let port = free_port();
    let mut alfred = AlfredProcess::start_with(&backends, port, &env).await;

    eventually("the mail to be summarised", || async {
        let rows = summarised(&backends).await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    let answer = slash(&alfred.base, &slack, "inbox").await;
    assert!(answer.contains("Signed contract"), "{answer}");
    assert!(answer.contains("Send Ana the signed contract"), "{answer}");
    // The answer's send recorded before the kill: a reply killed between its HTTP call and
    // its record is sent again after the claim lease (Slack has no receipts), and, one
    // channel's replies going out in order, ahead of the next answer — another test's matter.
    eventually("the answer's send to be recorded", || async {
        let states = backends.outbox_states().await;
        states
            .iter()
            .all(|(state, _)| state == "sent")
            .then_some(())
    })
    .await;

    // kill -9, and as if it came before the poll saved its cursor: the restarted poller reads
    // the mailbox from its first mail. The same mail also arrives a second time (a copy with
    // the same Message-ID), and one new mail arrives.
    alfred.kill();
    backends
        .pg()
        .await
        .execute("DELETE FROM work_inbox_cursors", &[])
        .await
        .unwrap();
    dovecot.append(&user, &contract).await;
    dovecot
        .append(
            &user,
            &mail(
                "<invoice-7@globex.example>",
                "Max Meier <max@globex.example>",
                "Invoice 7 paid",
                "Just letting you know invoice 7 was paid today.",
                "",
            ),
        )
        .await;
    let alfred = AlfredProcess::start_with(&backends, port, &env).await;

    let rows = eventually("the new mail to be summarised", || async {
        let rows = summarised(&backends).await;
        (rows.len() >= 2).then_some(rows)
    })
    .await;
    assert_eq!(
        rows,
        [
            (
                "<contract-1@acme.example>".to_owned(),
                "needs_reply".to_owned()
            ),
            (
                "<invoice-7@globex.example>".to_owned(),
                "needs_reply".to_owned()
            ),
        ],
        "one row per Message-ID"
    );
    let about_contract = llm
        .requests()
        .iter()
        .filter(|request| {
            request
                .user_text()
                .is_some_and(|t| t.contains("Signed contract"))
        })
        .count();
    assert_eq!(about_contract, 1, "the contract mail is summarised once");
    assert_eq!(llm.requests().len(), 2, "{:?}", llm.requests());

    let answer = slash(&alfred.base, &slack, "inbox").await;
    assert_eq!(answer.matches("Signed contract").count(), 1, "{answer}");
    assert!(answer.contains("Invoice 7 paid"), "{answer}");
}

#[actix_rt::test]
async fn without_an_llm_the_heuristic_triages_sets_newsletters_aside_keeps_it_private_and_marks_done(
) {
    let dovecot = PrivateDovecot::start();
    let user = format!("owner-{}", uuid::Uuid::new_v4().simple());
    let slack = FakeSlack::start().await;
    dovecot
        .append(
            &user,
            &mail(
                "<outage-1@client.example>",
                "Bob Client <bob@client.example>",
                "URGENT: checkout is down",
                "Our checkout has been down since 8:00. Please call me asap.",
                "",
            ),
        )
        .await;
    dovecot
        .append(
            &user,
            &mail(
                "<weekly-88@news.example>",
                "Weekly Digest <news@news.example>",
                "This week in retail",
                "Top stories of the week.",
                "List-Unsubscribe: <mailto:unsubscribe@news.example>\r\n",
            ),
        )
        .await;
    dovecot
        .append(
            &user,
            &mail(
                "<receipt-3@shop.example>",
                "Shop <no-reply@shop.example>",
                "Your receipt",
                "Thank you for your order.",
                "",
            ),
        )
        .await;
    let env = biz_env(&slack, &dovecot, &user, None);
    let extra: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.clone())).collect();
    let app = TestApp::spawn_with(&extra, Vec::new()).await;

    eventually("the three mails to be taken in", || async {
        (summarised(&app.backends).await.len() == 3).then_some(())
    })
    .await;
    // Operators see how the polls went, without any mail content.
    let status: serde_json::Value = eventually("a recorded poll", || async {
        let status: serde_json::Value = app.admin_get("/admin/inbox").await.json().await.ok()?;
        (status["last_poll"]["stored"] == 3).then_some(status)
    })
    .await;
    assert_eq!(status["last_error"], serde_json::Value::Null, "{status}");
    assert_eq!(status["failures_in_a_row"], 0);
    assert!(
        status["account"].as_str().unwrap().starts_with(&user),
        "{status}"
    );
    assert!(!status.to_string().contains("checkout"), "{status}");

    let triage = dm(&app.base, &slack, OWNER, "summarise my inbox").await;
    assert!(triage.contains("Urgent"), "{triage}");
    assert!(triage.contains("URGENT: checkout is down"), "{triage}");
    assert!(triage.contains("Bob Client"), "{triage}");
    assert!(
        !triage.contains("This week in retail"),
        "newsletters are set aside: {triage}"
    );
    assert!(
        !triage.contains("Your receipt"),
        "no-reply mail is set aside: {triage}"
    );
    assert!(triage.contains("2 set aside"), "{triage}");

    let refused = dm(&app.base, &slack, STRANGER, "summarise my inbox").await;
    assert!(refused.contains("private"), "{refused}");
    assert!(
        !refused.contains("checkout"),
        "no mail content for others: {refused}"
    );

    // Even the owner is not shown the mail where the whole channel would read it.
    let in_channel = mention(&app.base, &slack, OWNER, "inbox").await;
    assert!(in_channel.contains("direct"), "{in_channel}");
    assert!(
        !in_channel.contains("checkout"),
        "no mail content in a channel: {in_channel}"
    );

    let id = mail_id(&app.backends, "<outage-1@client.example>").await;
    let done = dm(&app.base, &slack, OWNER, &format!("inbox done #{id}")).await;
    assert!(done.contains(&format!("#{id}")), "{done}");
    let after = dm(&app.base, &slack, OWNER, "inbox").await;
    assert!(
        !after.contains("checkout is down"),
        "a done item is gone: {after}"
    );
    app.quiescent().await;
}

/// Two replicas polling one mailbox at the same moment: one polls, the other skips it, and the
/// LLM is asked about each mail once.
#[cfg(feature = "biz")]
#[actix_rt::test]
async fn two_pollers_at_once_take_turns_and_ask_the_llm_once_per_mail() {
    use alfred::inbox_poller::{poll_once, PollerDeps};
    use alfred_actors::store::PgStore;
    use alfred_adapters::imap::ImapClient;

    let dovecot = PrivateDovecot::start();
    let user = format!("owner-{}", uuid::Uuid::new_v4().simple());
    for n in 0..3 {
        dovecot
            .append(
                &user,
                &mail(
                    &format!("<q{n}@acme.example>"),
                    "Ana Lopez <ana@acme.example>",
                    &format!("Question {n}"),
                    "Could you have a look?",
                    "",
                ),
            )
            .await;
    }
    let llm = FakeLlm::start().await;
    llm.answer_always(Answer::tool(
        "triage_mail",
        json!({"category": "needs_reply", "why": "Ana asks", "next_action": "Answer Ana"}),
    ));
    let backends = Backends::new().await;
    let store = PgStore::connect(backends.db.url()).unwrap();
    alfred_actors::store::migrate::migrate(store.pool())
        .await
        .unwrap();
    let settings = backends.settings(&[
        ("INSTANCE", "biz".into()),
        ("META_TOKEN", String::new()),
        ("PHONE_ID", String::new()),
        ("VERIFY_TOKEN", String::new()),
        ("APP_SECRET", String::new()),
        ("INBOX_READERS", OWNER.into()),
        ("OLLAMA_URL", llm.ollama_url()),
        ("INGEST_CLAIM_IDLE_MS", "10000".into()),
        ("IMAP_HOST", "127.0.0.1".into()),
        ("IMAP_PORT", dovecot.port().to_string()),
        ("IMAP_USER", user.clone()),
        ("IMAP_PASSWORD", PrivateDovecot::PASSWORD.into()),
        ("IMAP_CA_FILE", dovecot.ca_file().display().to_string()),
    ]);
    let imap = settings.imap.clone().unwrap();
    let deps = PollerDeps {
        imap: imap.clone(),
        store: alfred_skills_biz::inbox::MailStore::new(store.pool().clone()),
        pool: store.pool().clone(),
        llm: Some(alfred_adapters::llm::from_settings(settings.llm.as_ref().unwrap()).unwrap()),
        clock: std::sync::Arc::new(alfred_actors::clock::SystemClock),
        metrics: alfred_actors::metrics::Metrics::new().unwrap(),
        status: Default::default(),
    };
    let (one, two) = (
        ImapClient::new(&imap).unwrap(),
        ImapClient::new(&imap).unwrap(),
    );

    let (a, b) = futures::join!(poll_once(&one, &deps, 100), poll_once(&two, &deps, 100));
    let (a, b) = (a.unwrap(), b.unwrap());

    assert_eq!(
        [a.skipped, b.skipped].iter().filter(|s| **s).count(),
        1,
        "{a:?} {b:?}"
    );
    assert_eq!(a.ingest.summarised + b.ingest.summarised, 3);
    assert_eq!(llm.requests().len(), 3, "one LLM request per mail");
    // The lock is gone with the poll: the next one runs (and finds nothing new).
    let again = poll_once(&one, &deps, 100).await.unwrap();
    assert!(!again.skipped);
    assert_eq!(again.fetched, 0);
}

#[actix_rt::test]
async fn a_refused_login_is_shown_to_operators_without_the_password() {
    let dovecot = PrivateDovecot::start();
    let user = format!("owner-{}", uuid::Uuid::new_v4().simple());
    let slack = FakeSlack::start().await;
    let mut env = biz_env(&slack, &dovecot, &user, None);
    env.retain(|(key, _)| *key != "IMAP_PASSWORD");
    env.push(("IMAP_PASSWORD", "wrong-password-value".into()));
    let app = TestApp::spawn_with(&env, Vec::new()).await;

    let status: serde_json::Value = eventually("a failed poll to be recorded", || async {
        let status: serde_json::Value = app.admin_get("/admin/inbox").await.json().await.ok()?;
        (status["failures_in_a_row"].as_u64()? >= 1).then_some(status)
    })
    .await;

    let error = status["last_error"].as_str().unwrap();
    assert!(error.contains("refused the login"), "{status}");
    assert!(
        !status.to_string().contains("wrong-password-value"),
        "{status}"
    );
    assert_eq!(status["last_success_at"], serde_json::Value::Null);
}

/// `alfred inbox check` with `env`: (success, stdout, stderr).
fn inbox_check(backends: &Backends, env: &[(&str, String)]) -> (bool, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_alfred"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(backends.env(env))
        .args(["inbox", "check"])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[actix_rt::test]
async fn alfred_inbox_check_tries_the_imap_settings_and_names_what_is_wrong() {
    let dovecot = PrivateDovecot::start();
    let user = format!("owner-{}", uuid::Uuid::new_v4().simple());
    let slack = FakeSlack::start().await;
    let backends = Backends::new().await;
    let env = biz_env(&slack, &dovecot, &user, None);

    let (ok, stdout, stderr) = inbox_check(&backends, &env);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("OK: logged in to"), "{stdout}");
    assert!(stdout.contains("it is empty"), "{stdout}");

    let mut wrong = env.clone();
    wrong.retain(|(key, _)| *key != "IMAP_PASSWORD");
    wrong.push(("IMAP_PASSWORD", "wrong-password-value".into()));
    let (ok, stdout, stderr) = inbox_check(&backends, &wrong);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("refused the login"), "{stderr}");
    assert!(!stderr.contains("wrong-password-value"), "{stderr}");
}
