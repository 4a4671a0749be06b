//! `alfred dead`, the real binary, on the same data as the admin API: list, show, replay and
//! discard, with the server's own stores and without the server's help.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use alfred_testkit::graph::FakeGraph;
use alfred_testkit::whatsapp;

use crate::dead_letters_listing::{seed_slack_dead_letters, SECRETS};
use crate::helpers::*;

/// Runs `alfred dead <args>` on the test's Redis and Postgres; stdout, or the test fails
/// with stderr.
fn dead(backends: &Backends, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_alfred"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USER", "ops")
        .envs(backends.env(&[]))
        .arg("dead")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "alfred dead {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[actix_rt::test]
async fn the_cli_lists_shows_replays_once_and_discards_dead_letters() {
    let app = TestApp::spawn().await;
    app.backends.graph.fail_next(
        1,
        400,
        FakeGraph::error_body(131026, "Message Undeliverable."),
        None,
    );
    let body = whatsapp::text_message(PHONE_ID, "15550003131", "Sam", "wamid.CLI", "add rice");
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let id = app.first_dead_letter("outbox").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.quiescent().await;

    let listed = dead(&app.backends, &["list", "outbox"]);
    assert!(
        listed.contains(&id) && listed.contains("131026"),
        "{listed}"
    );
    assert!(listed.contains("whatsapp:15550003131"), "{listed}");
    let shown = dead(&app.backends, &["show", "outbox", &id]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["id"], id.as_str());

    let replayed = dead(&app.backends, &["replay", "outbox", &id]);
    assert!(replayed.contains("replayed as"), "{replayed}");
    eventually("the reply to be delivered", || async {
        (app.backends.graph.delivered().len() == 1).then_some(())
    })
    .await;
    let again = dead(&app.backends, &["replay", "outbox", &id]);
    assert!(again.contains("already_replayed"), "{again}");
    app.quiescent().await;
    assert_eq!(app.backends.graph.delivered().len(), 1, "sent once");

    let [first, second, third] = seed_slack_dead_letters(&app.backends).await;
    let page = dead(&app.backends, &["list", "ingest", "--limit", "2"]);
    let order: Vec<&str> = page
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(order, vec![third, second, "More:"], "{page}");
    let shown = dead(&app.backends, &["show", "ingest", second]);
    for secret in SECRETS {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    let discarded = dead(&app.backends, &["discard", "ingest", first]);
    assert!(discarded.contains("discarded"), "{discarded}");
    let bulk = dead(&app.backends, &["discard", "ingest", "--reason", "Bearer"]);
    assert!(bulk.contains("matched=1 discarded=1"), "{bulk}");
    let left = dead(&app.backends, &["list", "ingest"]);
    assert!(
        left.starts_with(second) && left.lines().count() == 1,
        "{left}"
    );
    let audit = dead(&app.backends, &["audit"]);
    assert!(audit.contains("cli as ops@"), "{audit}");
    assert_eq!(audit.lines().count(), 3, "{audit}");
}
