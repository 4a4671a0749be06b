//! The admin page in a real browser: Alfred on real Redis and Postgres with a manual clock and
//! a household's briefing, then `tests/browser/admin.mjs` (playwright-core driving the system's
//! Chromium, never a downloaded browser) logs in, restarts `skill/grocery`, moves the clock,
//! logs out, and checks the read-only role and the CSRF refusals; the steps are listed there.
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

use crate::admin_page::READONLY_KEY;
use crate::helpers::*;

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

    // Alfred's actors run on this test's thread: the browser is waited for off it.
    let mut node = std::process::Command::new("node");
    node.arg("admin.mjs")
        .current_dir(&project)
        .env("ALFRED_ADMIN_URL", &app.admin)
        .env("ALFRED_ADMIN_KEY", ADMIN_KEY)
        .env("ALFRED_READONLY_KEY", READONLY_KEY)
        .env("ALFRED_SCREENSHOTS_DIR", &shots)
        .env("ALFRED_CHROMIUM", &chromium);
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
    assert!(shots.join("tree-after-restart.png").exists());
}
