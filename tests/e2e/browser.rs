//! The admin page in a real browser: Alfred on real Redis and Postgres with a manual clock, a
//! household's briefing and two replies the fake Graph API refused (dead letters), then
//! `tests/browser/admin.mjs` (playwright-core driving the system's Chromium, never a
//! downloaded browser) logs in, restarts `skill/grocery`, moves the clock, pauses ingest, sends
//! a signed webhook (prepared here) and sees it wait, resumes, replays one dead letter, logs
//! out, and checks the read-only role and the CSRF refusals; the steps are listed there. Back
//! here, the fake Graph API must have got the held message's answer and the replayed reply,
//! each once, and never the dead letter left alone.
//!
//! Ignored by a plain `cargo test`: it needs `/usr/bin/chromium` and `npm ci` in
//! `tests/browser`. `scripts/test.sh` sets both up and runs it (skip with
//! `ALFRED_TEST_BROWSER=0`); by hand:
//! `(cd tests/browser && npm ci) && cargo nextest run -p alfred --test e2e --run-ignored only browser::`.
//!
//! Screenshots go to `ALFRED_SCREENSHOTS_DIR` (relative to the repository) when set, else to
//! a scratch directory under `target/`, so a test run never dirties the checkout. The
//! committed ones in `docs/screenshots/` are refreshed with
//! `ALFRED_SCREENSHOTS_DIR=docs/screenshots`.

// Helpers of tests: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use alfred_testkit::whatsapp;

use crate::admin_page::READONLY_KEY;
use crate::dead_letters::{ids, refused_reply_to};
use crate::helpers::*;

/// Dana, the household's member, who writes to Alfred here.
const DANA: &str = "491701111111";

/// How many replies the fake Graph API delivered in answer to message `wamid`.
fn answers_to(app: &TestApp, wamid: &str) -> usize {
    app.backends
        .graph
        .delivered()
        .iter()
        .filter(|sent| sent.body["context"]["message_id"] == wamid)
        .count()
}

#[actix_rt::test]
#[ignore = "needs Chromium and `npm ci` in tests/browser; scripts/test.sh runs it"]
async fn an_operator_uses_the_admin_page_in_a_real_browser() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = repo.join("tests/browser");
    let chromium = std::env::var("ALFRED_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: apt-get install chromium (scripts/test.sh does, as root)"
    );
    assert!(
        project.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci` in tests/browser"
    );
    let shots = match std::env::var("ALFRED_SCREENSHOTS_DIR") {
        Ok(dir) if !dir.is_empty() => repo.join(dir),
        _ => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-screenshots"),
    };
    let households =
        std::env::temp_dir().join(format!("alfred-browser-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(
        &households,
        "[[household]]\nid = \"smiths\"\ntimezone = \"Europe/Berlin\"\n\
         members = [{ name = \"Dana\", whatsapp = \"491701111111\" }]\n\
         [household.briefing]\ntime = \"07:00\"\nto = \"Dana\"\ncatch_up_minutes = 120\n",
    )
    .unwrap();
    let app = TestApp::spawn_at(
        "2026-11-26T05:00:00Z",
        &[
            ("ADMIN_READONLY_KEY", READONLY_KEY.to_owned()),
            ("HOUSEHOLDS_FILE", households.display().to_string()),
        ],
        Vec::new(),
    )
    .await;

    // Two replies Meta refuses (131026): the browser replays the older and leaves the other.
    let replayed = refused_reply_to(&app, DANA, "wamid.BROWSER-DEAD1", "jam").await;
    let replayed = replayed["id"].as_str().unwrap().to_owned();
    refused_reply_to(&app, DANA, "wamid.BROWSER-DEAD2", "figs").await;
    let kept = eventually("both dead letters to be listed", || async {
        let (_, page) = app.admin_json("/admin/dead-letters?stream=outbox").await;
        let listed = ids(&page);
        (listed.len() == 2).then(|| listed[0].clone())
    })
    .await;
    assert_ne!(kept, replayed);
    // The message the browser sends while ingest is paused, signed with the app secret.
    let held = whatsapp::text_message(PHONE_ID, DANA, "Dana", "wamid.BROWSER-HELD", "add tea");

    // Alfred's actors run on this test's thread: the browser is waited for off it.
    let mut node = std::process::Command::new("node");
    node.arg("admin.mjs")
        .current_dir(&project)
        .env("ALFRED_ADMIN_URL", &app.admin)
        .env("ALFRED_ADMIN_KEY", ADMIN_KEY)
        .env("ALFRED_READONLY_KEY", READONLY_KEY)
        .env("ALFRED_SCREENSHOTS_DIR", &shots)
        .env("ALFRED_CHROMIUM", &chromium)
        .env("ALFRED_WEBHOOK_URL", format!("{}/webhook", app.base))
        .env(
            "ALFRED_WEBHOOK_SIGNATURE",
            whatsapp::sign(APP_SECRET, held.as_bytes()),
        )
        .env("ALFRED_WEBHOOK_BODY", &held)
        .env("ALFRED_REPLAY_ID", &replayed)
        .env("ALFRED_KEPT_ID", &kept);
    let output = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .expect("node runs (is it installed?)");

    let _ = std::fs::remove_file(&households);
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the browser test failed: {}",
        output.status
    );
    for shot in [
        "tree-after-restart.png",
        "streams-paused.png",
        "dead-letter.png",
    ] {
        assert!(shots.join(shot).exists(), "{shot} missing");
    }
    app.quiescent().await;
    assert_eq!(
        answers_to(&app, "wamid.BROWSER-HELD"),
        1,
        "the held message answered once"
    );
    assert_eq!(
        answers_to(&app, "wamid.BROWSER-DEAD1"),
        1,
        "the replayed reply sent once"
    );
    assert_eq!(
        answers_to(&app, "wamid.BROWSER-DEAD2"),
        0,
        "the other left alone"
    );
}
